"""The app's two task definitions, read from the synthesized cloud assembly.

The migration stack's outputs name its task definition and the container whose exit
code counts; the service stack holds exactly one ECS service and its task definition.
Their images are the assembly's Docker image assets, built locally with the same
Dockerfile, context, target and build args CDK records, and tagged by asset hash.
The endpoints of the assembly's ElastiCache Redis resolve to their local stand-ins
(``parity.assembly.caches``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from parity.assembly.caches import RedisCache, redis_caches
from parity.assembly.cloud import CloudAssembly, DockerImageAsset, load_assembly
from parity.assembly.intrinsics import Resolver
from parity.assembly.taskdef import (
    TaskDefinition,
    load_task_definition,
    output_task_definition,
    service_task_definition,
)
from parity.errors import ConfigError

MIGRATION_TASK_OUTPUT = "TaskDefinitionArn"
WATCHED_CONTAINER_OUTPUT = "WatchedContainer"
# For environment-agnostic stacks only: the emulators' conventional account and region.
DEFAULT_LOCAL_ACCOUNT = "000000000000"
DEFAULT_LOCAL_REGION = "us-east-1"


def stack_names(env: str) -> tuple[str, str]:
    """(migration stack, service stack) of an environment, as the CDK app names them."""
    title = env.title()
    return f"Laravel-{title}-Migration", f"Laravel-{title}-Service"


@dataclass(frozen=True, kw_only=True)
class AppTasks:
    env: str
    region: str
    assembly: CloudAssembly
    migration: TaskDefinition
    service: TaskDefinition
    watched_container: str
    # The Redis caches of the assembly, each of which gets a local stand-in.
    caches: tuple[RedisCache, ...] = ()

    @property
    def image_assets(self) -> tuple[DockerImageAsset, ...]:
        """The assets the two task definitions run, each once."""
        images = {c.image for task in (self.migration, self.service) for c in task.containers}
        return tuple(a for a in self.assembly.image_assets.values() if a.local_image in images)


def load_app_tasks(assembly_dir: Path, *, env: str) -> AppTasks:
    assembly = load_assembly(assembly_dir)
    migration_stack, service_stack = stack_names(env)
    migration_template = assembly.stack(migration_stack).template
    service_template = assembly.stack(service_stack).template
    service_artifact = assembly.stack(service_stack)
    region = service_artifact.region or DEFAULT_LOCAL_REGION
    bare = Resolver.for_assembly(
        assembly, fallback_account=DEFAULT_LOCAL_ACCOUNT, fallback_region=region
    )
    caches = redis_caches(bare)
    resolver = Resolver.for_assembly(
        assembly,
        fallback_account=DEFAULT_LOCAL_ACCOUNT,
        fallback_region=region,
        overrides=[override for cache in caches for override in cache.overrides()],
    )
    migration = load_task_definition(
        resolver,
        stack=migration_stack,
        logical_id=output_task_definition(migration_template, MIGRATION_TASK_OUTPUT),
    )
    service = load_task_definition(
        resolver, stack=service_stack, logical_id=service_task_definition(service_template)
    )
    outputs = migration_template.get("Outputs", {})
    if WATCHED_CONTAINER_OUTPUT not in outputs:
        raise ConfigError(
            f"stack {migration_stack} has no output {WATCHED_CONTAINER_OUTPUT}; the migration "
            "gate needs to know whose exit code counts"
        )
    watched = str(
        resolver.resolve(
            outputs[WATCHED_CONTAINER_OUTPUT]["Value"],
            stack=migration_stack,
            path=f"Outputs.{WATCHED_CONTAINER_OUTPUT}.Value",
        )
    )
    migration.container(watched)  # fails naming the containers when the output is wrong
    return AppTasks(
        env=env,
        region=region,
        assembly=assembly,
        migration=migration,
        service=service,
        watched_container=watched,
        caches=caches,
    )
