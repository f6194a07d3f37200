"""Pick the deploy backend for an environment: the local runtime for ``local``, else ECS."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from parity.config.settings import EmulatorKind, HarnessSettings
from parity.deploy.flow import DeployBackend

LOCAL_ENVIRONMENT = "local"


@contextmanager
def open_backend(
    env: str,
    *,
    project_root: Path,
    settings: HarnessSettings,
    local_port: int = 8080,
    emulator: EmulatorKind = EmulatorKind.MOTO,
    emulator_port: int = 4566,
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
    from parity.assembly.synth import diff

    return diff(project_root=project_root, env=env).output
