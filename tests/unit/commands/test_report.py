"""`invoke parity`: each named local override next to the deployed value, from the real app.

The local side comes from the local environment's synthesized task definitions, the deployed
side from prod's; the last tests check that the local runtime applies the same definitions.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from rich.console import Console

from parity.assembly.apptasks import AppTasks, environment_tasks
from parity.assembly.taskdef import ContainerSpec, PortMapping, TaskDefinition
from parity.commands.report import (
    NAMED_OVERRIDES,
    ParityInputs,
    ParityRow,
    compare_with_deployed,
    parity_report,
    parity_table,
)
from parity.config.harness import UserOverride
from parity.engine.labels import Scope
from parity.engine.ports import LOOPBACK_ADDRESS
from parity.errors import ConfigError
from parity.runtime import localrun
from parity.runtime.devsecrets import demand_of, load_or_create, stored_values
from parity.runtime.overrides import environment_overrides
from parity.runtime.task import LocalTask, Placement

from ..cdk.cdk_assembly import PROJECT_ROOT
from ..synthesized import synthesized_assembly
from .conftest import HOST_PORT


def rows_of(
    inputs: ParityInputs, override: str, *, source_mounts: bool = False, hot: bool = False
) -> list[ParityRow]:
    rows = compare_with_deployed(inputs, source_mounts=source_mounts, hot=hot)
    return [row for row in rows if row.override == override]


def declared_references(tasks: AppTasks) -> tuple[UserOverride, ...]:
    """A GetAtt of the migration task definition and an ImportValue, as a user declares them."""
    return (
        UserOverride(
            kind="get_att",
            stack=tasks.migration_stack,
            target=f"{tasks.migration.logical_id}.TaskDefinitionArn",
            value="arn:local:task",
            reason="no task registry locally",
        ),
        UserOverride(
            kind="import_value", target="SharedVpcId", value="vpc-local", reason="no shared VPC"
        ),
    )


def test_every_override_applies_somewhere_in_the_app(inputs: ParityInputs) -> None:
    declared = UserOverride(kind="env", target="LOG_CHANNEL", value="stack", reason="local files")
    local = dataclasses.replace(
        inputs.local,
        environment_overrides=(declared,),
        reference_overrides=declared_references(inputs.local),
    )
    rows = compare_with_deployed(
        dataclasses.replace(inputs, local=local, schedule_override="rate(10 seconds)"), hot=True
    )
    assert {row.override for row in rows} == {override.name for override in NAMED_OVERRIDES}
    assert len({override.name for override in NAMED_OVERRIDES}) == len(NAMED_OVERRIDES)


def test_declared_refs_getatts_and_imports_are_listed_with_their_reasons(
    inputs: ParityInputs,
) -> None:
    local = dataclasses.replace(inputs.local, reference_overrides=declared_references(inputs.local))

    rows = rows_of(dataclasses.replace(inputs, local=local), "declared values")

    task = inputs.local.migration.logical_id
    assert [(row.where, row.local, row.deployed) for row in rows] == [
        (
            f"{inputs.local.migration_stack} Fn::GetAtt {task}.TaskDefinitionArn",
            "arn:local:task (no task registry locally)",
            f"the deployed AWS::ECS::TaskDefinition {task}'s TaskDefinitionArn",
        ),
        (
            "Fn::ImportValue SharedVpcId",
            "vpc-local (no shared VPC)",
            "the export SharedVpcId of the deployed stacks",
        ),
    ]


def test_db_host_is_the_local_mysql_against_the_aurora_endpoint(
    inputs: ParityInputs, environment_files: dict[str, dict[str, Any]]
) -> None:
    rows = rows_of(inputs, "DB host")
    assert [row.where for row in rows] == [
        "migration/migrate DB_HOST",
        "webservice/laravel DB_HOST",
        "workerservice/worker DB_HOST",
    ]
    for row in rows:
        assert row.field == "environment (the DB host)"
        assert environment_files["local"]["db_endpoint"] in row.local
        assert "local MySQL" in row.local
        assert row.deployed == environment_files["prod"]["db_endpoint"]


def test_the_database_is_the_configured_image_against_aurora_mysql_3(
    inputs: ParityInputs, environment_files: dict[str, dict[str, Any]]
) -> None:
    (default,) = rows_of(inputs, "database")
    assert default.local.startswith("mysql:8.0 (the MariaDB stand-in")
    assert default.deployed.startswith("Aurora MySQL 3")
    assert default.deployed.endswith(f"at {environment_files['prod']['db_endpoint']}")
    (chosen,) = rows_of(dataclasses.replace(inputs, db_image="mysql:8.0.36"), "database")
    assert chosen.local == "mysql:8.0.36"


def test_images_are_local_asset_tags_against_ecr_uris_with_the_same_hash(
    inputs: ParityInputs, environment_files: dict[str, dict[str, Any]]
) -> None:
    account, region = environment_files["prod"]["account"], environment_files["prod"]["region"]
    rows = rows_of(inputs, "image")
    assert [row.where for row in rows] == [
        "migration/migrate",
        "webservice/laravel",
        "webservice/nginx",
        "workerservice/worker",
    ]
    for row in rows:
        repository, asset_hash = row.local.split(":")
        assert repository == "fargate-parity/asset"
        registry = re.escape(f"{account}.dkr.ecr.{region}.amazonaws.com")
        assert re.fullmatch(rf"{registry}/[a-z0-9-]+:{asset_hash}", row.deployed), row.deployed


def test_secrets_are_compared_by_source_never_by_value(
    inputs: ParityInputs,
    local_tasks: AppTasks,
    environment_files: dict[str, dict[str, Any]],
    tmp_path: Path,
) -> None:
    prod = environment_files["prod"]
    expected = {
        "DB_USERNAME": f"{prod['db_secret_arn']}:username::",
        "DB_PASSWORD": f"{prod['db_secret_arn']}:password::",
        "APP_KEY": prod["app_key_secret_arn"],
        "MAIL_PASSWORD": (
            f"arn:aws:ssm:{prod['region']}:{prod['account']}:parameter"
            f"{prod['mail_password_parameter_name']}"
        ),
        "REDIS_PASSWORD": prod["redis_auth_secret_arn"],
    }
    rows = rows_of(inputs, "secret values")
    for where in ("migration/migrate", "webservice/laravel", "workerservice/worker"):
        deployed = {
            row.where.split()[1]: row.deployed for row in rows if row.where.startswith(where)
        }
        assert deployed == expected
    assert all(".local/secrets.json" in row.local and "emulator" in row.local for row in rows)
    # Even with dev values on disk, no report cell holds one.
    secrets_file = tmp_path / ".local" / "secrets.json"
    load_or_create(secrets_file, demand_of(local_tasks.task_definitions))
    report = dataclasses.replace(inputs, project_root=tmp_path, secrets_file=secrets_file)
    cells = {
        cell
        for row in compare_with_deployed(report, source_mounts=True)
        for cell in dataclasses.astuple(row)
    }
    for value in stored_values(secrets_file):
        assert not any(value.reveal() in cell for cell in cells)


def test_the_published_port_is_loopback_against_the_alb_target_group(
    inputs: ParityInputs, environment_files: dict[str, dict[str, Any]]
) -> None:
    (row,) = rows_of(inputs, "published port")
    assert row.where == "webservice/nginx:8080"
    assert row.local == f"the local load balancer on {LOOPBACK_ADDRESS}:{HOST_PORT}"
    assert row.deployed.startswith("ALB target group ")
    assert environment_files["prod"]["listener_arn"] in row.deployed
    other_port = rows_of(dataclasses.replace(inputs, host_port=9090), "published port")
    assert other_port[0].local == f"the local load balancer on {LOOPBACK_ADDRESS}:9090"


def test_logs_go_to_docker_instead_of_cloudwatch(inputs: ParityInputs) -> None:
    rows = rows_of(inputs, "logs")
    assert [row.where for row in rows] == [
        "migration/migrate",
        "webservice/laravel",
        "webservice/nginx",
        "workerservice/worker",
    ]
    for row in rows:
        assert "docker logs" in row.local
        assert row.deployed.startswith("awslogs, group /laravel/prod/"), row.deployed


def test_task_roles_act_only_in_the_emulator_and_execution_roles_are_unused(
    inputs: ParityInputs,
) -> None:
    rows = rows_of(inputs, "IAM roles")
    assert [row.where for row in rows] == [
        "migration taskRoleArn",
        "migration executionRoleArn",
        "webservice taskRoleArn",
        "webservice executionRoleArn",
        "workerservice taskRoleArn",
        "workerservice executionRoleArn",
    ]
    for row in rows:
        expected = "assumed in the AWS emulator" if "taskRole" in row.where else "not used"
        assert row.local.startswith(expected)
        assert re.fullmatch(
            r"IAM role \w+, created by Laravel-Prod-(Migration|Service|Worker)", row.deployed
        )


def test_source_mounts_are_listed_only_for_dev_mode(inputs: ParityInputs) -> None:
    assert rows_of(inputs, "source mounts") == []
    rows = rows_of(inputs, "source mounts", source_mounts=True)
    # Every container of the app image gets them: the web app's and the queue worker.
    for container in ("laravel", "worker"):
        mounts = [row for row in rows if row.where == container]
        assert "resources/laravel/app → /application/app (ro bind mount)" in {
            r.local for r in mounts
        }
        assert all(row.deployed.startswith("none") for row in mounts)
    added = [row for row in rows if row.where not in ("laravel", "worker")]
    assert [row.where for row in added] == [
        "laravel environment.PHP_OPCACHE_VALIDATE_TIMESTAMPS",
        "worker environment.PHP_OPCACHE_VALIDATE_TIMESTAMPS",
    ]
    assert all(row.local.startswith("1 ") for row in added)


def test_redis_is_the_local_stand_in_against_the_elasticache_group(
    inputs: ParityInputs, environment_files: dict[str, dict[str, Any]]
) -> None:
    (cache,) = inputs.local.caches
    (row,) = rows_of(inputs, "Redis")
    assert row.where == cache.logical_id
    assert row.local == f"local Redis {cache.local_host}:6380, AUTH from the emulator"
    assert row.deployed == (
        "ElastiCache in Laravel-Prod-Migration, port 6380, TLS,"
        " AUTH from secret laravel/prod/redis-auth"
    )
    # fargate-parity.toml declares the plain-TCP transport of the local Redis.
    transport = [row for row in rows_of(inputs, "declared") if "REDIS_SCHEME" in row.where]
    assert [r.where for r in transport] == [
        "migration/migrate REDIS_SCHEME",
        "webservice/laravel REDIS_SCHEME",
        "workerservice/worker REDIS_SCHEME",
    ]
    assert all(r.local.startswith("tcp ") and r.deployed == "tls" for r in transport)


def test_the_local_scheduler_runs_the_rules_task_against_the_eventbridge_rule(
    inputs: ParityInputs,
) -> None:
    (row,) = rows_of(inputs, "local scheduler")
    assert row.where == "schedulerule"
    assert row.local == (
        "attached `invoke dev`, after the gate: 1 task(s) of laravel-local-scheduler at"
        " rate(1 minute) (UTC)"
    )
    assert row.deployed.startswith("EventBridge rule ScheduleRule")
    assert row.deployed.endswith(
        " (Laravel-Prod-Scheduler): 1 task(s) of laravel-prod-scheduler at rate(1 minute) (UTC)"
    )


def test_the_schedule_override_is_listed_only_when_set(inputs: ParityInputs) -> None:
    assert rows_of(inputs, "schedule override") == []
    (row,) = rows_of(dataclasses.replace(inputs, schedule_override="rate(10 seconds)"),
                     "schedule override")  # fmt: skip
    assert (row.where, row.deployed) == ("schedulerule", "rate(1 minute)")
    assert row.local == "rate(10 seconds) (PARITY_SCHEDULE_OVERRIDE, not rate(1 minute))"


def test_the_vite_dev_server_is_listed_only_for_hot_mode_which_implies_source_mounts(
    inputs: ParityInputs,
) -> None:
    assert rows_of(inputs, "Vite dev server") == []
    assert rows_of(inputs, "Vite dev server", source_mounts=True) == []
    assert rows_of(inputs, "source mounts", hot=True) == rows_of(
        inputs, "source mounts", source_mounts=True
    )
    rows = rows_of(inputs, "Vite dev server", hot=True)
    server = rows[0]
    by_where = {row.where: row for row in rows}
    mounts = [row for row in rows if row.where == "vite" and "bind mount" in row.local]
    assert server.where == "vite"
    assert "http://127.0.0.1:5173" in server.local
    assert "the assets stage of Dockerfile-laravel" in server.local
    assert server.local.endswith("-assets")
    assert {row.local for row in mounts} == {
        "resources/laravel/resources/js → /app/resources/js (ro bind mount)",
        "resources/laravel/resources/css → /app/resources/css (ro bind mount)",
    }
    assert by_where["vite environment.CHOKIDAR_USEPOLLING"].local == "1"
    assert "vite environment.CHOKIDAR_INTERVAL" in by_where
    # Every container that runs the app image gets the hot file: the web's and the worker's.
    hot_files = [row for row in rows if row.where.endswith(" /application/public/hot")]
    assert {row.where for row in hot_files} >= {"laravel /application/public/hot"}
    assert all(
        row.local.startswith(".local/hot → /application/public/hot (ro bind mount)")
        for row in hot_files
    )
    assert all(row.deployed.startswith("none:") for row in rows)
    hot = inputs.dev.require_hot()
    other = dataclasses.replace(inputs.dev, hot=dataclasses.replace(hot, port=5200))
    other_port = rows_of(dataclasses.replace(inputs, dev=other), "Vite dev server", hot=True)
    assert "http://127.0.0.1:5200" in other_port[0].local


def test_hot_mode_without_a_dev_hot_table_is_one_line_saying_so(inputs: ParityInputs) -> None:
    without = dataclasses.replace(inputs, dev=dataclasses.replace(inputs.dev, hot=None))
    assert rows_of(without, "source mounts", source_mounts=True)
    with pytest.raises(ConfigError, match=r"fargate-parity\.toml has no \[dev\.hot\]") as caught:
        compare_with_deployed(without, hot=True)
    assert "\n" not in str(caught.value)


def test_the_table_shows_every_row_without_reading_markup(inputs: ParityInputs) -> None:
    rows = compare_with_deployed(inputs)
    console = Console(record=True, width=2000)
    console.print(parity_table(rows, env="prod"))
    text = console.export_text()
    assert "deployed (prod)" in text
    for row in rows:
        assert row.deployed in text


def test_an_unknown_environment_is_one_clear_error() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown environment 'staging'; fargate-parity\.toml defines: local"
    ):
        parity_report(
            PROJECT_ROOT, env="staging", host_port=HOST_PORT, source_mounts=False, db_image="x"
        )


def test_both_environments_load_from_one_full_synth(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    directory = synthesized_assembly(tmp_path_factory, "local", "prod")
    assert environment_tasks(PROJECT_ROOT, "prod", directory).env == "prod"
    assert environment_tasks(PROJECT_ROOT, "local", directory).env == "local"


# -- the local runtime applies these same definitions -----------------------------------------


def test_local_runs_replace_the_db_host_the_override_names(local_tasks: AppTasks) -> None:
    context = localrun.LocalContext(
        client=MagicMock(),
        scope=Scope.TEST,
        run_id="0000",
        network="net",
        db_host="parity-test-0000-mysql",
        emulator=MagicMock(),
        secrets_file=Path("unused"),
    )
    placed = localrun.placement(context, local_tasks, "task")
    assert dict(placed.environment_overrides) == {
        "REDIS_SCHEME": "tcp",
        "DB_HOST": "parity-test-0000-mysql",
    }
    assert placed.environment_overrides == environment_overrides(
        local_tasks, db_host=context.db_host
    )


def test_the_task_holder_publishes_on_the_loopback_address_the_override_names() -> None:
    # localtask binds the holder's ports itself; this fails if it ever stops using loopback.
    client = MagicMock()
    web = ContainerSpec(name="web", image="web:1", port_mappings=(PortMapping(container_port=80),))
    task = TaskDefinition(
        logical_id="Web", family=None, network_mode="awsvpc", cpu_units=None, memory_mib=None,
        containers=(web,),
    )  # fmt: skip
    placement = Placement(task_name="web-task", network="net", labels={}, host_ports={80: None})
    LocalTask(client, task, placement, secrets={}).start()
    assert client.containers.run.call_args.kwargs["ports"] == {"80/tcp": (LOOPBACK_ADDRESS, None)}


def test_every_task_endpoint_is_listed_for_every_task(inputs: ParityInputs) -> None:
    rows = rows_of(inputs, "task endpoints")
    kinds = ["migration", "webservice", "workerservice"]
    variables = [
        "ECS_CONTAINER_METADATA_URI_V4",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_ENDPOINT_URL",
    ]
    assert [row.where for row in rows] == [f"{k} {v}" for k in kinds for v in variables]
    credentials = [row for row in rows if "CREDENTIALS" in row.where]
    assert all("the emulator's STS credentials for the task role" in r.local for r in credentials)
