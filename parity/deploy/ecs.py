"""The ECS backend of the deploy flow (qa, prod): the pinned CDK CLI and boto3.

* Stacks are deployed one at a time with ``cdk deploy <stack> --app <cdk.out> --exclusively``.
* The migration stack's outputs say everything RunTask needs: cluster, task definition,
  subnets, security groups, public IP, the watched container and where its logs go.
* While the task runs, its CloudWatch Logs stream is followed with ``nextForwardToken``, and
  DescribeTasks is polled on an adaptive schedule: fast at first, backing off to a 2 s cap, so
  the watched container's exit is seen within about 2 s (the GitHub actions poll every 15 s).
  The gate is decided as soon as that container has stopped with an exit code; ECS needs
  tens of seconds more to deprovision the task's network interface, which nobody waits for.
* The service counts as stable when its single, primary deployment has COMPLETED with every
  task running; a FAILED rollout means the circuit breaker rolled it back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from parity.assembly.apptasks import deploy_stacks
from parity.assembly.cloud import load_assembly
from parity.assembly.synth import assembly_dir, cdk_cli
from parity.childprocess import kill_group, popen_tied
from parity.config.harness import EnvironmentConfig, MigrationSelector, load_config
from parity.console import console, note
from parity.deploy.awsclient import AwsApi, ServiceState, StackState, TaskState
from parity.deploy.flow import (
    ContainerResult,
    LogSink,
    MigrationOutcome,
    MigrationRun,
    MigrationTask,
)
from parity.errors import ConfigError, DeployError, DeployLocked

STARTED_BY = "fargate-parity"
# ECS caps a StopTask reason at 255 characters.
MAX_STOP_REASON = 255
# A page holds up to 10,000 events; the final drain reads until the stream is caught up.
MAX_LOG_PAGES_IN_FINAL_DRAIN = 20
PUBLIC_IP_SETTINGS = ("ENABLED", "DISABLED")


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True, kw_only=True)
class PollSchedule:
    """Intervals between polls: ``first_s``, growing by ``factor`` up to ``max_s``."""

    first_s: float = 0.25
    factor: float = 1.5
    max_s: float = 2.0

    def intervals(self) -> Iterator[float]:
        interval = self.first_s
        while True:
            yield interval
            interval = min(interval * self.factor, self.max_s)


ADAPTIVE_POLLING = PollSchedule()


class CommandRunner(Protocol):
    """Runs an argument list in ``cwd`` and returns its exit code."""

    def __call__(self, argv: Sequence[str], *, cwd: Path) -> int: ...


def run_streaming(argv: Sequence[str], *, cwd: Path) -> int:
    """Run a command, printing its output line by line as it arrives."""
    # Tied to this process: a killed invoke takes cdk deploy and its children along.
    with popen_tied(argv, cwd=cwd) as process:
        assert process.stdout is not None  # PIPE was asked for
        try:
            for line in process.stdout:
                console.print(line.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
            return process.wait()
        except BaseException:
            kill_group(process.pid)
            raise


@dataclass(frozen=True, kw_only=True)
class CdkCli:
    """``cdk deploy`` of one stack of an already synthesized assembly, with the pinned CLI."""

    project_root: Path
    assembly_dir: Path
    run: CommandRunner = run_streaming

    def deploy(self, stack_name: str) -> None:
        cli = cdk_cli(self.project_root)
        argv = [
            str(cli),
            "deploy",
            stack_name,
            "--app",
            str(self.assembly_dir),
            "--require-approval",
            "never",
            "--exclusively",
        ]
        exit_code = self.run(argv, cwd=self.project_root)
        if exit_code != 0:
            raise DeployError(f"cdk deploy {stack_name} failed (exit {exit_code}); see its output")


@dataclass(frozen=True, kw_only=True)
class MigrationTarget:
    """The migration stack's outputs: everything RunTask and the log stream need."""

    cluster: str
    task_definition_arn: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    assign_public_ip: str
    watched_container: str
    log_group: str
    log_stream_prefix: str

    @classmethod
    def from_stack(cls, stack: StackState, selector: MigrationSelector) -> MigrationTarget:
        """Read the outputs fargate-parity.toml names ([environments.X.migration.run])."""
        run = selector.run
        if run is None or selector.output is None or selector.watched_container_output is None:
            raise ConfigError(
                f"fargate-parity.toml: the migration of stack {stack.name} needs `output`,"
                " `watched_container_output` and a [migration.run] table to run through ECS"
            )
        names = {
            "task_definition": selector.output,
            "watched_container": selector.watched_container_output,
            **{f.name.removesuffix("_output"): getattr(run, f.name) for f in fields(run)},
        }
        found = _require_outputs(stack, *dict.fromkeys(names.values()))
        outputs = {key: found[output] for key, output in names.items()}
        if outputs["assign_public_ip"] not in PUBLIC_IP_SETTINGS:
            raise DeployError(
                f"stack {stack.name} output {run.assign_public_ip_output} is"
                f" {outputs['assign_public_ip']!r}; expected one of {', '.join(PUBLIC_IP_SETTINGS)}"
            )
        return cls(
            cluster=outputs["cluster"],
            task_definition_arn=outputs["task_definition"],
            subnet_ids=_comma_list(outputs["subnets"]),
            security_group_ids=_comma_list(outputs["security_groups"]),
            assign_public_ip=outputs["assign_public_ip"],
            watched_container=outputs["watched_container"],
            log_group=outputs["log_group"],
            log_stream_prefix=outputs["log_stream_prefix"],
        )

    @property
    def logs(self) -> TaskLogs:
        return TaskLogs(group=self.log_group, stream_prefix=self.log_stream_prefix)


@dataclass(frozen=True, kw_only=True)
class TaskLogs:
    """Where the awslogs driver writes a container's lines."""

    group: str
    stream_prefix: str

    def stream(self, *, container: str, task_id: str) -> str:
        """The awslogs driver's stream name: ``<prefix>/<container>/<task id>``."""
        return f"{self.stream_prefix}/{container}/{task_id}"


class LogFollower:
    """Follows one CloudWatch Logs stream forward with GetLogEvents' ``nextForwardToken``."""

    def __init__(self, api: AwsApi, *, group: str, stream: str) -> None:
        self._api = api
        self._group = group
        self._stream = stream
        self._next_token: str | None = None

    def read(self, *, max_pages: int = 1) -> list[str]:
        """New lines since the last read; stops early at an empty page (caught up)."""
        lines: list[str] = []
        for _ in range(max_pages):
            page = self._api.log_page(
                group=self._group, stream=self._stream, next_token=self._next_token
            )
            if page is None:  # the stream appears when the container starts
                break
            self._next_token = page.next_token
            if not page.lines:
                break
            lines.extend(page.lines)
        return lines


class EcsBackend:
    """``DeployBackend`` on AWS: CloudFormation through the CDK CLI, ECS and CloudWatch Logs."""

    def __init__(
        self,
        *,
        environment: str,
        migration: MigrationSelector,
        stacks: Callable[[], tuple[str, ...]],
        api: AwsApi,
        cdk: CdkCli,
        clock: Clock | None = None,
        polling: PollSchedule = ADAPTIVE_POLLING,
    ) -> None:
        self.environment = environment
        self._selector = migration
        self._migration_stack = migration.stack
        self._stacks = stacks
        self._api = api
        self._cdk = cdk
        self._clock = clock or SystemClock()
        self._polling = polling
        self._target: MigrationTarget | None = None
        # Task definitions other than the migration's (one-off runs): where their logs go.
        self._logs: dict[str, TaskLogs] = {}

    def ensure_idle(self) -> None:
        for name in self._stacks():
            stack = self._api.stack(name)
            if stack is not None and stack.busy:
                raise DeployLocked(
                    f"stack {name} is {stack.status}: another deploy of {self.environment} is"
                    " running; wait for it to finish"
                )

    def deploy_stack(self, stack_name: str) -> None:
        self._cdk.deploy(stack_name)

    def migration_task(self) -> MigrationTask:
        stack = self._api.stack(self._migration_stack)
        if stack is None:
            raise DeployError(
                f"stack {self._migration_stack} does not exist; deploy it first"
                f" (invoke deploy --env {self.environment})"
            )
        self._target = MigrationTarget.from_stack(stack, self._selector)
        return MigrationTask(
            task_definition=self._target.task_definition_arn,
            watched_container=self._target.watched_container,
        )

    def one_off_task(
        self, *, stack: str, logical_id: str, watched_container: str, command: tuple[str, ...]
    ) -> MigrationTask:
        """A deployed task definition of the environment, run once like the migration: in the
        migration's cluster and network, with ``command`` replacing the watched container's."""
        arn = self._api.stack_resource_id(stack=stack, logical_id=logical_id)
        options = self._api.container_log_options(arn).get(watched_container)
        if not options or "awslogs-group" not in options:
            raise DeployError(
                f"container {watched_container} of {arn} logs nowhere CloudWatch can stream"
                " from; give it the awslogs driver"
            )
        self._logs[arn] = TaskLogs(
            group=options["awslogs-group"], stream_prefix=options.get("awslogs-stream-prefix", "")
        )
        return MigrationTask(
            task_definition=arn, watched_container=watched_container, command=command
        )

    def start_migration(self, task: MigrationTask, *, client_token: str) -> MigrationRun:
        target = self._migration_target()
        started = self._api.run_task(
            cluster=target.cluster,
            task_definition=task.task_definition,
            subnets=target.subnet_ids,
            security_groups=target.security_group_ids,
            assign_public_ip=target.assign_public_ip,
            client_token=client_token,
            started_by=STARTED_BY,
            command_overrides={task.watched_container: task.command} if task.command else None,
        )
        return MigrationRun(task_id=started.arn, task=task)

    def wait_for_migration(
        self, run: MigrationRun, *, timeout_s: float, on_log: LogSink
    ) -> MigrationOutcome | None:
        target = self._migration_target()
        watched = run.task.watched_container
        where = self._logs.get(run.task.task_definition, target.logs)
        logs = LogFollower(
            self._api,
            group=where.group,
            stream=where.stream(container=watched, task_id=_task_id(run)),
        )
        deadline = self._clock.monotonic() + timeout_s
        intervals = self._polling.intervals()
        while True:
            task = self._api.describe_task(cluster=target.cluster, task_arn=run.task_id)
            container = task.containers.get(watched)
            if task.stopped or (container is not None and container.exited):
                # Read after the exit was seen, so the last lines are in.
                for line in logs.read(max_pages=MAX_LOG_PAGES_IN_FINAL_DRAIN):
                    on_log(watched, line)
                return _outcome(task)
            for line in logs.read():
                on_log(watched, line)
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                return None
            self._clock.sleep(min(next(intervals), remaining))

    def stop_migration(self, run: MigrationRun, *, reason: str) -> None:
        self._api.stop_task(
            cluster=self._migration_target().cluster,
            task_arn=run.task_id,
            reason=reason[:MAX_STOP_REASON],
        )

    def recorded_since_start(self, run: MigrationRun) -> tuple[str, ...] | None:
        """The database is inside the VPC: the harness cannot read its migrations table."""
        return None

    def wait_for_services(self, stack_name: str, *, timeout_s: float) -> None:
        """Every ECS service the stack created, each until stable (or rolled back)."""
        services = self._api.stack_services(stack_name)
        if not services:
            raise DeployError(f"stack {stack_name} holds no ECS service (or does not exist)")
        for cluster, name in services:
            self._wait_until_stable(cluster, name, timeout_s=timeout_s)

    def _wait_until_stable(self, cluster: str, name: str, *, timeout_s: float) -> None:
        deadline = self._clock.monotonic() + timeout_s
        intervals = self._polling.intervals()
        shown = ""
        while True:
            service = self._api.service(cluster=cluster, name=name)
            failure = _rollout_failure(service)
            if failure is not None:
                raise DeployError(f"service {name}: {failure}")
            progress = _progress(service)
            if progress != shown:
                note(f"service {name}: {progress}")
                shown = progress
            if _stable(service):
                return
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                raise DeployError(
                    f"service {name} was not stable within {timeout_s:.0f}s ({progress})"
                )
            self._clock.sleep(min(next(intervals), remaining))

    def _migration_target(self) -> MigrationTarget:
        if self._target is None:
            self.migration_task()
        assert self._target is not None  # set by migration_task()
        return self._target


def ecs_backend(
    *, project_root: Path, environment: str, endpoint_url: str | None = None
) -> EcsBackend:
    """The ECS backend for ``environment``, in the region its migration stack deploys to."""
    config = load_config(project_root).environment(environment)
    directory = assembly_dir(project_root)
    api = AwsApi.connect(region=environment_region(directory, config), endpoint_url=endpoint_url)
    cdk = CdkCli(project_root=project_root, assembly_dir=directory)
    return EcsBackend(
        environment=environment,
        migration=config.migration,
        stacks=lambda: known_stacks(project_root, config, directory),
        api=api,
        cdk=cdk,
    )


def known_stacks(project_root: Path, config: EnvironmentConfig, directory: Path) -> tuple[str, ...]:
    """The environment's stacks as the last synth wrote them (before a first synth: only the
    migration stack, which the config names)."""
    if not (directory / "manifest.json").is_file():
        return (config.migration.stack,)
    return deploy_stacks(project_root, config.name, directory).all


def environment_region(directory: Path, environment: EnvironmentConfig) -> str:
    """The region the synthesized migration stack deploys to."""
    region = load_assembly(directory).stack(environment.migration.stack).region
    if region is None:
        raise ConfigError(
            f"stack {environment.migration.stack} is environment-agnostic; give it an env"
            " (account and region) in the CDK app to deploy it through ECS"
        )
    return region


def _outcome(task: TaskState) -> MigrationOutcome:
    return MigrationOutcome(
        containers=MappingProxyType(
            {
                name: ContainerResult(
                    name=name,
                    exit_code=container.exit_code if container.exited else None,
                    reason=container.reason,
                )
                for name, container in task.containers.items()
            }
        ),
        stop_reason=": ".join(filter(None, (task.stop_code, task.stopped_reason))) or None,
    )


def _rollout_failure(service: ServiceState) -> str | None:
    for deployment in service.deployments:
        if deployment.rollout_state == "FAILED":
            reason = deployment.rollout_state_reason or "no reason given"
            return f"the deployment failed and the circuit breaker rolled it back ({reason})"
    return None


def _stable(service: ServiceState) -> bool:
    if len(service.deployments) != 1:
        return False  # an old deployment is still draining
    (deployment,) = service.deployments
    return (
        deployment.status == "PRIMARY"
        and deployment.rollout_state in (None, "COMPLETED")
        and deployment.running_count == deployment.desired_count
    )


def _progress(service: ServiceState) -> str:
    primary = next((d for d in service.deployments if d.status == "PRIMARY"), None)
    if primary is None:
        return f"{service.running_count}/{service.desired_count} tasks running, no deployment"
    return (
        f"{primary.running_count}/{primary.desired_count} new tasks running,"
        f" rollout {(primary.rollout_state or 'unknown').lower()},"
        f" {len(service.deployments)} deployment(s)"
    )


def _require_outputs(stack: StackState, *names: str) -> dict[str, str]:
    missing = [name for name in names if name not in stack.outputs]
    if missing:
        raise DeployError(
            f"stack {stack.name} lacks output(s) {', '.join(missing)}; deploy the current"
            " CDK app to it"
        )
    return {name: stack.outputs[name] for name in names}


def _comma_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _task_id(run: MigrationRun) -> str:
    return run.task_id.rsplit("/", 1)[-1]
