"""The ECS backend's other duties: refusals, outputs, cdk deploy, the service wait, AWS errors."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from parity.assembly import synth
from parity.assembly.synth import HARNESS_ROOT
from parity.config.harness import load_config
from parity.deploy.awsclient import NO_CREDENTIALS, AwsApi
from parity.deploy.ecs import (
    CdkCli,
    EcsBackend,
    PollSchedule,
    ecs_backend,
    environment_region,
    known_stacks,
    run_streaming,
)
from parity.deploy.flow import MigrationRun, MigrationTask
from parity.errors import AwsUnavailable, ConfigError, DeployError, DeployLocked, HarnessError

from .conftest import QA_STACKS, qa_migration
from .fakes import (
    ACCOUNT,
    CLUSTER,
    CREATED_AT,
    MIGRATION_OUTPUTS,
    REGION,
    TASK_ARN,
    TASK_DEFINITION_ARN,
    FakeClock,
    container_payload,
    describe_tasks_payload,
    log_events_payload,
    stack_payload,
    task_payload,
)

SERVICE_OUTPUTS = {"ClusterName": CLUSTER, "ServiceName": "laravel-qa-web"}
WEB_TASK_DEFINITION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/laravel-qa-service:12"


class RecordingRunner:
    def __init__(self, exit_code: int = 0) -> None:
        self.exit_code = exit_code
        self.calls: list[tuple[list[str], Path]] = []

    def __call__(self, argv: Sequence[str], *, cwd: Path) -> int:
        self.calls.append((list(argv), cwd))
        return self.exit_code


def client(service: str) -> Any:
    return boto3.client(
        service, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )


@pytest.fixture
def stubbers() -> Iterator[dict[str, Stubber]]:
    stubs = {service: Stubber(client(service)) for service in ("cloudformation", "ecs", "logs")}
    for stub in stubs.values():
        stub.activate()
    yield stubs
    for stub in stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def backend_on(
    stubbers: dict[str, Stubber],
    project_root: Path,
    *,
    runner: RecordingRunner | None = None,
    clock: FakeClock | None = None,
) -> EcsBackend:
    api = AwsApi(**{service: stub.client for service, stub in stubbers.items()})
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
        clock=clock or FakeClock(),
    )


def expect_stack(stubbers: dict[str, Stubber], name: str, **payload: Any) -> None:
    stubbers["cloudformation"].add_response(
        "describe_stacks", stack_payload(name, **payload), {"StackName": name}
    )


def expect_no_stack(stubbers: dict[str, Stubber], name: str) -> None:
    stubbers["cloudformation"].add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {name} does not exist",
        expected_params={"StackName": name},
    )


# -- refusing a concurrent deploy ---------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    ["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"],
)
def test_a_stack_in_progress_refuses_the_deploy(
    stubbers: dict[str, Stubber], project_root: Path, status: str
) -> None:
    expect_stack(stubbers, "Laravel-Qa-Migration", status="UPDATE_COMPLETE")
    expect_stack(stubbers, "Laravel-Qa-Service", status=status)

    with pytest.raises(DeployLocked, match=f"stack Laravel-Qa-Service is {status}: another deploy"):
        backend_on(stubbers, project_root).ensure_idle()


def test_first_deploy_with_no_stacks_is_idle(
    stubbers: dict[str, Stubber], project_root: Path
) -> None:
    expect_no_stack(stubbers, "Laravel-Qa-Migration")
    expect_no_stack(stubbers, "Laravel-Qa-Service")

    backend_on(stubbers, project_root).ensure_idle()


# -- stack outputs ---------------------------------------------------------------------


def test_migration_task_comes_from_the_stack_outputs(
    stubbers: dict[str, Stubber], project_root: Path
) -> None:
    expect_stack(stubbers, "Laravel-Qa-Migration", outputs=MIGRATION_OUTPUTS)

    task = backend_on(stubbers, project_root).migration_task()

    assert task == MigrationTask(task_definition=TASK_DEFINITION_ARN, watched_container="migrate")


def test_missing_outputs_are_named(stubbers: dict[str, Stubber], project_root: Path) -> None:
    partial = {
        k: v for k, v in MIGRATION_OUTPUTS.items() if k not in ("WatchedContainer", "LogGroupName")
    }
    expect_stack(stubbers, "Laravel-Qa-Migration", outputs=partial)

    with pytest.raises(DeployError, match="lacks output\\(s\\) WatchedContainer, LogGroupName"):
        backend_on(stubbers, project_root).migration_task()


def test_migrate_before_the_first_deploy_says_so(
    stubbers: dict[str, Stubber], project_root: Path
) -> None:
    expect_no_stack(stubbers, "Laravel-Qa-Migration")

    with pytest.raises(DeployError, match="stack Laravel-Qa-Migration does not exist; deploy it"):
        backend_on(stubbers, project_root).migration_task()


# -- cdk deploy -------------------------------------------------------------------------


def test_each_stack_is_deployed_with_the_pinned_cli(
    stubbers: dict[str, Stubber], project_root: Path
) -> None:
    runner = RecordingRunner()

    backend_on(stubbers, project_root, runner=runner).deploy_stack("Laravel-Qa-Migration")

    assert runner.calls == [
        (
            [
                str(project_root / "node_modules/.bin/cdk"),
                "deploy",
                "Laravel-Qa-Migration",
                "--app",
                str(project_root / "cdk.out"),
                "--require-approval",
                "never",
                "--exclusively",
            ],
            project_root,
        )
    ]


def test_a_failed_cdk_deploy_is_one_line(stubbers: dict[str, Stubber], project_root: Path) -> None:
    backend = backend_on(stubbers, project_root, runner=RecordingRunner(exit_code=1))

    with pytest.raises(DeployError, match=r"^cdk deploy Laravel-Qa-Service failed \(exit 1\)"):
        backend.deploy_stack("Laravel-Qa-Service")


def test_a_project_without_its_own_cli_deploys_with_the_harness_pinned_one(
    stubbers: dict[str, Stubber], project_root: Path
) -> None:
    (project_root / "node_modules/.bin/cdk").unlink()
    runner = RecordingRunner()
    backend_on(stubbers, project_root, runner=runner).deploy_stack("Laravel-Qa-Service")
    assert runner.calls[0][0][0] == str(HARNESS_ROOT / "node_modules/.bin/cdk")


def test_no_cli_anywhere_points_at_bootstrap(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, project_root: Path
) -> None:
    (project_root / "node_modules/.bin/cdk").unlink()
    monkeypatch.setattr(synth, "HARNESS_ROOT", tmp_path / "nowhere")
    with pytest.raises(HarnessError, match="run scripts/bootstrap"):
        synth.cdk_cli(project_root)


def test_run_streaming_prints_the_output_and_returns_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = "import os; print('deploying'); print(os.getcwd()); raise SystemExit(3)"

    assert run_streaming([sys.executable, "-c", script], cwd=tmp_path) == 3

    printed = capsys.readouterr().err
    assert "deploying" in printed
    assert str(tmp_path) in printed


# -- waiting for the service -----------------------------------------------------------


def deployment(
    *, status: str, rollout: str, running: int, desired: int = 2, reason: str | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": f"ecs-svc/{abs(hash((status, rollout))) % 10**18}",
        "status": status,
        "taskDefinition": WEB_TASK_DEFINITION,
        "desiredCount": desired,
        "pendingCount": desired - running,
        "runningCount": running,
        "failedTasks": 0,
        "createdAt": CREATED_AT,
        "updatedAt": CREATED_AT,
        "launchType": "FARGATE",
        "rolloutState": rollout,
    }
    if reason is not None:
        payload["rolloutStateReason"] = reason
    return payload


def expect_stack_services(stubbers: dict[str, Stubber], name: str) -> None:
    resource = {
        "LogicalResourceId": "WebService5EA589E6",
        "PhysicalResourceId": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/laravel-qa-web",
        "ResourceType": "AWS::ECS::Service",
        "ResourceStatus": "UPDATE_COMPLETE",
        "Timestamp": "2026-12-01T00:00:00Z",
        "StackName": name,
    }
    stubbers["cloudformation"].add_response(
        "describe_stack_resources", {"StackResources": [resource]}, {"StackName": name}
    )


def test_a_stack_without_services_is_one_clear_line(
    stubbers: dict[str, Stubber], project_root: Path
) -> None:
    stubbers["cloudformation"].add_response(
        "describe_stack_resources", {"StackResources": []}, {"StackName": "Laravel-Qa-Service"}
    )
    with pytest.raises(DeployError, match="stack Laravel-Qa-Service holds no ECS service"):
        backend_on(stubbers, project_root).wait_for_services("Laravel-Qa-Service", timeout_s=5)


def expect_service(stubbers: dict[str, Stubber], *deployments: dict[str, Any]) -> None:
    service = {
        "serviceName": "laravel-qa-web",
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/laravel-qa-web",
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        "status": "ACTIVE",
        "desiredCount": 2,
        "runningCount": sum(d["runningCount"] for d in deployments),
        "deployments": list(deployments),
    }
    stubbers["ecs"].add_response(
        "describe_services",
        {"services": [service], "failures": []},
        {"cluster": CLUSTER, "services": ["laravel-qa-web"]},
    )


def test_service_is_stable_once_the_new_deployment_completed(
    stubbers: dict[str, Stubber], project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expect_stack_services(stubbers, "Laravel-Qa-Service")
    expect_service(
        stubbers,
        deployment(status="PRIMARY", rollout="IN_PROGRESS", running=1),
        deployment(status="ACTIVE", rollout="COMPLETED", running=2),
    )
    expect_service(stubbers, deployment(status="PRIMARY", rollout="IN_PROGRESS", running=2))
    expect_service(stubbers, deployment(status="PRIMARY", rollout="COMPLETED", running=2))

    backend_on(stubbers, project_root).wait_for_services("Laravel-Qa-Service", timeout_s=600)

    printed = " ".join(capsys.readouterr().err.split())  # the console wraps long notes
    assert "1/2 new tasks running, rollout in_progress, 2 deployment(s)" in printed
    assert "2/2 new tasks running, rollout completed, 1 deployment(s)" in printed


def test_a_rolled_back_deployment_fails(stubbers: dict[str, Stubber], project_root: Path) -> None:
    expect_stack_services(stubbers, "Laravel-Qa-Service")
    expect_service(
        stubbers,
        deployment(
            status="ACTIVE",
            rollout="FAILED",
            running=0,
            reason="ECS deployment circuit breaker: tasks failed to start.",
        ),
        deployment(status="PRIMARY", rollout="IN_PROGRESS", running=2),
    )

    with pytest.raises(
        DeployError, match=r"circuit breaker rolled it back .*tasks failed to start"
    ):
        backend_on(stubbers, project_root).wait_for_services("Laravel-Qa-Service", timeout_s=600)


def test_a_service_that_never_settles_times_out(
    stubbers: dict[str, Stubber], project_root: Path
) -> None:
    clock = FakeClock()
    expect_stack_services(stubbers, "Laravel-Qa-Service")
    for _ in range(4):
        expect_service(stubbers, deployment(status="PRIMARY", rollout="IN_PROGRESS", running=1))
    backend = EcsBackend(
        environment="qa",
        migration=qa_migration(project_root),
        stacks=lambda: QA_STACKS,
        api=AwsApi(**{service: stub.client for service, stub in stubbers.items()}),
        cdk=CdkCli(project_root=project_root, assembly_dir=project_root / "cdk.out"),
        clock=clock,
        polling=PollSchedule(first_s=1, factor=1, max_s=1),
    )

    with pytest.raises(DeployError, match=r"not stable within 3s \(1/2 new tasks running"):
        backend.wait_for_services("Laravel-Qa-Service", timeout_s=3)
    assert clock.sleeps == [1, 1, 1]


# -- AWS errors --------------------------------------------------------------------------


def test_missing_credentials_are_one_clear_line(
    project_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    backend = ecs_backend(
        project_root=project_root, environment="qa", endpoint_url=f"http://127.0.0.1:{free_port()}"
    )

    with pytest.raises(AwsUnavailable) as raised:
        backend.ensure_idle()

    assert str(raised.value) == NO_CREDENTIALS
    assert raised.value.__suppress_context__


def test_an_unreachable_endpoint_is_one_clear_line() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    api = AwsApi.connect(
        region=REGION,
        endpoint_url=endpoint,
        max_attempts=1,
        credentials={"aws_access_key_id": "test", "aws_secret_access_key": "test"},
    )

    with pytest.raises(
        AwsUnavailable, match=f"^cannot reach {endpoint}/? \\(EndpointConnectionError\\)"
    ) as raised:
        api.stack("Laravel-Qa-Migration")

    assert "\n" not in str(raised.value)


def test_expired_credentials_are_reported_as_such(
    stubbers: dict[str, Stubber], project_root: Path
) -> None:
    stubbers["cloudformation"].add_client_error(
        "describe_stacks",
        service_error_code="ExpiredToken",
        service_message="The security token included in the request is expired",
        http_status_code=403,
    )

    with pytest.raises(AwsUnavailable, match=r"AWS rejected the credentials \(ExpiredToken"):
        backend_on(stubbers, project_root).ensure_idle()


def test_access_denied_names_the_call(stubbers: dict[str, Stubber], project_root: Path) -> None:
    expect_stack(stubbers, "Laravel-Qa-Migration", outputs=MIGRATION_OUTPUTS)
    stubbers["ecs"].add_client_error(
        "run_task",
        service_error_code="AccessDeniedException",
        service_message="User: arn:aws:sts::111111111111:assumed-role/laravel-qa-github-deploy/gh"
        " is not authorized to perform: ecs:RunTask",
        http_status_code=400,
    )
    backend = backend_on(stubbers, project_root)

    with pytest.raises(DeployError, match=r"^ecs:RunTask failed: AccessDeniedException: User: "):
        backend.start_migration(backend.migration_task(), client_token="t" * 64)


def test_run_task_failures_are_reported(stubbers: dict[str, Stubber], project_root: Path) -> None:
    expect_stack(stubbers, "Laravel-Qa-Migration", outputs=MIGRATION_OUTPUTS)
    stubbers["ecs"].add_response(
        "run_task",
        {"tasks": [], "failures": [{"arn": TASK_DEFINITION_ARN, "reason": "MISSING"}]},
    )
    backend = backend_on(stubbers, project_root)

    with pytest.raises(DeployError, match="ecs:RunTask started no task: MISSING"):
        backend.start_migration(backend.migration_task(), client_token="t" * 64)


def test_timeout_stop_sends_the_reason(stubbers: dict[str, Stubber], project_root: Path) -> None:
    expect_stack(stubbers, "Laravel-Qa-Migration", outputs=MIGRATION_OUTPUTS)
    stopping = task_payload(
        status="RUNNING",
        desired="STOPPED",
        containers=[container_payload("migrate", status="RUNNING")],
        stop_code="UserInitiated",
        stopped_reason="migration timed out",
    )
    stubbers["ecs"].add_response(
        "stop_task",
        {"task": stopping},
        {"cluster": CLUSTER, "task": TASK_ARN, "reason": "r" * 255},
    )
    run = MigrationRun(
        task_id=TASK_ARN,
        task=MigrationTask(task_definition=TASK_DEFINITION_ARN, watched_container="migrate"),
    )

    backend_on(stubbers, project_root).stop_migration(run, reason="r" * 300)


# -- the environment -------------------------------------------------------------------


def test_unknown_environment_lists_the_valid_ones(project_root: Path) -> None:
    with pytest.raises(ConfigError, match=r"fargate-parity\.toml defines: local, prod, qa"):
        ecs_backend(project_root=project_root, environment="staging")


def test_region_comes_from_the_synthesized_migration_stack(project_root: Path) -> None:
    config = load_config(project_root)
    directory = project_root / "cdk.out"
    assert environment_region(directory, config.environment("local")) == "us-east-1"
    assert environment_region(directory, config.environment("qa")) == "eu-west-1"


def test_the_stacks_checked_for_a_running_deploy_come_from_the_last_synth(
    project_root: Path,
) -> None:
    config = load_config(project_root).environment("qa")
    directory = project_root / "cdk.out"
    assert known_stacks(project_root, config, directory) == QA_STACKS
    (directory / "manifest.json").unlink()
    assert known_stacks(project_root, config, directory) == ("Laravel-Qa-Migration",)


# -- how fast a stop is seen -------------------------------------------------------------


class TimedTask:
    """An ECS task whose migrate container exits at ``exit_at`` on ``clock``."""

    def __init__(self, clock: FakeClock, *, exit_at: float) -> None:
        self.clock = clock
        self.exit_at = exit_at
        self.describe_calls = 0

    def describe_tasks(self, **_: Any) -> dict[str, Any]:
        self.describe_calls += 1
        if self.clock.now < self.exit_at:
            containers = [container_payload("migrate", status="RUNNING")]
            return describe_tasks_payload(task_payload(status="RUNNING", containers=containers))
        containers = [container_payload("migrate", status="STOPPED", exit_code=0)]
        return describe_tasks_payload(
            task_payload(status="DEPROVISIONING", desired="STOPPED", containers=containers)
        )

    def get_log_events(self, **_: Any) -> dict[str, Any]:
        return log_events_payload([], token="f/0")

    def describe_stacks(self, **_: Any) -> dict[str, Any]:
        return stack_payload("Laravel-Qa-Migration", outputs=MIGRATION_OUTPUTS)


@pytest.mark.parametrize("runs_for_s", [0.1, 3.7, 61.3, 1799.05])
def test_the_exit_is_seen_within_two_seconds(project_root: Path, runs_for_s: float) -> None:
    clock = FakeClock()
    fake = TimedTask(clock, exit_at=clock.now + runs_for_s)
    backend = EcsBackend(
        environment="qa",
        migration=qa_migration(project_root),
        stacks=lambda: QA_STACKS,
        api=AwsApi(cloudformation=fake, ecs=fake, logs=fake),
        cdk=CdkCli(project_root=project_root, assembly_dir=project_root / "cdk.out"),
        clock=clock,
    )
    run = MigrationRun(task_id=TASK_ARN, task=backend.migration_task())

    outcome = backend.wait_for_migration(run, timeout_s=1800, on_log=lambda *_: None)

    assert outcome is not None
    assert outcome.containers["migrate"].exit_code == 0
    assert clock.now - fake.exit_at <= 2.0
    # backing off keeps the calls modest: about one DescribeTasks per 2 s once settled
    assert fake.describe_calls <= runs_for_s / 2 + 8


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
