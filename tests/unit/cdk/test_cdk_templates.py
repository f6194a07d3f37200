"""The synthesized templates of every environment, checked against its config."""

from __future__ import annotations

import json
from typing import Any

import pytest
from laravel_infra.config import EnvironmentConfig, load_environment

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

HEALTH_TIMINGS = {"Interval": 5, "Timeout": 3, "Retries": 3, "StartPeriod": 10}

pytestmark = pytest.mark.parametrize("env", ENVIRONMENT_NAMES)


def config_of(env: str) -> EnvironmentConfig:
    return load_environment(env, directory=ENVIRONMENTS_DIR)


def service_template(assembly: Assembly, env: str) -> dict[str, Any]:
    return assembly.template(stack_name(env, "Service"))


def migration_template(assembly: Assembly, env: str) -> dict[str, Any]:
    return assembly.template(stack_name(env, "Migration"))


def ci_access_template(assembly: Assembly, env: str) -> dict[str, Any]:
    return assembly.template(stack_name(env, "CiAccess"))


def policy_statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    _, policy = only_resource(template, "AWS::IAM::Policy")
    return {
        statement["Sid"]: statement
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    }


def test_five_stacks_per_environment(assembly: Assembly, env: str) -> None:
    artifacts = assembly.manifest()["artifacts"]
    for kind in ("Migration", "Service", "Worker", "Scheduler", "CiAccess"):
        artifact = artifacts[stack_name(env, kind)]
        assert artifact["type"] == "aws:cloudformation:stack"
        config = config_of(env)
        assert artifact["environment"] == f"aws://{config.account}/{config.region}"


def test_service_task_definition(assembly: Assembly, env: str) -> None:
    config = config_of(env)
    _, task = only_resource(service_template(assembly, env), "AWS::ECS::TaskDefinition")
    properties = task["Properties"]
    assert properties["NetworkMode"] == "awsvpc"
    assert properties["RequiresCompatibilities"] == ["FARGATE"]
    assert (properties["Cpu"], properties["Memory"]) == (str(config.cpu), str(config.memory))
    assert properties["Family"] == f"laravel-{env}-service"
    assert [c["Name"] for c in properties["ContainerDefinitions"]] == ["laravel", "nginx"]


def test_laravel_container(assembly: Assembly, env: str) -> None:
    _, task = only_resource(service_template(assembly, env), "AWS::ECS::TaskDefinition")
    laravel = container(task, "laravel")
    assert laravel["Essential"] is True
    # php-fpm listens on 127.0.0.1:9000 inside the task; nothing is published.
    assert "PortMappings" not in laravel
    assert laravel["HealthCheck"] == {
        "Command": ["CMD-SHELL", "php-fpm-healthcheck"],
        **HEALTH_TIMINGS,
    }
    assert laravel["LogConfiguration"]["LogDriver"] == "awslogs"


def test_nginx_container(assembly: Assembly, env: str) -> None:
    _, task = only_resource(service_template(assembly, env), "AWS::ECS::TaskDefinition")
    nginx = container(task, "nginx")
    assert nginx["Essential"] is True
    assert nginx["PortMappings"] == [{"ContainerPort": 8080, "Protocol": "tcp"}]
    assert nginx["DependsOn"] == [{"ContainerName": "laravel", "Condition": "HEALTHY"}]
    assert nginx["VolumesFrom"] == [{"SourceContainer": "laravel", "ReadOnly": True}]
    assert nginx["HealthCheck"] == {"Command": ["CMD-SHELL", "nginx-healthcheck"], **HEALTH_TIMINGS}
    assert nginx["LogConfiguration"]["LogDriver"] == "awslogs"
    assert "Secrets" not in nginx
    assert "Environment" not in nginx


def test_service_logs_go_to_the_service_log_group(assembly: Assembly, env: str) -> None:
    template = service_template(assembly, env)
    log_group_id, log_group = only_resource(template, "AWS::Logs::LogGroup")
    assert log_group["Properties"] == {
        "LogGroupName": f"/laravel/{env}/service",
        "RetentionInDays": config_of(env).log_retention_days,
    }
    _, task = only_resource(template, "AWS::ECS::TaskDefinition")
    for definition in task["Properties"]["ContainerDefinitions"]:
        options = definition["LogConfiguration"]["Options"]
        assert options["awslogs-group"] == {"Ref": log_group_id}
        assert options["awslogs-stream-prefix"] == "service"


def test_service_deployment(assembly: Assembly, env: str) -> None:
    config = config_of(env)
    template = service_template(assembly, env)
    _, service = only_resource(template, "AWS::ECS::Service")
    properties = service["Properties"]
    assert properties["Cluster"] == config.cluster_name
    assert properties["LaunchType"] == "FARGATE"
    assert properties["DesiredCount"] == config.desired_count
    assert properties["DeploymentConfiguration"] == {
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
        "MaximumPercent": 200,
        "MinimumHealthyPercent": 100,
    }
    network = properties["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert network["Subnets"] == list(config.private_subnet_ids)
    task_id, _ = only_resource(template, "AWS::ECS::TaskDefinition")
    assert properties["TaskDefinition"] == {"Ref": task_id}


def test_target_group_and_listener_rule_on_the_existing_listener(
    assembly: Assembly, env: str
) -> None:
    config = config_of(env)
    template = service_template(assembly, env)
    target_group_id, target_group = only_resource(
        template, "AWS::ElasticLoadBalancingV2::TargetGroup"
    )
    assert target_group["Properties"]["TargetType"] == "ip"
    assert target_group["Properties"]["Port"] == 8080
    assert target_group["Properties"]["Protocol"] == "HTTP"
    assert target_group["Properties"]["HealthCheckPath"] == "/healthz"
    assert target_group["Properties"]["VpcId"] == config.vpc_id

    rule_id, rule = only_resource(template, "AWS::ElasticLoadBalancingV2::ListenerRule")
    assert rule["Properties"]["ListenerArn"] == config.listener_arn
    assert rule["Properties"]["Priority"] == config.listener_rule_priority
    assert rule["Properties"]["Actions"] == [
        {"Type": "forward", "TargetGroupArn": {"Ref": target_group_id}}
    ]
    expected_conditions = []
    if config.listener_host_headers:
        expected_conditions.append(
            {
                "Field": "host-header",
                "HostHeaderConfig": {"Values": list(config.listener_host_headers)},
            }
        )
    if config.listener_path_patterns:
        expected_conditions.append(
            {
                "Field": "path-pattern",
                "PathPatternConfig": {"Values": list(config.listener_path_patterns)},
            }
        )
    assert rule["Properties"]["Conditions"] == expected_conditions
    # The existing listener is referenced, never created or modified.
    assert not resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener")
    assert not resources_of_type(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")

    _, service = only_resource(template, "AWS::ECS::Service")
    assert service["Properties"]["LoadBalancers"] == [
        {
            "ContainerName": "nginx",
            "ContainerPort": 8080,
            "TargetGroupArn": {"Ref": target_group_id},
        }
    ]
    # ECS rejects a target group that no listener uses yet.
    assert rule_id in service["DependsOn"]


def test_security_groups_admit_the_load_balancer_and_reach_the_database(
    assembly: Assembly, env: str
) -> None:
    config = config_of(env)
    template = service_template(assembly, env)
    task_group_id, _ = only_resource(template, "AWS::EC2::SecurityGroup")
    task_group = {"Fn::GetAtt": [task_group_id, "GroupId"]}
    ingress = [
        rule["Properties"]
        for rule in resources_of_type(template, "AWS::EC2::SecurityGroupIngress").values()
    ]

    def sources_into(group: object) -> list[tuple[object, int, int]]:
        return [
            (rule["SourceSecurityGroupId"], rule["FromPort"], rule["ToPort"])
            for rule in ingress
            if rule["GroupId"] == group
        ]

    assert sources_into(task_group) == [(config.listener_security_group_id, 8080, 8080)]
    assert sources_into(config.db_security_group_id) == [(task_group, 3306, 3306)]
    _, service = only_resource(template, "AWS::ECS::Service")
    assert service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"][
        "SecurityGroups"
    ] == [task_group]


def test_service_outputs(assembly: Assembly, env: str) -> None:
    template = service_template(assembly, env)
    service_id, _ = only_resource(template, "AWS::ECS::Service")
    assert output_values(template) == {
        "ServiceName": {"Fn::GetAtt": [service_id, "Name"]},
        "ClusterName": config_of(env).cluster_name,
    }


def test_migration_task_definition(assembly: Assembly, env: str) -> None:
    config = config_of(env)
    template = migration_template(assembly, env)
    _, task = only_resource(template, "AWS::ECS::TaskDefinition")
    properties = task["Properties"]
    assert properties["Family"] == f"laravel-{env}-migration"
    assert properties["NetworkMode"] == "awsvpc"
    assert (properties["Cpu"], properties["Memory"]) == (str(config.cpu), str(config.memory))
    assert [c["Name"] for c in properties["ContainerDefinitions"]] == ["migrate"]
    migrate = container(task, "migrate")
    assert migrate["Command"] == ["php", "artisan", "migrate", "--force"]
    assert migrate["Essential"] is True
    log_group_id, log_group = only_resource(template, "AWS::Logs::LogGroup")
    assert log_group["Properties"]["LogGroupName"] == f"/laravel/{env}/migration"
    assert migrate["LogConfiguration"] == {
        "LogDriver": "awslogs",
        "Options": {
            "awslogs-group": {"Ref": log_group_id},
            "awslogs-stream-prefix": "migration",
            "awslogs-region": config.region,
        },
    }


def test_migration_roles_have_the_names_ci_access_passes(assembly: Assembly, env: str) -> None:
    template = migration_template(assembly, env)
    _, task = only_resource(template, "AWS::ECS::TaskDefinition")
    roles = resources_of_type(template, "AWS::IAM::Role")
    names = {logical_id: role["Properties"]["RoleName"] for logical_id, role in roles.items()}
    assert (
        names[task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]] == f"laravel-{env}-migration-task"
    )
    assert names[task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]] == (
        f"laravel-{env}-migration-execution"
    )


def test_migration_outputs_are_what_run_task_needs(assembly: Assembly, env: str) -> None:
    config = config_of(env)
    template = migration_template(assembly, env)
    task_id, _ = only_resource(template, "AWS::ECS::TaskDefinition")
    group_id = next(
        k for k in resources_of_type(template, "AWS::EC2::SecurityGroup") if k.startswith("Task")
    )
    log_group_id, _ = only_resource(template, "AWS::Logs::LogGroup")
    published = {k: v for k, v in output_values(template).items() if k.startswith("Publish")}
    assert {k: v for k, v in output_values(template).items() if k not in published} == {
        "ClusterName": config.cluster_name,
        "TaskDefinitionArn": {"Ref": task_id},
        "SubnetIds": ",".join(config.private_subnet_ids),
        "SecurityGroupIds": {"Fn::GetAtt": [group_id, "GroupId"]},
        "WatchedContainer": "migrate",
        "LogGroupName": {"Ref": log_group_id},
        "LogStreamPrefix": "migration",
        "AssignPublicIp": "DISABLED",
    }
    # CDK publishes what the other stacks read through Fn::GetStackOutput: the Redis endpoint
    # and the Redis group (stable values; no export to hold up an update).
    redis_id, _ = only_resource(template, "AWS::ElastiCache::ReplicationGroup")
    redis_group_id = next(
        k for k in resources_of_type(template, "AWS::EC2::SecurityGroup") if k.startswith("Redis")
    )
    assert sorted(map(json.dumps, published.values())) == sorted(
        map(
            json.dumps,
            [
                {"Fn::GetAtt": [redis_id, "PrimaryEndPoint.Address"]},
                {"Fn::GetAtt": [redis_id, "PrimaryEndPoint.Port"]},
                {"Fn::GetAtt": [redis_group_id, "GroupId"]},
            ],
        )
    )


def test_migration_task_reaches_the_database(assembly: Assembly, env: str) -> None:
    config = config_of(env)
    template = migration_template(assembly, env)
    group_id = next(
        k for k in resources_of_type(template, "AWS::EC2::SecurityGroup") if k.startswith("Task")
    )
    (ingress,) = [
        rule
        for rule in resources_of_type(template, "AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == config.db_security_group_id
    ]
    assert ingress["Properties"]["GroupId"] == config.db_security_group_id
    assert ingress["Properties"]["SourceSecurityGroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    assert (ingress["Properties"]["FromPort"], ingress["Properties"]["ToPort"]) == (3306, 3306)


def test_oidc_provider_created_or_imported(assembly: Assembly, env: str) -> None:
    config = config_of(env)
    template = ci_access_template(assembly, env)
    providers = resources_of_type(template, "AWS::IAM::OIDCProvider")
    _, role = only_resource(template, "AWS::IAM::Role")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    if config.github_oidc_provider_arn is None:
        ((provider_id, provider),) = providers.items()
        assert provider["Properties"] == {
            "Url": "https://token.actions.githubusercontent.com",
            "ClientIdList": ["sts.amazonaws.com"],
        }
        assert trust["Principal"] == {"Federated": {"Ref": provider_id}}
    else:
        assert not providers
        assert trust["Principal"] == {"Federated": config.github_oidc_provider_arn}


def test_deploy_role_trusts_only_the_repository_environment(assembly: Assembly, env: str) -> None:
    config = config_of(env)
    _, role = only_resource(ci_access_template(assembly, env), "AWS::IAM::Role")
    assert role["Properties"]["RoleName"] == f"laravel-{env}-github-deploy"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Effect"] == "Allow"
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": (
                f"repo:{config.github_repository}:environment:{config.github_environment}"
            ),
        }
    }


def test_deploy_role_is_least_privilege(assembly: Assembly, env: str) -> None:
    config = config_of(env)
    account, region = config.account, config.region
    statements = policy_statements(ci_access_template(assembly, env))
    on_cluster = {
        "ArnEquals": {
            "ecs:cluster": f"arn:aws:ecs:{region}:{account}:cluster/{config.cluster_name}"
        }
    }
    expected = {
        "AssumeCdkBootstrapRoles": (
            "sts:AssumeRole",
            [
                f"arn:aws:iam::{account}:role/cdk-hnb659fds-{role}-role-{account}-{region}"
                for role in ("deploy", "file-publishing", "image-publishing", "lookup")
            ],
            None,
        ),
        "RunMigrationTask": (
            "ecs:RunTask",
            f"arn:aws:ecs:{region}:{account}:task-definition/laravel-{env}-migration:*",
            on_cluster,
        ),
        "WatchMigrationTask": (
            ["ecs:DescribeTasks", "ecs:StopTask"],
            f"arn:aws:ecs:{region}:{account}:task/{config.cluster_name}/*",
            on_cluster,
        ),
        "WatchServiceDeployment": (
            "ecs:DescribeServices",
            f"arn:aws:ecs:{region}:{account}:service/{config.cluster_name}/*",
            on_cluster,
        ),
        "PassMigrationRoles": (
            "iam:PassRole",
            [
                f"arn:aws:iam::{account}:role/laravel-{env}-migration-execution",
                f"arn:aws:iam::{account}:role/laravel-{env}-migration-task",
            ],
            {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
        "ReadMigrationLogs": (
            ["logs:FilterLogEvents", "logs:GetLogEvents"],
            f"arn:aws:logs:{region}:{account}:log-group:/laravel/{env}/migration:*",
            None,
        ),
        "ReadStackOutputs": (
            "cloudformation:DescribeStacks",
            [
                f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name(env, kind)}/*"
                for kind in ("Migration", "Scheduler", "Service", "Worker")
            ],
            None,
        ),
    }
    assert set(statements) == set(expected)
    for sid, (actions, resources, condition) in expected.items():
        statement = statements[sid]
        assert statement["Effect"] == "Allow", sid
        assert statement["Action"] == actions, sid
        assert statement["Resource"] == resources, sid
        assert statement.get("Condition") == condition, sid


def test_deploy_role_output(assembly: Assembly, env: str) -> None:
    template = ci_access_template(assembly, env)
    role_id, _ = only_resource(template, "AWS::IAM::Role")
    assert output_values(template) == {"DeployRoleArn": {"Fn::GetAtt": [role_id, "Arn"]}}


def test_ci_access_does_not_depend_on_the_other_stacks(assembly: Assembly, env: str) -> None:
    artifact = assembly.manifest()["artifacts"][stack_name(env, "CiAccess")]
    assert artifact.get("dependencies", []) == [f"{stack_name(env, 'CiAccess')}.assets"]
