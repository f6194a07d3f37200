"""Test doubles for the deploy flow: a fake clock, a recording backend, realistic ECS payloads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from parity.deploy.flow import (
    ContainerResult,
    LogSink,
    MigrationOutcome,
    MigrationRun,
    MigrationTask,
)

REGION = "eu-west-1"
ACCOUNT = "111111111111"
CLUSTER = "laravel-qa"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"
TASK_DEFINITION_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/laravel-qa-migration:7"
TASK_ID = "4f1c2b7e9a0d4c3e8b6a5f2d1e0c9b8a"
TASK_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/{TASK_ID}"
IMAGE = (
    f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/cdk-hnb659fds-container-assets-{ACCOUNT}-{REGION}"
    ":3f5a9c0e1b2d4f6a8c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a"
)
SUBNETS = ("subnet-0a11111111111111a", "subnet-0b11111111111111b")
SECURITY_GROUP = "sg-0e11111111111111e"
LOG_GROUP = "/laravel/qa/migration"
LOG_STREAM = f"migration/migrate/{TASK_ID}"
MIGRATION_OUTPUTS = {
    "ClusterName": CLUSTER,
    "TaskDefinitionArn": TASK_DEFINITION_ARN,
    "SubnetIds": ",".join(SUBNETS),
    "SecurityGroupIds": SECURITY_GROUP,
    "WatchedContainer": "migrate",
    "LogGroupName": LOG_GROUP,
    "LogStreamPrefix": "migration",
    "AssignPublicIp": "DISABLED",
}
CREATED_AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
PULL_ERROR = (
    "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve"
    f" ref {IMAGE}: not found"
)


class FakeClock:
    """``monotonic``/``sleep`` where sleeping only moves the clock on."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def stack_payload(
    name: str, *, status: str = "UPDATE_COMPLETE", outputs: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A DescribeStacks response for one stack."""
    return {
        "Stacks": [
            {
                "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/0c1d2e3f",
                "StackName": name,
                "CreationTime": CREATED_AT,
                "StackStatus": status,
                "Outputs": [
                    {"OutputKey": key, "OutputValue": value}
                    for key, value in (outputs or {}).items()
                ],
            }
        ]
    }


def container_payload(
    name: str, *, status: str, exit_code: int | None = None, reason: str | None = None
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "containerArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container/{CLUSTER}/{TASK_ID}/{name}",
        "taskArn": TASK_ARN,
        "name": name,
        "image": IMAGE
        if name == "migrate"
        else "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
        "lastStatus": status,
        "networkInterfaces": [
            {
                "attachmentId": "a1b2c3d4-0000-4000-8000-000000000001",
                "privateIpv4Address": "10.10.1.23",
            }
        ],
        "healthStatus": "UNKNOWN",
        "cpu": "0",
    }
    if exit_code is not None:
        container["exitCode"] = exit_code
    if reason is not None:
        container["reason"] = reason
    return container


def task_payload(
    *,
    status: str,
    containers: Sequence[dict[str, Any]],
    desired: str = "RUNNING",
    stop_code: str | None = None,
    stopped_reason: str | None = None,
) -> dict[str, Any]:
    """One task as DescribeTasks/RunTask return it on Fargate."""
    task: dict[str, Any] = {
        "taskArn": TASK_ARN,
        "clusterArn": CLUSTER_ARN,
        "taskDefinitionArn": TASK_DEFINITION_ARN,
        "lastStatus": status,
        "desiredStatus": desired,
        "launchType": "FARGATE",
        "platformVersion": "1.4.0",
        "platformFamily": "Linux",
        "cpu": "512",
        "memory": "1024",
        "startedBy": "fargate-parity",
        "group": "family:laravel-qa-migration",
        "createdAt": CREATED_AT,
        "attachments": [
            {
                "id": "a1b2c3d4-0000-4000-8000-000000000001",
                "type": "ElasticNetworkInterface",
                "status": "ATTACHED" if status != "PROVISIONING" else "PRECREATED",
                "details": [{"name": "subnetId", "value": SUBNETS[0]}],
            }
        ],
        "containers": list(containers),
    }
    if stop_code is not None:
        task["stopCode"] = stop_code
    if stopped_reason is not None:
        task["stoppedReason"] = stopped_reason
    return task


def describe_tasks_payload(task: dict[str, Any]) -> dict[str, Any]:
    return {"tasks": [task], "failures": []}


def log_events_payload(lines: Sequence[str], *, token: str) -> dict[str, Any]:
    return {
        "events": [
            {
                "timestamp": 1_795_000_000_000 + i,
                "message": line,
                "ingestionTime": 1_795_000_000_500,
            }
            for i, line in enumerate(lines)
        ],
        "nextForwardToken": token,
        "nextBackwardToken": "b/00000000000000000000000000000000000000000000000000000000",
    }


def outcome(**exit_codes: int | None) -> MigrationOutcome:
    """A stopped task's outcome: container name → exit code (None: never exited)."""
    return MigrationOutcome(
        containers={
            name: ContainerResult(name=name, exit_code=code) for name, code in exit_codes.items()
        },
        stop_reason="EssentialContainerExited: Essential container in task exited",
    )


@dataclass
class RecordingBackend:
    """A DeployBackend that records each call and replays a scripted migration."""

    outcome: MigrationOutcome | None
    log_lines: Sequence[str] = ("Migrating: 2026_11_01_000000_create_orders_table",)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    # How the task ends once stopped (None: still running), and what it recorded meanwhile.
    outcome_after_stop: MigrationOutcome | None = None
    recorded: tuple[str, ...] | None = None
    task: MigrationTask = field(
        default_factory=lambda: MigrationTask(
            task_definition=TASK_DEFINITION_ARN, watched_container="migrate"
        )
    )

    def ensure_idle(self) -> None:
        self.calls.append(("ensure_idle",))

    def deploy_stack(self, stack_name: str) -> None:
        self.calls.append(("deploy_stack", stack_name))

    def migration_task(self) -> MigrationTask:
        self.calls.append(("migration_task",))
        return self.task

    def start_migration(self, task: MigrationTask, *, client_token: str) -> MigrationRun:
        self.calls.append(("start_migration", client_token))
        return MigrationRun(task_id=TASK_ARN, task=task)

    def wait_for_migration(
        self, run: MigrationRun, *, timeout_s: float, on_log: LogSink
    ) -> MigrationOutcome | None:
        self.calls.append(("wait_for_migration", str(timeout_s)))
        for line in self.log_lines:
            on_log(run.task.watched_container, line)
        return self.outcome

    def stop_migration(self, run: MigrationRun, *, reason: str) -> None:
        self.calls.append(("stop_migration", reason))
        self.outcome = self.outcome_after_stop

    def recorded_since_start(self, run: MigrationRun) -> tuple[str, ...] | None:
        return self.recorded

    def wait_for_services(self, stack_name: str, *, timeout_s: float) -> None:
        self.calls.append(("wait_for_services", stack_name, str(timeout_s)))
