"""GitHub Actions' OIDC identity provider in IAM."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct

GITHUB_OIDC_ISSUER = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"


class GitHubOidcProvider(Construct):
    """Creates the provider, or imports it: an account holds one provider per issuer URL."""

    def __init__(
        self, scope: Construct, construct_id: str, *, existing_provider_arn: str | None
    ) -> None:
        super().__init__(scope, construct_id)
        self.provider: iam.IOidcProvider
        if existing_provider_arn is None:
            self.provider = iam.OidcProviderNative(
                self, "Provider", url=f"https://{GITHUB_OIDC_ISSUER}", client_ids=[STS_AUDIENCE]
            )
        else:
            self.provider = iam.OidcProviderNative.from_oidc_provider_arn(
                self, "Provider", existing_provider_arn
            )
