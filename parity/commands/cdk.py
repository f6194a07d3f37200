"""``invoke engine``, ``synth`` and ``diff``: the set-up steps a user can also run alone."""

from __future__ import annotations

from pathlib import Path

from parity.assembly import synth as cdk
from parity.console import console
from parity.engine.baseimage import ensure_base_image
from parity.engine.daemon import ensure_compose, ensure_engine


def prepare_engine() -> str:
    """A Docker engine that answers (installed and started on a bare Debian host) and the base
    image; returns the engine's version."""
    client = ensure_engine()
    ensure_base_image(client)
    ensure_compose()
    return str(client.version()["Version"])


def synth(project_root: Path, env: str | None) -> None:
    result = cdk.synth(project_root=project_root, env=env)
    console.print(f"synthesized {env or 'every environment'} in {result.duration_s:.1f}s")


def diff(project_root: Path, env: str) -> str:
    return cdk.diff(project_root=project_root, env=env).output
