"""The order containers of one task start and stop in, from ``dependsOn`` and ``volumesFrom``.

ECS starts a container once each of its dependencies reached its condition: START (running),
COMPLETE (exited), SUCCESS (exited 0) or HEALTHY (health check passed). At shutdown the order
is reversed. ``volumesFrom`` needs its source container to exist before the container that
mounts from it is created. Rules ECS enforces at registration are enforced here too, so a
task the local runtime accepts is one ECS accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from types import MappingProxyType

from parity.assembly.taskdef import ContainerDependency, DependencyCondition, TaskDefinition
from parity.errors import ConfigError, DependencyCycle

# ECS: "This condition can't be set on an essential container" (ContainerDependency API).
_EXIT_CONDITIONS = frozenset({DependencyCondition.COMPLETE, DependencyCondition.SUCCESS})


@dataclass(frozen=True, kw_only=True)
class StartPlan:
    """When each container of a task may be created, started and stopped."""

    # Each wave holds containers whose dependsOn targets are all in earlier waves; a wave
    # starts once every dependency of its containers reached its condition.
    waves: tuple[tuple[str, ...], ...]
    # Create containers in this order: dependsOn targets and volumesFrom sources first.
    creation_order: tuple[str, ...]
    dependencies: Mapping[str, tuple[ContainerDependency, ...]]

    @property
    def stop_waves(self) -> tuple[tuple[str, ...], ...]:
        """Dependents stop before what they depend on: the start waves, reversed."""
        return tuple(reversed(self.waves))


def plan_start(task: TaskDefinition) -> StartPlan:
    """Validate the task's dependsOn graph and order its containers."""
    containers = {container.name: container for container in task.containers}
    for container in task.containers:
        for dependency in container.depends_on:
            target = containers.get(dependency.container)
            where = f"container {container.name!r} dependsOn {dependency.container!r}"
            if target is None:
                raise ConfigError(
                    f"{where}: no such container in the task (containers: {', '.join(containers)})"
                )
            if target.name == container.name:
                raise ConfigError(f"{where}: a container cannot depend on itself")
            if dependency.condition is DependencyCondition.HEALTHY and target.health_check is None:
                raise ConfigError(
                    f"{where} HEALTHY, but {target.name!r} has no healthCheck; add one or use START"
                )
            if dependency.condition in _EXIT_CONDITIONS and target.essential:
                raise ConfigError(
                    f"{where} {dependency.condition}, but {target.name!r} is essential, so its exit"
                    " would stop the task; mark it essential=False"
                )
    start_graph = {c.name: [d.container for d in c.depends_on] for c in task.containers}
    create_graph = {
        c.name: [d.container for d in c.depends_on] + [v.source_container for v in c.volumes_from]
        for c in task.containers
    }
    return StartPlan(
        waves=_waves(start_graph, edges="dependsOn"),
        creation_order=tuple(
            name
            for wave in _waves(create_graph, edges="dependsOn and volumesFrom")
            for name in wave
        ),
        dependencies=MappingProxyType({c.name: c.depends_on for c in task.containers}),
    )


def _waves(graph: Mapping[str, list[str]], *, edges: str) -> tuple[tuple[str, ...], ...]:
    """Topological layers of ``graph`` (node → what it needs first), in definition order."""
    sorter = TopologicalSorter(graph)
    try:
        sorter.prepare()
    except CycleError as error:
        raise DependencyCycle(
            f"{edges} form a cycle: {_cycle(error, graph)}; no container of it could start"
        ) from None
    order = list(graph)
    waves: list[tuple[str, ...]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=order.index)
        waves.append(tuple(ready))
        sorter.done(*ready)
    return tuple(waves)


def _cycle(error: CycleError, graph: Mapping[str, list[str]]) -> str:
    """The cycle as "a → b → a", read as "a depends on b", starting at the earliest container."""
    # graphlib lists each node before the one that needs it; reverse it to "depends on" order.
    nodes: list[str] = list(reversed(error.args[1][:-1]))
    order = list(graph)
    first = min(range(len(nodes)), key=lambda index: order.index(nodes[index]))
    nodes = nodes[first:] + nodes[:first]
    return " → ".join([*nodes, nodes[0]])
