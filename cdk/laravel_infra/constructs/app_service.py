"""A Fargate service of the app on the existing cluster: the web service and the queue worker."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from constructs import Construct

# A new task must turn healthy before an old one stops; a failing deployment rolls back.
MIN_HEALTHY_PERCENT = 100
MAX_HEALTHY_PERCENT = 200


class AppService(Construct):
    """Runs one task definition on the existing cluster, in private subnets, with no public IP.

    ``health_check_grace_period`` is for a service behind a load balancer (ECS rejects it
    otherwise): how long ECS ignores the target group's health checks after a task starts.
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
        desired_count: int,
        health_check_grace_period: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster = ecs.Cluster.from_cluster_attributes(
            self, "Cluster", cluster_name=cluster_name, vpc=vpc
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=task_definition,
            desired_count=desired_count,
            min_healthy_percent=MIN_HEALTHY_PERCENT,
            max_healthy_percent=MAX_HEALTHY_PERCENT,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            health_check_grace_period=health_check_grace_period,
            vpc_subnets=subnets,
            security_groups=[security_group],
            assign_public_ip=False,
            platform_version=ecs.FargatePlatformVersion.LATEST,
        )
