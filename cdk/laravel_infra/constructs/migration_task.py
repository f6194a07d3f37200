"""The one-off migration task definition."""

from __future__ import annotations

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from laravel_infra import nag, principals, spec


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
        self.task_role = iam.Role(
            self,
            "TaskRole",
            role_name=task_role_name,
            assumed_by=iam.ServicePrincipal(principals.ECS_TASKS),
            description="Laravel migration task (no AWS permissions)",
        )
        self.execution_role = iam.Role(
            self,
            "ExecutionRole",
            role_name=execution_role_name,
            assumed_by=iam.ServicePrincipal(principals.ECS_TASKS),
            description="Pulls the migration image, reads its secrets and writes its logs",
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            family=family,
            cpu=cpu,
            memory_limit_mib=memory,
            runtime_platform=spec.RUNTIME_PLATFORM,
            task_role=self.task_role,
            execution_role=self.execution_role,
        )
        self.log_stream_prefix = spec.MIGRATION_LOG_STREAM_PREFIX
        self.container = self.task_definition.add_container(
            spec.MIGRATION_CONTAINER,
            container_name=spec.MIGRATION_CONTAINER,
            image=runtime.image,
            command=list(spec.MIGRATION_COMMAND),
            environment=dict(runtime.environment),
            secrets=dict(runtime.secrets),
            essential=True,
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix=self.log_stream_prefix, log_group=log_group
            ),
        )
        nag.acknowledge_plain_environment(self.task_definition)
        nag.acknowledge_image_pull_token(self.execution_role)
