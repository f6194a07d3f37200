"""Laravel-<Env>-Migration: the migration task definition and everything needed to run it."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Environment, Fn, Stack
from constructs import Construct

from laravel_infra import spec
from laravel_infra.config import EnvironmentConfig
from laravel_infra.constructs.app_secrets import ImportedAppSecrets
from laravel_infra.constructs.image import AppImage
from laravel_infra.constructs.log_group import TaskLogGroup
from laravel_infra.constructs.migration_task import MigrationTask
from laravel_infra.constructs.network import ImportedNetwork
from laravel_infra.constructs.task_security_group import TaskSecurityGroup
from laravel_infra.naming import AppNames


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
        network = ImportedNetwork(
            self,
            "Network",
            vpc_id=config.vpc_id,
            vpc_cidr=config.vpc_cidr,
            availability_zones=config.availability_zones,
            private_subnet_ids=config.private_subnet_ids,
        )
        secrets = ImportedAppSecrets(
            self,
            "AppSecrets",
            db_secret_arn=config.db_secret_arn,
            app_key_secret_arn=config.app_key_secret_arn,
            mail_password_parameter_name=config.mail_password_parameter_name,
        )
        laravel_image = AppImage(
            self, "LaravelImage", resources_dir=resources_dir, build=spec.LARAVEL_IMAGE
        )
        logs = TaskLogGroup(
            self,
            "Logs",
            log_group_name=names.migration_log_group,
            retention_days=config.log_retention_days,
        )
        security = TaskSecurityGroup(
            self,
            "TaskSecurity",
            vpc=network.vpc,
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
            runtime=spec.laravel_runtime(
                config=config,
                image=laravel_image.container_image,
                db_secret=secrets.db_secret,
                app_key_secret=secrets.app_key_secret,
                mail_password=secrets.mail_password,
            ),
            log_group=logs.log_group,
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
        CfnOutput(self, "LogGroupName", value=logs.log_group.log_group_name)
        CfnOutput(self, "LogStreamPrefix", value=migration.log_stream_prefix)
        CfnOutput(self, "AssignPublicIp", value="DISABLED")
