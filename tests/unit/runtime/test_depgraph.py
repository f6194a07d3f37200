from __future__ import annotations

import pytest

from parity.assembly.taskdef import (
    ContainerDependency,
    ContainerSpec,
    DependencyCondition,
    HealthCheck,
    TaskDefinition,
    VolumeFrom,
)
from parity.errors import ConfigError, DependencyCycle
from parity.runtime.depgraph import plan_start

START = DependencyCondition.START
COMPLETE = DependencyCondition.COMPLETE
SUCCESS = DependencyCondition.SUCCESS
HEALTHY = DependencyCondition.HEALTHY
CHECK = HealthCheck(command=("CMD-SHELL", "true"))


def spec(
    name: str,
    *depends_on: tuple[str, DependencyCondition],
    essential: bool = True,
    health_check: HealthCheck | None = None,
    volumes_from: tuple[str, ...] = (),
) -> ContainerSpec:
    return ContainerSpec(
        name=name,
        image=f"{name}:latest",
        essential=essential,
        health_check=health_check,
        depends_on=tuple(
            ContainerDependency(container=target, condition=condition)
            for target, condition in depends_on
        ),
        volumes_from=tuple(VolumeFrom(source_container=source) for source in volumes_from),
    )


def task(*containers: ContainerSpec) -> TaskDefinition:
    return TaskDefinition(
        logical_id="Task",
        family="test",
        network_mode="awsvpc",
        cpu_units=512,
        memory_mib=1024,
        containers=containers,
    )


def test_the_service_task_starts_laravel_then_nginx(service_task: TaskDefinition) -> None:
    plan = plan_start(service_task)
    assert plan.waves == (("laravel",), ("nginx",))
    assert plan.creation_order == ("laravel", "nginx")
    assert plan.stop_waves == (("nginx",), ("laravel",))
    assert plan.dependencies["nginx"] == (
        ContainerDependency(container="laravel", condition=HEALTHY),
    )


def test_a_single_container_is_one_wave(migration_task: TaskDefinition) -> None:
    assert plan_start(migration_task).waves == (("migrate",),)


def test_independent_containers_share_a_wave_in_definition_order() -> None:
    plan = plan_start(
        task(
            spec("web", ("migrate", SUCCESS), ("cache", START)),
            spec("cache"),
            spec("migrate", essential=False),
            spec("worker", ("migrate", COMPLETE)),
        )
    )
    assert plan.waves == (("cache", "migrate"), ("web", "worker"))
    assert plan.stop_waves == (("web", "worker"), ("cache", "migrate"))


def test_volumes_from_orders_creation_but_not_start() -> None:
    plan = plan_start(task(spec("nginx", volumes_from=("laravel",)), spec("laravel")))
    assert plan.waves == (("nginx", "laravel"),)
    assert plan.creation_order == ("laravel", "nginx")


def test_a_dependency_on_an_unknown_container_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        plan_start(task(spec("nginx", ("php", START)), spec("laravel")))
    assert str(caught.value) == (
        "container 'nginx' dependsOn 'php': no such container in the task"
        " (containers: nginx, laravel)"
    )


def test_a_container_cannot_depend_on_itself() -> None:
    with pytest.raises(ConfigError, match=r"'nginx' dependsOn 'nginx': .*cannot depend on itself"):
        plan_start(task(spec("nginx", ("nginx", START))))


@pytest.mark.parametrize(
    ("containers", "cycle"),
    [
        (
            (spec("laravel", ("nginx", START)), spec("nginx", ("laravel", START))),
            "laravel → nginx → laravel",
        ),
        (
            (
                spec("a", ("b", START)),
                spec("c", ("a", START)),
                spec("b", ("c", START)),
                spec("d", ("a", START)),
            ),
            "a → b → c → a",
        ),
    ],
    ids=["two containers", "three containers"],
)
def test_a_dependency_cycle_is_named(containers: tuple[ContainerSpec, ...], cycle: str) -> None:
    with pytest.raises(DependencyCycle) as caught:
        plan_start(task(*containers))
    assert str(caught.value) == (f"dependsOn form a cycle: {cycle}; no container of it could start")


def test_a_volumes_from_cycle_is_named() -> None:
    with pytest.raises(DependencyCycle, match="dependsOn and volumesFrom form a cycle: a → b → a"):
        plan_start(task(spec("a", ("b", START)), spec("b", volumes_from=("a",))))


def test_healthy_needs_a_health_check_on_the_target() -> None:
    with pytest.raises(ConfigError) as caught:
        plan_start(task(spec("nginx", ("laravel", HEALTHY)), spec("laravel")))
    assert str(caught.value) == (
        "container 'nginx' dependsOn 'laravel' HEALTHY, but 'laravel' has no healthCheck;"
        " add one or use START"
    )
    plan = plan_start(
        task(spec("nginx", ("laravel", HEALTHY)), spec("laravel", health_check=CHECK))
    )
    assert plan.waves == (("laravel",), ("nginx",))


@pytest.mark.parametrize("condition", [COMPLETE, SUCCESS])
def test_exit_conditions_need_a_non_essential_target(condition: DependencyCondition) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_start(task(spec("laravel", ("migrate", condition)), spec("migrate")))
    assert str(caught.value) == (
        f"container 'laravel' dependsOn 'migrate' {condition}, but 'migrate' is essential,"
        " so its exit would stop the task; mark it essential=False"
    )
