"""Laravel-<Env>-Scheduler: `php artisan schedule:run` every minute, as an EventBridge rule."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Environment, Stack
from constructs import Construct

from laravel_infra import spec
from laravel_infra.config import EnvironmentConfig
from laravel_infra.constructs.laravel_task import LaravelCommand
from laravel_infra.constructs.task_schedule import TaskSchedule
from laravel_infra.naming import AppNames
from laravel_infra.stacks.laravel_task_inputs import add_background_task, add_cache_reader_inputs


class SchedulerStack(Stack):
    """Deployed last, so the schedule switches to a release only once its migration passed and
    its web and worker services run.

    The rule runs a task definition of this stack, built from the same spec as the migration
    (image, env, secrets), not the migration's own: a rule naming the migration's family runs
    each new revision as soon as the migration stack registers it, before the gate, and keeps
    running it after a failed one; a rule pinned to the migration's revision points at a
    deregistered (INACTIVE) one once the migration stack replaces it, until this stack deploys,
    and for good after a failed gate. Its own revision changes only when this stack deploys.
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
            names.scheduler_stack,
            env=Environment(account=config.account, region=config.region),
            description=f"Laravel ({config.name}): the scheduler, every minute",
        )
        network, inputs = add_cache_reader_inputs(
            self,
            config=config,
            resources_dir=resources_dir,
            log_group_name=names.scheduler_log_group,
            cache=cache,
        )
        background = add_background_task(
            self,
            "SchedulerTask",
            config=config,
            network=network,
            inputs=inputs,
            cache=cache,
            family=names.scheduler_family,
            command=LaravelCommand(
                container_name=spec.SCHEDULER_CONTAINER,
                command=spec.SCHEDULER_COMMAND,
                log_stream_prefix=spec.SCHEDULER_LOG_STREAM_PREFIX,
            ),
            purpose="scheduler",
        )
        schedule = TaskSchedule(
            self,
            "Schedule",
            vpc=network.vpc,
            cluster_name=config.cluster_name,
            subnets=network.private_subnets,
            security_group=background.security.security_group,
            task_definition=background.task.task_definition,
            schedule_expression=spec.SCHEDULE_EXPRESSION,
            description=f"Laravel {config.name}: php artisan schedule:run",
        )

        CfnOutput(self, "RuleName", value=schedule.rule.rule_name)
        CfnOutput(
            self, "TaskDefinitionArn", value=background.task.task_definition.task_definition_arn
        )
