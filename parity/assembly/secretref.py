"""ECS container secrets: parse a ``valueFrom`` and fetch its value the way the ECS agent does.

``valueFrom`` forms ECS accepts:

- Secrets Manager, always an ARN: ``arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf``
  (complete) or without the 6-character suffix (partial), optionally followed by
  ``:json-key:version-stage:version-id`` where any of the three may be empty.
- SSM Parameter Store, by name (``/a/b``, ``name``) or by ARN
  (``arn:aws:ssm:REGION:ACCOUNT:parameter/a/b`` is ``/a/b``; ``…:parameter/name`` is ``name``).

Secret values are wrapped in ``SecretValue``, whose repr and str are masked, and no error
message here ever contains one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from parity.errors import ConfigError, MissingSecret
from parity.secretvalue import SecretValue

# The 6 random characters Secrets Manager appends to a secret's name in its ARN. This is the
# rule CDK itself uses to tell a complete ARN from a partial one.
_RANDOM_SUFFIX: Final = re.compile(r"-[a-z0-9]{6}$", re.IGNORECASE)
_ARN: Final = re.compile(
    r"^arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):"
    r"(?P<resource>.+)$"
)


class SecretService(StrEnum):
    SECRETS_MANAGER = "secretsmanager"
    SSM = "ssm"


@dataclass(frozen=True, kw_only=True)
class SecretRef:
    """A parsed ``valueFrom``: where a secret lives, never what it is."""

    value_from: str
    service: SecretService
    # What the ECS agent passes to the API: for Secrets Manager the ARN without the
    # json-key/version suffix (complete or partial), for SSM the parameter name.
    secret_id: str
    # The bare name: a Secrets Manager secret's name (6-character suffix removed when the
    # ARN is complete), or the SSM parameter's name.
    name: str
    json_key: str | None = None
    version_stage: str | None = None
    version_id: str | None = None
    # From the ARN; None for an SSM parameter given by name (the task's own region).
    region: str | None = None


def parse_value_from(value_from: str) -> SecretRef:
    """Parse a container secret's ``valueFrom``; a ConfigError names what is wrong."""
    match = _ARN.match(value_from)
    if match is None:
        if not value_from or value_from.startswith("arn:"):
            raise ConfigError(f"valueFrom {value_from!r} is neither an ARN nor a parameter name")
        return SecretRef(
            value_from=value_from,
            service=SecretService.SSM,
            secret_id=value_from,
            name=value_from,
        )
    if match["service"] == SecretService.SECRETS_MANAGER:
        return _parse_secrets_manager_arn(value_from, match)
    if match["service"] == SecretService.SSM:
        return _parse_ssm_arn(value_from, match)
    raise ConfigError(
        f"valueFrom {value_from!r} is an ARN of {match['service']}; ECS takes secrets only"
        " from Secrets Manager or SSM Parameter Store"
    )


def _parse_secrets_manager_arn(value_from: str, match: re.Match[str]) -> SecretRef:
    # The ECS agent accepts "secret:ID" or "secret:ID:json-key:version-stage:version-id".
    parts = match["resource"].split(":")
    if parts[0] != "secret" or len(parts) not in (2, 5) or not parts[1]:
        raise ConfigError(
            f"valueFrom {value_from!r} is not a Secrets Manager secret ARN; use"
            " arn:…:secret:NAME or arn:…:secret:NAME:json-key:version-stage:version-id"
        )
    secret_name = parts[1]
    json_key, version_stage, version_id = parts[2:] if len(parts) == 5 else ["", "", ""]
    arn_prefix = value_from[: len(value_from) - len(match["resource"])]
    return SecretRef(
        value_from=value_from,
        service=SecretService.SECRETS_MANAGER,
        secret_id=f"{arn_prefix}secret:{secret_name}",
        name=_RANDOM_SUFFIX.sub("", secret_name),
        json_key=json_key or None,
        version_stage=version_stage or None,
        version_id=version_id or None,
        region=match["region"] or None,
    )


def _parse_ssm_arn(value_from: str, match: re.Match[str]) -> SecretRef:
    resource = match["resource"]
    if not resource.startswith("parameter/") or resource == "parameter/":
        raise ConfigError(
            f"valueFrom {value_from!r} is not an SSM parameter ARN; use arn:…:parameter/NAME"
        )
    path = resource.removeprefix("parameter/")
    # A name with "/" in it must begin with "/", which the ARN's "parameter/" separator
    # swallows: "parameter/a/b" is "/a/b", while "parameter/name" is the simple name "name".
    name = f"/{path}" if "/" in path else path
    return SecretRef(
        value_from=value_from,
        service=SecretService.SSM,
        secret_id=name,
        name=name,
        region=match["region"] or None,
    )


class ClientFactory(Protocol):
    """A boto3-like client factory: ``boto3.client`` or ``boto3.Session(...).client``."""

    def __call__(self, service_name: str, *, region_name: str | None = None) -> Any: ...


class SecretUnavailable(Exception):
    """Why a secret store could not deliver a value; never holds the value itself."""


class SecretResolver(Protocol):
    def fetch(self, ref: SecretRef) -> SecretValue:
        """The secret's value; raises SecretUnavailable saying why not."""
        ...


@dataclass(frozen=True, kw_only=True)
class AwsSecretResolver:
    """Fetches secrets with GetSecretValue / GetParameter, as the ECS agent does.

    ``by_name`` looks Secrets Manager secrets up by bare name instead of by ARN. That is a
    local override for emulators: they cannot recreate a secret under a given ARN (the
    account and the 6-character suffix are theirs), but they can under its name.
    """

    client_factory: ClientFactory
    by_name: bool = False

    def fetch(self, ref: SecretRef) -> SecretValue:
        try:
            if ref.service is SecretService.SSM:
                return self._fetch_parameter(ref)
            return self._fetch_secret(ref)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "ClientError")
            raise SecretUnavailable(f"{ref.service} answered {code}") from None
        except BotoCoreError as error:
            raise SecretUnavailable(
                f"{ref.service} is unreachable ({type(error).__name__})"
            ) from None

    def _fetch_parameter(self, ref: SecretRef) -> SecretValue:
        client = self.client_factory("ssm", region_name=ref.region)
        response = client.get_parameter(Name=ref.secret_id, WithDecryption=True)
        return SecretValue(response["Parameter"]["Value"])

    def _fetch_secret(self, ref: SecretRef) -> SecretValue:
        client = self.client_factory("secretsmanager", region_name=ref.region)
        request: dict[str, str] = {"SecretId": ref.name if self.by_name else ref.secret_id}
        if ref.version_stage is not None:
            request["VersionStage"] = ref.version_stage
        if ref.version_id is not None:
            request["VersionId"] = ref.version_id
        response = client.get_secret_value(**request)
        if "SecretString" not in response:
            raise SecretUnavailable("the secret holds binary data; ECS injects only SecretString")
        secret_string: str = response["SecretString"]
        if ref.json_key is None:
            return SecretValue(secret_string)
        return SecretValue(_json_key(secret_string, ref.json_key))


def _json_key(secret_string: str, json_key: str) -> str:
    """Pick a JSON key's value the way the ECS agent renders it (Go's ``%v``)."""
    try:
        document = json.loads(secret_string, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError:
        raise SecretUnavailable("the secret is not a JSON object, so it has no JSON keys") from None
    if not isinstance(document, dict):
        raise SecretUnavailable("the secret is not a JSON object, so it has no JSON keys")
    if json_key not in document:
        raise SecretUnavailable(f"the secret has no JSON key {json_key!r}")
    value = document[json_key]
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _go_number(value)
    # Go would inject "map[…]", "[…]" or "<nil>" here; no app wants that, so stop instead.
    kind = "an object" if isinstance(value, dict) else "an array" if value is not None else "null"
    raise SecretUnavailable(f"JSON key {json_key!r} holds {kind}, not a string")


def _go_number(number: Decimal) -> str:
    """Format a JSON number as Go's ``%v`` of a float64: 5432, 1.5, 1e+06, 1.2345678e+07."""
    # Go holds JSON numbers as float64 and prints its shortest round-trip digits.
    shortest = Decimal(repr(float(number))).normalize()
    sign, digits, exponent = shortest.as_tuple()
    if not isinstance(exponent, int):
        raise SecretUnavailable("a JSON number in the secret is not finite")
    mantissa = "".join(map(str, digits))
    decimal_exponent = len(digits) + exponent - 1
    prefix = "-" if sign else ""
    # Go's shortest %g switches to exponent form below 1e-4 and from 1e+06 on.
    if decimal_exponent < -4 or decimal_exponent >= 6:
        fraction = f".{mantissa[1:]}" if len(mantissa) > 1 else ""
        return f"{prefix}{mantissa[0]}{fraction}e{decimal_exponent:+03d}"
    return prefix + format(shortest.copy_abs(), "f")


def resolve_secrets(
    container: str, secrets: Mapping[str, SecretRef], resolver: SecretResolver
) -> dict[str, SecretValue]:
    """Fetch every secret of a container: env var name → value.

    A secret that cannot be fetched raises MissingSecret naming the container, the env var
    and the ``valueFrom`` (never a value).
    """
    values: dict[str, SecretValue] = {}
    for env_name, ref in secrets.items():
        try:
            values[env_name] = resolver.fetch(ref)
        except SecretUnavailable as error:
            raise MissingSecret(
                f"container {container!r} secret {env_name} (valueFrom {ref.value_from}):"
                f" {error} — create it in the secret store the local run uses"
            ) from None
    return values
