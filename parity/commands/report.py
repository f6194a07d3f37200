"""``invoke parity``: every named local override next to the deployed task definition's value.

The overrides are data here, each with the field it replaces and a comparison; the runtime applies
them from ``parity.runtime.overrides``. The local side always comes from the ``local``
environment's assembly: it is what ``invoke dev`` runs.

No secret value is read here: secrets are compared by where they come from, never by value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from parity.assembly.apptasks import DEFAULT_LOCAL_ACCOUNT, AppTasks, environment_tasks
from parity.assembly.caches import RedisCache
from parity.assembly.intrinsics import Resolver
from parity.assembly.rules import RULE_TYPE
from parity.assembly.standins import ROLE
from parity.assembly.synth import assembly_dir, check_environment, synth, synth_is_stale
from parity.assembly.taskdef import ContainerSpec, TaskDefinition
from parity.config.harness import DevConfig, load_config
from parity.config.settings import DEFAULT_DB_IMAGE, LOCAL_ENVIRONMENT, HarnessSettings
from parity.console import console, step
from parity.engine.ports import LOOPBACK_ADDRESS
from parity.runtime.bringup import SECRETS_FILE
from parity.runtime.overrides import (
    DEPLOYED_DATABASE,
    MISSING,
    VITE_CONTAINER,
    app_task_definitions,
    db_host_variable,
    hot_file_mounts,
    hot_url,
    service_bind_mounts,
    source_mount_environment,
    vite_bind_mounts,
    vite_image,
)
from parity.runtime.scheduler import OVERRIDE_VARIABLE, parse_override
from parity.runtime.task import FAST_PROBE_INTERVAL_S, BindMount
from parity.runtime.taskendpoints import emulator_endpoint, metadata_uri
from parity.services.database import MARIADB_IMAGE

# -- the overrides, as data -----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ParityInputs:
    """Both sides of the comparison, and the options of the local run being described."""

    project_root: Path
    local: AppTasks
    deployed: AppTasks
    host_port: int
    db_image: str
    secrets_file: Path
    dev: DevConfig = field(default_factory=DevConfig)
    # PARITY_SCHEDULE_OVERRIDE, when set.
    schedule_override: str = ""


@dataclass(frozen=True, kw_only=True)
class ParityRow:
    override: str
    field: str
    where: str
    local: str
    deployed: str


# (where, local value, deployed value) for each place an override applies.
Comparison = Callable[[ParityInputs], Iterator[tuple[str, str, str]]]


@dataclass(frozen=True, kw_only=True)
class NamedOverride:
    name: str
    # The task-definition field(s) the local run replaces or ignores.
    field: str
    compare: Comparison
    # Applies only to `invoke dev --source-mounts` (and --hot, which implies it).
    dev_mode_only: bool = False
    # Applies only to `invoke dev --hot`.
    hot_only: bool = False

    def applies(self, *, source_mounts: bool, hot: bool) -> bool:
        if self.hot_only:
            return hot
        return source_mounts or hot or not self.dev_mode_only


def _db_host(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    variable = db_host_variable(inputs.local)
    for where, local, deployed in _paired_containers(inputs):
        if variable in local.environment:
            written = local.environment[variable]
            yield (
                f"{where} {variable}",
                f"the local MySQL container (instead of {written}; compose: mysql)",
                _environment_value(deployed, variable),
            )


def _declared(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    for override in inputs.local.environment_overrides:
        for where, local, deployed in _paired_containers(inputs):
            if override.target in local.environment:
                yield (
                    f"{where} {override.target}",
                    f"{override.value} ({override.reason})",
                    _environment_value(deployed, override.target),
                )


def _declared_references(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    """fargate-parity.toml's Ref, GetAtt and ImportValue values, with what each stands for."""
    for override in inputs.local.reference_overrides:
        if override.kind == "import_value":
            where = f"Fn::ImportValue {override.target}"
            deployed = f"the export {override.target} of the deployed stacks"
        else:
            stack = str(override.stack)
            logical_id, _, attribute = override.target.partition(".")
            resource = inputs.local.assembly.stack(stack).template.get("Resources", {})
            kind = resource.get(logical_id, {}).get("Type", "parameter")
            function = "Fn::GetAtt" if override.kind == "get_att" else "Ref"
            where = f"{stack} {function} {override.target}"
            deployed = f"the deployed {kind} {logical_id}" + (
                f"'s {attribute}" if attribute else ""
            )
        yield where, f"{override.value} ({override.reason})", deployed


def _database(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    local = inputs.db_image
    if local == DEFAULT_DB_IMAGE:
        local += f" (the MariaDB stand-in {MARIADB_IMAGE} where it cannot be pulled)"
    watched = inputs.deployed.migration.container(inputs.deployed.watched_container)
    variable = db_host_variable(inputs.deployed)
    host = _environment_value(watched, variable)
    if variable in watched.secrets:  # RDS's own secret holds the host
        host = f"the host in {watched.secrets[variable].value_from}"
    yield "database", local, f"{DEPLOYED_DATABASE} at {host}"


def _redis(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    # The same construct has the same logical id in every environment.
    deployed = {cache.logical_id: cache for cache in inputs.deployed.caches}
    for cache in inputs.local.caches:
        auth = "AUTH from the emulator" if cache.auth_token else "no AUTH"
        local = f"local Redis {cache.local_host}:{cache.port}, {auth}"
        counterpart = deployed.get(cache.logical_id)
        yield (
            cache.logical_id,
            local,
            MISSING if counterpart is None else _elasticache(counterpart),
        )


def _elasticache(cache: RedisCache) -> str:
    described = [f"ElastiCache in {cache.stack}, port {cache.port}"]
    if cache.transit_encryption:
        described.append("TLS")
    if cache.auth_token is not None:
        described.append(f"AUTH from secret {cache.auth_token.name}")
    return ", ".join(described)


def _scheduler(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    deployed = {schedule.name: schedule for schedule in inputs.deployed.schedules}
    for schedule in inputs.local.schedules:
        task = schedule.task.family or schedule.task.logical_id
        counterpart = deployed.get(schedule.name)
        # Short cells: the table must fit a terminal.
        yield (
            schedule.key,
            f"attached `invoke dev`, after the gate: {schedule.task_count} task(s) of {task} at"
            f" {schedule.expression} (UTC)",
            MISSING
            if counterpart is None
            else f"{_schedule_kind(counterpart.resource_type)} {counterpart.name}"
            f" ({counterpart.stack}): {counterpart.task_count} task(s) of"
            f" {counterpart.task.family or counterpart.task.logical_id} at"
            f" {counterpart.expression} ({counterpart.timezone})",
        )


def _schedule_kind(resource_type: str) -> str:
    return "EventBridge rule" if resource_type == RULE_TYPE else "EventBridge Scheduler schedule"


def _schedule_override(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    if not inputs.schedule_override:
        return
    replacement = parse_override(inputs.schedule_override).expression
    deployed = {schedule.name: schedule for schedule in inputs.deployed.schedules}
    for schedule in inputs.local.schedules:
        counterpart = deployed.get(schedule.name)
        yield (
            schedule.key,
            f"{replacement} ({OVERRIDE_VARIABLE}, not {schedule.expression})",
            MISSING if counterpart is None else counterpart.expression,
        )


def _stack_resources(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    # The same construct has the same logical id in every environment.
    deployed = {(s.resource_type, s.logical_id): s for s in inputs.deployed.resources.stand_ins}
    task_roles = {task.task_role_arn for _, _, task in app_task_definitions(inputs.local)}
    for stand_in in inputs.local.resources.stand_ins:
        if stand_in.resource_type == ROLE and not any(
            o.value in task_roles for o in stand_in.overrides
        ):
            continue  # an execution role, or one no task assumes: nothing local reads it
        counterpart = deployed.get((stand_in.resource_type, stand_in.logical_id))
        yield (
            stand_in.logical_id,
            stand_in.local,
            MISSING
            if counterpart is None
            else f"{counterpart.resource_type} created by {counterpart.stack}",
        )


def _task_endpoints(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    deployed = {kind: task for kind, _, task in app_task_definitions(inputs.deployed)}
    for kind, _, task in app_task_definitions(inputs.local):
        yield (
            f"{kind} ECS_CONTAINER_METADATA_URI_V4",
            f"the task's endpoint sidecar: {metadata_uri('<container>')}",
            "the ECS agent's task metadata endpoint v4",
        )
        counterpart = deployed.get(kind)
        yield (
            f"{kind} AWS_CONTAINER_CREDENTIALS_FULL_URI",
            (
                "none: the task has no role"
                if task.task_role_arn is None
                else "the sidecar: the emulator's STS credentials for the task role"
            ),
            (
                MISSING
                if counterpart is None or counterpart.task_role_arn is None
                else "the ECS agent's, for role " + counterpart.task_role_arn.rsplit("/", 1)[-1]
            ),
        )
        yield (
            f"{kind} AWS_ENDPOINT_URL",
            f"{emulator_endpoint()}: the AWS emulator, through the sidecar",
            "not set: the SDKs reach AWS",
        )


def _images(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    deployed = inputs.deployed
    resolver = Resolver.for_assembly(
        deployed.assembly, fallback_account=DEFAULT_LOCAL_ACCOUNT, fallback_region=deployed.region
    )
    written_images: dict[str, str] = {}
    for kind, stack, task in app_task_definitions(deployed):
        properties = _task_properties(deployed, stack, task)
        for index, container in enumerate(properties["ContainerDefinitions"]):
            path = f"{task.logical_id}.ContainerDefinitions[{index}].Image"
            uri = resolver.resolve(container["Image"], stack=stack, path=path)
            written_images[f"{kind}/{container['Name']}"] = str(uri)
    for kind, _, task in app_task_definitions(inputs.local):
        for container in task.containers:
            where = f"{kind}/{container.name}"
            yield where, container.image, written_images.get(where, MISSING)


def _secrets(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    local_source = f"the AWS emulator, seeded from {inputs.secrets_file} (dev values)"
    for where, local, deployed in _paired_containers(inputs):
        for name in local.secrets:
            reference = None if deployed is None else deployed.secrets.get(name)
            deployed_source = MISSING if reference is None else reference.value_from
            yield f"{where} {name}", local_source, deployed_source


def _ports(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    routes = _load_balancer_routes(inputs.deployed)
    balanced = [s for s in inputs.local.services if s.load_balancer is not None]
    for service in inputs.local.services:
        target = service.load_balancer
        for container in service.task.containers:
            for mapping in container.port_mappings:
                if target is not None and (target.container, target.port) == (
                    container.name,
                    mapping.container_port,
                ):
                    port = inputs.host_port if service is balanced[0] else "a free port"
                    local = f"the local load balancer on {LOOPBACK_ADDRESS}:{port}"
                else:
                    local = "not published"
                deployed = routes.get(
                    (service.key, container.name, mapping.container_port), "no load balancer"
                )
                yield f"{service.key}/{container.name}:{mapping.container_port}", local, deployed


def _health_cadence(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    for where, local, deployed in _paired_containers(inputs):
        if local.health_check is None:
            continue
        interval = local.health_check.interval_seconds
        yield (
            where,
            f"the command every {FAST_PROBE_INTERVAL_S}s until it first passes, then every "
            f"{interval}s",
            (
                f"every {deployed.health_check.interval_seconds}s, the first one interval "
                "after the start"
                if deployed is not None and deployed.health_check is not None
                else MISSING
            ),
        )


def _logs(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    for kind, stack, task in app_task_definitions(inputs.deployed):
        template = inputs.deployed.assembly.stack(stack).template
        for container in task.containers:
            yield (
                f"{kind}/{container.name}",
                "docker logs (`invoke logs`)",
                _log_destination(container.log_configuration, template),
            )


def _roles(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    for kind, stack, task in app_task_definitions(inputs.deployed):
        properties = _task_properties(inputs.deployed, stack, task)
        yield (
            f"{kind} taskRoleArn",
            "assumed in the AWS emulator: its credentials act there, never in AWS",
            _role(properties.get("TaskRoleArn"), stack=stack),
        )
        yield (
            f"{kind} executionRoleArn",
            "not used: the harness builds the images and resolves the secrets itself",
            _role(properties.get("ExecutionRoleArn"), stack=stack),
        )


def _bind_mount(mount: BindMount, project_root: Path) -> str:
    source = mount.host_path.relative_to(project_root)
    return f"{source} → {mount.container_path} ({'ro' if mount.read_only else 'rw'} bind mount)"


def _source_mounts(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    mounts = service_bind_mounts(inputs.project_root, inputs.local, inputs.dev)
    for container, container_mounts in sorted(mounts.items()):
        for mount in container_mounts:
            yield (
                container,
                _bind_mount(mount, inputs.project_root),
                "none: the code baked into the image",
            )
    environments = source_mount_environment(inputs.local, inputs.dev)
    for container, environment in sorted(environments.items()):
        for name, value in environment.items():
            yield (
                f"{container} environment.{name}",
                f"{value} (mounted code is re-read on change)",
                MISSING,
            )


def _vite_dev_server(inputs: ParityInputs) -> Iterator[tuple[str, str, str]]:
    hot = inputs.dev.require_hot()
    url = hot_url(hot.port)
    build = vite_image(inputs.local, hot)
    built_assets = "none: the assets built into the app image"
    yield (
        VITE_CONTAINER,
        f"Vite's dev server on {url} (published on its holder), the {build.target} stage of "
        f"{build.dockerfile}: {build.tag}",
        built_assets,
    )
    for mount in vite_bind_mounts(inputs.project_root, hot)[VITE_CONTAINER]:
        yield VITE_CONTAINER, _bind_mount(mount, inputs.project_root), built_assets
    for name, value in hot.environment.items():
        yield f"{VITE_CONTAINER} environment.{name}", value, built_assets
    mounts = hot_file_mounts(inputs.project_root, inputs.local, hot)
    for container, container_mounts in sorted(mounts.items()):
        for mount in container_mounts:
            yield (
                f"{container} {mount.container_path}",
                f"{_bind_mount(mount, inputs.project_root)} holding {url}: the page loads its "
                "scripts and styles from the dev server",
                "none: the page links the assets built into the image",
            )


NAMED_OVERRIDES: tuple[NamedOverride, ...] = (
    NamedOverride(name="DB host", field="environment (the DB host)", compare=_db_host),
    NamedOverride(name="database", field="the server the DB host names", compare=_database),
    NamedOverride(name="declared", field="environment (fargate-parity.toml)", compare=_declared),
    NamedOverride(
        name="declared values",
        field="Ref, GetAtt, ImportValue (fargate-parity.toml)",
        compare=_declared_references,
    ),
    NamedOverride(name="Redis", field="ElastiCache endpoint (GetAtt)", compare=_redis),
    NamedOverride(
        name="local scheduler", field="EventBridge schedule (ECS target)", compare=_scheduler
    ),
    NamedOverride(name="schedule override", field="ScheduleExpression", compare=_schedule_override),
    NamedOverride(
        name="stack resources",
        field="Ref / GetAtt of stack resources",
        compare=_stack_resources,
    ),
    NamedOverride(
        name="task endpoints",
        field="Fargate's task endpoints",
        compare=_task_endpoints,
    ),
    NamedOverride(name="image", field="image", compare=_images),
    NamedOverride(name="secret values", field="secrets[].valueFrom", compare=_secrets),
    NamedOverride(name="published port", field="portMappings", compare=_ports),
    NamedOverride(name="health checks", field="healthCheck.interval", compare=_health_cadence),
    NamedOverride(name="logs", field="logConfiguration", compare=_logs),
    NamedOverride(name="IAM roles", field="taskRoleArn, executionRoleArn", compare=_roles),
    NamedOverride(
        name="source mounts",
        field="mountPoints (dev mode)",
        compare=_source_mounts,
        dev_mode_only=True,
    ),
    NamedOverride(
        name="Vite dev server",
        field="the app image's built assets (dev mode --hot)",
        compare=_vite_dev_server,
        hot_only=True,
    ),
)


# -- the report ---------------------------------------------------------------------------


def compare_with_deployed(
    inputs: ParityInputs, *, source_mounts: bool = False, hot: bool = False
) -> tuple[ParityRow, ...]:
    """Every named override, each place it applies: the local value next to the deployed one."""
    return tuple(
        ParityRow(
            override=override.name,
            field=override.field,
            where=where,
            local=local,
            deployed=deployed,
        )
        for override in NAMED_OVERRIDES
        if override.applies(source_mounts=source_mounts, hot=hot)
        for where, local, deployed in override.compare(inputs)
    )


def parity_report(
    project_root: Path,
    *,
    env: str,
    host_port: int,
    source_mounts: bool,
    db_image: str,
    hot: bool = False,
    schedule_override: str = "",
) -> tuple[ParityRow, ...]:
    """``invoke parity``: synthesize when stale, then compare the local run with ``env``."""
    check_environment(project_root, env)
    dev = load_config(project_root).dev
    if hot:
        dev.require_hot()
    # Both environments must be in cdk.out, so only a synth of every environment will do.
    if synth_is_stale(project_root):
        with step("cdk synth (every environment; inputs changed)"):
            synth(project_root=project_root)
    directory = assembly_dir(project_root)
    inputs = ParityInputs(
        project_root=project_root,
        local=environment_tasks(project_root, LOCAL_ENVIRONMENT, directory),
        deployed=environment_tasks(project_root, env, directory),
        host_port=host_port,
        db_image=db_image,
        secrets_file=SECRETS_FILE,
        dev=dev,
        schedule_override=schedule_override,
    )
    return compare_with_deployed(inputs, source_mounts=source_mounts, hot=hot)


def parity_table(rows: tuple[ParityRow, ...], *, env: str) -> Table:
    """The rows as a table, each override's name and field shown once."""
    table = Table(title=f"Local overrides: `invoke dev` vs the deployed {env} task definitions")
    for header in ("override", "field", "where", "local", f"deployed ({env})"):
        table.add_column(header, overflow="fold")
    previous = None
    for row in rows:
        first = row.override != previous
        previous = row.override
        # Text, not markup: template expressions hold brackets.
        table.add_row(
            *(
                Text(cell)
                for cell in (
                    row.override if first else "",
                    row.field if first else "",
                    row.where,
                    row.local,
                    row.deployed,
                )
            )
        )
    return table


# -- reading the deployed side --------------------------------------------------------------


def _paired_containers(
    inputs: ParityInputs,
) -> Iterator[tuple[str, ContainerSpec, ContainerSpec | None]]:
    """(where, local container, the deployed container of the same task and name)."""
    deployed_tasks = {kind: task for kind, _, task in app_task_definitions(inputs.deployed)}
    for kind, _, task in app_task_definitions(inputs.local):
        counterpart = deployed_tasks.get(kind)
        deployed = {c.name: c for c in counterpart.containers} if counterpart else {}
        for container in task.containers:
            yield f"{kind}/{container.name}", container, deployed.get(container.name)


def _environment_value(container: ContainerSpec | None, name: str) -> str:
    if container is None:
        return MISSING
    return container.environment.get(name, MISSING)


def _task_properties(tasks: AppTasks, stack: str, task: TaskDefinition) -> Mapping[str, Any]:
    """The task definition as written in the template (fields the runtime does not map)."""
    properties: Mapping[str, Any] = tasks.assembly.stack(stack).template["Resources"][
        task.logical_id
    ]["Properties"]
    return properties


def _resources(template: Mapping[str, Any], resource_type: str) -> Iterator[Mapping[str, Any]]:
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == resource_type:
            yield resource.get("Properties", {})


def _load_balancer_routes(tasks: AppTasks) -> dict[tuple[str, str, int], str]:
    """(service key, container, port) → the ALB target group the deployed service registers it
    with, and the listener rule that sends traffic there."""
    routes: dict[tuple[str, str, int], str] = {}
    for service in tasks.services:
        target = service.load_balancer
        if target is None:
            continue
        template = tasks.assembly.stack(service.stack).template
        route = f"ALB target group {target.target_group}"
        for rule in _resources(template, "AWS::ElasticLoadBalancingV2::ListenerRule"):
            forwards = [a.get("TargetGroupArn") for a in rule.get("Actions", [])]
            if {"Ref": target.target_group} in forwards:
                route += (
                    f", rule priority {rule.get('Priority')} on listener"
                    f" {_reference(rule.get('ListenerArn'))}"
                )
        routes[(service.key, target.container, target.port)] = route
    return routes


def _log_destination(configuration: Mapping[str, Any] | None, template: Mapping[str, Any]) -> str:
    if configuration is None:
        return "none"
    options = configuration.get("Options", {})
    group = options.get("awslogs-group")
    # A stack-created log group: its name is a property of the resource the Ref points at.
    if isinstance(group, dict) and list(group) == ["Ref"]:
        resource = template.get("Resources", {}).get(group["Ref"], {})
        group = resource.get("Properties", {}).get("LogGroupName", group)
    described = [str(configuration.get("LogDriver"))]
    if group is not None:
        described.append(f"group {_reference(group)}")
    if "awslogs-stream-prefix" in options:
        described.append(f"stream prefix {options['awslogs-stream-prefix']}")
    return ", ".join(described)


def _role(value: Any, *, stack: str) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict) and list(value) == ["Fn::GetAtt"]:
        return f"IAM role {value['Fn::GetAtt'][0]}, created by {stack}"
    return _reference(value)


def _reference(value: Any) -> str:
    """A template value as it reads: a literal as is, an expression as compact JSON."""
    if isinstance(value, dict) and list(value) == ["Ref"]:
        return str(value["Ref"])
    return value if isinstance(value, str) else json.dumps(value)


def show_parity(
    project_root: Path, *, env: str, host_port: int, source_mounts: bool, hot: bool = False
) -> None:
    """Print ``invoke parity``'s table for ``env``."""
    settings = HarnessSettings.for_project(project_root)
    rows = parity_report(
        project_root,
        env=env,
        host_port=host_port,
        source_mounts=source_mounts,
        db_image=settings.db_image,
        hot=hot,
        schedule_override=settings.schedule_override,
    )
    console.print(parity_table(rows, env=env))
