"""The real CDK app's local and prod task definitions, synthesized once per session; the
parity inputs over them and their compose export."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
import yaml

from parity.assembly.apptasks import AppTasks, environment_tasks
from parity.commands.compose import render_compose
from parity.commands.report import ParityInputs
from parity.config.harness import load_config
from parity.config.settings import DEFAULT_DB_IMAGE
from parity.runtime.bringup import SECRETS_FILE

from ..cdk.cdk_assembly import ENVIRONMENTS_DIR, PROJECT_ROOT
from ..synthesized import synthesized_assembly

HOST_PORT = 8080


@pytest.fixture(scope="session")
def local_tasks(tmp_path_factory: pytest.TempPathFactory) -> AppTasks:
    return environment_tasks(PROJECT_ROOT, "local", synthesized_assembly(tmp_path_factory, "local"))


@pytest.fixture(scope="session")
def prod_tasks(tmp_path_factory: pytest.TempPathFactory) -> AppTasks:
    return environment_tasks(PROJECT_ROOT, "prod", synthesized_assembly(tmp_path_factory, "prod"))


@pytest.fixture(scope="session")
def environment_files() -> dict[str, dict[str, Any]]:
    """The environment TOML files, as written: the values each side must show."""
    return {
        name: tomllib.loads((ENVIRONMENTS_DIR / f"{name}.toml").read_text())
        for name in ("local", "prod")
    }


@pytest.fixture(scope="session")
def inputs(local_tasks: AppTasks, prod_tasks: AppTasks) -> ParityInputs:
    return ParityInputs(
        project_root=PROJECT_ROOT,
        local=local_tasks,
        deployed=prod_tasks,
        host_port=HOST_PORT,
        db_image=DEFAULT_DB_IMAGE,
        secrets_file=SECRETS_FILE,
        dev=load_config(PROJECT_ROOT).dev,
    )


@pytest.fixture(scope="session")
def rendered(local_tasks: AppTasks) -> str:
    return render_compose(local_tasks, project_root=PROJECT_ROOT)


@pytest.fixture(scope="session")
def services(rendered: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(rendered)
    assert set(document) == {"services"}
    services: dict[str, Any] = document["services"]
    return services
