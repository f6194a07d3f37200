"""Laravel-<Env>-Worker: the queue worker service (`php artisan queue:work`)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Environment, Stack
from constructs import Construct

from laravel_infra import spec
from laravel_infra.config import EnvironmentConfig
from laravel_infra.constructs.app_service import AppService
from laravel_infra.constructs.laravel_task import LaravelCommand
from laravel_infra.naming import AppNames
from laravel_infra.stacks.laravel_task_inputs import add_background_task, add_cache_reader_inputs


class WorkerStack(Stack):
    """A stack of its own rather than a second service in the web stack: it deploys (and rolls
    back) on its own, after the web service, so a worker that fails to turn healthy never rolls
    the web service back; and the harness treats it like any other service stack. It has no
    port and no load balancer; its tasks are told apart from the web's by their security group.
    """

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
            names.worker_stack,
            env=Environment(account=config.account, region=config.region),
            description=f"Laravel ({config.name}): queue worker service",
        )
        network, inputs = add_cache_reader_inputs(
            self,
            config=config,
            resources_dir=resources_dir,
            log_group_name=names.worker_log_group,
            cache=cache,
        )
        background = add_background_task(
            self,
            "WorkerTask",
            config=config,
            network=network,
            inputs=inputs,
            cache=cache,
            family=names.worker_family,
            command=LaravelCommand(
                container_name=spec.WORKER_CONTAINER,
                command=spec.WORKER_COMMAND,
                log_stream_prefix=spec.WORKER_LOG_STREAM_PREFIX,
                health_check=spec.container_health_check(spec.WORKER_HEALTH_CHECK_SCRIPT),
                stop_timeout=spec.WORKER_STOP_TIMEOUT,
            ),
            purpose="queue worker",
        )
        worker = AppService(
            self,
            "WorkerService",
            vpc=network.vpc,
            cluster_name=config.cluster_name,
            subnets=network.private_subnets,
            security_group=background.security.security_group,
            task_definition=background.task.task_definition,
            desired_count=config.worker_desired_count,
        )

        CfnOutput(self, "ServiceName", value=worker.service.service_name)
        CfnOutput(self, "ClusterName", value=config.cluster_name)
