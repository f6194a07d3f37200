"""A minimal project tree: the harness config the flow validates environment names against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity.config.harness import MigrationSelector, parse_config

QA_STACKS = ("Laravel-Qa-Migration", "Laravel-Qa-Service")
HARNESS_CONFIG = """
[app]
cdk_json = "cdk.json"
""" + "".join(
    f"""
[environments.{name}]
stacks = ["Laravel-{name.title()}-*"]
[environments.{name}.migration]
stack = "Laravel-{name.title()}-Migration"
output = "TaskDefinitionArn"
watched_container_output = "WatchedContainer"
[environments.{name}.migration.run]
cluster_output = "ClusterName"
subnets_output = "SubnetIds"
security_groups_output = "SecurityGroupIds"
assign_public_ip_output = "AssignPublicIp"
log_group_output = "LogGroupName"
log_stream_prefix_output = "LogStreamPrefix"
"""
    for name in ("local", "qa", "prod")
)


def qa_migration(root: Path) -> MigrationSelector:
    import tomllib

    config = parse_config(tomllib.loads(HARNESS_CONFIG), source=root / "fargate-parity.toml")
    return config.environment("qa").migration


REGIONS = {"local": "us-east-1", "qa": "eu-west-1", "prod": "eu-west-1"}


def write_assembly(root: Path) -> None:
    """A synthesized assembly of each environment's migration and service stacks."""
    out = root / "cdk.out"
    out.mkdir()
    artifacts = {}
    for name, region in REGIONS.items():
        for kind in ("Migration", "Service"):
            stack = f"Laravel-{name.title()}-{kind}"
            resources = (
                {"Web": {"Type": "AWS::ECS::Service", "Properties": {}}}
                if kind == "Service"
                else {}
            )
            (out / f"{stack}.template.json").write_text(json.dumps({"Resources": resources}))
            artifacts[stack] = {
                "type": "aws:cloudformation:stack",
                "environment": f"aws://111111111111/{region}",
                "properties": {"templateFile": f"{stack}.template.json"},
            }
    (out / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    (tmp_path / "cdk.json").write_text('{"app": "python cdk/app.py", "output": "cdk.out"}')
    (tmp_path / "fargate-parity.toml").write_text(HARNESS_CONFIG)
    cli = tmp_path / "node_modules" / ".bin" / "cdk"
    cli.parent.mkdir(parents=True)
    cli.write_text("#!/bin/sh\nexit 99\n")  # never run: tests inject the command runner
    cli.chmod(0o755)
    write_assembly(tmp_path)
    return tmp_path
