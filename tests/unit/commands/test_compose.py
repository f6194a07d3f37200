"""`invoke compose`: compose/docker-compose.yml, exported from the synthesized task definitions.

The first test is the drift check; the rest check the structure in pure Python (and, where a
Compose CLI is installed, let it validate the file too).
"""

from __future__ import annotations

import dataclasses
import json
import re
import stat
import subprocess
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import pytest
import yaml

from parity.assembly.apptasks import AppTasks
from parity.assembly.taskdef import ContainerDependency, DependencyCondition, VolumeFrom
from parity.commands.compose import (
    COMPOSE_FILE,
    DB_IMAGE_VARIABLE,
    DB_SERVICE,
    compose_document,
    env_file_values,
    render_compose,
    write_env_files,
)
from parity.config.settings import HarnessSettings
from parity.engine.daemon import compose_command
from parity.engine.ports import LOOPBACK_ADDRESS
from parity.errors import ConfigError
from parity.secretvalue import SecretValue

from ..cdk.cdk_assembly import PROJECT_ROOT

COMPOSE_DIR = PROJECT_ROOT / COMPOSE_FILE.parent
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def from_compose_dir(path: str) -> Path:
    return (COMPOSE_DIR / path).resolve()


def with_service_container(tasks: AppTasks, name: str, **changes: Any) -> AppTasks:
    service = tasks.services[0]
    containers = tuple(
        dataclasses.replace(container, **changes) if container.name == name else container
        for container in service.task.containers
    )
    task = dataclasses.replace(service.task, containers=containers)
    return dataclasses.replace(tasks, services=(dataclasses.replace(service, task=task),))


def test_the_committed_compose_file_matches_the_task_definitions(rendered: str) -> None:
    committed = (PROJECT_ROOT / COMPOSE_FILE).read_text()
    assert committed == rendered, (
        f"{COMPOSE_FILE} no longer matches the synthesized task definitions;"
        " run `invoke compose` and commit it"
    )


def test_the_export_is_deterministic(local_tasks: AppTasks, rendered: str) -> None:
    assert render_compose(local_tasks, project_root=PROJECT_ROOT) == rendered


def test_the_holder_owns_the_task_namespace_and_publishes_on_loopback_only(
    services: dict[str, Any], local_tasks: AppTasks
) -> None:
    (cache,) = local_tasks.caches
    assert set(services) == {
        "webservice-holder",
        "migrate",
        "laravel",
        "nginx",
        "worker",
        DB_SERVICE,
        cache.local_host,
    }
    assert services["webservice-holder"]["ports"] == [f"{LOOPBACK_ADDRESS}:8080:8080"]
    for name in ("laravel", "nginx"):
        assert services[name]["network_mode"] == "service:webservice-holder"
        assert services[name]["depends_on"]["webservice-holder"] == {"condition": "service_started"}
    # A one-container task without ports owns its namespace alone, as on Fargate.
    assert "network_mode" not in services["migrate"]
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert all(port.startswith(f"{LOOPBACK_ADDRESS}:") for port in published)
    holders = {
        mode.removeprefix("service:") for s in services.values() if (mode := s.get("network_mode"))
    }
    assert all("network_mode" not in services[holder] for holder in holders)


def test_depends_on_holds_the_task_order_and_the_migration_gate(services: dict[str, Any]) -> None:
    assert services["nginx"]["depends_on"]["laravel"] == {"condition": "service_healthy"}
    assert services["laravel"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    for name in ("migrate", "laravel"):
        assert services[name]["depends_on"][DB_SERVICE] == {"condition": "service_healthy"}
    graph = {name: list(service.get("depends_on", {})) for name, service in services.items()}
    for name, service in services.items():
        for target, dependency in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            assert dependency["condition"] in CONDITIONS
    TopologicalSorter(graph).prepare()  # raises on a cycle


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (DependencyCondition.START, "service_started"),
        (DependencyCondition.HEALTHY, "service_healthy"),
        (DependencyCondition.SUCCESS, "service_completed_successfully"),
    ],
)
def test_each_ecs_condition_maps_to_its_compose_condition(
    local_tasks: AppTasks, condition: DependencyCondition, expected: str
) -> None:
    dependency = ContainerDependency(container="laravel", condition=condition)
    tasks = with_service_container(local_tasks, "nginx", depends_on=(dependency,))
    services = compose_document(tasks, project_root=PROJECT_ROOT)["services"]
    assert services["nginx"]["depends_on"]["laravel"] == {"condition": expected}


def test_complete_is_refused_because_compose_has_no_condition_for_it(
    local_tasks: AppTasks,
) -> None:
    dependency = ContainerDependency(container="laravel", condition=DependencyCondition.COMPLETE)
    tasks = with_service_container(local_tasks, "nginx", depends_on=(dependency,))
    with pytest.raises(ConfigError, match="'nginx' dependsOn 'laravel' COMPLETE: compose has no"):
        compose_document(tasks, project_root=PROJECT_ROOT)


def test_volumes_from_keeps_read_only(local_tasks: AppTasks, services: dict[str, Any]) -> None:
    assert services["nginx"]["volumes_from"] == ["laravel:ro"]
    writable = (VolumeFrom(source_container="laravel", read_only=False),)
    tasks = with_service_container(local_tasks, "nginx", volumes_from=writable)
    services = compose_document(tasks, project_root=PROJECT_ROOT)["services"]
    assert services["nginx"]["volumes_from"] == ["laravel:rw"]


def test_health_checks_keep_the_task_definition_timings(
    local_tasks: AppTasks, services: dict[str, Any]
) -> None:
    for task in local_tasks.task_definitions:
        for container in task.containers:
            check = container.health_check
            if check is None:
                assert "healthcheck" not in services[container.name]
                continue
            assert services[container.name]["healthcheck"] == {
                "test": list(check.command),
                "interval": f"{check.interval_seconds}s",
                "timeout": f"{check.timeout_seconds}s",
                "retries": check.retries,
                "start_period": f"{check.start_period_seconds}s",
            }


def test_images_are_the_local_asset_tags_built_as_the_cdk_asset_builds_them(
    local_tasks: AppTasks, services: dict[str, Any]
) -> None:
    assets = {asset.local_image: asset for asset in local_tasks.image_assets}
    for task in local_tasks.task_definitions:
        for container in task.containers:
            service = services[container.name]
            asset = assets[container.image]
            assert service["image"] == asset.local_image
            build = service["build"]
            assert from_compose_dir(build["context"]) == PROJECT_ROOT / "resources"
            assert (from_compose_dir(build["context"]) / build["dockerfile"]).is_file()
            assert build["dockerfile"] == asset.dockerfile
            assert build.get("target") == asset.build_target


def test_the_db_host_is_the_mysql_service_with_a_configurable_image(
    services: dict[str, Any],
) -> None:
    with_db_host = [s for s in services.values() if "DB_HOST" in s.get("environment", {})]
    assert len(with_db_host) == 3  # migrate, laravel, worker
    assert all(service["environment"]["DB_HOST"] == DB_SERVICE for service in with_db_host)
    database = services[DB_SERVICE]
    assert database["image"] == f"${{{DB_IMAGE_VARIABLE}:-mysql:8.0}}"
    assert database["healthcheck"]["test"][0] == "CMD-SHELL"
    # The same variable picks the image for `invoke dev`.
    assert HarnessSettings.from_environ({DB_IMAGE_VARIABLE: "x:1"}).db_image == "x:1"


def test_task_cpu_and_memory_are_container_limits(
    local_tasks: AppTasks, services: dict[str, Any]
) -> None:
    task = local_tasks.services[0].task
    assert task.cpu_units is not None
    assert task.memory_mib is not None
    for container in task.containers:
        service = services[container.name]
        assert service["cpus"] == task.cpu_units / 1024
        assert service["mem_limit"] == service["memswap_limit"] == f"{task.memory_mib}m"


def test_no_secret_and_no_unintended_interpolation_in_the_file(
    local_tasks: AppTasks, rendered: str, services: dict[str, Any]
) -> None:
    for task in local_tasks.task_definitions:
        for container in task.containers:
            service = services[container.name]
            assert not set(container.secrets) & set(service.get("environment", {}))
            if container.secrets:
                assert service["env_file"] == [f"../.local/compose/{container.name}.env"]
    env_files = [path for s in services.values() for path in s.get("env_file", [])]
    ignored = subprocess.run(
        ["git", "check-ignore", *(str(from_compose_dir(path)) for path in env_files)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert len(ignored.stdout.splitlines()) == len(env_files), "env files must be gitignored"
    # "$$" is a literal dollar for compose; the DB image is the one interpolation.
    unescaped = rendered.replace("$$", "")
    interpolations = re.findall(r"\$\{[^}]*\}", unescaped)
    assert set(interpolations) == {f"${{{DB_IMAGE_VARIABLE}:-mysql:8.0}}"}
    assert unescaped.count("$") == len(interpolations)


def test_dollar_signs_reach_the_container_unchanged(local_tasks: AppTasks) -> None:
    tasks = with_service_container(
        local_tasks, "laravel", environment={"GREETING": "costs $5", "DB_HOST": "x"}
    )
    services = yaml.safe_load(render_compose(tasks, project_root=PROJECT_ROOT))["services"]
    assert services["laravel"]["environment"]["GREETING"] == "costs $$5"


def test_env_files_are_private_and_sorted(tmp_path: Path) -> None:
    files = {"laravel": {"B_KEY": SecretValue("two"), "A_KEY": SecretValue("one")}}
    (path,) = write_env_files(tmp_path, files)
    assert path == tmp_path / ".local" / "compose" / "laravel.env"
    assert path.read_text() == "A_KEY=one\nB_KEY=two\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_value_compose_would_change_is_refused_without_showing_it(tmp_path: Path) -> None:
    files = {"laravel": {"APP_KEY": SecretValue("se$cret value")}}
    with pytest.raises(ConfigError, match="APP_KEY for laravel") as raised:
        write_env_files(tmp_path, files)
    assert "se$cret" not in str(raised.value)


def test_env_files_hold_what_invoke_dev_resolves(local_tasks: AppTasks, tmp_path: Path) -> None:
    files = env_file_values(tmp_path, local_tasks)
    (cache,) = local_tasks.caches
    assert set(files) == {"migrate", "laravel", "worker", DB_SERVICE, cache.local_host}
    stored = json.loads((tmp_path / ".local" / "secrets.json").read_text())
    credentials = stored["secretsmanager"]["laravel/local/aurora"]
    for service in ("migrate", "laravel", "worker"):
        values = {name: value.reveal() for name, value in files[service].items()}
        assert values["DB_USERNAME"] == credentials["username"]
        assert values["DB_PASSWORD"] == credentials["password"]
        assert values["APP_KEY"] == stored["secretsmanager"]["laravel/local/app-key"]
        assert values["MAIL_PASSWORD"] == stored["ssm"]["/laravel/local/mail-password"]
        # The app's password is the one the local Redis requires: the AuthToken's secret.
        assert values["REDIS_PASSWORD"] == stored["secretsmanager"]["laravel/local/redis-auth"]
    assert {name: value.reveal() for name, value in files[cache.local_host].items()} == {
        "REDIS_PASSWORD": stored["secretsmanager"]["laravel/local/redis-auth"]
    }
    database = {name: value.reveal() for name, value in files[DB_SERVICE].items()}
    assert database == {
        "MYSQL_DATABASE": "laravel",
        "MYSQL_USER": credentials["username"],
        "MYSQL_PASSWORD": credentials["password"],
        "MYSQL_ROOT_PASSWORD": credentials["password"] + "-root",
    }


def test_each_redis_is_a_service_built_from_the_stand_in(
    services: dict[str, Any], local_tasks: AppTasks
) -> None:
    (cache,) = local_tasks.caches
    redis = services[cache.local_host]
    assert redis["build"] == {"context": "../parity/assets/redis"}
    assert redis["image"].startswith("fargate-parity/redis:bookworm-")
    assert redis["environment"] == {"REDIS_PORT": "6380"}
    assert redis["env_file"] == [f"../.local/compose/{cache.local_host}.env"]
    assert redis["healthcheck"]["test"] == ["CMD", "redis-healthcheck"]
    for name in ("migrate", "laravel"):
        assert services[name]["environment"]["REDIS_HOST"] == cache.local_host
        assert services[name]["environment"]["REDIS_PORT"] == "6380"
        assert services[name]["environment"]["REDIS_SCHEME"] == "tcp"
        assert services[name]["depends_on"][cache.local_host] == {"condition": "service_healthy"}


def test_the_compose_cli_accepts_the_file(
    rendered: str, tmp_path: Path, local_tasks: AppTasks
) -> None:
    cli = compose_command()
    if cli is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    (tmp_path / "compose").mkdir()
    compose_file = tmp_path / COMPOSE_FILE
    compose_file.write_text(rendered)
    (tmp_path / "resources").symlink_to(PROJECT_ROOT / "resources")
    (tmp_path / "parity").symlink_to(PROJECT_ROOT / "parity")
    env_dir = tmp_path / ".local" / "compose"
    env_dir.mkdir(parents=True)
    services = ("migrate", "laravel", "worker", DB_SERVICE)
    for service in (*services, *(c.local_host for c in local_tasks.caches)):
        (env_dir / f"{service}.env").write_text("PLACEHOLDER=1\n")
    result = subprocess.run(
        [*cli, "-f", str(compose_file), "config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert services[DB_SERVICE]["image"] == "mysql:8.0"
    assert services["nginx"]["network_mode"] == "service:webservice-holder"
    assert services["laravel"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    # Escaped, the probe's shell variables were not interpolated away (to empty strings).
    assert '"$$MYSQL_PASSWORD"' in services[DB_SERVICE]["healthcheck"]["test"][1]


def with_worker_container_renamed(tasks: AppTasks, old: str, new: str) -> AppTasks:
    """The sample with the worker task's container renamed, as another app would name it."""
    services = []
    for service in tasks.services:
        containers = tuple(
            dataclasses.replace(container, name=new) if container.name == old else container
            for container in service.task.containers
        )
        task = dataclasses.replace(service.task, containers=containers)
        services.append(dataclasses.replace(service, task=task))
    return dataclasses.replace(tasks, services=tuple(services))


def test_a_container_name_two_tasks_share_is_prefixed_by_its_task(
    local_tasks: AppTasks, tmp_path: Path
) -> None:
    # Two services that both call their app container "laravel" (the web and the worker).
    tasks = with_worker_container_renamed(local_tasks, "worker", "laravel")

    services = compose_document(tasks, project_root=PROJECT_ROOT)["services"]
    files = env_file_values(tmp_path, tasks)

    web, worker = (service.key for service in tasks.services)
    assert {f"{web}-laravel", f"{worker}-laravel"} <= set(services)
    assert "laravel" not in services
    # References follow the new names: volumesFrom, dependsOn, env files; unique names stay.
    assert services["nginx"]["volumes_from"] == [f"{web}-laravel:ro"]
    assert services["nginx"]["depends_on"][f"{web}-laravel"] == {"condition": "service_healthy"}
    assert services[f"{worker}-laravel"]["env_file"] == [f"../.local/compose/{worker}-laravel.env"]
    assert {f"{web}-laravel", f"{worker}-laravel", "migrate"} <= set(files)
    assert services[f"{worker}-laravel"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
