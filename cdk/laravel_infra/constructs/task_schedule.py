"""An EventBridge rule that runs a task definition on a schedule."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from laravel_infra import principals


class TaskSchedule(Construct):
    """Runs ``task_definition`` on the existing cluster at every ``schedule_expression``, in
    private subnets with no public IP.

    EventBridge assumes a role of its own that may only run this revision on this cluster and
    pass its two roles to ECS. It is built here rather than left to the ECS target, whose
    default role also grants ``ecs:TagResource`` on any account's tasks of the cluster; the
    rule propagates no tags, so it needs none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        cluster_name: str,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        task_definition: ecs.FargateTaskDefinition,
        schedule_expression: str,
        description: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster = ecs.Cluster.from_cluster_attributes(
            self, "Cluster", cluster_name=cluster_name, vpc=vpc
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(principals.EVENTS),
            description=f"EventBridge runs {task_definition.family} on {cluster_name}",
        )
        passed_roles = [task_definition.task_role.role_arn]
        if task_definition.execution_role is not None:
            passed_roles.append(task_definition.execution_role.role_arn)
        self.policy = iam.Policy(
            self,
            "Policy",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="RunTheTask",
                    actions=["ecs:RunTask"],
                    resources=[task_definition.task_definition_arn],
                    conditions={"ArnEquals": {"ecs:cluster": self.cluster.cluster_arn}},
                ),
                iam.PolicyStatement(
                    sid="PassItsRoles",
                    actions=["iam:PassRole"],
                    resources=passed_roles,
                    conditions={"StringEquals": {"iam:PassedToService": principals.ECS_TASKS}},
                ),
            ],
        )
        self.target = targets.EcsTask(
            cluster=self.cluster,
            task_definition=task_definition,
            subnet_selection=subnets,
            security_groups=[security_group],
            assign_public_ip=False,
            platform_version=ecs.FargatePlatformVersion.LATEST,
            # One task per tick; Laravel's scheduler runs whatever is due within it.
            task_count=1,
            # The target would add its own statements to a mutable role.
            role=self.role.without_policy_updates(),
        )
        self.rule = events.Rule(
            self,
            "Rule",
            description=description,
            schedule=events.Schedule.expression(schedule_expression),
            targets=[self.target],
        )
