"""Security facts of the workflows: OIDC only where deploys happen, no static AWS keys, prod only
through its protected environment, the role from configuration, deploys never cancelled."""

from __future__ import annotations

from pathlib import Path

import pytest

from .repository import FIXTURES, WORKFLOWS_DIR, workflow_files
from .workflow_rules import (
    AWS_CREDENTIALS_ACTION,
    SECURITY_RULES,
    Rule,
    Workflow,
)

INSECURE_WORKFLOW = FIXTURES / "insecure_deploy.yml"
# (workflow, job) pairs allowed to request an OIDC token, and the environment each deploys.
DEPLOY_JOBS = {("deploy_qa.yml", "deploy"): "qa", ("deploy_prod.yml", "deploy"): "prod"}


def rule_name(rule: Rule) -> str:
    return rule.__name__


def all_workflows() -> list[Workflow]:
    return [Workflow.load(path) for path in workflow_files()]


@pytest.mark.parametrize("rule", SECURITY_RULES, ids=rule_name)
@pytest.mark.parametrize("path", workflow_files(), ids=lambda path: path.name)
def test_the_workflow_follows_the_rule(path: Path, rule: Rule) -> None:
    assert rule(Workflow.load(path)) == []


@pytest.mark.parametrize("rule", SECURITY_RULES, ids=rule_name)
def test_the_rule_catches_the_insecure_fixture(rule: Rule) -> None:
    assert rule(Workflow.load(INSECURE_WORKFLOW)), f"{rule.__name__} found nothing to object to"


# The rules above pass vacuously for a workflow without deploy jobs; these pin the deploys down.


def test_only_the_two_deploy_jobs_request_an_oidc_token() -> None:
    granted = {
        (workflow.name, job.id)
        for workflow in all_workflows()
        for job in workflow.jobs
        if job.grants_id_token
    }
    assert granted == set(DEPLOY_JOBS)


def test_each_environment_is_deployed_by_its_own_job_inside_its_github_environment() -> None:
    deploys = {
        (workflow.name, job.id): (job.deployed_environment, job.github_environment)
        for workflow in all_workflows()
        for job in workflow.deploy_jobs
    }
    assert deploys == {key: (env, env) for key, env in DEPLOY_JOBS.items()}


@pytest.mark.parametrize(("workflow_name", "job_id"), sorted(DEPLOY_JOBS))
def test_the_deploy_role_and_region_come_from_the_environments_variables(
    workflow_name: str, job_id: str
) -> None:
    job = next(job for job in Workflow.load(WORKFLOWS_DIR / workflow_name).jobs if job.id == job_id)
    (credentials,) = job.steps_using(AWS_CREDENTIALS_ACTION)
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert credentials["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
    assert set(credentials["with"]) <= {"role-to-assume", "aws-region", "role-session-name"}


def test_deploys_of_different_environments_do_not_share_a_concurrency_group() -> None:
    groups = {
        workflow.concurrency_of(job)["group"]
        for workflow in all_workflows()
        for job in workflow.deploy_jobs
    }
    assert len(groups) == len(DEPLOY_JOBS)
