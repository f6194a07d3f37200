"""Security rules for the GitHub Actions workflows, each a function returning findings.

A rule takes one parsed workflow and returns readable findings; none means the workflow complies.
The tests run every rule on the real workflows (they must find nothing) and on a deliberately
insecure fixture (each must find something), because a rule that cannot fail proves nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

AWS_CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials"
# Environment names of static keys, the action's inputs for them, and the keys themselves.
LONG_LIVED_AWS_KEY = re.compile(
    r"aws[_-]access[_-]key[_-]id|aws[_-]secret[_-]access[_-]key|aws[_-]session[_-]token"
    r"|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
    re.IGNORECASE,
)
# An AWS account id is twelve digits; none belongs in a workflow (it comes from configuration).
ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
CONFIGURATION_REFERENCE = re.compile(r"^\$\{\{\s*(?:vars|secrets)\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}$")
DEPLOY_COMMAND = re.compile(r"\binvoke\s+deploy\b[^\n]*?--env[ =](?P<environment>[A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class Job:
    """One job of a workflow, with the facts the rules ask about."""

    id: str
    body: Mapping[str, Any]

    @property
    def steps(self) -> list[Mapping[str, Any]]:
        steps = self.body.get("steps") or []
        return [step for step in steps if isinstance(step, Mapping)]

    @property
    def deployed_environment(self) -> str | None:
        """The environment an `invoke deploy --env NAME` step deploys, if the job has one."""
        for step in self.steps:
            match = DEPLOY_COMMAND.search(str(step.get("run", "")))
            if match:
                return match.group("environment")
        return None

    @property
    def github_environment(self) -> str | None:
        environment = self.body.get("environment")
        if isinstance(environment, Mapping):
            environment = environment.get("name")
        return None if environment is None else str(environment)

    @property
    def grants_id_token(self) -> bool:
        return permissions_grant_id_token(self.body.get("permissions"))

    def steps_using(self, action: str) -> Iterator[Mapping[str, Any]]:
        for step in self.steps:
            if str(step.get("uses", "")).split("@")[0] == action:
                yield step


@dataclass(frozen=True)
class Workflow:
    path: Path
    text: str
    document: Mapping[Any, Any]

    @classmethod
    def load(cls, path: Path) -> Workflow:
        text = path.read_text()
        document = yaml.safe_load(text)
        if not isinstance(document, Mapping):
            raise ValueError(f"{path}: not a YAML mapping")
        return cls(path=path, text=text, document=document)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def triggers(self) -> Mapping[str, Any]:
        # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean true.
        triggers = self.document.get("on", self.document.get(True))
        if isinstance(triggers, str):
            return {triggers: None}
        if isinstance(triggers, list):
            return dict.fromkeys(triggers)
        return triggers if isinstance(triggers, Mapping) else {}

    @property
    def jobs(self) -> list[Job]:
        jobs = self.document.get("jobs") or {}
        return [Job(str(job_id), body) for job_id, body in jobs.items()]

    @property
    def deploy_jobs(self) -> list[Job]:
        return [job for job in self.jobs if job.deployed_environment is not None]

    def concurrency_of(self, job: Job) -> Any:
        """The job's concurrency, else the workflow's (which then covers every job)."""
        return job.body.get("concurrency", self.document.get("concurrency"))


def permissions_grant_id_token(permissions: Any) -> bool:
    if permissions == "write-all":
        return True
    return isinstance(permissions, Mapping) and permissions.get("id-token") == "write"


Rule = Callable[[Workflow], list[str]]


def id_token_only_in_deploy_jobs(workflow: Workflow) -> list[str]:
    """OIDC tokens can assume the deploy role: only the jobs that deploy may request one."""
    findings: list[str] = []
    if "permissions" not in workflow.document:
        findings.append("no workflow-level permissions: jobs get the repository's default token")
    elif permissions_grant_id_token(workflow.document["permissions"]):
        findings.append("workflow-level permissions grant id-token: write to every job")
    for job in workflow.jobs:
        deploys = job.deployed_environment is not None
        if job.grants_id_token and not deploys:
            findings.append(f"job {job.id!r} grants id-token: write but deploys nothing")
        if deploys and not job.grants_id_token:
            findings.append(f"deploy job {job.id!r} does not grant itself id-token: write")
    return findings


def no_long_lived_aws_keys(workflow: Workflow) -> list[str]:
    """Deploys assume a role through OIDC; static keys must not appear, even unused."""
    return [
        f"line {line_number(workflow.text, match.start())}: {match.group(0)}"
        for match in LONG_LIVED_AWS_KEY.finditer(workflow.text)
    ]


def deploys_run_in_their_environment(workflow: Workflow) -> list[str]:
    """`--env prod` only inside the protected `prod` environment (its reviewers approve the run);
    the same for every environment, since each deploy role trusts only its own one."""
    return [
        f"job {job.id!r} deploys {job.deployed_environment!r} but runs in GitHub environment "
        f"{job.github_environment!r}; it must run in {job.deployed_environment!r}"
        for job in workflow.deploy_jobs
        if job.github_environment != job.deployed_environment
    ]


def role_from_configuration(workflow: Workflow) -> list[str]:
    """The role ARN is a repository or environment setting; no account id is written down."""
    findings: list[str] = []
    for job in workflow.deploy_jobs:
        if not any(job.steps_using(AWS_CREDENTIALS_ACTION)):
            findings.append(f"deploy job {job.id!r} has no {AWS_CREDENTIALS_ACTION} step")
    for job in workflow.jobs:
        for step in job.steps_using(AWS_CREDENTIALS_ACTION):
            role = str((step.get("with") or {}).get("role-to-assume", ""))
            if not CONFIGURATION_REFERENCE.match(role):
                findings.append(
                    f"job {job.id!r}: role-to-assume {role!r} is not a vars./secrets. reference"
                )
    findings += [
        f"line {line_number(workflow.text, match.start())}: literal account id {match.group(0)}"
        for match in ACCOUNT_ID.finditer(workflow.text)
    ]
    return findings


def deploy_concurrency_per_environment(workflow: Workflow) -> list[str]:
    """One deploy per environment at a time, and a running one is never cancelled: stopping
    halfway can cut a migration off or leave a stack mid-update."""
    findings: list[str] = []
    for job in workflow.deploy_jobs:
        concurrency = workflow.concurrency_of(job)
        if not isinstance(concurrency, Mapping):
            findings.append(
                f"deploy job {job.id!r} needs concurrency with a group and cancel-in-progress"
            )
            continue
        group = str(concurrency.get("group", ""))
        environment = str(job.deployed_environment)
        # A group built from an expression (the ref, the run) would let deploys overlap.
        if "${{" in group or environment not in group:
            findings.append(
                f"deploy job {job.id!r}: concurrency group {group!r} is not a fixed group "
                f"for {environment!r}"
            )
        if concurrency.get("cancel-in-progress") is not False:
            findings.append(f"deploy job {job.id!r}: cancel-in-progress must be false")
    return findings


def secrets_not_in_conditions(workflow: Workflow) -> list[str]:
    """`if:` cannot read secrets (GitHub rejects it); test an env value derived from one."""
    conditions = [(f"job {job.id!r}", job.body.get("if")) for job in workflow.jobs]
    conditions += [
        (f"job {job.id!r} step {index}", step.get("if"))
        for job in workflow.jobs
        for index, step in enumerate(job.steps, start=1)
    ]
    return [
        f"{where}: if: {condition}"
        for where, condition in conditions
        if condition is not None and "secrets." in str(condition)
    ]


def deploys_not_triggered_by_pull_requests(workflow: Workflow) -> list[str]:
    """pull_request_target runs with secrets next to fork code; deploys run on merged code only."""
    findings: list[str] = []
    if "pull_request_target" in workflow.triggers:
        findings.append("triggered by pull_request_target")
    if workflow.deploy_jobs and "pull_request" in workflow.triggers:
        findings.append("deploys on pull_request")
    return findings


SECURITY_RULES: tuple[Rule, ...] = (
    id_token_only_in_deploy_jobs,
    no_long_lived_aws_keys,
    deploys_run_in_their_environment,
    role_from_configuration,
    deploy_concurrency_per_environment,
    secrets_not_in_conditions,
    deploys_not_triggered_by_pull_requests,
)


def line_number(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
