"""Defines every environment's stacks on a CDK app, with cdk-nag's AwsSolutions checks."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from laravel_infra.config import EnvironmentConfig
from laravel_infra.stacks.ci_access import CiAccessStack
from laravel_infra.stacks.migration import MigrationStack
from laravel_infra.stacks.scheduler import SchedulerStack
from laravel_infra.stacks.service import ServiceStack
from laravel_infra.stacks.worker import WorkerStack


def define_application(
    app: App, *, configs: Iterable[EnvironmentConfig], resources_dir: Path
) -> None:
    """Add each environment's stacks to ``app``, in deploy order, and its CiAccess stack."""
    for config in configs:
        migration = MigrationStack(app, config=config, resources_dir=resources_dir)
        cache = migration.redis.endpoint
        ServiceStack(app, config=config, resources_dir=resources_dir, cache=cache)
        WorkerStack(app, config=config, resources_dir=resources_dir, cache=cache)
        SchedulerStack(app, config=config, resources_dir=resources_dir, cache=cache)
        CiAccessStack(app, config=config)
    # Findings fail synth; acknowledgments are copied into the templates as an audit trail.
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    )
