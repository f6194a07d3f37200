from __future__ import annotations

import base64
import subprocess
from unittest.mock import MagicMock

from parity.assembly.taskdef import ContainerSpec, HealthCheck, TaskDefinition
from parity.engine.secretinject import SECRETS_WRAPPER, secrets_payload
from parity.runtime.overrides import fargate_environment
from parity.runtime.task import LocalTask, Placement, docker_healthcheck, effective_argv, redactor
from parity.secretvalue import SecretValue

IMAGE_CONFIG = {"Entrypoint": ["docker-entrypoint"], "Cmd": ["php-fpm8.2", "-F"]}


def spec(**fields: object) -> ContainerSpec:
    return ContainerSpec(name="laravel", image="app:1", **fields)  # type: ignore[arg-type]


def test_the_image_defaults_run_when_nothing_is_overridden() -> None:
    assert effective_argv(spec(), IMAGE_CONFIG) == (["docker-entrypoint"], ["php-fpm8.2", "-F"])


def test_a_command_override_keeps_the_image_entrypoint() -> None:
    migrate = spec(command=("php", "artisan", "migrate", "--force"))
    assert effective_argv(migrate, IMAGE_CONFIG) == (
        ["docker-entrypoint"],
        ["php", "artisan", "migrate", "--force"],
    )


def test_an_entrypoint_override_drops_the_image_cmd_like_docker() -> None:
    assert effective_argv(spec(entry_point=("sh", "-c")), IMAGE_CONFIG) == (["sh", "-c"], [])


def test_health_check_timings_become_nanoseconds() -> None:
    check = HealthCheck(
        command=("CMD-SHELL", "php-fpm-healthcheck"),
        interval_seconds=5,
        timeout_seconds=3,
        retries=3,
        start_period_seconds=10,
    )
    assert docker_healthcheck(check) == {
        "test": ["CMD-SHELL", "php-fpm-healthcheck"],
        "interval": 5_000_000_000,
        "timeout": 3_000_000_000,
        "retries": 3,
        "start_period": 10_000_000_000,
    }


def test_the_wrapper_exports_the_secrets_and_runs_the_command() -> None:
    values = {
        "DB_PASSWORD": SecretValue("p@ss word='\"$x"),
        "APP_KEY": SecretValue("line1\nline2"),
    }
    payload = secrets_payload(values)
    assert b"p@ss" not in payload, "values travel base64-encoded"
    result = subprocess.run(
        ["/bin/sh", str(SECRETS_WRAPPER), "sh", "-c", 'printf "%s|%s" "$DB_PASSWORD" "$APP_KEY"'],
        input=payload,
        capture_output=True,
        check=True,
    )
    assert result.stdout.decode() == "p@ss word='\"$x|line1\nline2"


def test_the_payload_ends_with_an_empty_line_so_the_wrapper_stops_reading() -> None:
    payload = secrets_payload({"A": SecretValue("b")})
    assert payload == b"A=" + base64.b64encode(b"b") + b"\n\n"


def test_secret_values_are_masked_in_output_longest_first() -> None:
    redact = redactor([SecretValue("hunter2"), SecretValue("hunter2-extended"), SecretValue("ab")])
    assert redact("pw=hunter2-extended or hunter2") == "pw=**** or ****"
    assert redact("ab stays: too short to mask safely") == "ab stays: too short to mask safely"


def test_every_container_gets_what_fargate_sets_and_the_task_definition_wins() -> None:
    task = TaskDefinition(
        logical_id="Web", family=None, network_mode="awsvpc", cpu_units=None, memory_mib=None,
        containers=(spec(environment={"APP_ENV": "local", "AWS_REGION": "us-west-2"}),),
    )  # fmt: skip
    placement = Placement(
        task_name="web",
        network="net",
        labels={},
        platform_environment=fargate_environment("eu-west-1"),
    )
    environment = LocalTask(MagicMock(), task, placement, secrets={})._environment(
        task.containers[0]
    )
    assert environment == {
        "AWS_REGION": "us-west-2",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
        "APP_ENV": "local",
    }


def test_a_container_is_stopped_with_sigterm_and_its_stop_timeout_whatever_the_image_says() -> None:
    client = MagicMock()
    client.api.inspect_image.return_value = {"Config": {"Cmd": ["php-fpm8.2"]}}
    client.api.create_container.return_value = {"Id": "c1"}
    task = TaskDefinition(
        logical_id="Worker", family=None, network_mode="awsvpc", cpu_units=None, memory_mib=None,
        containers=(spec(stop_timeout_seconds=120),),
    )  # fmt: skip
    placement = Placement(task_name="worker", network="net", labels={})
    LocalTask(client, task, placement, secrets={})._create_container(task.containers[0])
    created = client.api.create_container.call_args.kwargs
    # The php image's STOPSIGNAL is SIGQUIT; the ECS agent sends SIGTERM regardless.
    assert (created["stop_signal"], created["stop_timeout"]) == ("SIGTERM", 120)
