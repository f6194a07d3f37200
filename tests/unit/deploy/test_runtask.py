"""``invoke run-task --env qa|prod``: the chosen task definition through ECS, on moto."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from parity.config.settings import EmulatorKind
from parity.deploy.runtask import RunTaskRequest, run_task
from parity.errors import ConfigError
from parity.services.emulator import EMULATOR_CREDENTIALS, Emulator, start_emulator

from .test_ecs_moto import CLUSTER, REGION, MotoWorld, build_world, deploy_tools_stack

TOOLS_TEMPLATE = {
    "Resources": {
        "ToolsTask": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": "laravel-qa-tools",
                "ContainerDefinitions": [
                    {"Name": "log-router", "Essential": False},
                    {"Name": "tools", "Essential": True},
                ],
            },
        }
    }
}


@pytest.fixture(scope="module")
def world() -> Iterator[MotoWorld]:
    """moto's state is per process, so one world serves the module (as in test_ecs_moto)."""
    emulator: Emulator = start_emulator(EmulatorKind.MOTO, region=REGION, port=0)
    try:
        # The other modules' worlds live in the same process-wide moto state.
        reset = urllib.request.Request(  # noqa: S310 (moto on loopback)
            f"{emulator.endpoint_url}/moto-api/reset", method="POST"
        )
        with urllib.request.urlopen(reset, timeout=5):  # noqa: S310
            pass
        world = build_world(emulator)
        deploy_tools_stack(world)
        yield world
    finally:
        emulator.stop()


@pytest.fixture
def on_moto(world: MotoWorld, monkeypatch: pytest.MonkeyPatch) -> MotoWorld:
    """The default credential chain and endpoint lead to moto, as AWS_ENDPOINT_URL does."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", EMULATOR_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", EMULATOR_CREDENTIALS["aws_secret_access_key"])
    return world


@pytest.fixture
def qa_project(project_root: Path) -> Path:
    """The qa assembly holds a tools stack too; its synth is a CLI that leaves cdk.out as is."""
    out = project_root / "cdk.out"
    (out / "Laravel-Qa-Tools.template.json").write_text(json.dumps(TOOLS_TEMPLATE))
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["artifacts"]["Laravel-Qa-Tools"] = {
        "type": "aws:cloudformation:stack",
        "environment": f"aws://111111111111/{REGION}",
        "properties": {"templateFile": "Laravel-Qa-Tools.template.json"},
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    (project_root / "node_modules" / ".bin" / "cdk").write_text("#!/bin/sh\nexit 0\n")
    return project_root


def test_runs_the_deployed_task_with_the_command_override(
    on_moto: MotoWorld, qa_project: Path
) -> None:
    code = run_task(
        qa_project,
        RunTaskRequest(
            selector="laravel-qa-tools", environment="qa", command=("php", "artisan", "about")
        ),
    )

    ecs = on_moto.client("ecs")
    arns = ecs.list_tasks(cluster=CLUSTER)["taskArns"]
    (task,) = [
        task
        for task in ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]
        if ":task-definition/laravel-qa-tools:" in task["taskDefinitionArn"]
    ]
    # The first essential container counts, and its command is the one given.
    assert task["overrides"]["containerOverrides"] == [
        {"name": "tools", "command": ["php", "artisan", "about"]}
    ]
    assert task["startedBy"] == "fargate-parity"
    # moto runs no container, so none exits with a code: that is a failure, never a 0.
    assert code == 1


def test_prod_needs_confirmation_before_anything_runs(qa_project: Path) -> None:
    with pytest.raises(ConfigError, match="running laravel-prod-tools php artisan down on prod"):
        run_task(
            qa_project,
            RunTaskRequest(
                selector="laravel-prod-tools",
                environment="prod",
                command=("php", "artisan", "down"),
            ),
        )


def test_an_unknown_task_names_the_task_definitions(on_moto: MotoWorld, qa_project: Path) -> None:
    with pytest.raises(ConfigError, match=r"no task definitions match 'nope' in qa.*ToolsTask"):
        run_task(qa_project, RunTaskRequest(selector="nope", environment="qa"))
