"""cdk-nag acknowledgments shared by the task definition constructs, each with its reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam


def acknowledge_plain_environment(task_definition: ecs.TaskDefinition) -> None:
    Validations.of(task_definition).acknowledge(
        Acknowledgment(
            id="AwsSolutions-ECS2",
            reason="Plain env holds only non-secret settings (APP_ENV, DB_HOST, …); every "
            "credential is an ecs.Secret from Secrets Manager or SSM (spec.laravel_runtime)",
        )
    )


def acknowledge_image_pull_token(execution_role: iam.IRole) -> None:
    Validations.of(execution_role).acknowledge(
        Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="ecr:GetAuthorizationToken supports no resource-level permissions; the image "
            "pull itself is limited to the CDK assets repository",
        )
    )
