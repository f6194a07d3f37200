"""Laravel-<Env>-Migration: the migration task definition, everything needed to run it, and the
app's Redis."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Environment, Fn, Stack
from constructs import Construct

from laravel_infra import spec
from laravel_infra.config import EnvironmentConfig
from laravel_infra.constructs.laravel_task import LaravelCommand, LaravelTask, RoleNames
from laravel_infra.constructs.redis_cache import RedisCache
from laravel_infra.constructs.task_security_group import TaskSecurityGroup
from laravel_infra.naming import AppNames
from laravel_infra.stacks.laravel_task_inputs import (
    add_app_secrets,
    add_laravel_task_inputs,
    add_network,
)


class MigrationStack(Stack):
    """Its outputs are the deploy orchestrator's whole input for `ecs run-task`.

    Redis lives here because this stack is deployed first: every Laravel container, the
    migration's included, gets the same env, so the endpoint must exist before the migration
    task runs. The other stacks import the endpoint and the cache's group id (values that stay
    put across deploys); each admits its own tasks into the cache's group.
    """

    def __init__(self, scope: Construct, *, config: EnvironmentConfig, resources_dir: Path) -> None:
        names = AppNames(config.name)
        super().__init__(
            scope,
            names.migration_stack,
            env=Environment(account=config.account, region=config.region),
            description=f"Laravel ({config.name}): migration task definition and Redis",
        )
        network = add_network(self, config=config)
        secrets = add_app_secrets(self, config=config)
        self.redis = RedisCache(
            self,
            "Redis",
            vpc=network.vpc,
            subnets=network.private_subnets,
            description=f"Laravel {config.name} Redis (cache, sessions, queue)",
            node_type=config.redis_node_type,
            auth_secret=secrets.redis_auth_secret,
        )
        inputs = add_laravel_task_inputs(
            self,
            config=config,
            resources_dir=resources_dir,
            log_group_name=names.migration_log_group,
            secrets=secrets,
            cache=self.redis.endpoint,
        )
        security = TaskSecurityGroup(
            self,
            "TaskSecurity",
            vpc=network.vpc,
            description=f"Laravel {config.name} migration task",
            db_security_group_id=config.db_security_group_id,
            cache_security_group_id=self.redis.endpoint.security_group_id,
        )
        migration = LaravelTask(
            self,
            "MigrationTask",
            family=names.migration_family,
            cpu=config.cpu,
            memory=config.memory,
            runtime=inputs.runtime,
            log_group=inputs.log_group,
            command=LaravelCommand(
                container_name=spec.MIGRATION_CONTAINER,
                command=spec.MIGRATION_COMMAND,
                log_stream_prefix=spec.MIGRATION_LOG_STREAM_PREFIX,
            ),
            purpose="migration",
            # Named: the CI role may pass exactly these two without depending on this stack.
            role_names=RoleNames(
                task_role=names.migration_task_role,
                execution_role=names.migration_execution_role,
            ),
        )

        CfnOutput(self, "ClusterName", value=config.cluster_name)
        CfnOutput(self, "TaskDefinitionArn", value=migration.task_definition.task_definition_arn)
        CfnOutput(self, "SubnetIds", value=",".join(config.private_subnet_ids))
        CfnOutput(
            self,
            "SecurityGroupIds",
            value=Fn.join(",", [security.security_group.security_group_id]),
        )
        CfnOutput(
            self,
            "WatchedContainer",
            value=migration.container.container_name,
            description="The container whose exit code decides the migration gate",
        )
        CfnOutput(self, "LogGroupName", value=inputs.log_group.log_group_name)
        CfnOutput(self, "LogStreamPrefix", value=migration.log_stream_prefix)
        CfnOutput(self, "AssignPublicIp", value="DISABLED")
