"""The service's task definition: Laravel on php-fpm and nginx in one awsvpc task."""

from __future__ import annotations

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from laravel_infra import nag, spec
from laravel_infra.constructs.fargate_task import add_fargate_task_definition, add_laravel_container


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
        base = add_fargate_task_definition(
            self,
            family=family,
            cpu=cpu,
            memory=memory,
            execution_role_description=(
                "Pulls the service images, reads their secrets and writes their logs"
            ),
        )
        self.execution_role = base.execution_role
        self.task_definition = base.task_definition
        logging = ecs.LogDrivers.aws_logs(
            stream_prefix=spec.SERVICE_LOG_STREAM_PREFIX, log_group=log_group
        )
        # php-fpm binds 127.0.0.1:9000 inside the shared namespace, so it needs no port mapping.
        self.laravel_container = add_laravel_container(
            self.task_definition,
            name=spec.LARAVEL_CONTAINER,
            runtime=runtime,
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
        nag.acknowledge_task_definition(self.task_definition, self.execution_role)
