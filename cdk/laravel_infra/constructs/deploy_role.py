"""The role GitHub Actions assumes to deploy one environment and run its migration gate."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, ArnFormat, DefaultStackSynthesizer, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct

from laravel_infra import principals
from laravel_infra.constructs.github_oidc import GITHUB_OIDC_ISSUER, STS_AUDIENCE

# `cdk deploy` does the actual work through these bootstrap roles (templates, assets, lookups).
CDK_BOOTSTRAP_ROLE_TEMPLATES = (
    DefaultStackSynthesizer.DEFAULT_DEPLOY_ROLE_ARN,
    DefaultStackSynthesizer.DEFAULT_FILE_ASSET_PUBLISHING_ROLE_ARN,
    DefaultStackSynthesizer.DEFAULT_IMAGE_ASSET_PUBLISHING_ROLE_ARN,
    DefaultStackSynthesizer.DEFAULT_LOOKUP_ROLE_ARN,
)


class GitHubDeployRole(Construct):
    """Trusted only by one repository's GitHub environment; allowed only what a deploy needs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        oidc_provider_arn: str,
        github_repository: str,
        github_environment: str,
        cluster_name: str,
        migration_family: str,
        migration_role_names: Sequence[str],
        migration_log_group_name: str,
        readable_stack_names: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.subject = f"repo:{github_repository}:environment:{github_environment}"
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description=f"GitHub Actions deploys from {self.subject}",
            assumed_by=iam.WebIdentityPrincipal(
                oidc_provider_arn,
                conditions={
                    "StringEquals": {
                        f"{GITHUB_OIDC_ISSUER}:aud": STS_AUDIENCE,
                        f"{GITHUB_OIDC_ISSUER}:sub": self.subject,
                    }
                },
            ),
        )
        cluster_arn = stack.format_arn(
            service="ecs", resource="cluster", resource_name=cluster_name
        )
        on_cluster = {"ArnEquals": {"ecs:cluster": cluster_arn}}
        self._wildcards: list[Acknowledgment] = []
        self.policy = iam.Policy(
            self,
            "Policy",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="AssumeCdkBootstrapRoles",
                    actions=["sts:AssumeRole"],
                    resources=[
                        self._bootstrap_role_arn(template)
                        for template in CDK_BOOTSTRAP_ROLE_TEMPLATES
                    ],
                ),
                iam.PolicyStatement(
                    sid="RunMigrationTask",
                    actions=["ecs:RunTask"],
                    resources=[
                        self._wildcard(
                            stack.format_arn(
                                service="ecs",
                                resource="task-definition",
                                resource_name=f"{migration_family}:*",
                            ),
                            "Any revision of the migration family: each deploy registers a new one",
                        )
                    ],
                    conditions=on_cluster,
                ),
                iam.PolicyStatement(
                    sid="WatchMigrationTask",
                    actions=["ecs:DescribeTasks", "ecs:StopTask"],
                    resources=[
                        self._wildcard(
                            stack.format_arn(
                                service="ecs", resource="task", resource_name=f"{cluster_name}/*"
                            ),
                            "Task ids exist only once RunTask returns; limited to one cluster",
                        )
                    ],
                    conditions=on_cluster,
                ),
                iam.PolicyStatement(
                    sid="WatchServiceDeployment",
                    actions=["ecs:DescribeServices"],
                    resources=[
                        self._wildcard(
                            stack.format_arn(
                                service="ecs",
                                resource="service",
                                resource_name=f"{cluster_name}/*",
                            ),
                            "CloudFormation names the service; limited to one cluster",
                        )
                    ],
                    conditions=on_cluster,
                ),
                iam.PolicyStatement(
                    sid="PassMigrationRoles",
                    actions=["iam:PassRole"],
                    resources=[
                        stack.format_arn(
                            service="iam", region="", resource="role", resource_name=name
                        )
                        for name in migration_role_names
                    ],
                    conditions={"StringEquals": {"iam:PassedToService": principals.ECS_TASKS}},
                ),
                iam.PolicyStatement(
                    sid="ReadMigrationLogs",
                    actions=["logs:GetLogEvents", "logs:FilterLogEvents"],
                    resources=[
                        self._wildcard(
                            stack.format_arn(
                                service="logs",
                                resource="log-group",
                                resource_name=f"{migration_log_group_name}:*",
                                arn_format=ArnFormat.COLON_RESOURCE_NAME,
                            ),
                            "The migration log group's streams, which are named per task",
                        )
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadStackOutputs",
                    actions=["cloudformation:DescribeStacks"],
                    resources=[
                        self._wildcard(
                            stack.format_arn(
                                service="cloudformation",
                                resource="stack",
                                resource_name=f"{name}/*",
                            ),
                            "A stack ARN ends in an id CloudFormation assigns; the name is fixed",
                        )
                        for name in readable_stack_names
                    ],
                ),
            ],
        )
        Validations.of(self.policy).acknowledge(*self._wildcards)

    def _bootstrap_role_arn(self, template: str) -> str:
        stack = Stack.of(self)
        return (
            template.replace("${Qualifier}", DefaultStackSynthesizer.DEFAULT_QUALIFIER)
            .replace("${AWS::Partition}", stack.partition)
            .replace("${AWS::AccountId}", stack.account)
            .replace("${AWS::Region}", stack.region)
        )

    def _wildcard(self, arn: str, reason: str) -> str:
        """Use ``arn`` as a resource; cdk-nag's wildcard finding is acknowledged for it alone."""
        self._wildcards.append(
            Acknowledgment(id=f"AwsSolutions-IAM5[Resource::{arn}]", reason=reason)
        )
        return arn
