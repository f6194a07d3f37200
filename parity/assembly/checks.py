"""Pre-deploy checks on a synthesized environment: cfn-lint and cdk-nag's report."""

from __future__ import annotations

import json
from pathlib import Path

from parity.assembly.cloud import load_assembly
from parity.assembly.synth import assembly_dir as synth_output
from parity.config.harness import load_config
from parity.console import note
from parity.errors import DeployError


def check_environment_templates(project_root: Path, env: str) -> None:
    """Fail when cfn-lint or cdk-nag reports anything for ``env``'s stacks."""
    from cfnlint.api import ManualArgs, lint_by_config  # slow import: only when deploying

    environment = load_config(project_root).environment(env)
    assembly_dir = synth_output(project_root)
    assembly = load_assembly(assembly_dir)
    stacks = [stack for name, stack in assembly.stacks.items() if environment.selects(name)]
    regions = sorted({stack.region for stack in stacks if stack.region}) or ["us-east-1"]
    matches = [
        str(match)
        for match in lint_by_config(
            ManualArgs(templates=[str(stack.template_file) for stack in stacks], regions=regions)
        )
    ]
    if matches:
        raise DeployError(f"cfn-lint found {len(matches)} problem(s), first: {matches[0]}")
    report_file = assembly_dir / "validation-report.json"
    if report_file.exists():
        report = json.loads(report_file.read_text())
        findings = [
            violation["ruleName"]
            for plugin in report.get("pluginReports", [])
            for violation in plugin.get("violations", [])
        ]
        if findings:
            raise DeployError(f"cdk-nag reported {len(findings)} finding(s): {findings[0]}")
    note(f"cfn-lint and cdk-nag clean on {len(stacks)} {env} templates")
