"""An app's task definitions, read from the synthesized cloud assembly through the harness config.

The config (``parity.config.harness``) says which stacks make up an environment and which task
is the migration; every ``AWS::ECS::Service`` of those stacks is a service to run, with its
desired count and, behind a load balancer, the container and port its target group hits.
Images are the assembly's Docker image assets, built locally with the same Dockerfile, context,
target and build args CDK records, and tagged by asset hash.
The endpoints of the environment's ElastiCache Redis resolve to their local stand-ins
(``parity.assembly.caches``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.assembly.caches import RedisCache, redis_caches
from parity.assembly.cloud import CloudAssembly, DockerImageAsset, StackArtifact, load_assembly
from parity.assembly.intrinsics import LocalOverride, Resolver
from parity.assembly.rules import ScheduledTask, scheduled_tasks
from parity.assembly.standins import StackResources, stack_resources
from parity.assembly.taskdef import (
    SERVICE_TYPE,
    TASK_DEFINITION_TYPE,
    TaskDefinition,
    load_task_definition,
    output_task_definition,
    referenced_task_definition,
    task_definition_ids,
)
from parity.config.harness import (
    DatabaseConfig,
    EnvironmentConfig,
    MigrationSelector,
    UserOverride,
    load_config,
)
from parity.errors import ConfigError

# For environment-agnostic stacks only: the emulators' conventional account and region.
DEFAULT_LOCAL_ACCOUNT = "000000000000"
DEFAULT_LOCAL_REGION = "us-east-1"
TARGET_GROUP_TYPE = "AWS::ElasticLoadBalancingV2::TargetGroup"
# ELBv2's default health check path for an HTTP target group.
DEFAULT_HEALTH_CHECK_PATH = "/"
_CDK_HASH_SUFFIX = re.compile(r"[0-9A-F]{8}$")


@dataclass(frozen=True, kw_only=True)
class LoadBalancerTarget:
    """Where a service's target group sends traffic: one container port of its tasks."""

    container: str
    port: int
    health_check_path: str = DEFAULT_HEALTH_CHECK_PATH
    target_group: str = ""  # the target group's logical id


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    """One ECS service: its task definition, how many tasks, and its load balancer if any."""

    name: str  # the service's logical id: stable, and unique in the assembly with its stack
    stack: str
    task: TaskDefinition
    desired_count: int
    load_balancer: LoadBalancerTarget | None = None

    @property
    def key(self) -> str:
        """A short, Docker-safe name for the service's local tasks: its logical id without
        the hash CDK appends (WebService5EA589E6 → webservice)."""
        return _CDK_HASH_SUFFIX.sub("", self.name).lower() or self.name.lower()


@dataclass(frozen=True, kw_only=True)
class AppTasks:
    env: str
    region: str
    assembly: CloudAssembly
    stacks: tuple[str, ...]
    migration_stack: str
    migration: TaskDefinition
    watched_container: str
    services: tuple[ServiceSpec, ...]
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    # Env values the user declared in fargate-parity.toml, applied to every container.
    environment_overrides: tuple[UserOverride, ...] = ()
    # The Ref, GetAtt and ImportValue values it declared (the resolver applies them).
    reference_overrides: tuple[UserOverride, ...] = ()
    resolver: Resolver | None = None
    # The environment's Redis caches, each of which gets a local stand-in.
    caches: tuple[RedisCache, ...] = ()
    # The ECS targets of its EventBridge rules and schedules (the local scheduler runs them).
    schedules: tuple[ScheduledTask, ...] = ()
    # The secrets, databases, queues, buckets… its stacks create: each gets a stand-in.
    resources: StackResources = field(default_factory=StackResources)
    # The account the stacks deploy to: the emulator holds the stand-ins in it.
    account: str = DEFAULT_LOCAL_ACCOUNT

    @property
    def task_definitions(self) -> tuple[TaskDefinition, ...]:
        """The migration's and every service's task definition, each once, in run order."""
        unique: dict[str, TaskDefinition] = {self.migration.logical_id: self.migration}
        for service in self.services:
            unique.setdefault(service.task.logical_id, service.task)
        return tuple(unique.values())

    @property
    def scheduled_task_definitions(self) -> tuple[TaskDefinition, ...]:
        """The task definitions the schedules run (with their targets' overrides)."""
        return tuple(schedule.task for schedule in self.schedules)

    @property
    def image_assets(self) -> tuple[DockerImageAsset, ...]:
        """The assets the task definitions run (the scheduled ones' too), each once."""
        images = {
            c.image
            for task in (*self.task_definitions, *self.scheduled_task_definitions)
            for c in task.containers
        }
        return tuple(a for a in self.assembly.image_assets.values() if a.local_image in images)

    @property
    def app_image(self) -> str:
        """The migration container's image: the app's own image."""
        return self.migration.container(self.watched_container).image

    def service(self, name: str) -> ServiceSpec:
        for service in self.services:
            if name in (service.name, service.key):
                return service
        known = ", ".join(service.name for service in self.services) or "none"
        raise ConfigError(f"no ECS service {name!r} in {self.env} (services: {known})")

    def choose(self, selector: str) -> TaskChoice:
        """The task definition ``selector`` names (family, logical id or container)."""
        choice = choose_task(self.assembly, self.stacks, selector, env=self.env)
        is_migration = (choice.stack, choice.logical_id) == (
            self.migration_stack,
            self.migration.logical_id,
        )
        return dataclasses.replace(choice, is_migration=is_migration)

    def load_task(self, selector: str) -> tuple[str, TaskDefinition]:
        """Any task definition of the environment's stacks, by family, logical id or the
        name of a container it runs; (stack, task definition)."""
        if self.resolver is None:
            raise ConfigError("this task list was built without a resolver; load it from cdk.out")
        choice = self.choose(selector)
        return choice.stack, load_task_definition(
            self.resolver, stack=choice.stack, logical_id=choice.logical_id
        )


@dataclass(frozen=True, kw_only=True)
class TaskChoice:
    """A task definition of the assembly, as its template names it (nothing resolved)."""

    stack: str
    logical_id: str
    containers: tuple[str, ...]  # in the template's order
    essential: tuple[str, ...]
    # Whether it is the environment's migration task (its watched container is the gate's).
    is_migration: bool = False

    def watched_container(self, selector: str) -> str | None:
        """The chosen container, else the first essential one; None for the migration task
        without a chosen container (the gate's watched container counts)."""
        if selector in self.containers:
            return selector
        if self.is_migration:
            return None
        return self.essential[0] if self.essential else self.containers[0]


def choose_task(
    assembly: CloudAssembly, stacks: tuple[str, ...], selector: str, *, env: str
) -> TaskChoice:
    """The one task definition of ``stacks`` whose logical id, family or a container name is
    ``selector``; an error listing them all otherwise."""
    matches = [
        (stack, logical_id, properties)
        for stack in stacks
        for logical_id, properties in _task_definitions(assembly.stack(stack).template)
        if selector == logical_id
        or selector == properties.get("Family")
        or selector in _container_names(properties)
    ]
    if len(matches) != 1:
        described = ", ".join(
            f"{logical_id} (family {props.get('Family')})"
            for stack in stacks
            for logical_id, props in _task_definitions(assembly.stack(stack).template)
        )
        count = "no" if not matches else f"{len(matches)}"
        raise ConfigError(
            f"{count} task definitions match {selector!r} in {env}; name one by family,"
            f" logical id or container (task definitions: {described or 'none'})"
        )
    stack, logical_id, properties = matches[0]
    containers = [c for c in properties.get("ContainerDefinitions", []) if isinstance(c, dict)]
    return TaskChoice(
        stack=stack,
        logical_id=logical_id,
        containers=tuple(str(c.get("Name")) for c in containers),
        essential=tuple(str(c.get("Name")) for c in containers if c.get("Essential", True)),
    )


def environment_task_choice(
    project_root: Path, env: str, assembly_dir: Path, selector: str
) -> TaskChoice:
    """``choose_task`` among ``env``'s stacks as fargate-parity.toml selects them."""
    environment = load_config(project_root).environment(env)
    assembly = load_assembly(assembly_dir)
    stacks = tuple(name for name in assembly.stacks if environment.selects(name))
    choice = choose_task(assembly, stacks, selector, env=env)
    migration = environment.migration
    is_migration = choice.stack == migration.stack and choice.logical_id == _migration_task_id(
        assembly.stack(migration.stack), migration
    )
    return dataclasses.replace(choice, is_migration=is_migration)


@dataclass(frozen=True, kw_only=True)
class DeployStacks:
    """What a deploy deploys, in order: the migration stack, the gate, every stack that holds
    an ECS service, then the environment's other stacks (an EventBridge rule that starts a
    task, say: it should start the new task definition only once the services run it)."""

    migration: str
    services: tuple[str, ...]
    others: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return (self.migration, *self.services, *self.others)


def deploy_stacks(project_root: Path, env: str, assembly_dir: Path) -> DeployStacks:
    """The environment's stacks from the synthesized templates, without resolving anything."""
    environment = load_config(project_root).environment(env)
    assembly = load_assembly(assembly_dir)
    stacks = [
        (name, stack)
        for name, stack in assembly.stacks.items()
        if environment.selects(name) and name != environment.migration.stack
    ]
    holds_service = {
        name: any(
            r.get("Type") == SERVICE_TYPE for r in stack.template.get("Resources", {}).values()
        )
        for name, stack in stacks
    }
    return DeployStacks(
        migration=environment.migration.stack,
        services=tuple(name for name, _ in stacks if holds_service[name]),
        others=tuple(name for name, _ in stacks if not holds_service[name]),
    )


def environment_tasks(project_root: Path, env: str, assembly_dir: Path) -> AppTasks:
    """``env``'s tasks as fargate-parity.toml describes them, with its declared overrides."""
    environment = load_config(project_root).environment(env)
    return load_app_tasks(
        assembly_dir, environment=environment, overrides=resolver_overrides(environment)
    )


def resolver_overrides(environment: EnvironmentConfig) -> tuple[LocalOverride, ...]:
    """The config's Ref, GetAtt and ImportValue overrides as the resolver takes them."""
    overrides = []
    for item in environment.overrides:
        if item.kind == "ref":
            overrides.append(
                LocalOverride.ref(
                    stack=str(item.stack), target=item.target, value=item.value, reason=item.reason
                )
            )
        elif item.kind == "get_att":
            logical_id, _, attribute = item.target.partition(".")
            overrides.append(
                LocalOverride.get_att(
                    stack=str(item.stack),
                    logical_id=logical_id,
                    attribute=attribute,
                    value=item.value,
                    reason=item.reason,
                )
            )
        elif item.kind == "import_value":
            overrides.append(
                LocalOverride.import_value(
                    export_name=item.target, value=item.value, reason=item.reason
                )
            )
    return tuple(overrides)


def load_app_tasks(
    assembly_dir: Path,
    *,
    environment: EnvironmentConfig,
    overrides: tuple[LocalOverride, ...] = (),
) -> AppTasks:
    """The environment's migration task and every ECS service, resolved for a local run."""
    assembly = load_assembly(assembly_dir)
    stacks = tuple(name for name in assembly.stacks if environment.selects(name))
    if not stacks:
        present = ", ".join(sorted(assembly.stacks)) or "none"
        raise ConfigError(
            f"no stack of {assembly.directory} matches environment {environment.name}'s stacks"
            f" {list(environment.stack_patterns)} (stacks: {present}); fix fargate-parity.toml or"
            " run `invoke synth`"
        )
    selector = environment.migration
    if selector.stack not in stacks:
        raise ConfigError(
            f"fargate-parity.toml: environments.{environment.name}.migration.stack names"
            f" {selector.stack!r}, not one of the environment's stacks ({', '.join(stacks)})"
        )
    region = _region(assembly, stacks)
    declared = Resolver.for_assembly(
        assembly,
        fallback_account=DEFAULT_LOCAL_ACCOUNT,
        fallback_region=region,
        overrides=overrides,
    )
    caches = redis_caches(declared, stacks)
    resources = stack_resources(declared, stacks)
    # What the user declares wins over a stand-in: listed last, it replaces the same key.
    resolver = Resolver.for_assembly(
        assembly,
        fallback_account=DEFAULT_LOCAL_ACCOUNT,
        fallback_region=region,
        overrides=(
            *resources.overrides,
            *(override for cache in caches for override in cache.overrides()),
            *overrides,
        ),
    )
    migration_stack = assembly.stack(selector.stack)
    migration = load_task_definition(
        resolver, stack=selector.stack, logical_id=_migration_task_id(migration_stack, selector)
    )
    watched = _watched_container(resolver, migration_stack, selector, environment.name)
    migration.container(watched)  # fails naming the containers when the choice is wrong
    services = tuple(
        service for stack in stacks for service in _services(resolver, assembly.stack(stack))
    )
    schedules = tuple(task for stack in stacks for task in scheduled_tasks(resolver, stack))
    return AppTasks(
        env=environment.name,
        region=region,
        assembly=assembly,
        stacks=stacks,
        migration_stack=selector.stack,
        migration=migration,
        watched_container=watched,
        services=services,
        database=environment.database,
        environment_overrides=tuple(o for o in environment.overrides if o.kind == "env"),
        reference_overrides=tuple(o for o in environment.overrides if o.kind != "env"),
        resolver=resolver,
        caches=caches,
        schedules=schedules,
        resources=resources,
        account=declared.scope(selector.stack).account,
    )


def _region(assembly: CloudAssembly, stacks: tuple[str, ...]) -> str:
    regions = {assembly.stack(name).region for name in stacks} - {None}
    return sorted(r for r in regions if r)[0] if regions else DEFAULT_LOCAL_REGION


def _migration_task_id(stack: StackArtifact, selector: MigrationSelector) -> str:
    template = stack.template
    if selector.output is not None:
        return output_task_definition(template, selector.output)
    if selector.logical_id is not None:
        if selector.logical_id not in task_definition_ids(template):
            raise ConfigError(
                f"stack {stack.name} has no task definition {selector.logical_id!r} (task"
                f" definitions: {', '.join(task_definition_ids(template)) or 'none'})"
            )
        return selector.logical_id
    matches = [
        logical_id
        for logical_id, properties in _task_definitions(template)
        if properties.get("Family") == selector.family
    ]
    if len(matches) != 1:
        families = ", ".join(str(p.get("Family")) for _, p in _task_definitions(template))
        raise ConfigError(
            f"stack {stack.name} has {len(matches)} task definitions of family"
            f" {selector.family!r} (families: {families or 'none'})"
        )
    return matches[0]


def _watched_container(
    resolver: Resolver, stack: StackArtifact, selector: MigrationSelector, env: str
) -> str:
    if selector.watched_container is not None:
        return selector.watched_container
    output = str(selector.watched_container_output)
    outputs = stack.template.get("Outputs", {})
    if output not in outputs:
        raise ConfigError(
            f"fargate-parity.toml: environments.{env}.migration.watched_container_output names"
            f" {output!r}, which stack {stack.name} does not output"
            f" (outputs: {', '.join(outputs) or 'none'})"
        )
    value = resolver.resolve(
        outputs[output]["Value"], stack=stack.name, path=f"Outputs.{output}.Value"
    )
    return str(value)


def _services(resolver: Resolver, stack: StackArtifact) -> Iterator[ServiceSpec]:
    resources: Mapping[str, Any] = stack.template.get("Resources", {})
    for logical_id, resource in resources.items():
        if resource.get("Type") != SERVICE_TYPE:
            continue
        properties = resource.get("Properties", {})
        where = f"{logical_id}.TaskDefinition"
        task_id = referenced_task_definition(
            stack.template, properties.get("TaskDefinition"), where
        )
        desired = resolver.resolve(
            properties.get("DesiredCount", 1), stack=stack.name, path=f"{logical_id}.DesiredCount"
        )
        yield ServiceSpec(
            name=logical_id,
            stack=stack.name,
            task=load_task_definition(resolver, stack=stack.name, logical_id=task_id),
            desired_count=int(desired),
            load_balancer=_load_balancer(resources, properties.get("LoadBalancers") or []),
        )


def _load_balancer(
    resources: Mapping[str, Any], balancers: list[Mapping[str, Any]]
) -> LoadBalancerTarget | None:
    for balancer in balancers:
        target_group = balancer.get("TargetGroupArn")
        group_id = target_group.get("Ref", "") if isinstance(target_group, dict) else ""
        group = resources.get(group_id, {})
        path = DEFAULT_HEALTH_CHECK_PATH
        if group.get("Type") == TARGET_GROUP_TYPE:
            path = str(group.get("Properties", {}).get("HealthCheckPath", path))
        return LoadBalancerTarget(
            container=str(balancer["ContainerName"]),
            port=int(balancer["ContainerPort"]),
            health_check_path=path,
            target_group=group_id,
        )
    return None


def _task_definitions(template: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == TASK_DEFINITION_TYPE:
            yield logical_id, resource.get("Properties", {})


def _container_names(properties: Mapping[str, Any]) -> set[str]:
    return {
        str(container.get("Name"))
        for container in properties.get("ContainerDefinitions", [])
        if isinstance(container, dict)
    }
