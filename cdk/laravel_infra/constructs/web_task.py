"""The service's task definition: Laravel on php-fpm and nginx in one awsvpc task."""

from __future__ import annotations

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from laravel_infra import nag, principals, spec


class WebTask(Construct):
    """nginx serves Laravel's /application/public and proxies PHP to php-fpm on 127.0.0.1:9000."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        family: str,
        cpu: int,
        memory: int,
        runtime: spec.LaravelRuntime,
        nginx_image: ecs.ContainerImage,
        log_group: logs.ILogGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.execution_role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal(principals.ECS_TASKS),
            description="Pulls the service images, reads their secrets and writes their logs",
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            family=family,
            cpu=cpu,
            memory_limit_mib=memory,
            runtime_platform=spec.RUNTIME_PLATFORM,
            execution_role=self.execution_role,
        )
        logging = ecs.LogDrivers.aws_logs(
            stream_prefix=spec.SERVICE_LOG_STREAM_PREFIX, log_group=log_group
        )
        # php-fpm binds 127.0.0.1:9000 inside the shared namespace, so it needs no port mapping.
        self.laravel_container = self.task_definition.add_container(
            spec.LARAVEL_CONTAINER,
            container_name=spec.LARAVEL_CONTAINER,
            image=runtime.image,
            environment=dict(runtime.environment),
            secrets=dict(runtime.secrets),
            essential=True,
            health_check=spec.container_health_check(spec.LARAVEL_HEALTH_CHECK_SCRIPT),
            logging=logging,
        )
        self.nginx_container = self.task_definition.add_container(
            spec.NGINX_CONTAINER,
            container_name=spec.NGINX_CONTAINER,
            image=nginx_image,
            essential=True,
            port_mappings=[
                ecs.PortMapping(container_port=spec.NGINX_PORT, protocol=ecs.Protocol.TCP)
            ],
            health_check=spec.container_health_check(spec.NGINX_HEALTH_CHECK_SCRIPT),
            logging=logging,
        )
        # nginx starts only once php-fpm answers, and reads the built assets from Laravel's
        # VOLUME /application/public without being able to change them.
        self.nginx_container.add_container_dependencies(
            ecs.ContainerDependency(
                container=self.laravel_container, condition=ecs.ContainerDependencyCondition.HEALTHY
            )
        )
        self.nginx_container.add_volumes_from(
            ecs.VolumeFrom(source_container=spec.LARAVEL_CONTAINER, read_only=True)
        )
        nag.acknowledge_plain_environment(self.task_definition)
        nag.acknowledge_image_pull_token(self.execution_role)
