"""The worker service, the scheduled task and Redis, in every environment's templates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from laravel_infra.config import EnvironmentConfig, load_environment

from parity.assembly.schedule import RateSchedule, parse_schedule

from .cdk_assembly import (
    ENVIRONMENT_NAMES,
    ENVIRONMENTS_DIR,
    Assembly,
    container,
    only_resource,
    output_values,
    resources_of_type,
    stack_name,
)

pytestmark = pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
TASK_STACKS = ("Migration", "Service", "Worker", "Scheduler")


def config_of(env: str) -> EnvironmentConfig:
    return load_environment(env, directory=ENVIRONMENTS_DIR)


def template_of(assembly: Assembly, env: str, kind: str) -> dict[str, Any]:
    return assembly.template(stack_name(env, kind))


def task_group(template: dict[str, Any]) -> dict[str, Any]:
    (group_id,) = [
        logical_id
        for logical_id in resources_of_type(template, "AWS::EC2::SecurityGroup")
        if logical_id.startswith("TaskSecurity")
    ]
    return {"Fn::GetAtt": [group_id, "GroupId"]}


def reads_output(value: Any) -> str | None:
    """The migration stack's output a Fn::GetStackOutput reads, if ``value`` is one."""
    if isinstance(value, dict) and "Fn::GetStackOutput" in value:
        name: str = value["Fn::GetStackOutput"]["OutputName"]
        return name
    return None


# -- Redis ----------------------------------------------------------------------------------


def test_redis_is_a_private_encrypted_multi_az_replication_group(
    assembly: Assembly, env: str
) -> None:
    config = config_of(env)
    template = template_of(assembly, env, "Migration")
    _, group = only_resource(template, "AWS::ElastiCache::ReplicationGroup")
    subnet_group_id, subnet_group = only_resource(template, "AWS::ElastiCache::SubnetGroup")
    properties = group["Properties"]
    assert properties["Engine"] == "redis"
    assert properties["CacheNodeType"] == config.redis_node_type
    assert properties["Port"] == 6380
    assert (properties["NumCacheClusters"], properties["MultiAZEnabled"]) == (2, True)
    assert properties["AutomaticFailoverEnabled"] is True
    assert properties["AtRestEncryptionEnabled"] is True
    assert properties["TransitEncryptionEnabled"] is True
    # The AUTH token is a dynamic reference: CloudFormation reads it, the template never holds it.
    assert properties["AuthToken"] == (
        f"{{{{resolve:secretsmanager:{config.redis_auth_secret_arn}:SecretString:::}}}}"
    )
    assert properties["CacheSubnetGroupName"] == {"Ref": subnet_group_id}
    assert subnet_group["Properties"]["SubnetIds"] == list(config.private_subnet_ids)


def test_only_the_apps_tasks_reach_redis(assembly: Assembly, env: str) -> None:
    migration = template_of(assembly, env, "Migration")
    (redis_group_id,) = [
        logical_id
        for logical_id, group in resources_of_type(migration, "AWS::EC2::SecurityGroup").items()
        if logical_id.startswith("Redis")
    ]
    redis_group = migration["Resources"][redis_group_id]["Properties"]
    # No inline ingress, and no egress: a cache starts no connections.
    assert "SecurityGroupIngress" not in redis_group
    # CDK's placeholder for "no egress": a rule that matches no address.
    assert redis_group["SecurityGroupEgress"][0]["CidrIp"] == "255.255.255.255/32"
    _, replication_group = only_resource(migration, "AWS::ElastiCache::ReplicationGroup")
    assert replication_group["Properties"]["SecurityGroupIds"] == [
        {"Fn::GetAtt": [redis_group_id, "GroupId"]}
    ]
    published = {
        name
        for name, value in output_values(migration).items()
        if value == {"Fn::GetAtt": [redis_group_id, "GroupId"]}
    }
    for kind in TASK_STACKS:
        template = template_of(assembly, env, kind)
        into_redis = [
            rule["Properties"]
            for rule in resources_of_type(template, "AWS::EC2::SecurityGroupIngress").values()
            if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [redis_group_id, "GroupId"]}
            or reads_output(rule["Properties"]["GroupId"]) in published
        ]
        assert [
            (rule["SourceSecurityGroupId"], rule["FromPort"], rule["ToPort"]) for rule in into_redis
        ] == [(task_group(template), 6380, 6380)], kind


# -- the worker -----------------------------------------------------------------------------


def test_worker_task_runs_the_queue_with_a_heartbeat_health_check(
    assembly: Assembly, env: str
) -> None:
    config = config_of(env)
    template = template_of(assembly, env, "Worker")
    _, task = only_resource(template, "AWS::ECS::TaskDefinition")
    properties = task["Properties"]
    assert properties["Family"] == f"laravel-{env}-worker"
    assert (properties["Cpu"], properties["Memory"]) == (str(config.cpu), str(config.memory))
    assert [c["Name"] for c in properties["ContainerDefinitions"]] == ["worker"]
    worker = container(task, "worker")
    assert worker["Command"] == [
        "php", "artisan", "queue:work", "redis", "--sleep=1", "--tries=3", "--timeout=90",
    ]  # fmt: skip
    # SIGTERM lets the job in hand finish: the stop timeout outlasts the job timeout.
    assert worker["StopTimeout"] == 120
    assert worker["HealthCheck"]["Command"] == ["CMD-SHELL", "queue-worker-healthcheck"]
    assert "PortMappings" not in worker
    log_group_id, log_group = only_resource(template, "AWS::Logs::LogGroup")
    assert log_group["Properties"]["LogGroupName"] == f"/laravel/{env}/worker"
    assert worker["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": log_group_id}


def test_worker_service_has_no_load_balancer_and_rolls_back(assembly: Assembly, env: str) -> None:
    config = config_of(env)
    template = template_of(assembly, env, "Worker")
    service_id, service = only_resource(template, "AWS::ECS::Service")
    properties = service["Properties"]
    assert properties["DesiredCount"] == config.worker_desired_count
    assert properties.get("LoadBalancers", []) == []
    assert "HealthCheckGracePeriodSeconds" not in properties
    assert properties["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
    network = properties["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert (network["AssignPublicIp"], network["SecurityGroups"]) == (
        "DISABLED",
        [task_group(template)],
    )
    assert not resources_of_type(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert output_values(template) == {
        "ServiceName": {"Fn::GetAtt": [service_id, "Name"]},
        "ClusterName": config.cluster_name,
    }


# -- the scheduler --------------------------------------------------------------------------


def test_the_rule_runs_schedule_run_every_minute(assembly: Assembly, env: str) -> None:
    config = config_of(env)
    template = template_of(assembly, env, "Scheduler")
    task_id, task = only_resource(template, "AWS::ECS::TaskDefinition")
    assert task["Properties"]["Family"] == f"laravel-{env}-scheduler"
    scheduler = container(task, "scheduler")
    assert scheduler["Command"] == ["php", "artisan", "schedule:run"]
    _, rule = only_resource(template, "AWS::Events::Rule")
    properties = rule["Properties"]
    assert properties["ScheduleExpression"] == "rate(1 minute)"
    # The harness's reading of it: once a minute.
    assert parse_schedule(properties["ScheduleExpression"]) == RateSchedule(
        expression="rate(1 minute)", interval=timedelta(minutes=1)
    )
    assert properties["State"] == "ENABLED"
    (target,) = properties["Targets"]
    assert target["Arn"] == (
        f"arn:aws:ecs:{config.region}:{config.account}:cluster/{config.cluster_name}"
    )
    parameters = target["EcsParameters"]
    assert parameters["TaskDefinitionArn"] == {"Ref": task_id}
    assert (parameters["LaunchType"], parameters["TaskCount"]) == ("FARGATE", 1)
    network = parameters["NetworkConfiguration"]["AwsVpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert network["Subnets"] == list(config.private_subnet_ids)
    assert network["SecurityGroups"] == [task_group(template)]


def test_the_rules_role_only_runs_its_task_and_passes_its_roles(
    assembly: Assembly, env: str
) -> None:
    config = config_of(env)
    template = template_of(assembly, env, "Scheduler")
    task_id, task = only_resource(template, "AWS::ECS::TaskDefinition")
    _, rule = only_resource(template, "AWS::Events::Rule")
    role_id = rule["Properties"]["Targets"][0]["RoleArn"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
        }
    ]
    policies = [
        policy["Properties"]
        for policy in resources_of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
    ]
    assert [
        statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]
    ] == [
        {
            "Sid": "RunTheTask",
            "Action": "ecs:RunTask",
            "Condition": {
                "ArnEquals": {
                    "ecs:cluster": (
                        f"arn:aws:ecs:{config.region}:{config.account}:cluster/{config.cluster_name}"
                    )
                }
            },
            "Effect": "Allow",
            "Resource": {"Ref": task_id},
        },
        {
            "Sid": "PassItsRoles",
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": [task["Properties"]["ExecutionRoleArn"], task["Properties"]["TaskRoleArn"]],
        },
    ]


def test_background_tasks_reach_the_database(assembly: Assembly, env: str) -> None:
    config = config_of(env)
    for kind in ("Worker", "Scheduler"):
        template = template_of(assembly, env, kind)
        into_database = [
            (rule["Properties"]["SourceSecurityGroupId"], rule["Properties"]["FromPort"])
            for rule in resources_of_type(template, "AWS::EC2::SecurityGroupIngress").values()
            if rule["Properties"]["GroupId"] == config.db_security_group_id
        ]
        assert into_database == [(task_group(template), 3306)], kind
