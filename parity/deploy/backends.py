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
from parity.config.settings import (
    DEFAULT_HTTP_PORT,
    LOCAL_ENVIRONMENT,
    EmulatorKind,
    HarnessSettings,
)
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
from parity.services.emulator import DEFAULT_PORT as DEFAULT_EMULATOR_PORT


@dataclass(frozen=True, kw_only=True)
class DeployRequest:
    """What the user asked for on the command line; ``local_*`` apply to ``--env local``."""

    environment: str
    confirm: bool = False
    timeout_s: float = DEFAULT_MIGRATION_TIMEOUT_S
    deploy_id: str = ""
    local_port: int = DEFAULT_HTTP_PORT
    emulator: str = ""

    def options(self) -> DeployOptions:
        return DeployOptions(
            environment=self.environment,
            deploy_id=self.deploy_id or new_deploy_id(),
            confirm=self.confirm,
            migration_timeout_s=self.timeout_s,
        )


def deploy(project_root: Path, request: DeployRequest) -> DeployReport:
    """Synth, cfn-lint and cdk-nag, diff, migration stack, migration gate, service stack."""
    env = request.environment
    steps = PreDeploySteps(
        synth=lambda: cdk.synth(project_root=project_root, env=env),
        stacks=lambda: deploy_stacks(project_root, env, cdk.assembly_dir(project_root)),
        check=lambda: check_environment_templates(project_root, env),
        diff=lambda: diff_for(env, project_root=project_root),
    )
    with open_backend_for(project_root, request) as backend:
        return run_deploy(
            request.options(), backend=backend, project_root=project_root, pre_deploy=steps
        )


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
    emulator_port: int = DEFAULT_EMULATOR_PORT,
) -> Iterator[DeployBackend]:
    """The backend for ``env``; what it started for itself (an emulator) stops on exit."""
    if env != LOCAL_ENVIRONMENT:
        from parity.deploy.ecs import ecs_backend

        yield ecs_backend(project_root=project_root, environment=env)
        return
    from parity.deploy.local import LocalBackend

    local = LocalBackend(
        project_root=project_root,
        settings=settings,
        host_port=local_port,
        emulator_kind=emulator,
        emulator_port=emulator_port,
    )
    try:
        yield local
    finally:
        local.close()


def diff_for(env: str, *, project_root: Path) -> str:
    """What the deploy would change: ``cdk diff``; locally the task definitions are replaced."""
    if env == LOCAL_ENVIRONMENT:
        return "local: the running task definitions are replaced by the synthesized ones"
    return cdk.diff(project_root=project_root, env=env).output
