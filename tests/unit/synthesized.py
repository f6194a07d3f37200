"""The CDK app synthesized in-process, once per test session and environment.

Both the overrides and the compose tests read it: the first to ask for an environment
synthesizes it (the first synth of a session takes about 15 s, later ones a few), later
askers find it under the session's base temporary directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import pytest

from .cdk.cdk_assembly import CDK_DIR, ENVIRONMENTS_DIR, PROJECT_ROOT, RESOURCES_DIR

# cdk.json runs cdk/app.py, which has cdk/ on its path; the tests import the same package.
if str(CDK_DIR) not in sys.path:
    sys.path.append(str(CDK_DIR))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")


def synthesized_assembly(tmp_path_factory: pytest.TempPathFactory, *environments: str) -> Path:
    """The cloud assembly directory of these environments' stacks, as `invoke synth` writes it."""
    outdir = tmp_path_factory.getbasetemp() / f"parity-cdk.out-{'-'.join(environments)}"
    if not (outdir / "manifest.json").is_file():
        _synthesize(outdir, environments)
    return outdir


def _synthesize(outdir: Path, environments: tuple[str, ...]) -> None:
    from aws_cdk import App
    from laravel_infra.application import define_application
    from laravel_infra.config import load_environment

    context = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    app = App(outdir=str(outdir), context=context)
    define_application(
        app,
        configs=[load_environment(name, directory=ENVIRONMENTS_DIR) for name in environments],
        resources_dir=RESOURCES_DIR,
    )
    # cdk-nag findings fail synth after the templates are written; tests/unit/cdk reports them.
    with contextlib.suppress(RuntimeError):
        app.synth()
