"""A minimal project tree: the environment files the flow validates names against."""

from __future__ import annotations

from pathlib import Path

import pytest

ENVIRONMENTS = {"local": "us-east-1", "qa": "eu-west-1", "prod": "eu-west-1"}


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    environments = tmp_path / "cdk" / "environments"
    environments.mkdir(parents=True)
    for name, region in ENVIRONMENTS.items():
        (environments / f"{name}.toml").write_text(f'region = "{region}"\n')
    (tmp_path / "cdk.json").write_text('{"app": "python cdk/app.py", "output": "cdk.out"}')
    cli = tmp_path / "node_modules" / ".bin" / "cdk"
    cli.parent.mkdir(parents=True)
    cli.write_text("#!/bin/sh\nexit 99\n")  # never run: tests inject the command runner
    cli.chmod(0o755)
    return tmp_path
