"""Laravel-<Env>-Migration: the migration task definition and everything needed to run it."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Environment, Fn, Stack
from constructs import Construct

from laravel_infra.config import EnvironmentConfig
from laravel_infra.constructs.migration_task import MigrationTask
from laravel_infra.constructs.task_security_group import TaskSecurityGroup
from laravel_infra.naming import AppNames
from laravel_infra.stacks.laravel_task_inputs import add_laravel_task_inputs


class MigrationStack(Stack):
    """Its outputs are the deploy orchestrator's whole input for `ecs run-task`."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig, resources_dir: Path) -> None:
        names = AppNames(config.name)
        super().__init__(
            scope,
            names.migration_stack,
            env=Environment(account=config.account, region=config.region),
            description=f"Laravel ({config.name}): migration task definition",
        )
        inputs = add_laravel_task_inputs(
            self,
            config=config,
            resources_dir=resources_dir,
            log_group_name=names.migration_log_group,
        )
        security = TaskSecurityGroup(
            self,
            "TaskSecurity",
            vpc=inputs.network.vpc,
            description=f"Laravel {config.name} migration task",
            db_security_group_id=config.db_security_group_id,
        )
        migration = MigrationTask(
            self,
            "MigrationTask",
            family=names.migration_family,
            task_role_name=names.migration_task_role,
            execution_role_name=names.migration_execution_role,
            cpu=config.cpu,
            memory=config.memory,
            runtime=inputs.runtime,
            log_group=inputs.log_group,
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
