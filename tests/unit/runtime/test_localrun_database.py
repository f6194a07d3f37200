"""The secrets a local run resolves before any start, and the local MySQL's credentials, read
from the migration container as fargate-parity.toml's [database] names them: env names first,
then the JSON keys of the secrets it reads."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from unittest.mock import MagicMock

import pytest

from parity.assembly.apptasks import AppTasks, environment_tasks
from parity.config.harness import DatabaseConfig
from parity.config.settings import EmulatorKind
from parity.engine.labels import Scope
from parity.errors import ConfigError
from parity.runtime.localrun import LocalContext, TaskSecrets, database_settings, seed_and_resolve
from parity.secretvalue import SecretValue
from parity.services.emulator import start_emulator

from ..cdk.cdk_assembly import PROJECT_ROOT
from ..synthesized import synthesized_assembly


@pytest.fixture(scope="module")
def local_tasks(tmp_path_factory: pytest.TempPathFactory) -> AppTasks:
    return environment_tasks(PROJECT_ROOT, "local", synthesized_assembly(tmp_path_factory, "local"))


def secret_values(tasks: AppTasks, values: dict[str, str]) -> TaskSecrets:
    """The migration container's secrets, each resolved to ``values[its JSON key]``."""
    spec = tasks.migration.container(tasks.watched_container)
    return {
        tasks.watched_container: {
            name: SecretValue(values.get(ref.json_key or "", f"value of {name}"))
            for name, ref in spec.secrets.items()
        }
    }


def renamed(tasks: AppTasks, **names: str) -> AppTasks:
    """The sample, with the migration container's env and secret names renamed as another app
    would call them (old=new)."""
    spec = tasks.migration.container(tasks.watched_container)
    changed = dataclasses.replace(
        spec,
        environment={names.get(k, k): v for k, v in spec.environment.items()},
        secrets={names.get(k, k): v for k, v in spec.secrets.items()},
    )
    containers = tuple(changed if c.name == spec.name else c for c in tasks.migration.containers)
    return dataclasses.replace(
        tasks, migration=dataclasses.replace(tasks.migration, containers=containers)
    )


RDS_VALUES = {"username": "shop_app", "password": "Pa55-word", "dbname": "shop"}


def test_the_sample_reads_its_credentials_under_laravels_names(local_tasks: AppTasks) -> None:
    settings = database_settings(local_tasks, secret_values(local_tasks, RDS_VALUES), "db:1")

    assert (settings.database, settings.user, settings.password) == (
        "laravel",
        "shop_app",
        "Pa55-word",
    )


def test_env_names_it_does_not_set_fall_back_to_the_secrets_rds_keys(
    local_tasks: AppTasks,
) -> None:
    # An app that reads its credentials under names of its own, from an RDS-generated secret.
    tasks = renamed(local_tasks, DB_USERNAME="APP_USER", DB_PASSWORD="APP_SECRET")

    settings = database_settings(tasks, secret_values(tasks, RDS_VALUES), "db:1")

    assert (settings.user, settings.password) == ("shop_app", "Pa55-word")


def test_configured_secret_keys_are_the_ones_read(local_tasks: AppTasks) -> None:
    tasks = renamed(local_tasks, DB_USERNAME="APP_USER", DB_PASSWORD="APP_SECRET")
    keys = {**DatabaseConfig().secret_keys, "user": "password", "password": "username"}
    tasks = dataclasses.replace(tasks, database=DatabaseConfig(secret_keys=keys))

    settings = database_settings(tasks, secret_values(tasks, RDS_VALUES), "db:1")

    assert (settings.user, settings.password) == ("Pa55-word", "shop_app")


def test_a_setting_found_nowhere_names_the_env_name_and_the_key(local_tasks: AppTasks) -> None:
    tasks = renamed(local_tasks, DB_DATABASE="APP_SCHEMA")
    no_dbname = {k: v for k, v in RDS_VALUES.items() if k != "dbname"}

    with pytest.raises(ConfigError, match=r"reads no DB_DATABASE \(or a secret's 'dbname' key\)"):
        database_settings(tasks, secret_values(tasks, no_dbname), "db:1")


def test_the_secrets_of_extra_tasks_are_resolved_too(local_tasks: AppTasks, tmp_path: Path) -> None:
    """A scheduled or one-off task gets its secrets like the services (the local scheduler
    starts the schedule's task with them)."""
    (schedule,) = local_tasks.schedules
    emulator = start_emulator(EmulatorKind.MOTO, region=local_tasks.region, port=0)
    try:
        context = LocalContext(
            client=MagicMock(),
            scope=Scope.DEV,
            run_id="unit",
            network="unit",
            db_host="unit-mysql",
            emulator=emulator,
            secrets_file=tmp_path / "secrets.json",
        )
        resolved = seed_and_resolve(context, local_tasks, (schedule.task,))
    finally:
        emulator.stop()

    secrets = resolved.of(schedule.task)
    assert set(secrets["scheduler"]) == set(schedule.task.container("scheduler").secrets)
    assert all(value.reveal() for value in secrets["scheduler"].values())
