"""Laravel-<Env>-Service: the Fargate service behind the existing ALB listener."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Duration, Environment, Stack
from constructs import Construct

from laravel_infra import spec
from laravel_infra.config import EnvironmentConfig
from laravel_infra.constructs.app_service import AppService
from laravel_infra.constructs.image import AppImage
from laravel_infra.constructs.listener_route import ExistingListenerRoute
from laravel_infra.constructs.task_security_group import TaskSecurityGroup
from laravel_infra.constructs.web_task import WebTask
from laravel_infra.naming import AppNames
from laravel_infra.stacks.laravel_task_inputs import add_cache_reader_inputs

# Covers php-fpm's start period plus nginx waiting for it, before ALB health checks count.
HEALTH_CHECK_GRACE_PERIOD = Duration.seconds(60)


class ServiceStack(Stack):
    """Deployed only after the migration gate passed."""

    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        resources_dir: Path,
        cache: spec.CacheEndpoint,
    ) -> None:
        names = AppNames(config.name)
        super().__init__(
            scope,
            names.service_stack,
            env=Environment(account=config.account, region=config.region),
            description=f"Laravel ({config.name}): Fargate service (nginx + php-fpm)",
        )
        network, inputs = add_cache_reader_inputs(
            self,
            config=config,
            resources_dir=resources_dir,
            log_group_name=names.service_log_group,
            cache=cache,
        )
        nginx_image = AppImage(
            self, "NginxImage", resources_dir=resources_dir, build=spec.NGINX_IMAGE
        )
        task = WebTask(
            self,
            "WebTask",
            family=names.service_family,
            cpu=config.cpu,
            memory=config.memory,
            runtime=inputs.runtime,
            nginx_image=nginx_image.container_image,
            log_group=inputs.log_group,
        )
        security = TaskSecurityGroup(
            self,
            "TaskSecurity",
            vpc=network.vpc,
            description=f"Laravel {config.name} web service",
            db_security_group_id=config.db_security_group_id,
            cache_security_group_id=cache.security_group_id,
        )
        web = AppService(
            self,
            "WebService",
            vpc=network.vpc,
            cluster_name=config.cluster_name,
            subnets=network.private_subnets,
            security_group=security.security_group,
            task_definition=task.task_definition,
            desired_count=config.desired_count,
            health_check_grace_period=HEALTH_CHECK_GRACE_PERIOD,
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
