"""The one-off migration task definition."""

from __future__ import annotations

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from laravel_infra import nag, spec
from laravel_infra.constructs.fargate_task import (
    add_fargate_task_definition,
    add_laravel_container,
    ecs_tasks_role,
)


class MigrationTask(Construct):
    """The Laravel image running the migration command, with the service's env and secrets."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        family: str,
        task_role_name: str,
        execution_role_name: str,
        cpu: int,
        memory: int,
        runtime: spec.LaravelRuntime,
        log_group: logs.ILogGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        # Named roles: the CI role may pass exactly these two without depending on this stack.
        self.task_role = ecs_tasks_role(
            self,
            "TaskRole",
            role_name=task_role_name,
            description="Laravel migration task (no AWS permissions)",
        )
        base = add_fargate_task_definition(
            self,
            family=family,
            cpu=cpu,
            memory=memory,
            execution_role_name=execution_role_name,
            execution_role_description=(
                "Pulls the migration image, reads its secrets and writes its logs"
            ),
            task_role=self.task_role,
        )
        self.execution_role = base.execution_role
        self.task_definition = base.task_definition
        self.log_stream_prefix = spec.MIGRATION_LOG_STREAM_PREFIX
        self.container = add_laravel_container(
            self.task_definition,
            name=spec.MIGRATION_CONTAINER,
            runtime=runtime,
            command=list(spec.MIGRATION_COMMAND),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix=self.log_stream_prefix, log_group=log_group
            ),
        )
        nag.acknowledge_task_definition(self.task_definition, self.execution_role)
