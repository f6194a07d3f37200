"""cdk-nag AwsSolutions, CDK's own template validation, and cfn-lint on every template."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_by_config
from laravel_infra.config import load_environment

from .cdk_assembly import ENVIRONMENT_NAMES, ENVIRONMENTS_DIR, Assembly, read_json, stack_name

STACK_KINDS = ("Migration", "Service", "Worker", "Scheduler", "CiAccess")
# The only findings this app acknowledges; anything else must be fixed, not suppressed.
ACKNOWLEDGED_RULES = re.compile(
    r"AwsSolutions-ECS2"
    r"|AwsSolutions-IAM5\[Resource::\*\]"
    r"|AwsSolutions-IAM5\[Resource::arn:aws:[a-z]+:[a-z0-9-]+:\d{12}:[^*]+\*\]"
)


def test_no_unacknowledged_findings(assembly: Assembly) -> None:
    # cdk-nag and CDK's template validation both report here; any error also fails synth.
    assert assembly.validation_error is None
    report = read_json(assembly.directory / "validation-report.json")
    findings = [
        f"{violation['severity']} {violation['ruleName']} at {construct['constructPath']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]
    assert findings == []


def cdk_nag_acknowledgments(assembly: Assembly, stack: str) -> list[dict[str, Any]]:
    resources = assembly.template(stack)["Resources"].values()
    return [
        rule
        for resource in resources
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_every_acknowledgment_is_narrow_and_explained(assembly: Assembly, env: str) -> None:
    acknowledgments = [
        rule
        for kind in STACK_KINDS
        for rule in cdk_nag_acknowledgments(assembly, stack_name(env, kind))
    ]
    assert acknowledgments
    for rule in acknowledgments:
        assert ACKNOWLEDGED_RULES.fullmatch(rule["id"]), rule["id"]
        assert len(rule["reason"]) > 30, rule


def test_cfn_lint_clean_on_every_template(assembly: Assembly) -> None:
    templates_by_region: dict[str, list[str]] = defaultdict(list)
    for env in ENVIRONMENT_NAMES:
        region = load_environment(env, directory=ENVIRONMENTS_DIR).region
        templates_by_region[region] += [
            str(assembly.directory / f"{stack_name(env, kind)}.template.json")
            for kind in STACK_KINDS
        ]
    # One linter run per region: loading cfn-lint's schemas is the slow part.
    matches = [
        str(match)
        for region, templates in templates_by_region.items()
        for match in lint_by_config(ManualArgs(templates=templates, regions=[region]))
    ]
    assert matches == []
