"""The ECS backend's API calls against moto's server on loopback.

moto checks the request shapes (RunTask's awsvpc configuration, DescribeTasks, StopTask,
GetLogEvents, DescribeStacks) but runs no containers: it walks a task through its states on
each DescribeTasks and reports exit code 0 for containers that never ran, which the backend
must not take for a real exit.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from parity.assembly.apptasks import DeployStacks
from parity.config.settings import EmulatorKind
from parity.deploy.awsclient import AwsApi
from parity.deploy.ecs import CdkCli, EcsBackend
from parity.deploy.flow import (
    DeployOptions,
    PreDeploySteps,
    deploy,
    gate_failure,
    run_migration_gate,
)
from parity.errors import DeployError, MigrationFailed
from parity.services.emulator import EMULATOR_CREDENTIALS, Emulator, start_emulator

from .conftest import QA_STACKS, qa_migration
from .fakes import FakeClock


def recent_ms() -> int:
    """A log event's timestamp CloudWatch Logs accepts: it refuses events over 14 days old,
    so a fixed date turns a test red two weeks later."""
    return int(time.time() * 1000)


REGION = "eu-west-1"
CLUSTER = "laravel-qa"
LOG_GROUP = "/laravel/qa/migration"


@dataclass(frozen=True)
class MotoWorld:
    emulator: Emulator
    subnets: tuple[str, ...]
    security_group: str
    task_definition_arn: str

    def client(self, service: str) -> Any:
        return self.emulator.client(service)

    def hold_tasks_running(self, hold: bool) -> None:
        """moto advances a task one state per DescribeTasks; "manual" with many calls keeps
        it RUNNING, as a long migration would be."""
        action = "set-transition" if hold else "unset-transition"
        body: dict[str, Any] = {"model_name": "ecs::task"}
        if hold:
            body["transition"] = {"progression": "manual", "times": 10_000}
        request = urllib.request.Request(  # noqa: S310 (moto on loopback)
            f"{self.emulator.endpoint_url}/moto-api/state-manager/{action}",
            data=json.dumps(body).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310
            pass


@pytest.fixture(scope="module")
def world() -> Iterator[MotoWorld]:
    emulator = start_emulator(EmulatorKind.MOTO, region=REGION, port=0)
    try:
        yield build_world(emulator)
    finally:
        emulator.stop()


def build_world(emulator: Emulator) -> MotoWorld:
    """A VPC with DNS hostnames, two private subnets, the task's security group, the cluster,
    a task definition shaped like the synthesized one, and the migration stack's outputs."""
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = tuple(
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.10.{i}.0/24", AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    )
    security_group = ec2.create_security_group(
        GroupName="laravel-qa-migration", Description="Laravel qa migration task", VpcId=vpc
    )["GroupId"]
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    task_definition_arn = ecs.register_task_definition(
        family="laravel-qa-migration",
        taskRoleArn="arn:aws:iam::123456789012:role/laravel-qa-migration-task",
        executionRoleArn="arn:aws:iam::123456789012:role/laravel-qa-migration-execution",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="1024",
        runtimePlatform={"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
        containerDefinitions=[
            {
                "name": "migrate",
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/"
                "cdk-hnb659fds-container-assets-123456789012-eu-west-1:3f5a9c0e",
                "essential": True,
                "memory": 1024,  # moto fails RunTask without a per-container memory
                "command": ["php", "artisan", "migrate", "--force"],
                "environment": [{"name": "DB_DATABASE", "value": "laravel"}],
                "secrets": [
                    {
                        "name": "DB_PASSWORD",
                        "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
                        "laravel/qa/aurora:password::",
                    }
                ],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": LOG_GROUP,
                        "awslogs-region": REGION,
                        "awslogs-stream-prefix": "migration",
                    },
                },
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    outputs = {
        "ClusterName": CLUSTER,
        "TaskDefinitionArn": task_definition_arn,
        "SubnetIds": ",".join(subnets),
        "SecurityGroupIds": security_group,
        "WatchedContainer": "migrate",
        "LogGroupName": LOG_GROUP,
        "LogStreamPrefix": "migration",
        "AssignPublicIp": "DISABLED",
    }
    template = {
        "Resources": {
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": LOG_GROUP}}
        },
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    emulator.client("cloudformation").create_stack(
        StackName="Laravel-Qa-Migration", TemplateBody=json.dumps(template)
    )
    return MotoWorld(emulator, subnets, security_group, task_definition_arn)


class RecordingRunner:
    def __init__(self) -> None:
        self.stacks: list[str] = []

    def __call__(self, argv: Any, *, cwd: Path) -> int:
        self.stacks.append(argv[2])
        return 0


def moto_backend(
    world: MotoWorld, project_root: Path, clock: FakeClock, runner: RecordingRunner | None = None
) -> EcsBackend:
    api = AwsApi.connect(
        region=REGION,
        endpoint_url=world.emulator.endpoint_url,
        max_attempts=1,
        credentials=EMULATOR_CREDENTIALS,
    )
    cdk = CdkCli(
        project_root=project_root,
        assembly_dir=project_root / "cdk.out",
        run=runner or RecordingRunner(),
    )
    return EcsBackend(
        environment="qa",
        migration=qa_migration(project_root),
        stacks=lambda: QA_STACKS,
        api=api,
        cdk=cdk,
        clock=clock,
    )


def test_runs_the_task_from_the_stack_outputs(world: MotoWorld, project_root: Path) -> None:
    backend = moto_backend(world, project_root, FakeClock())
    backend.ensure_idle()  # the migration stack is CREATE_COMPLETE, the service one absent

    task = backend.migration_task()
    run = backend.start_migration(task, client_token="a" * 64)

    described = world.client("ecs").describe_tasks(cluster=CLUSTER, tasks=[run.task_id])
    (started,) = described["tasks"]
    assert task.task_definition == world.task_definition_arn
    assert task.watched_container == "migrate"
    assert started["taskDefinitionArn"] == world.task_definition_arn
    assert started["launchType"] == "FARGATE"
    assert started["startedBy"] == "fargate-parity"
    (network_interface,) = started["attachments"]
    subnet = {d["name"]: d["value"] for d in network_interface["details"]}["subnetId"]
    assert subnet in world.subnets


def test_moto_exit_codes_are_not_mistaken_for_a_passed_gate(
    world: MotoWorld, project_root: Path
) -> None:
    clock = FakeClock()
    backend = moto_backend(world, project_root, clock)
    task = backend.migration_task()
    run = backend.start_migration(task, client_token="b" * 64)

    outcome = backend.wait_for_migration(run, timeout_s=60, on_log=lambda *_: None)

    # moto stops the task without running it and says exitCode 0 for a PENDING container
    assert outcome is not None
    assert outcome.containers["migrate"].exit_code is None
    assert gate_failure(outcome, watched_container="migrate") is not None


def test_streams_the_watched_containers_log_stream(world: MotoWorld, project_root: Path) -> None:
    backend = moto_backend(world, project_root, FakeClock())
    run = backend.start_migration(backend.migration_task(), client_token="c" * 64)
    logs = world.client("logs")
    stream = f"migration/migrate/{run.task_id.rsplit('/', 1)[-1]}"
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    lines = ["Migrating: 2026_11_01_000000_create_orders_table", "Migrated:  2026_11_01_000000"]
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": recent_ms() + i, "message": m} for i, m in enumerate(lines)],
    )
    received: list[tuple[str, str]] = []

    backend.wait_for_migration(
        run, timeout_s=60, on_log=lambda container, line: received.append((container, line))
    )

    assert received == [("migrate", line) for line in lines]


@pytest.fixture
def tasks_held_running(world: MotoWorld) -> Iterator[None]:
    world.hold_tasks_running(True)
    try:
        yield
    finally:
        world.hold_tasks_running(False)


@pytest.mark.usefixtures("tasks_held_running")
def test_timeout_stops_the_task(world: MotoWorld, project_root: Path) -> None:
    clock = FakeClock()
    backend = moto_backend(world, project_root, clock)
    options = DeployOptions(environment="qa", deploy_id="gh-7-1", migration_timeout_s=20)

    with pytest.raises(MigrationFailed, match="did not finish within 20s"):
        run_migration_gate(backend, options)

    assert clock.now - 1000.0 == pytest.approx(20)
    stopped = world.client("ecs").list_tasks(cluster=CLUSTER, desiredStatus="STOPPED")["taskArns"]
    (task,) = [
        t
        for t in world.client("ecs").describe_tasks(cluster=CLUSTER, tasks=stopped)["tasks"]
        if "gh-7-1" in t.get("stoppedReason", "")
    ]
    assert task["desiredStatus"] == "STOPPED"
    assert task["stoppedReason"] == "migration task timed out after 20s (deploy gh-7-1)"


def test_a_failed_gate_never_deploys_the_service_stack(
    world: MotoWorld, project_root: Path
) -> None:
    runner = RecordingRunner()
    backend = moto_backend(world, project_root, FakeClock(), runner)
    steps = PreDeploySteps(
        synth=lambda: None,
        stacks=lambda: DeployStacks(migration=QA_STACKS[0], services=QA_STACKS[1:]),
        check=lambda: None,
        release_checks=lambda: None,
        diff=lambda: "no differences",
    )
    options = DeployOptions(environment="qa", deploy_id="gh-8-1")

    with pytest.raises(MigrationFailed, match="migrate never exited with a code"):
        deploy(options, backend=backend, pre_deploy=steps, project_root=project_root)

    assert runner.stacks == ["Laravel-Qa-Migration"]


TOOLS_LOG_GROUP = "/laravel/qa/tools"


def deploy_tools_stack(world: MotoWorld) -> None:
    """A stack of the environment with a task definition of its own (CloudFormation creates
    it, so its ARN is only known through the stack's resources)."""
    template = {
        "Resources": {
            "ToolsLogs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": TOOLS_LOG_GROUP},
            },
            "ToolsTask": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "Family": "laravel-qa-tools",
                    "NetworkMode": "awsvpc",
                    "RequiresCompatibilities": ["FARGATE"],
                    "Cpu": "256",
                    "Memory": "512",
                    "ContainerDefinitions": [
                        {
                            "Name": "tools",
                            "Image": "public.ecr.aws/docker/library/busybox:latest",
                            "Essential": True,
                            "Memory": 512,
                            "Command": ["php", "artisan", "inspire"],
                            "LogConfiguration": {
                                "LogDriver": "awslogs",
                                "Options": {
                                    "awslogs-group": TOOLS_LOG_GROUP,
                                    "awslogs-region": REGION,
                                    "awslogs-stream-prefix": "tools",
                                },
                            },
                        }
                    ],
                },
            },
        }
    }
    world.client("cloudformation").create_stack(
        StackName="Laravel-Qa-Tools", TemplateBody=json.dumps(template)
    )


def test_a_one_off_task_runs_its_deployed_revision_with_the_command_override(
    world: MotoWorld, project_root: Path
) -> None:
    deploy_tools_stack(world)
    backend = moto_backend(world, project_root, FakeClock())

    task = backend.one_off_task(
        stack="Laravel-Qa-Tools",
        logical_id="ToolsTask",
        watched_container="tools",
        command=("php", "artisan", "migrate:status"),
    )
    run = backend.start_migration(task, client_token="d" * 64)
    logs = world.client("logs")
    stream = f"tools/tools/{run.task_id.rsplit('/', 1)[-1]}"
    logs.create_log_stream(logGroupName=TOOLS_LOG_GROUP, logStreamName=stream)
    logs.put_log_events(
        logGroupName=TOOLS_LOG_GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": recent_ms(), "message": "Migration name .... Ran?"}],
    )
    received: list[tuple[str, str]] = []
    backend.wait_for_migration(
        run, timeout_s=60, on_log=lambda container, line: received.append((container, line))
    )

    (started,) = world.client("ecs").describe_tasks(cluster=CLUSTER, tasks=[run.task_id])["tasks"]
    assert started["taskDefinitionArn"] == task.task_definition
    assert ":task-definition/laravel-qa-tools:" in task.task_definition
    assert started["overrides"]["containerOverrides"] == [
        {"name": "tools", "command": ["php", "artisan", "migrate:status"]}
    ]
    assert received == [("tools", "Migration name .... Ran?")]


def test_a_one_off_task_of_a_stack_not_deployed_is_one_line(
    world: MotoWorld, project_root: Path
) -> None:
    backend = moto_backend(world, project_root, FakeClock())

    with pytest.raises(DeployError, match="stack Laravel-Qa-Nowhere has no deployed resource"):
        backend.one_off_task(
            stack="Laravel-Qa-Nowhere", logical_id="ToolsTask", watched_container="t", command=()
        )
