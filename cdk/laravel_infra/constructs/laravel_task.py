"""A task definition with one Laravel container running one command: the migration, the queue
worker and the scheduler. (The web task runs php-fpm beside nginx: ``web_task``.)"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from laravel_infra import nag, spec
from laravel_infra.constructs.fargate_task import (
    add_fargate_task_definition,
    add_laravel_container,
    ecs_tasks_role,
)


@dataclass(frozen=True, kw_only=True)
class RoleNames:
    """Fixed role names, for a task another stack must grant rights on by name."""

    task_role: str
    execution_role: str


@dataclass(frozen=True, kw_only=True)
class LaravelCommand:
    """The container: its name, command, log stream prefix, and how ECS watches and stops it."""

    container_name: str
    command: tuple[str, ...]
    log_stream_prefix: str
    health_check: ecs.HealthCheck | None = None
    stop_timeout: Duration | None = None


class LaravelTask(Construct):
    """The Laravel image running ``command.command``, with every Laravel task's env and secrets.

    With ``role_names`` the task and execution roles get those names (the CI access stack passes
    the migration's roles by name); without, CloudFormation names them and the task role is the
    task definition's own, empty one.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        family: str,
        cpu: int,
        memory: int,
        runtime: spec.LaravelRuntime,
        log_group: logs.ILogGroup,
        command: LaravelCommand,
        purpose: str,
        role_names: RoleNames | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.task_role = (
            None
            if role_names is None
            else ecs_tasks_role(
                self,
                "TaskRole",
                role_name=role_names.task_role,
                description=f"Laravel {purpose} task (no AWS permissions)",
            )
        )
        base = add_fargate_task_definition(
            self,
            family=family,
            cpu=cpu,
            memory=memory,
            execution_role_name=None if role_names is None else role_names.execution_role,
            execution_role_description=(
                f"Pulls the {purpose} image, reads its secrets and writes its logs"
            ),
            task_role=self.task_role,
        )
        self.execution_role = base.execution_role
        self.task_definition = base.task_definition
        self.log_stream_prefix = command.log_stream_prefix
        self.container = add_laravel_container(
            self.task_definition,
            name=command.container_name,
            runtime=runtime,
            command=list(command.command),
            health_check=command.health_check,
            stop_timeout=command.stop_timeout,
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix=self.log_stream_prefix, log_group=log_group
            ),
        )
        nag.acknowledge_task_definition(self.task_definition, self.execution_role)
