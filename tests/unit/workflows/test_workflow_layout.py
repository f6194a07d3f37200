"""What each workflow runs, caches and keeps, as issue 7 lays out."""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from .repository import EXPECTED_WORKFLOWS, WORKFLOWS_DIR, workflow_files
from .workflow_rules import Job, Workflow

CI_COMMANDS = {
    "lint-and-types": (".venv/bin/ruff check", ".venv/bin/mypy"),
    "unit": (".venv/bin/invoke test --unit",),
    "integration-moto": (".venv/bin/invoke test-integration --emulator moto",),
    "integration-localstack": (".venv/bin/invoke test-integration --emulator localstack",),
}
# A major version tag (v4, v4.2.1) or a full commit SHA; never a moving branch.
PINNED_REF = re.compile(r"^(?:v\d+(?:\.\d+)*|[0-9a-f]{40})$")
# The step runs after failed earlier steps, so failing tests still upload their report.
RUNS_AFTER_FAILURE = re.compile(r"always\(\)|!\s*cancelled\(\)")


def load(name: str) -> Workflow:
    return Workflow.load(WORKFLOWS_DIR / name)


def job_of(workflow: Workflow, job_id: str) -> Job:
    return next(job for job in workflow.jobs if job.id == job_id)


def run_scripts(job: Job) -> str:
    return "\n".join(str(step.get("run", "")) for step in job.steps)


def step_using(job: Job, action: str) -> Mapping[str, Any]:
    steps = list(job.steps_using(action))
    assert len(steps) == 1, f"job {job.id!r} uses {action} {len(steps)} times, not once"
    return steps[0]


def test_the_repository_has_exactly_the_three_workflows() -> None:
    assert tuple(path.name for path in workflow_files()) == EXPECTED_WORKFLOWS


def test_ci_runs_on_pull_requests_and_pushes_with_the_four_jobs() -> None:
    ci = load("ci.yml")
    assert {"pull_request", "push"} <= set(ci.triggers)
    assert [job.id for job in ci.jobs] == list(CI_COMMANDS)


@pytest.mark.parametrize(("job_id", "commands"), CI_COMMANDS.items())
def test_each_ci_job_runs_its_commands_after_the_bootstrap(
    job_id: str, commands: tuple[str, ...]
) -> None:
    scripts = run_scripts(job_of(load("ci.yml"), job_id))
    assert "./scripts/bootstrap" in scripts
    for command in commands:
        assert command in scripts


@pytest.mark.parametrize("job_id", ["unit", "integration-moto", "integration-localstack"])
def test_test_jobs_upload_their_junit_reports_even_when_tests_fail(job_id: str) -> None:
    upload = step_using(job_of(load("ci.yml"), job_id), "actions/upload-artifact")
    assert upload["with"]["path"] == "reports/*.xml"
    assert RUNS_AFTER_FAILURE.search(str(upload.get("if", "")))


@pytest.mark.parametrize("path", workflow_files(), ids=lambda path: path.name)
def test_pip_and_npm_downloads_are_cached_on_their_lock_inputs(path: Path) -> None:
    for job in Workflow.load(path).jobs:
        python = step_using(job, "actions/setup-python")["with"]
        node = step_using(job, "actions/setup-node")["with"]
        assert (python["cache"], python["cache-dependency-path"]) == ("pip", "pyproject.toml")
        assert (node["cache"], node["cache-dependency-path"]) == ("npm", "package-lock.json")


@pytest.mark.parametrize("job_id", ["integration-moto", "integration-localstack"])
def test_integration_jobs_reuse_the_harness_images_keyed_on_resources(job_id: str) -> None:
    job = job_of(load("ci.yml"), job_id)
    restore = step_using(job, "actions/cache/restore")["with"]
    save = step_using(job, "actions/cache/save")["with"]
    assert "hashFiles('resources/**')" in restore["key"]
    assert "restore-keys" not in restore  # a fallback would bring back stale fixed tags
    assert save["path"] == restore["path"]
    assert "docker load" in run_scripts(job)
    assert "docker save" in run_scripts(job)


def test_only_the_localstack_test_step_sees_the_localstack_token() -> None:
    ci = load("ci.yml")
    token = "${{ secrets.LOCALSTACK_AUTH_TOKEN }}"
    holders = [
        step.get("name")
        for job in ci.jobs
        for step in job.steps
        if (step.get("env") or {}).get("LOCALSTACK_AUTH_TOKEN") == token
    ]
    assert holders == ["Integration tests on LocalStack"]
    wider_scopes = [ci.document.get("env") or {}, *(job.body.get("env") or {} for job in ci.jobs)]
    assert all(token not in scope.values() for scope in wider_scopes)


@pytest.mark.parametrize("path", workflow_files(), ids=lambda path: path.name)
def test_actions_are_pinned_to_a_version_or_commit(path: Path) -> None:
    for job in Workflow.load(path).jobs:
        for step in job.steps:
            if "uses" in step:
                _, _, ref = str(step["uses"]).partition("@")
                assert PINNED_REF.match(ref), f"{path.name} job {job.id}: {step['uses']}"


def test_qa_deploys_every_push_to_main() -> None:
    qa = load("deploy_qa.yml")
    assert qa.triggers == {"push": {"branches": ["main"]}}
    deploy_lines = run_scripts(job_of(qa, "deploy")).splitlines()
    assert '.venv/bin/invoke deploy --env qa --previous "$RUNNING_RELEASE"' in deploy_lines
    (deploy_step,) = [s for s in job_of(qa, "deploy").steps if s.get("name") == "Deploy"]
    assert deploy_step["env"] == {"RUNNING_RELEASE": "${{ github.event.before }}"}


@pytest.mark.parametrize("name", ["deploy_qa.yml", "deploy_prod.yml"])
def test_deploys_fetch_the_history_the_release_checks_build_the_running_release_from(
    name: str,
) -> None:
    (checkout,) = [
        s
        for s in job_of(load(name), "deploy").steps
        if str(s.get("uses", "")).startswith("actions/checkout@")
    ]
    assert checkout["with"]["fetch-depth"] == 0


def test_prod_deploys_version_tags_and_confirms_through_the_environment_approval() -> None:
    prod = load("deploy_prod.yml")
    assert prod.triggers == {"push": {"tags": ["v*"]}}
    deploy_lines = run_scripts(job_of(prod, "deploy")).splitlines()
    assert ".venv/bin/invoke deploy --env prod --confirm" in deploy_lines


def test_the_python_the_workflows_run_imports_what_the_package_has() -> None:
    """A `python -c 'from parity.x import Y'` step breaks silently when a module moves."""
    for path in workflow_files():
        for module, name in re.findall(r"from (parity[\w.]*) import (\w+)", path.read_text()):
            assert hasattr(importlib.import_module(module), name), f"{path.name}: {module}.{name}"
