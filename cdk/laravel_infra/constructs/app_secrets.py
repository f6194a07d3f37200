"""The app's existing secrets: the Aurora credentials, Laravel's APP_KEY, the mail password and
the Redis AUTH token."""

from __future__ import annotations

from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct


class ImportedAppSecrets(Construct):
    """Imports the secrets by ARN and name; their values never pass through CDK or the templates."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        db_secret_arn: str,
        app_key_secret_arn: str,
        mail_password_parameter_name: str,
        redis_auth_secret_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        # Partial ARNs (no random suffix): the same config works against the emulator, whose
        # suffixes differ, and the grants still cover the real secret (…-??????).
        self.db_secret = secretsmanager.Secret.from_secret_partial_arn(
            self, "DbSecret", db_secret_arn
        )
        self.app_key_secret = secretsmanager.Secret.from_secret_partial_arn(
            self, "AppKeySecret", app_key_secret_arn
        )
        self.mail_password = ssm.StringParameter.from_secure_string_parameter_attributes(
            self, "MailPassword", parameter_name=mail_password_parameter_name
        )
        self.redis_auth_secret = secretsmanager.Secret.from_secret_partial_arn(
            self, "RedisAuthSecret", redis_auth_secret_arn
        )
