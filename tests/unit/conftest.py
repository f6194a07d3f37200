"""Shared fixtures: the synthesized assemblies under assembly/fixtures/ and a local resolver."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.assembly.cloud import CloudAssembly, load_assembly
from parity.assembly.intrinsics import LocalOverride, Resolver
from parity.assembly.taskdef import (
    SERVICE_TYPE,
    TaskDefinition,
    load_task_definition,
    output_task_definition,
    referenced_task_definition,
)

FIXTURES = Path(__file__).parent / "assembly" / "fixtures"
SERVICE = "Laravel-Local-Service"
MIGRATION = "Laravel-Local-Migration"
LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "eu-west-1"
EMULATOR_DB_SECRET_ARN = (
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:laravel/local/aurora-Xy12Zq"
)
# What `invoke dev` would override: the DB endpoint and the DB secret the emulator holds.
LOCAL_OVERRIDES = (
    LocalOverride.get_att(
        stack="Laravel-Local-Shared",
        logical_id="AuroraCluster",
        attribute="Endpoint.Address",
        value="127.0.0.1",
        reason="the local MySQL stands in for Aurora",
    ),
    LocalOverride.ref(
        stack="Laravel-Local-Shared",
        target="DbSecret685A0FA5",
        value=EMULATOR_DB_SECRET_ARN,
        reason="the emulator holds the DB secret",
    ),
)


@pytest.fixture(scope="session")
def project_assembly() -> CloudAssembly:
    return load_assembly(FIXTURES / "assembly")


@pytest.fixture(scope="session")
def agnostic_assembly() -> CloudAssembly:
    return load_assembly(FIXTURES / "agnostic-assembly")


@pytest.fixture(scope="session")
def local_resolver(project_assembly: CloudAssembly) -> Resolver:
    return Resolver.for_assembly(
        project_assembly,
        fallback_account=LOCAL_ACCOUNT,
        fallback_region=LOCAL_REGION,
        overrides=LOCAL_OVERRIDES,
    )


@pytest.fixture(scope="session")
def service_task(local_resolver: Resolver) -> TaskDefinition:
    template = local_resolver.scope(SERVICE).template
    (service,) = (r for r in template["Resources"].values() if r["Type"] == SERVICE_TYPE)
    logical_id = referenced_task_definition(
        template, service["Properties"]["TaskDefinition"], "the service"
    )
    return load_task_definition(local_resolver, stack=SERVICE, logical_id=logical_id)


@pytest.fixture(scope="session")
def migration_task(local_resolver: Resolver) -> TaskDefinition:
    template = local_resolver.scope(MIGRATION).template
    logical_id = output_task_definition(template, "MigrationTaskDefinitionArn")
    return load_task_definition(local_resolver, stack=MIGRATION, logical_id=logical_id)
