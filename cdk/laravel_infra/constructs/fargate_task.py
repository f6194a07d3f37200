"""What the Laravel task constructs share: their roles, task definition and Laravel container."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from laravel_infra import principals, spec


@dataclass(frozen=True)
class FargateTaskBase:
    execution_role: iam.Role
    task_definition: ecs.FargateTaskDefinition


def ecs_tasks_role(
    scope: Construct, construct_id: str, *, description: str, role_name: str | None = None
) -> iam.Role:
    """A role for ECS tasks; ``role_name=None`` lets CloudFormation name it."""
    return iam.Role(
        scope,
        construct_id,
        role_name=role_name,
        assumed_by=iam.ServicePrincipal(principals.ECS_TASKS),
        description=description,
    )


def add_fargate_task_definition(
    scope: Construct,
    *,
    family: str,
    cpu: int,
    memory: int,
    execution_role_description: str,
    execution_role_name: str | None = None,
    task_role: iam.IRole | None = None,
) -> FargateTaskBase:
    """Adds "ExecutionRole" and "TaskDefinition" to ``scope`` (a task construct, not a new one).

    Without ``task_role`` the task definition creates its own, empty one.
    """
    execution_role = ecs_tasks_role(
        scope,
        "ExecutionRole",
        role_name=execution_role_name,
        description=execution_role_description,
    )
    task_definition = ecs.FargateTaskDefinition(
        scope,
        "TaskDefinition",
        family=family,
        cpu=cpu,
        memory_limit_mib=memory,
        runtime_platform=spec.RUNTIME_PLATFORM,
        task_role=task_role,
        execution_role=execution_role,
    )
    return FargateTaskBase(execution_role=execution_role, task_definition=task_definition)


def add_laravel_container(
    task_definition: ecs.TaskDefinition,
    *,
    name: str,
    runtime: spec.LaravelRuntime,
    logging: ecs.LogDriver,
    command: list[str] | None = None,
    health_check: ecs.HealthCheck | None = None,
    stop_timeout: Duration | None = None,
) -> ecs.ContainerDefinition:
    """An essential Laravel container: every task gets the same image, env and secrets."""
    return task_definition.add_container(
        name,
        container_name=name,
        image=runtime.image,
        command=command,
        environment=dict(runtime.environment),
        secrets=dict(runtime.secrets),
        essential=True,
        health_check=health_check,
        stop_timeout=stop_timeout,
        logging=logging,
    )
