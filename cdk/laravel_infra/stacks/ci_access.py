"""Laravel-<Env>-CiAccess: GitHub Actions' way into this environment, deployed once by hand."""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, Stack
from constructs import Construct

from laravel_infra.config import EnvironmentConfig
from laravel_infra.constructs.deploy_role import GitHubDeployRole
from laravel_infra.constructs.github_oidc import GitHubOidcProvider
from laravel_infra.naming import AppNames


class CiAccessStack(Stack):
    """Refers to the migration resources by name, so it never depends on the other stacks."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        names = AppNames(config.name)
        super().__init__(
            scope,
            names.ci_access_stack,
            env=Environment(account=config.account, region=config.region),
            description=f"Laravel ({config.name}): GitHub Actions OIDC deploy role",
        )
        github = GitHubOidcProvider(
            self, "GitHubOidc", existing_provider_arn=config.github_oidc_provider_arn
        )
        deploy = GitHubDeployRole(
            self,
            "GitHubDeployRole",
            role_name=names.github_deploy_role,
            oidc_provider_arn=github.provider.oidc_provider_arn,
            github_repository=config.github_repository,
            github_environment=config.github_environment,
            cluster_name=config.cluster_name,
            migration_family=names.migration_family,
            migration_role_names=(names.migration_task_role, names.migration_execution_role),
            migration_log_group_name=names.migration_log_group,
            # ensure_idle reads every app stack's status; the deploy reads their outputs.
            readable_stack_names=(
                names.migration_stack,
                names.service_stack,
                names.worker_stack,
                names.scheduler_stack,
            ),
        )

        CfnOutput(self, "DeployRoleArn", value=deploy.role.role_arn)
