"""Laravel-<Env>-Service: the Fargate service behind the existing ALB listener."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Environment, Stack
from constructs import Construct

from laravel_infra import spec
from laravel_infra.config import EnvironmentConfig
from laravel_infra.constructs.app_secrets import ImportedAppSecrets
from laravel_infra.constructs.image import AppImage
from laravel_infra.constructs.listener_route import ExistingListenerRoute
from laravel_infra.constructs.log_group import TaskLogGroup
from laravel_infra.constructs.network import ImportedNetwork
from laravel_infra.constructs.task_security_group import TaskSecurityGroup
from laravel_infra.constructs.web_service import WebService
from laravel_infra.constructs.web_task import WebTask
from laravel_infra.naming import AppNames


class ServiceStack(Stack):
    """Deployed only after the migration gate passed."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig, resources_dir: Path) -> None:
        names = AppNames(config.name)
        super().__init__(
            scope,
            names.service_stack,
            env=Environment(account=config.account, region=config.region),
            description=f"Laravel ({config.name}): Fargate service (nginx + php-fpm)",
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
        nginx_image = AppImage(
            self, "NginxImage", resources_dir=resources_dir, build=spec.NGINX_IMAGE
        )
        logs = TaskLogGroup(
            self,
            "Logs",
            log_group_name=names.service_log_group,
            retention_days=config.log_retention_days,
        )
        task = WebTask(
            self,
            "WebTask",
            family=names.service_family,
            cpu=config.cpu,
            memory=config.memory,
            runtime=spec.laravel_runtime(
                config=config,
                image=laravel_image.container_image,
                db_secret=secrets.db_secret,
                app_key_secret=secrets.app_key_secret,
                mail_password=secrets.mail_password,
            ),
            nginx_image=nginx_image.container_image,
            log_group=logs.log_group,
        )
        security = TaskSecurityGroup(
            self,
            "TaskSecurity",
            vpc=network.vpc,
            description=f"Laravel {config.name} web service",
            db_security_group_id=config.db_security_group_id,
        )
        web = WebService(
            self,
            "WebService",
            vpc=network.vpc,
            cluster_name=config.cluster_name,
            subnets=network.private_subnets,
            security_group=security.security_group,
            task_definition=task.task_definition,
            desired_count=config.desired_count,
        )
        ExistingListenerRoute(
            self,
            "ListenerRoute",
            vpc=network.vpc,
            listener_arn=config.listener_arn,
            listener_security_group_id=config.listener_security_group_id,
            priority=config.listener_rule_priority,
            host_headers=config.listener_host_headers,
            path_patterns=config.listener_path_patterns,
            target=web.service.load_balancer_target(
                container_name=spec.NGINX_CONTAINER, container_port=spec.NGINX_PORT
            ),
        )

        CfnOutput(self, "ServiceName", value=web.service.service_name)
        CfnOutput(self, "ClusterName", value=config.cluster_name)
