"""Scheduled ECS tasks: EventBridge rules and EventBridge Scheduler schedules with an ECS target.

An ``AWS::Events::Rule`` with a ``ScheduleExpression``, or an ``AWS::Scheduler::Schedule``,
whose target has ``EcsParameters`` runs that task definition on the schedule, ``TaskCount``
tasks at a time, with the target's ``Input`` as the RunTask overrides
(``{"containerOverrides": [{"name", "command", "environment"}]}``). Only enabled ones count.
The expression stays a string here: the local scheduler (``parity.runtime.scheduler``) parses
it with ``parity.assembly.schedule`` once it knows whether a test override replaces it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from parity.assembly.intrinsics import Resolver
from parity.assembly.taskdef import (
    TaskDefinition,
    load_task_definition,
    referenced_task_definition,
)
from parity.errors import ConfigError

RULE_TYPE = "AWS::Events::Rule"
SCHEDULE_TYPE = "AWS::Scheduler::Schedule"
ENABLED = "ENABLED"
UTC_ZONES = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT"})
_CDK_HASH_SUFFIX = re.compile(r"[0-9A-F]{8}$")


@dataclass(frozen=True, kw_only=True)
class ScheduledTask:
    """One ECS target of a schedule: the task definition it runs, with the target's overrides."""

    name: str  # the rule's (or schedule's) logical id
    stack: str
    resource_type: str
    expression: str
    # EventBridge Scheduler's ScheduleExpressionTimezone; rules always run in UTC.
    timezone: str = "UTC"
    task: TaskDefinition
    task_count: int = 1

    @property
    def key(self) -> str:
        """A short, Docker-safe name: the logical id without CDK's hash (ScheduleRule…)."""
        return _CDK_HASH_SUFFIX.sub("", self.name).lower() or self.name.lower()

    @property
    def where(self) -> str:
        return f"{self.stack}:{self.name}"


def scheduled_tasks(resolver: Resolver, stack: str) -> Iterator[ScheduledTask]:
    """Every enabled schedule of ``stack`` with an ECS target, one per target."""
    template = resolver.scope(stack).template
    for logical_id, resource in template.get("Resources", {}).items():
        kind = resource.get("Type")
        properties = resource.get("Properties", {})
        if kind == RULE_TYPE and "ScheduleExpression" in properties:
            targets = properties.get("Targets") or []
        elif kind == SCHEDULE_TYPE:
            targets = [properties.get("Target") or {}]
        else:
            continue
        where = f"{stack}:{logical_id}"
        resolved = {
            key: resolver.resolve(properties[key], stack=stack, path=f"{logical_id}.{key}")
            for key in ("ScheduleExpression", "ScheduleExpressionTimezone", "State")
            if key in properties
        }
        if str(resolved.get("State", ENABLED)) != ENABLED:
            continue
        for index, target in enumerate(targets):
            if "EcsParameters" not in target:
                continue
            path = f"{logical_id}.Targets[{index}]" if kind == RULE_TYPE else f"{logical_id}.Target"
            yield _scheduled_task(
                resolver,
                stack,
                template,
                name=logical_id,
                kind=str(kind),
                schedule=resolved,
                target=target,
                target_path=path,
                where=where,
            )


def _scheduled_task(
    resolver: Resolver,
    stack: str,
    template: Mapping[str, Any],
    *,
    name: str,
    kind: str,
    schedule: Mapping[str, Any],
    target: Mapping[str, Any],
    target_path: str,
    where: str,
) -> ScheduledTask:
    ecs = target["EcsParameters"]
    task_id = referenced_task_definition(
        template, ecs.get("TaskDefinitionArn"), f"{target_path}.EcsParameters"
    )
    task = load_task_definition(resolver, stack=stack, logical_id=task_id)
    raw_input = resolver.resolve(target.get("Input"), stack=stack, path=f"{target_path}.Input")
    count = resolver.resolve(
        ecs.get("TaskCount", 1), stack=stack, path=f"{target_path}.EcsParameters.TaskCount"
    )
    return ScheduledTask(
        name=name,
        stack=stack,
        resource_type=kind,
        expression=str(schedule["ScheduleExpression"]),
        timezone=str(schedule.get("ScheduleExpressionTimezone") or "UTC"),
        task=with_overrides(task, _overrides(raw_input, where=f"{where} {target_path}.Input")),
        task_count=int(count),
    )


def _overrides(raw_input: Any, *, where: str) -> list[Mapping[str, Any]]:
    """The ``containerOverrides`` of a target's Input (a JSON string), or none."""
    if raw_input in (None, ""):
        return []
    try:
        document = json.loads(raw_input) if isinstance(raw_input, str) else raw_input
    except ValueError:
        raise ConfigError(f"{where} is not JSON: {str(raw_input)[:80]!r}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{where} must be a JSON object of RunTask overrides")
    overrides = document.get("containerOverrides") or []
    if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
        raise ConfigError(f"{where}: containerOverrides must be a list of objects")
    return overrides


def with_overrides(task: TaskDefinition, overrides: list[Mapping[str, Any]]) -> TaskDefinition:
    """The task as RunTask's containerOverrides change it: a container's command replaced,
    its environment extended (an override's value wins)."""
    by_name = {str(override.get("name")): override for override in overrides}
    unknown = sorted(set(by_name) - {c.name for c in task.containers})
    if unknown:
        task.container(unknown[0])  # fails naming the task's containers
    containers = []
    for container in task.containers:
        override = by_name.get(container.name, {})
        command = override.get("command")
        added = {str(item["name"]): str(item["value"]) for item in override.get("environment", [])}
        containers.append(
            dataclasses.replace(
                container,
                command=tuple(str(part) for part in command) if command else container.command,
                environment={**container.environment, **added},
            )
        )
    return dataclasses.replace(task, containers=tuple(containers))
