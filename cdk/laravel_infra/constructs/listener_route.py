"""A route from an existing ALB listener to a target group this app owns."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from laravel_infra import spec

# Short drain: requests are short-lived, and a long drain slows every rolling deployment.
DEREGISTRATION_DELAY = Duration.seconds(30)


class ExistingListenerRoute(Construct):
    """Imports the listener by ARN and forwards matching requests to nginx's port (IP targets)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        listener_arn: str,
        listener_security_group_id: str,
        priority: int,
        host_headers: Sequence[str],
        path_patterns: Sequence[str],
        target: elbv2.IApplicationLoadBalancerTarget,
    ) -> None:
        super().__init__(scope, construct_id)
        # Immutable: the shared load balancer's group is not ours to edit. The ingress rule that
        # admits it lands on the target's own security group instead.
        listener_security_group = ec2.SecurityGroup.from_security_group_id(
            self, "ListenerSecurityGroup", listener_security_group_id, mutable=False
        )
        self.listener = elbv2.ApplicationListener.from_application_listener_attributes(
            self,
            "Listener",
            listener_arn=listener_arn,
            security_group=listener_security_group,
        )
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "TargetGroup",
            vpc=vpc,
            port=spec.NGINX_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            targets=[target],
            deregistration_delay=DEREGISTRATION_DELAY,
            health_check=elbv2.HealthCheck(
                path=spec.HEALTH_CHECK_PATH,
                healthy_http_codes="200",
                interval=Duration.seconds(10),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        conditions = []
        if host_headers:
            conditions.append(elbv2.ListenerCondition.host_headers(list(host_headers)))
        if path_patterns:
            conditions.append(elbv2.ListenerCondition.path_patterns(list(path_patterns)))
        self.rule = elbv2.ApplicationListenerRule(
            self,
            "Rule",
            listener=self.listener,
            priority=priority,
            conditions=conditions,
            target_groups=[self.target_group],
        )
