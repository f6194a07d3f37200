"""Typed ECS task definitions, read from an ``AWS::ECS::TaskDefinition`` of a synthesized stack.

Every field the local runtime honours is resolved (intrinsics included) and mapped to frozen
objects with ECS's defaults made explicit. A field the local runtime cannot honour is an
error that names it, never silently dropped. Fields that only matter to AWS itself (IAM
roles, tags) are not resolved at all, so they need no local override; the log
configuration is kept as written in the template and ignored locally (logs go to Docker).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar, overload

from parity.assembly.intrinsics import Resolver
from parity.assembly.secretref import SecretRef, parse_value_from
from parity.errors import ConfigError, UnresolvableField

TASK_DEFINITION_TYPE = "AWS::ECS::TaskDefinition"
SERVICE_TYPE = "AWS::ECS::Service"
# ECS's defaults when a container definition leaves them out.
DEFAULT_STOP_TIMEOUT_SECONDS = 30
FARGATE_MAX_STOP_TIMEOUT_SECONDS = 120

# Container fields the local runtime maps; anything else in a container definition stops it.
_CONTAINER_FIELDS = frozenset(
    {
        "Name", "Image", "Essential", "Command", "EntryPoint", "WorkingDirectory", "User",
        "Environment", "Secrets", "PortMappings", "HealthCheck", "DependsOn", "VolumesFrom",
        "MountPoints", "StopTimeout", "StartTimeout", "ReadonlyRootFilesystem", "Memory",
        "MemoryReservation", "Cpu", "DockerLabels", "LogConfiguration",
    }
)  # fmt: skip
_TASK_FIELDS = frozenset(
    {
        "Family", "NetworkMode", "Cpu", "Memory", "ContainerDefinitions", "Volumes",
        "RequiresCompatibilities", "RuntimePlatform",
    }
)  # fmt: skip
# Task fields with no effect on a local run: IAM roles (the local run has its own emulator
# credentials), tags, scheduling and Fargate's ephemeral disk size.
_TASK_FIELDS_FOR_AWS_ONLY = frozenset(
    {"ExecutionRoleArn", "TaskRoleArn", "Tags", "PlacementConstraints", "EphemeralStorage"}
)
# Fargate's valid memory (MiB) for each task CPU size (CPU units).
_FARGATE_MEMORY_MIB: Mapping[int, range] = {
    256: range(512, 2048 + 1, 512),
    512: range(1024, 4096 + 1, 1024),
    1024: range(2048, 8192 + 1, 1024),
    2048: range(4096, 16384 + 1, 1024),
    4096: range(8192, 30720 + 1, 1024),
    8192: range(16384, 61440 + 1, 4096),
    16384: range(32768, 122880 + 1, 8192),
}
_Value = TypeVar("_Value")
_CPU = re.compile(r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<vcpu>vcpu)?\s*$", re.IGNORECASE)
_MEMORY = re.compile(r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<gb>gb)?\s*$", re.IGNORECASE)


class DependencyCondition(StrEnum):
    START = "START"
    COMPLETE = "COMPLETE"
    SUCCESS = "SUCCESS"
    HEALTHY = "HEALTHY"


@dataclass(frozen=True, kw_only=True)
class HealthCheck:
    """A container health check with ECS's defaults filled in."""

    # ("CMD-SHELL", "curl -f http://localhost/") or ("CMD", "executable", "arg", …)
    command: tuple[str, ...]
    interval_seconds: int = 30
    timeout_seconds: int = 5
    retries: int = 3
    start_period_seconds: int = 0


@dataclass(frozen=True, kw_only=True)
class ContainerDependency:
    container: str
    condition: DependencyCondition


@dataclass(frozen=True, kw_only=True)
class VolumeFrom:
    source_container: str
    read_only: bool = False


@dataclass(frozen=True, kw_only=True)
class MountPoint:
    source_volume: str
    container_path: str
    read_only: bool = False


@dataclass(frozen=True, kw_only=True)
class PortMapping:
    container_port: int
    protocol: str = "tcp"
    name: str | None = None


@dataclass(frozen=True, kw_only=True)
class Volume:
    """A task volume. Only task-scoped (bind-less) volumes exist on Fargate without EFS."""

    name: str


@dataclass(frozen=True, kw_only=True)
class ContainerSpec:
    name: str
    # The local image (a built asset's tag) or the registry URI as written.
    image: str
    essential: bool = True
    # None keeps the image's own CMD / ENTRYPOINT.
    command: tuple[str, ...] | None = None
    entry_point: tuple[str, ...] | None = None
    working_directory: str | None = None
    user: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, SecretRef] = field(default_factory=dict)
    port_mappings: tuple[PortMapping, ...] = ()
    health_check: HealthCheck | None = None
    depends_on: tuple[ContainerDependency, ...] = ()
    volumes_from: tuple[VolumeFrom, ...] = ()
    mount_points: tuple[MountPoint, ...] = ()
    stop_timeout_seconds: int = DEFAULT_STOP_TIMEOUT_SECONDS
    # How long to wait for dependsOn before giving up; None is ECS's default.
    start_timeout_seconds: int | None = None
    readonly_root_filesystem: bool = False
    memory_mib: int | None = None
    memory_reservation_mib: int | None = None
    cpu_units: int | None = None
    docker_labels: Mapping[str, str] = field(default_factory=dict)
    # As written in the template (unresolved): kept for the deploy side, ignored locally.
    log_configuration: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class TaskDefinition:
    logical_id: str
    family: str | None
    network_mode: str
    cpu_units: int | None
    memory_mib: int | None
    containers: tuple[ContainerSpec, ...]
    volumes: tuple[Volume, ...] = ()
    requires_compatibilities: tuple[str, ...] = ()
    # "X86_64" or "ARM64" when RuntimePlatform sets it.
    cpu_architecture: str | None = None
    # The role the containers' credentials come from (the local endpoint vends it).
    task_role_arn: str | None = None

    def container(self, name: str) -> ContainerSpec:
        for container in self.containers:
            if container.name == name:
                return container
        names = ", ".join(c.name for c in self.containers)
        raise ConfigError(
            f"task definition {self.family or self.logical_id} has no container {name!r}"
            f" (containers: {names})"
        )


# -- finding task definitions in a template ---------------------------------------------


def task_definition_ids(template: Mapping[str, Any]) -> tuple[str, ...]:
    """Logical ids of the template's task definitions, in template order."""
    return tuple(_resource_ids(template, TASK_DEFINITION_TYPE))


def output_task_definition(template: Mapping[str, Any], output: str) -> str:
    """The logical id of the task definition the stack output ``output`` refers to."""
    outputs = template.get("Outputs", {})
    if output not in outputs:
        raise ConfigError(
            f"the template has no output {output!r} (outputs: {', '.join(outputs) or 'none'});"
            " check the CDK app's CfnOutput ids"
        )
    return referenced_task_definition(template, outputs[output].get("Value"), f"Outputs.{output}")


def _resource_ids(template: Mapping[str, Any], resource_type: str) -> Iterator[str]:
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == resource_type:
            yield logical_id


def referenced_task_definition(template: Mapping[str, Any], reference: Any, where: str) -> str:
    # A task definition's Ref is its ARN, the only way CDK points at one.
    if isinstance(reference, dict) and list(reference) == ["Ref"]:
        logical_id = reference["Ref"]
        if logical_id in task_definition_ids(template):
            return str(logical_id)
    raise ConfigError(
        f"{where} is {reference!r}, not a Ref to a task definition of the same template"
    )


# -- cpu and memory sizes -----------------------------------------------------------------


def parse_cpu_units(value: str | int) -> int:
    """Task CPU as ECS writes it ("512", 512, "0.5 vCPU", "1 vcpu") in CPU units; 1 vCPU = 1024."""
    match = _CPU.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is neither CPU units (512) nor vCPUs (0.5 vCPU)")
    return _scaled(match["amount"], 1024 if match["vcpu"] else 1, value)


def parse_memory_mib(value: str | int) -> int:
    """Task memory as ECS writes it ("1024", 1024, "1 GB", "2GB") in MiB; 1 GB = 1024 MiB."""
    match = _MEMORY.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is neither MiB (1024) nor GB (1 GB)")
    return _scaled(match["amount"], 1024 if match["gb"] else 1, value)


def _scaled(amount: str, factor: int, original: str | int) -> int:
    scaled = Decimal(amount) * factor
    if scaled != scaled.to_integral_value() or scaled <= 0:
        raise ValueError(f"{original!r} is not a whole, positive size")
    return int(scaled)


# -- reading a task definition ----------------------------------------------------------


def _task_role_arn(resolver: Resolver, stack: str, logical_id: str, value: Any) -> str | None:
    """The task role's ARN where it resolves locally (a role of the assembly's stacks, whose
    stand-in gives its ARN); None otherwise, and the task then gets no credentials."""
    if value is None:
        return None
    try:
        arn = resolver.resolve(value, stack=stack, path=f"{logical_id}.TaskRoleArn")
    except UnresolvableField:
        return None
    return None if arn is None else str(arn)


def load_task_definition(resolver: Resolver, *, stack: str, logical_id: str) -> TaskDefinition:
    """Resolve and map the task definition ``logical_id`` of ``stack``."""
    resource = resolver.scope(stack).template.get("Resources", {}).get(logical_id)
    if resource is None or resource.get("Type") != TASK_DEFINITION_TYPE:
        raise ConfigError(
            f"stack {stack} has no task definition {logical_id!r} (task definitions:"
            f" {', '.join(task_definition_ids(resolver.scope(stack).template)) or 'none'})"
        )
    raw: Mapping[str, Any] = resource.get("Properties", {})
    task = _Fields(stack=stack, path=logical_id, values={})
    resolved: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _TASK_FIELDS_FOR_AWS_ONLY or key == "ContainerDefinitions":
            continue
        if key not in _TASK_FIELDS:
            raise task.error(key, "is not supported by the local runtime")
        resolved[key] = resolver.resolve(value, stack=stack, path=f"{logical_id}.{key}")
    task = _Fields(stack=stack, path=logical_id, values=resolved)
    definitions = raw.get("ContainerDefinitions")
    if not isinstance(definitions, list) or not definitions:
        raise task.error("ContainerDefinitions", "must list at least one container")
    containers = tuple(
        _load_container(
            resolver, stack, f"{logical_id}.ContainerDefinitions[{index}]", raw_container
        )
        for index, raw_container in enumerate(definitions)
    )
    definition = TaskDefinition(
        logical_id=logical_id,
        family=task.text("Family"),
        network_mode=task.text("NetworkMode") or "bridge",
        cpu_units=task.size("Cpu", parse_cpu_units),
        memory_mib=task.size("Memory", parse_memory_mib),
        containers=containers,
        volumes=tuple(_volume(item) for item in task.items("Volumes")),
        requires_compatibilities=task.texts("RequiresCompatibilities") or (),
        cpu_architecture=_cpu_architecture(task),
        task_role_arn=_task_role_arn(resolver, stack, logical_id, raw.get("TaskRoleArn")),
    )
    _validate_task(definition, task)
    return definition


def _load_container(resolver: Resolver, stack: str, path: str, raw: Any) -> ContainerSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{stack} {path}: a container definition must be an object")
    resolved: dict[str, Any] = {}
    for key, value in raw.items():
        field_path = f"{path}.{key}"
        if key == "LogConfiguration":
            resolved[key] = value
        elif key == "Image":
            resolved[key] = resolver.resolve_image(value, stack=stack, path=field_path)
        elif key in _CONTAINER_FIELDS:
            resolved[key] = resolver.resolve(value, stack=stack, path=field_path)
        else:
            raise ConfigError(f"{stack} {field_path}: is not supported by the local runtime")
    container = _Fields(stack=stack, path=path, values=resolved)
    return ContainerSpec(
        name=container.required_text("Name"),
        image=container.required_text("Image"),
        essential=container.flag("Essential", default=True),
        command=container.texts("Command"),
        entry_point=container.texts("EntryPoint"),
        working_directory=container.text("WorkingDirectory"),
        user=container.text("User"),
        environment=_name_value_pairs(container, "Environment", "Value", str),
        secrets=_name_value_pairs(container, "Secrets", "ValueFrom", parse_value_from),
        port_mappings=tuple(_port_mapping(item) for item in container.items("PortMappings")),
        health_check=_health_check(container.child("HealthCheck")),
        depends_on=tuple(_dependency(item) for item in container.items("DependsOn")),
        volumes_from=tuple(
            VolumeFrom(
                source_container=item.required_text("SourceContainer"),
                read_only=item.flag("ReadOnly", default=False),
            )
            for item in container.items("VolumesFrom")
        ),
        mount_points=tuple(
            MountPoint(
                source_volume=item.required_text("SourceVolume"),
                container_path=item.required_text("ContainerPath"),
                read_only=item.flag("ReadOnly", default=False),
            )
            for item in container.items("MountPoints")
        ),
        stop_timeout_seconds=container.integer("StopTimeout", DEFAULT_STOP_TIMEOUT_SECONDS),
        start_timeout_seconds=container.integer("StartTimeout"),
        readonly_root_filesystem=container.flag("ReadonlyRootFilesystem", default=False),
        memory_mib=container.integer("Memory"),
        memory_reservation_mib=container.integer("MemoryReservation"),
        cpu_units=container.integer("Cpu"),
        docker_labels=container.text_mapping("DockerLabels"),
        log_configuration=container.values.get("LogConfiguration"),
    )


def _name_value_pairs(
    container: _Fields, key: str, value_key: str, convert: Callable[[str], _Value]
) -> Mapping[str, _Value]:
    pairs: dict[str, _Value] = {}
    for item in container.items(key):
        name = item.required_text("Name")
        if name in pairs:
            raise item.error("Name", f"{name} appears twice in {key}")
        text = item.required_text(value_key)
        try:
            pairs[name] = convert(text)
        except ConfigError as error:
            raise item.error(value_key, str(error)) from None
    return MappingProxyType(pairs)


def _port_mapping(item: _Fields) -> PortMapping:
    container_port = item.required_integer("ContainerPort")
    host_port = item.integer("HostPort")
    # With awsvpc the host port, if given, is the container port.
    if host_port is not None and host_port != container_port:
        raise item.error("HostPort", f"must equal ContainerPort {container_port} with awsvpc")
    protocol = item.text("Protocol") or "tcp"
    if protocol not in ("tcp", "udp"):
        raise item.error("Protocol", f"is {protocol!r}; ECS takes tcp or udp")
    if item.values.get("ContainerPortRange"):
        raise item.error("ContainerPortRange", "is not supported by the local runtime")
    return PortMapping(container_port=container_port, protocol=protocol, name=item.text("Name"))


def _health_check(item: _Fields | None) -> HealthCheck | None:
    if item is None:
        return None
    command = item.texts("Command") or ()
    if not command or command[0] not in ("CMD", "CMD-SHELL"):
        raise item.error("Command", "must start with CMD or CMD-SHELL")
    if command[0] == "CMD-SHELL" and len(command) != 2:
        raise item.error("Command", "CMD-SHELL takes exactly one shell command string")
    if len(command) < 2:
        raise item.error("Command", "CMD needs an executable after it")
    check = HealthCheck(
        command=command,
        interval_seconds=item.integer("Interval", HealthCheck.interval_seconds),
        timeout_seconds=item.integer("Timeout", HealthCheck.timeout_seconds),
        retries=item.integer("Retries", HealthCheck.retries),
        start_period_seconds=item.integer("StartPeriod", HealthCheck.start_period_seconds),
    )
    # ECS's own limits: a template outside them would not register.
    for key, value, low, high in (
        ("Interval", check.interval_seconds, 5, 300),
        ("Timeout", check.timeout_seconds, 2, 120),
        ("Retries", check.retries, 1, 10),
        ("StartPeriod", check.start_period_seconds, 0, 300),
    ):
        if not low <= value <= high:
            raise item.error(key, f"is {value}; ECS takes {low} to {high}")
    return check


def _dependency(item: _Fields) -> ContainerDependency:
    condition = item.required_text("Condition")
    if condition not in DependencyCondition.__members__:
        raise item.error(
            "Condition", f"is {condition!r}; ECS takes START, COMPLETE, SUCCESS, HEALTHY"
        )
    return ContainerDependency(
        container=item.required_text("ContainerName"), condition=DependencyCondition(condition)
    )


def _volume(item: _Fields) -> Volume:
    unsupported = sorted(set(item.values) - {"Name"})
    if unsupported:
        raise item.error(
            unsupported[0], "is not supported by the local runtime (task-scoped volumes only)"
        )
    return Volume(name=item.required_text("Name"))


def _cpu_architecture(task: _Fields) -> str | None:
    platform = task.child("RuntimePlatform")
    if platform is None:
        return None
    family = platform.text("OperatingSystemFamily") or "LINUX"
    if family != "LINUX":
        raise platform.error("OperatingSystemFamily", f"is {family}; the local runtime runs LINUX")
    return platform.text("CpuArchitecture")


def _validate_task(definition: TaskDefinition, task: _Fields) -> None:
    """ECS's registration rules that the local run depends on, and what it cannot honour."""
    if definition.network_mode != "awsvpc":
        mode = definition.network_mode
        raise task.error("NetworkMode", f"is {mode!r}; the local runtime runs awsvpc only")
    fargate = "FARGATE" in definition.requires_compatibilities
    if fargate:
        _validate_fargate_size(definition, task)
    names = [container.name for container in definition.containers]
    for index, container in enumerate(definition.containers):
        if container.name in names[:index]:
            path = f"ContainerDefinitions[{index}].Name"
            raise task.error(path, f"{container.name!r} names two containers")
        _validate_container(definition, container, task.at(f"ContainerDefinitions[{index}]"))
        if fargate and container.stop_timeout_seconds > FARGATE_MAX_STOP_TIMEOUT_SECONDS:
            raise task.error(
                f"ContainerDefinitions[{index}].StopTimeout",
                f"is {container.stop_timeout_seconds}; Fargate allows at most"
                f" {FARGATE_MAX_STOP_TIMEOUT_SECONDS}",
            )
    if not any(container.essential for container in definition.containers):
        raise task.error("ContainerDefinitions", "has no essential container; ECS needs one")
    _validate_totals(definition, task)


def _validate_container(definition: TaskDefinition, container: ContainerSpec, at: _Fields) -> None:
    memory, reservation = container.memory_mib, container.memory_reservation_mib
    if memory is not None and reservation is not None and reservation > memory:
        raise at.error(
            "MemoryReservation", f"is {reservation}, above the container's Memory {memory}"
        )
    if definition.memory_mib is not None and memory is not None and memory > definition.memory_mib:
        raise at.error("Memory", f"is {memory}, above the task's Memory {definition.memory_mib}")
    volumes = {volume.name for volume in definition.volumes}
    for index, mount in enumerate(container.mount_points):
        if mount.source_volume not in volumes:
            raise at.error(
                f"MountPoints[{index}].SourceVolume",
                f"{mount.source_volume!r} is no volume of the task"
                f" (volumes: {', '.join(sorted(volumes)) or 'none'})",
            )
    others = {c.name for c in definition.containers} - {container.name}
    for index, source in enumerate(container.volumes_from):
        if source.source_container not in others:
            raise at.error(
                f"VolumesFrom[{index}].SourceContainer",
                f"{source.source_container!r} is no other container of the task",
            )


def _validate_fargate_size(definition: TaskDefinition, task: _Fields) -> None:
    cpu, memory = definition.cpu_units, definition.memory_mib
    if cpu is None or memory is None:
        raise task.error("Cpu" if cpu is None else "Memory", "is required on Fargate")
    valid_memory = _FARGATE_MEMORY_MIB.get(cpu)
    if valid_memory is None:
        sizes = ", ".join(map(str, _FARGATE_MEMORY_MIB))
        raise task.error("Cpu", f"is {cpu}; Fargate takes {sizes} CPU units")
    if memory not in valid_memory:
        low, high, step = valid_memory.start, valid_memory[-1], valid_memory.step
        raise task.error(
            "Memory",
            f"is {memory} MiB; with {cpu} CPU units Fargate takes {low} to {high} MiB"
            f" in steps of {step}",
        )


def _validate_totals(definition: TaskDefinition, task: _Fields) -> None:
    # A container's share is its soft reservation, else its hard limit.
    reserved = sum((c.memory_reservation_mib or c.memory_mib or 0) for c in definition.containers)
    if definition.memory_mib is not None and reserved > definition.memory_mib:
        raise task.error(
            "ContainerDefinitions",
            f"reserve {reserved} MiB, more than the task's Memory {definition.memory_mib}",
        )
    cpu = sum(c.cpu_units or 0 for c in definition.containers)
    if definition.cpu_units is not None and cpu > definition.cpu_units:
        raise task.error(
            "ContainerDefinitions",
            f"use {cpu} CPU units, more than the task's Cpu {definition.cpu_units}",
        )


@dataclass(frozen=True)
class _Fields:
    """Typed reads of one resolved object of the template, with errors naming the field."""

    stack: str
    path: str
    values: Mapping[str, Any]

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.stack} {self.path}.{key}: {problem}")

    def at(self, key: str) -> _Fields:
        """The path of the object at ``key``, to name it in errors found after mapping."""
        return _Fields(self.stack, f"{self.path}.{key}", {})

    def text(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(key, f"must be a string, not {value!r}")
        return str(value)

    def required_text(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise self.error(key, "is required")
        return value

    @overload
    def integer(self, key: str) -> int | None: ...
    @overload
    def integer(self, key: str, default: int) -> int: ...
    def integer(self, key: str, default: int | None = None) -> int | None:
        value = self.values.get(key)
        if value is None:
            return default
        # CloudFormation takes numbers written as strings too.
        if isinstance(value, bool) or not (isinstance(value, int) or str(value).isdigit()):
            raise self.error(key, f"must be a whole number, not {value!r}")
        return int(value)

    def required_integer(self, key: str) -> int:
        value = self.integer(key)
        if value is None:
            raise self.error(key, "is required")
        return value

    def flag(self, key: str, *, default: bool) -> bool:
        value = self.values.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return bool(value == "true")
        raise self.error(key, f"must be true or false, not {value!r}")

    def size(self, key: str, parse: Callable[[str | int], int]) -> int | None:
        value = self.values.get(key)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as error:
            raise self.error(key, str(error)) from None

    def texts(self, key: str) -> tuple[str, ...] | None:
        value = self.values.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(key, f"must be a list of strings, not {value!r}")
        return tuple(value)

    def text_mapping(self, key: str) -> Mapping[str, str]:
        value = self.values.get(key) or {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.error(key, f"must map names to strings, not {value!r}")
        return MappingProxyType(dict(value))

    def child(self, key: str) -> _Fields | None:
        value = self.values.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(key, f"must be an object, not {value!r}")
        return _Fields(self.stack, f"{self.path}.{key}", value)

    def items(self, key: str) -> list[_Fields]:
        value = self.values.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(key, f"must be a list of objects, not {value!r}")
        return [
            _Fields(self.stack, f"{self.path}.{key}[{i}]", item) for i, item in enumerate(value)
        ]
