from __future__ import annotations

import functools
import json
import pickle
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from parity.assembly.secretref import (
    AwsSecretResolver,
    SecretRef,
    SecretService,
    parse_value_from,
    resolve_secrets,
)
from parity.errors import ConfigError, MissingSecret
from parity.secretvalue import SecretValue

SM = SecretService.SECRETS_MANAGER
ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:laravel/local/aurora-AbCdEf"
PARTIAL_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:laravel/local/mail"
VERSION_ID = "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"


def secret_ref(value_from: str, **fields: Any) -> SecretRef:
    """The expected parse of a Secrets Manager ``valueFrom`` based on ARN."""
    defaults: dict[str, Any] = {"secret_id": ARN, "name": "laravel/local/aurora"}
    defaults["region"] = "us-east-1"
    return SecretRef(value_from=value_from, service=SM, **(defaults | fields))


CN_ARN = "arn:aws-cn:secretsmanager:cn-north-1:000000000000:secret:db-a1B2c3"


@pytest.mark.parametrize(
    ("value_from", "expected"),
    [
        (ARN, secret_ref(ARN)),
        (f"{ARN}:username::", secret_ref(f"{ARN}:username::", json_key="username")),
        (
            f"{ARN}:username:AWSPREVIOUS:",
            secret_ref(
                f"{ARN}:username:AWSPREVIOUS:", json_key="username", version_stage="AWSPREVIOUS"
            ),
        ),
        (f"{ARN}::AWSCURRENT:", secret_ref(f"{ARN}::AWSCURRENT:", version_stage="AWSCURRENT")),
        (f"{ARN}:::{VERSION_ID}", secret_ref(f"{ARN}:::{VERSION_ID}", version_id=VERSION_ID)),
        (
            f"{ARN}:password:AWSCURRENT:{VERSION_ID}",
            secret_ref(
                f"{ARN}:password:AWSCURRENT:{VERSION_ID}",
                json_key="password",
                version_stage="AWSCURRENT",
                version_id=VERSION_ID,
            ),
        ),
        (f"{ARN}:::", secret_ref(f"{ARN}:::")),
        (
            PARTIAL_ARN,
            secret_ref(PARTIAL_ARN, secret_id=PARTIAL_ARN, name="laravel/local/mail"),
        ),
        (
            f"{PARTIAL_ARN}:password::",
            secret_ref(
                f"{PARTIAL_ARN}:password::",
                secret_id=PARTIAL_ARN,
                name="laravel/local/mail",
                json_key="password",
            ),
        ),
        (CN_ARN, secret_ref(CN_ARN, secret_id=CN_ARN, name="db", region="cn-north-1")),
    ],
    ids=[
        "complete ARN",
        "json key",
        "json key and version stage",
        "version stage only",
        "version id only",
        "json key, stage and id",
        "all three empty",
        "partial ARN",
        "partial ARN with json key",
        "other partition",
    ],
)
def test_secrets_manager_value_from_forms(value_from: str, expected: SecretRef) -> None:
    assert parse_value_from(value_from) == expected


@pytest.mark.parametrize(
    ("value_from", "name", "region"),
    [
        ("/laravel/local/app-key", "/laravel/local/app-key", None),
        ("laravel-feature-flags", "laravel-feature-flags", None),
        (
            "arn:aws:ssm:us-east-1:000000000000:parameter/laravel/local/app-key",
            "/laravel/local/app-key",
            "us-east-1",
        ),
        (
            "arn:aws:ssm:eu-west-1:000000000000:parameter/laravel-feature-flags",
            "laravel-feature-flags",
            "eu-west-1",
        ),
    ],
    ids=["hierarchical name", "simple name", "ARN of a hierarchical name", "ARN of a simple name"],
)
def test_ssm_value_from_forms(value_from: str, name: str, region: str | None) -> None:
    ref = parse_value_from(value_from)
    assert ref == SecretRef(
        value_from=value_from, service=SecretService.SSM, secret_id=name, name=name, region=region
    )


@pytest.mark.parametrize(
    ("value_from", "problem"),
    [
        ("", "neither an ARN nor a parameter name"),
        ("arn:aws:secretsmanager", "neither an ARN nor a parameter name"),
        (f"{ARN}:username", "not a Secrets Manager secret ARN"),
        (f"{ARN}:a:b:c:d", "not a Secrets Manager secret ARN"),
        (
            "arn:aws:secretsmanager:us-east-1:000000000000:rotation:x",
            "not a Secrets Manager secret ARN",
        ),
        ("arn:aws:ssm:us-east-1:000000000000:parameter/", "not an SSM parameter ARN"),
        ("arn:aws:ssm:us-east-1:000000000000:document/x", "not an SSM parameter ARN"),
        ("arn:aws:s3:::bucket/key", "ECS takes secrets only from Secrets Manager or SSM"),
    ],
    ids=[
        "empty",
        "truncated ARN",
        "json key alone",
        "too many parts",
        "not a secret",
        "no parameter name",
        "not a parameter",
        "s3",
    ],
)
def test_value_froms_ecs_rejects_are_errors(value_from: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_value_from(value_from)


# -- secret values never show ---------------------------------------------------------------


def test_a_secret_value_is_masked_everywhere_but_reveal() -> None:
    value = SecretValue("hunter2")
    assert value.reveal() == "hunter2"
    shown = [repr(value), str(value), f"{value}", f"{value!r}", repr({"DB_PASSWORD": value})]
    assert all("hunter2" not in text for text in shown)
    assert value == SecretValue("hunter2")
    assert value != SecretValue("other")


def test_a_secret_value_is_never_pickled() -> None:
    with pytest.raises(TypeError, match="never pickled"):
        pickle.dumps(SecretValue("hunter2"))


# -- fetching against an in-process emulator (moto, no network) -----------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


@functools.cache
def client(service_name: str, *, region_name: str | None = None) -> Any:
    # Cached: building a boto3 client loads its service model, the slow part of these tests.
    return boto3.client(service_name, region_name=region_name or "us-east-1")


def create_secret(name: str, secret_string: str) -> str:
    arn: str = client("secretsmanager").create_secret(Name=name, SecretString=secret_string)["ARN"]
    return arn


def fetch(value_from: str, *, by_name: bool = False) -> str:
    resolver = AwsSecretResolver(client_factory=client, by_name=by_name)
    return resolver.fetch(parse_value_from(value_from)).reveal()


@pytest.mark.usefixtures("aws")
def test_a_json_key_is_picked_from_the_secret_string() -> None:
    arn = create_secret("laravel/local/aurora", '{"username": "laravel", "password": "s3cret"}')
    assert fetch(f"{arn}:password::") == "s3cret"
    assert fetch(arn) == '{"username": "laravel", "password": "s3cret"}'


@pytest.mark.usefixtures("aws")
def test_a_partial_arn_finds_the_secret() -> None:
    create_secret("laravel/local/mail", "mail-password")
    assert fetch("arn:aws:secretsmanager:us-east-1:000000000000:secret:laravel/local/mail") == (
        "mail-password"
    )


@pytest.mark.usefixtures("aws")
def test_version_stage_and_version_id_select_the_version() -> None:
    arn = create_secret("laravel/local/app", '{"key": "old"}')
    current = client("secretsmanager").put_secret_value(SecretId=arn, SecretString='{"key": "new"}')
    assert fetch(f"{arn}:key::") == "new"
    assert fetch(f"{arn}:key:AWSPREVIOUS:") == "old"
    assert fetch(f"{arn}:key::{current['VersionId']}") == "new"


@pytest.mark.usefixtures("aws")
def test_by_name_finds_a_secret_whose_arn_the_emulator_cannot_reproduce() -> None:
    create_secret("laravel/local/app", '{"key": "value"}')
    imported = "arn:aws:secretsmanager:us-east-1:000000000000:secret:laravel/local/app-AbCdEf:key::"
    assert fetch(imported, by_name=True) == "value"
    with pytest.raises(MissingSecret, match="ResourceNotFoundException"):
        resolve_secrets(
            "migrate",
            {"APP_SECRET": parse_value_from(imported)},
            AwsSecretResolver(client_factory=client),
        )


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("value_from_name", "parameter_name"),
    [
        ("/laravel/local/app-key", "/laravel/local/app-key"),
        (
            "arn:aws:ssm:us-east-1:000000000000:parameter/laravel/local/app-key",
            "/laravel/local/app-key",
        ),
        ("laravel-feature-flags", "laravel-feature-flags"),
        (
            "arn:aws:ssm:us-east-1:000000000000:parameter/laravel-feature-flags",
            "laravel-feature-flags",
        ),
    ],
)
def test_ssm_parameters_are_fetched_decrypted(value_from_name: str, parameter_name: str) -> None:
    client("ssm").put_parameter(Name=parameter_name, Value="base64:key", Type="SecureString")
    assert fetch(value_from_name) == "base64:key"


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (5432, "5432"),
        (1.5, "1.5"),
        (123456, "123456"),
        (1234567, "1.234567e+06"),
        (1000000, "1e+06"),
        (0.00001, "1e-05"),
        (True, "true"),
        (False, "false"),
    ],
)
def test_non_string_json_values_render_as_the_ecs_agent_renders_them(
    stored: object, expected: str
) -> None:
    arn = create_secret("numbers", json.dumps({"value": stored}))
    assert fetch(f"{arn}:value::") == expected


# -- failures name the container, the env var and the valueFrom, never the value -------------


def resolve_one(value_from: str) -> str:
    """The one-line error of fetching ``value_from`` as DB_PASSWORD of container laravel."""
    with pytest.raises(MissingSecret) as caught:
        resolve_secrets(
            "laravel",
            {"DB_PASSWORD": parse_value_from(value_from)},
            AwsSecretResolver(client_factory=client),
        )
    message = str(caught.value)
    assert message.startswith(f"container 'laravel' secret DB_PASSWORD (valueFrom {value_from}): ")
    assert "\n" not in message
    assert "s3cret" not in message
    return message


@pytest.mark.usefixtures("aws")
def test_a_missing_secret_is_named() -> None:
    message = resolve_one(f"{PARTIAL_ARN}:password::")
    assert "secretsmanager answered ResourceNotFoundException" in message


@pytest.mark.usefixtures("aws")
def test_a_missing_json_key_is_named_without_the_secret() -> None:
    arn = create_secret("laravel/local/aurora", '{"username": "laravel", "pass": "s3cret"}')
    assert "the secret has no JSON key 'password'" in resolve_one(f"{arn}:password::")


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("secret_string", "problem"),
    [
        ("s3cret", "the secret is not a JSON object"),
        ('["s3cret"]', "the secret is not a JSON object"),
        ('{"password": {"nested": "s3cret"}}', "JSON key 'password' holds an object"),
        ('{"password": ["s3cret"]}', "JSON key 'password' holds an array"),
        ('{"password": null}', "JSON key 'password' holds null"),
    ],
)
def test_a_json_key_of_a_secret_that_has_none_is_an_error(secret_string: str, problem: str) -> None:
    arn = create_secret("laravel/local/aurora", secret_string)
    assert problem in resolve_one(f"{arn}:password::")


@pytest.mark.usefixtures("aws")
def test_a_binary_secret_is_an_error() -> None:
    arn = client("secretsmanager").create_secret(Name="binary", SecretBinary=b"s3cret")["ARN"]
    assert "binary data" in resolve_one(arn)


@pytest.mark.usefixtures("aws")
def test_a_missing_parameter_is_named() -> None:
    assert "ssm answered ParameterNotFound" in resolve_one("/laravel/local/db-password")


def test_an_unreachable_store_is_named() -> None:
    class Unreachable:
        def get_parameter(self, **_request: object) -> None:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:4566")

    def factory(service_name: str, *, region_name: str | None = None) -> Unreachable:
        return Unreachable()

    with pytest.raises(MissingSecret, match=r"ssm is unreachable \(EndpointConnectionError\)"):
        resolve_secrets(
            "laravel",
            {"APP_KEY": parse_value_from("/laravel/local/app-key")},
            AwsSecretResolver(client_factory=factory),
        )


def test_every_secret_of_a_container_is_fetched() -> None:
    class Fixed:
        def fetch(self, ref: SecretRef) -> SecretValue:
            return SecretValue(f"value of {ref.name}")

    secrets = {
        "DB_PASSWORD": parse_value_from(f"{ARN}:password::"),
        "APP_KEY": parse_value_from("/laravel/local/app-key"),
    }
    values = resolve_secrets("laravel", secrets, Fixed())
    assert {name: value.reveal() for name, value in values.items()} == {
        "DB_PASSWORD": "value of laravel/local/aurora",
        "APP_KEY": "value of /laravel/local/app-key",
    }
