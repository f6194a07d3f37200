"""``invoke deploy`` and ``invoke migrate``: the backend for an environment (the local runtime
for ``local``, else ECS), the pre-deploy steps, and the flow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from parity.assembly import synth as cdk
from parity.assembly.apptasks import deploy_stacks
from parity.assembly.checks import check_environment_templates
from parity.config.flags import FREE_PORT, parse_port
from parity.config.harness import MIGRATIONS_CHECK_KEY, load_config
from parity.config.settings import (
    DEFAULT_HTTP_PORT,
    LOCAL_ENVIRONMENT,
    EmulatorKind,
    HarnessSettings,
)
from parity.console import note
from parity.deploy.flow import (
    DEFAULT_MIGRATION_TIMEOUT_S,
    DeployBackend,
    DeployOptions,
    DeployReport,
    GateResult,
    PreDeploySteps,
    new_deploy_id,
)
from parity.deploy.flow import deploy as run_deploy
from parity.deploy.flow import migrate as run_migrate
from parity.engine.labels import Scope, new_invocation
from parity.runtime.bringup import checkout_lock, remove_invocation_resources
from parity.verify.migrations.check import run_migrations_check
from parity.verify.migrations.policy import enforce
from parity.verify.migrations.report import AllowedBreaking

# The tasks parse their port flags with it (one line for a bad one).
__all__ = ["DeployRequest", "deploy", "migrate", "parse_port"]


@dataclass(frozen=True, kw_only=True)
class DeployRequest:
    """What the user asked for on the command line; ``local_*`` apply to ``--env local``."""

    environment: str
    confirm: bool = False
    timeout_s: float = DEFAULT_MIGRATION_TIMEOUT_S
    deploy_id: str = ""
    local_port: int = DEFAULT_HTTP_PORT
    emulator: str = ""
    # The running release's git ref for the release checks (default: the last tag, else HEAD~1).
    previous_ref: str = ""
    # Go ahead although pending migrations break the running release; logged with the deploy id.
    allow_breaking: str = ""

    def options(self) -> DeployOptions:
        return DeployOptions(
            environment=self.environment,
            deploy_id=self.deploy_id or new_deploy_id(),
            confirm=self.confirm,
            migration_timeout_s=self.timeout_s,
        )


def deploy(project_root: Path, request: DeployRequest) -> DeployReport:
    """Synth, cfn-lint and cdk-nag, release checks, diff, migration stack, migration gate,
    every service stack."""
    env = request.environment
    options = request.options()
    steps = PreDeploySteps(
        synth=lambda: cdk.synth(project_root=project_root, env=env),
        stacks=lambda: deploy_stacks(project_root, env, cdk.assembly_dir(project_root)),
        check=lambda: check_environment_templates(project_root, env),
        release_checks=lambda: release_checks(project_root, request, deploy_id=options.deploy_id),
        diff=lambda: diff_for(env, project_root=project_root),
    )
    with open_backend_for(project_root, request) as backend:
        return run_deploy(options, backend=backend, project_root=project_root, pre_deploy=steps)


def release_checks(project_root: Path, request: DeployRequest, *, deploy_id: str) -> None:
    """The migrations check and the previous-release run, in one local bring-up of their own
    (never the target's database); the policy then refuses, warns, or logs the go-ahead.
    Skipped, saying so, where fargate-parity.toml gives the environment no migrations check."""
    harness = load_config(project_root)
    config = harness.environment(request.environment).migrations_check
    if config is None:
        note(
            f"release checks skipped: {harness.source.name} gives {request.environment} no"
            f" {MIGRATIONS_CHECK_KEY} table"
        )
        return
    settings = HarnessSettings.for_project(project_root)
    allowed = (
        AllowedBreaking(deploy_id=deploy_id, reason=request.allow_breaking)
        if request.allow_breaking
        else None
    )
    checks = run_migrations_check(
        project_root,
        settings=settings,
        config=config,
        environment=request.environment,
        previous_ref=request.previous_ref or None,
        emulator=settings.emulator_for(request.emulator),
        with_previous_release_run=True,
        allowed_breaking=allowed,
    )
    enforce(checks)


def migrate(project_root: Path, request: DeployRequest) -> GateResult:
    """Only the migration gate, against what is deployed in the environment."""
    with open_backend_for(project_root, request) as backend:
        return run_migrate(request.options(), backend=backend, project_root=project_root)


@contextmanager
def open_backend_for(project_root: Path, request: DeployRequest) -> Iterator[DeployBackend]:
    settings = HarnessSettings.for_project(project_root)
    with open_backend(
        request.environment,
        project_root=project_root,
        settings=settings,
        local_port=request.local_port,
        emulator=settings.emulator_for(request.emulator),
    ) as backend:
        yield backend


@contextmanager
def open_backend(
    env: str,
    *,
    project_root: Path,
    settings: HarnessSettings,
    local_port: int = DEFAULT_HTTP_PORT,
    emulator: EmulatorKind = EmulatorKind.MOTO,
    emulator_port: int = FREE_PORT,
) -> Iterator[DeployBackend]:
    """The backend for ``env``; what it started for itself (an emulator) stops on exit."""
    if env != LOCAL_ENVIRONMENT:
        from parity.deploy.ecs import ecs_backend

        yield ecs_backend(project_root=project_root, environment=env)
        return
    from parity.deploy.local import LocalBackend

    # One local deploy or dev run per checkout: two would race for its database.
    with checkout_lock(project_root), new_invocation() as invocation:
        local = LocalBackend(
            project_root=project_root,
            settings=settings,
            host_port=local_port,
            emulator_kind=emulator,
            emulator_port=emulator_port,
        )
        try:
            yield local
        except BaseException:
            # A failed deploy or migrate leaves no balancer, MySQL or task it started; what
            # an earlier deploy left running stays.
            local.close()
            remove_invocation_resources(project_root, (Scope.LOCAL_DEPLOY,), invocation=invocation)
            raise
        local.close()


def diff_for(env: str, *, project_root: Path) -> str:
    """What the deploy would change: ``cdk diff``; locally the task definitions are replaced."""
    if env == LOCAL_ENVIRONMENT:
        return "local: the running task definitions are replaced by the synthesized ones"
    return cdk.diff(project_root=project_root, env=env).output
