"""The ECS backend against botocore Stubbers: exit codes, the log stream, RunTask's shape."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from parity.deploy.awsclient import AwsApi
from parity.deploy.ecs import CdkCli, EcsBackend
from parity.deploy.flow import (
    DeployOptions,
    GateResult,
    MigrationRun,
    MigrationTask,
    client_token,
    run_migration_gate,
)
from parity.errors import MigrationFailed

from .conftest import QA_STACKS, qa_migration
from .fakes import (
    LOG_GROUP,
    LOG_STREAM,
    MIGRATION_OUTPUTS,
    PULL_ERROR,
    REGION,
    SECURITY_GROUP,
    SUBNETS,
    TASK_ARN,
    TASK_DEFINITION_ARN,
    FakeClock,
    container_payload,
    describe_tasks_payload,
    log_events_payload,
    stack_payload,
    task_payload,
)

OPTIONS = DeployOptions(environment="qa", deploy_id="gh-4242-1", migration_timeout_s=900)
TOKEN = client_token(environment="qa", task_definition=TASK_DEFINITION_ARN, deploy_id="gh-4242-1")
EXITED = "EssentialContainerExited"
EXITED_REASON = "Essential container in task exited"


@dataclass
class Stubbed:
    backend: EcsBackend
    cloudformation: Stubber
    ecs: Stubber
    logs: Stubber
    clock: FakeClock

    def outputs(self) -> None:
        self.cloudformation.add_response(
            "describe_stacks",
            stack_payload("Laravel-Qa-Migration", outputs=MIGRATION_OUTPUTS),
            {"StackName": "Laravel-Qa-Migration"},
        )

    def run_task(self) -> None:
        pending = task_payload(
            status="PROVISIONING", containers=[container_payload("migrate", status="PENDING")]
        )
        self.ecs.add_response(
            "run_task",
            {"tasks": [pending], "failures": []},
            {
                "cluster": "laravel-qa",
                "taskDefinition": TASK_DEFINITION_ARN,
                "launchType": "FARGATE",
                "count": 1,
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": list(SUBNETS),
                        "securityGroups": [SECURITY_GROUP],
                        "assignPublicIp": "DISABLED",
                    }
                },
                "clientToken": TOKEN,
                "startedBy": "fargate-parity",
            },
        )

    def describe(self, task: dict[str, Any]) -> None:
        self.ecs.add_response(
            "describe_tasks",
            describe_tasks_payload(task),
            {"cluster": "laravel-qa", "tasks": [TASK_ARN]},
        )

    def log_page(self, lines: list[str], *, after: str | None, token: str) -> None:
        expected: dict[str, Any] = {
            "logGroupName": LOG_GROUP,
            "logStreamName": LOG_STREAM,
            "startFromHead": True,
        }
        if after is not None:
            expected["nextToken"] = after
        self.logs.add_response("get_log_events", log_events_payload(lines, token=token), expected)

    def no_log_stream_yet(self) -> None:
        self.logs.add_client_error(
            "get_log_events",
            service_error_code="ResourceNotFoundException",
            service_message="The specified log stream does not exist.",
            http_status_code=400,
        )


@pytest.fixture
def stubbed(project_root: Path) -> Iterator[Stubbed]:
    clients = {
        service: boto3.client(
            service,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        for service in ("cloudformation", "ecs", "logs")
    }
    stubbers = {service: Stubber(client) for service, client in clients.items()}
    for stubber in stubbers.values():
        stubber.activate()
    clock = FakeClock()
    backend = EcsBackend(
        environment="qa",
        migration=qa_migration(project_root),
        stacks=lambda: QA_STACKS,
        api=AwsApi(**clients),
        cdk=CdkCli(project_root=project_root, assembly_dir=project_root / "cdk.out"),
        clock=clock,
    )
    yield Stubbed(backend, clock=clock, **stubbers)
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def script_migration(
    stubbed: Stubbed, *, final_containers: list[dict[str, Any]], **stop: str
) -> None:
    """RunTask, then PROVISIONING → RUNNING (logs flowing) → stopped with ``final_containers``."""
    stubbed.outputs()
    stubbed.run_task()
    stubbed.describe(
        task_payload(
            status="PROVISIONING", containers=[container_payload("migrate", status="PENDING")]
        )
    )
    stubbed.no_log_stream_yet()
    running = [
        container_payload("migrate", status="RUNNING"),
        container_payload("log-router", status="RUNNING"),
    ]
    stubbed.describe(task_payload(status="RUNNING", containers=running))
    stubbed.log_page(["Migrating: 2026_11_01_000000_create_orders_table"], after=None, token="f/1")
    stubbed.describe(task_payload(status="RUNNING", containers=running))
    stubbed.log_page([], after="f/1", token="f/1")
    stubbed.describe(
        task_payload(
            status="DEPROVISIONING", desired="STOPPED", containers=final_containers, **stop
        )
    )
    stubbed.log_page(
        ["SQLSTATE[42S01]: Base table or view already exists\n"], after="f/1", token="f/2"
    )
    stubbed.log_page([], after="f/2", token="f/2")


def gate(stubbed: Stubbed) -> GateResult:
    return run_migration_gate(stubbed.backend, OPTIONS)


def test_watched_exit_1_fails_even_though_the_sidecar_exit_137_is_ignored(
    stubbed: Stubbed, capsys: pytest.CaptureFixture[str]
) -> None:
    script_migration(
        stubbed,
        final_containers=[
            container_payload("migrate", status="STOPPED", exit_code=1),
            container_payload("log-router", status="STOPPED", exit_code=137),
        ],
        stop_code=EXITED,
        stopped_reason=EXITED_REASON,
    )

    with pytest.raises(MigrationFailed, match=r"migration failed: migrate exited 1 \(task 4f1c"):
        gate(stubbed)

    printed = capsys.readouterr().err
    assert "migrate │ SQLSTATE[42S01]: Base table or view already exists" in printed
    assert f"stop reason: {EXITED}: {EXITED_REASON}" in printed


def test_watched_exit_0_passes_with_a_sidecar_killed_by_137(stubbed: Stubbed) -> None:
    script_migration(
        stubbed,
        final_containers=[
            container_payload("migrate", status="STOPPED", exit_code=0),
            container_payload("log-router", status="STOPPED", exit_code=137),
        ],
        stop_code=EXITED,
        stopped_reason=EXITED_REASON,
    )

    result = gate(stubbed)

    assert result.outcome.containers["migrate"].exit_code == 0
    assert result.outcome.containers["log-router"].exit_code == 137
    assert result.run.task_id == TASK_ARN


def test_task_that_cannot_pull_its_image_fails_without_an_exit_code(
    stubbed: Stubbed, capsys: pytest.CaptureFixture[str]
) -> None:
    stubbed.outputs()
    stubbed.run_task()
    stubbed.describe(
        task_payload(status="PENDING", containers=[container_payload("migrate", status="PENDING")])
    )
    stubbed.no_log_stream_yet()
    stubbed.describe(
        task_payload(
            status="STOPPED",
            desired="STOPPED",
            containers=[container_payload("migrate", status="STOPPED", reason=PULL_ERROR)],
            stop_code="TaskFailedToStart",
            stopped_reason=PULL_ERROR,
        )
    )
    stubbed.no_log_stream_yet()

    with pytest.raises(MigrationFailed, match="migrate never exited with a code") as raised:
        gate(stubbed)

    assert "CannotPullContainerError" in str(raised.value)
    printed = capsys.readouterr().err
    assert "wrote no log lines" in printed
    assert "stop reason: TaskFailedToStart: CannotPullContainerError" in printed


def test_logs_are_streamed_in_order_while_the_task_runs(stubbed: Stubbed) -> None:
    stubbed.outputs()
    stubbed.backend.migration_task()
    run = MigrationRun(
        task_id=TASK_ARN,
        task=MigrationTask(task_definition=TASK_DEFINITION_ARN, watched_container="migrate"),
    )
    running = task_payload(
        status="RUNNING", containers=[container_payload("migrate", status="RUNNING")]
    )
    received: list[tuple[float, str]] = []
    stubbed.describe(running)
    stubbed.log_page(["one", "two"], after=None, token="f/2")
    stubbed.describe(running)
    stubbed.log_page(["three\nfour"], after="f/2", token="f/3")
    stubbed.describe(
        task_payload(
            status="STOPPED",
            desired="STOPPED",
            containers=[container_payload("migrate", status="STOPPED", exit_code=0)],
        )
    )
    stubbed.log_page(["five"], after="f/3", token="f/4")
    stubbed.log_page([], after="f/4", token="f/4")

    stubbed.backend.wait_for_migration(
        run, timeout_s=60, on_log=lambda container, line: received.append((stubbed.clock.now, line))
    )

    assert [line for _, line in received] == ["one", "two", "three", "four", "five"]
    # live: the first lines arrived before the task stopped, not after
    assert received[0][0] < received[-1][0]


def test_polling_starts_fast_and_backs_off_to_two_seconds(stubbed: Stubbed) -> None:
    stubbed.outputs()
    stubbed.backend.migration_task()
    run = MigrationRun(
        task_id=TASK_ARN,
        task=MigrationTask(task_definition=TASK_DEFINITION_ARN, watched_container="migrate"),
    )
    running = task_payload(
        status="RUNNING", containers=[container_payload("migrate", status="RUNNING")]
    )
    for _ in range(10):
        stubbed.describe(running)
        stubbed.no_log_stream_yet()

    outcome = stubbed.backend.wait_for_migration(run, timeout_s=9.5, on_log=lambda *_: None)

    assert outcome is None  # still running at the deadline
    assert stubbed.clock.sleeps[:3] == [0.25, 0.375, 0.5625]
    assert max(stubbed.clock.sleeps) == 2.0
    assert sum(stubbed.clock.sleeps) == pytest.approx(9.5)
