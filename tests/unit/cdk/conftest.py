"""Synthesize the CDK app once per session, in-process, for every environment, as app.py does."""

from __future__ import annotations

import json
import os
import sys

import pytest

from .cdk_assembly import CDK_DIR, ENVIRONMENTS_DIR, PROJECT_ROOT, RESOURCES_DIR, Assembly

# cdk.json runs cdk/app.py, which has cdk/ on its path; the tests import the same package.
if str(CDK_DIR) not in sys.path:
    sys.path.append(str(CDK_DIR))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")


@pytest.fixture(scope="session")
def cdk_context() -> dict[str, object]:
    """cdk.json's context (feature flags), which the CLI would pass to the app."""
    context: dict[str, object] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    return context


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory, cdk_context: dict[str, object]) -> Assembly:
    from aws_cdk import App
    from laravel_infra.application import define_application
    from laravel_infra.config import load_environments

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(outdir=str(outdir), context=cdk_context)
    define_application(
        app, configs=load_environments(ENVIRONMENTS_DIR), resources_dir=RESOURCES_DIR
    )
    validation_error = None
    try:
        app.synth()
    except RuntimeError as error:  # findings fail synth, but the templates are still written
        validation_error = str(error)
    return Assembly(directory=outdir, validation_error=validation_error)
