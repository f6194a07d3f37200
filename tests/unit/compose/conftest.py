"""The local environment's task definitions, synthesized once per session, and their export."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from parity.assembly.apptasks import AppTasks, load_app_tasks
from parity.commands.compose import render_compose

from ..cdk.cdk_assembly import PROJECT_ROOT
from ..overrides.synthesized import synthesized_assembly


@pytest.fixture(scope="session")
def local_tasks(tmp_path_factory: pytest.TempPathFactory) -> AppTasks:
    return load_app_tasks(synthesized_assembly(tmp_path_factory, "local"), env="local")


@pytest.fixture(scope="session")
def rendered(local_tasks: AppTasks) -> str:
    return render_compose(local_tasks, project_root=PROJECT_ROOT)


@pytest.fixture(scope="session")
def services(rendered: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(rendered)
    assert set(document) == {"services"}
    services: dict[str, Any] = document["services"]
    return services
