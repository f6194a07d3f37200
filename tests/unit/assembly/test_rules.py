"""Scheduled ECS tasks read from EventBridge rules and EventBridge Scheduler schedules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parity.assembly.apptasks import AppTasks, environment_tasks
from parity.assembly.intrinsics import Resolver, StackScope
from parity.assembly.rules import RULE_TYPE, SCHEDULE_TYPE, ScheduledTask, scheduled_tasks
from parity.errors import ConfigError

from ..cdk.cdk_assembly import PROJECT_ROOT
from ..synthesized import synthesized_assembly

TASK = {
    "Type": "AWS::ECS::TaskDefinition",
    "Properties": {
        "Family": "app-cron",
        "NetworkMode": "awsvpc",
        "Cpu": "256",
        "Memory": "512",
        "ContainerDefinitions": [
            {"Name": "app", "Image": "app:1", "Essential": True, "Command": ["serve"]},
            {"Name": "sidecar", "Image": "side:1", "Essential": False},
        ],
    },
}


def ecs_target(**fields: Any) -> dict[str, Any]:
    return {
        "Arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/app",
        "Id": "Target0",
        "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
        "EcsParameters": {"TaskDefinitionArn": {"Ref": "Task"}, "TaskCount": 1},
        **fields,
    }


def schedules_of(**resources: dict[str, Any]) -> list[ScheduledTask]:
    template = {"Resources": {"Task": TASK, "Role": {"Type": "AWS::IAM::Role"}, **resources}}
    scope = StackScope(name="App", template=template, account="123456789012", region="eu-west-1")
    return list(scheduled_tasks(Resolver.create([scope]), "App"))


def rule(**properties: Any) -> dict[str, Any]:
    return {
        "Type": RULE_TYPE,
        "Properties": {"ScheduleExpression": "rate(5 minutes)", **properties},
    }


def test_a_rule_runs_its_task_definition_with_the_targets_command_and_environment() -> None:
    overrides = {
        "containerOverrides": [
            {
                "name": "app",
                "command": ["php", "artisan", "schedule:run"],
                "environment": [{"name": "MODE", "value": "cron"}],
            }
        ]
    }
    (found,) = schedules_of(
        Cron1234ABCD=rule(Targets=[ecs_target(Input=json.dumps(overrides))], State="ENABLED")
    )
    assert (found.key, found.where, found.expression) == (
        "cron",
        "App:Cron1234ABCD",
        "rate(5 minutes)",
    )
    app = found.task.container("app")
    assert app.command == ("php", "artisan", "schedule:run")
    assert app.environment == {"MODE": "cron"}
    assert found.task.container("sidecar").command is None
    assert found.task.family == "app-cron"


def test_a_target_without_input_keeps_the_task_definitions_command() -> None:
    (found,) = schedules_of(Cron=rule(Targets=[ecs_target(Input="{}")]))
    assert found.task.container("app").command == ("serve",)
    assert found.task_count == 1


def test_disabled_rules_event_pattern_rules_and_other_targets_run_nothing() -> None:
    lambda_target = {"Arn": "arn:aws:lambda:eu-west-1:123456789012:function:f", "Id": "L"}
    assert (
        schedules_of(
            Off=rule(Targets=[ecs_target()], State="DISABLED"),
            Pattern={
                "Type": RULE_TYPE,
                "Properties": {"EventPattern": {"source": ["x"]}, "Targets": [ecs_target()]},
            },
            Lambda=rule(Targets=[lambda_target]),
        )
        == []
    )


def test_an_eventbridge_scheduler_schedule_with_its_time_zone_and_task_count() -> None:
    schedule = {
        "Type": SCHEDULE_TYPE,
        "Properties": {
            "ScheduleExpression": "cron(0 3 * * ? *)",
            "ScheduleExpressionTimezone": "Europe/Berlin",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                **ecs_target(),
                "EcsParameters": {"TaskDefinitionArn": {"Ref": "Task"}, "TaskCount": 2},
            },
        },
    }
    (found,) = schedules_of(Nightly=schedule)
    assert (found.resource_type, found.timezone, found.task_count) == (
        SCHEDULE_TYPE,
        "Europe/Berlin",
        2,
    )


@pytest.mark.parametrize(
    ("target_input", "problem"),
    [
        ("not json", "App:Cron Cron.Targets[0].Input is not JSON"),
        ('{"containerOverrides": {"name": "app"}}', "containerOverrides must be a list"),
        ('{"containerOverrides": [{"name": "web"}]}', "has no container 'web'"),
    ],
)
def test_a_targets_input_that_ecs_would_refuse_is_one_line(target_input: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        schedules_of(Cron=rule(Targets=[ecs_target(Input=target_input)]))
    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.fixture(scope="module")
def local_tasks(tmp_path_factory: pytest.TempPathFactory) -> AppTasks:
    return environment_tasks(PROJECT_ROOT, "local", synthesized_assembly(tmp_path_factory, "local"))


def test_the_samples_scheduler_rule_runs_schedule_run_every_minute(local_tasks: AppTasks) -> None:
    (found,) = local_tasks.schedules
    assert found.stack == "Laravel-Local-Scheduler"
    assert found.expression == "rate(1 minute)"
    assert found.task.family == "laravel-local-scheduler"
    assert found.task.container("scheduler").command == ("php", "artisan", "schedule:run")
    # Its image is built with the others'.
    assert local_tasks.scheduled_task_definitions == (found.task,)
    assert found.task.container("scheduler").image in {
        a.local_image for a in local_tasks.image_assets
    }
