"""cdk-nag acknowledgments shared by the task definition constructs, each with its reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import IConstruct


def acknowledge_task_definition(
    task_definition: ecs.TaskDefinition, execution_role: iam.IRole
) -> None:
    """Call once the containers are added, so the acknowledgments cover what they granted."""
    findings: tuple[tuple[IConstruct, str, str], ...] = (
        (
            task_definition,
            "AwsSolutions-ECS2",
            "Plain env holds only non-secret settings (APP_ENV, DB_HOST, …); every "
            "credential is an ecs.Secret from Secrets Manager or SSM (spec.laravel_runtime)",
        ),
        (
            execution_role,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken supports no resource-level permissions; the image "
            "pull itself is limited to the CDK assets repository",
        ),
    )
    for construct, rule, reason in findings:
        Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))
