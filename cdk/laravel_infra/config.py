"""Per-environment configuration: one TOML file each, loaded into a frozen, validated object.

Every error is one line naming the file and the field, so a typo never reaches CloudFormation.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

FARGATE_MEMORY_BY_CPU: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
# An ALB rule evaluates at most five condition values.
MAX_LISTENER_CONDITION_VALUES = 5


class ConfigError(ValueError):
    """A one-line message naming the environment file and the field at fault."""


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    """Everything that differs between environments; the app spec holds everything else."""

    name: str
    source: Path
    account: str
    region: str
    vpc_id: str
    vpc_cidr: str | None
    availability_zones: tuple[str, ...]
    private_subnet_ids: tuple[str, ...]
    db_security_group_id: str
    cluster_name: str
    listener_arn: str
    listener_security_group_id: str
    listener_rule_priority: int
    listener_host_headers: tuple[str, ...]
    listener_path_patterns: tuple[str, ...]
    desired_count: int
    worker_desired_count: int
    cpu: int
    memory: int
    db_endpoint: str
    db_name: str
    db_secret_arn: str
    app_key_secret_arn: str
    mail_password_parameter_name: str
    redis_auth_secret_arn: str
    redis_node_type: str
    log_retention_days: int
    github_repository: str
    github_environment: str
    github_oidc_provider_arn: str | None


def environment_names(directory: Path) -> tuple[str, ...]:
    """The environments that have a config file in ``directory``, sorted."""
    return tuple(sorted(path.stem for path in directory.glob("*.toml")))


def load_environments(directory: Path, *, only: str | None = None) -> tuple[EnvironmentConfig, ...]:
    """Load every environment, or just ``only``."""
    names = (only,) if only is not None else environment_names(directory)
    return tuple(load_environment(name, directory=directory) for name in names)


def load_environment(name: str, *, directory: Path) -> EnvironmentConfig:
    valid = environment_names(directory)
    if name not in valid:
        raise ConfigError(f"unknown environment {name!r}; valid environments: {', '.join(valid)}")
    path = directory / f"{name}.toml"
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    return parse_environment(name, raw, source=path)


def parse_environment(name: str, raw: Mapping[str, object], *, source: Path) -> EnvironmentConfig:
    known = {field.name for field in fields(EnvironmentConfig)} - {"name", "source"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(
            f"{source}: unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )
    values: dict[str, Any] = {}
    for field_name, parse in _FIELD_PARSERS.items():
        if field_name not in raw:
            if field_name in _OPTIONAL_FIELDS:
                values[field_name] = _OPTIONAL_FIELDS[field_name]
                continue
            raise ConfigError(f"{source}: missing field {field_name!r}")
        try:
            values[field_name] = parse(raw[field_name], values)
        except ValueError as error:
            raise ConfigError(f"{source}: field {field_name!r}: {error}") from None
    for field_name, check in _CROSS_FIELD_CHECKS:
        problem = check(values)
        if problem:
            raise ConfigError(f"{source}: field {field_name!r}: {problem}")
    return EnvironmentConfig(name=name, source=source, **values)


# Each parser gets the raw value and the fields parsed before it (account and region come first).
Parser = Callable[[object, Mapping[str, Any]], Any]


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _matching(pattern: str, expected: str) -> Parser:
    def parse(value: object, parsed: Mapping[str, Any]) -> str:
        text = _string(value)
        escaped = {key: re.escape(str(known)) for key, known in parsed.items()}
        if not re.fullmatch(pattern.format(**escaped), text):
            raise ValueError(f"expected {expected.format(**parsed)}, got {text!r}")
        return text

    return parse


def _list_of(item: Parser, *, min_items: int) -> Parser:
    def parse(value: object, parsed: Mapping[str, Any]) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {value!r}")
        if len(value) < min_items:
            raise ValueError(f"expected at least {min_items} item(s)")
        items = tuple(item(entry, parsed) for entry in value)
        if len(set(items)) != len(items):
            raise ValueError(f"duplicate items in {list(items)!r}")
        return items

    return parse


def _integer(*, low: int, high: int) -> Parser:
    def parse(value: object, _parsed: Mapping[str, Any]) -> int:
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"expected an integer from {low} to {high}, got {value!r}")
        return value

    return parse


def _one_of(allowed: tuple[int, ...]) -> Parser:
    def parse(value: object, _parsed: Mapping[str, Any]) -> int:
        if type(value) is not int or value not in allowed:
            raise ValueError(f"expected one of {', '.join(map(str, allowed))}, got {value!r}")
        return value

    return parse


def _ipv4_cidr(value: object, _parsed: Mapping[str, Any]) -> str:
    text = _string(value)
    try:
        return str(ipaddress.IPv4Network(text))
    except ValueError:
        raise ValueError(f"expected an IPv4 CIDR block such as 10.0.0.0/16, got {text!r}") from None


_ARN_PREFIX = r"arn:aws(-[a-z]+)*"
_SECRET_ARN = _matching(
    _ARN_PREFIX + r":secretsmanager:{region}:{account}:secret:[A-Za-z0-9/_+=.@-]+",
    "a Secrets Manager secret ARN in {region}/{account}",
)
_SECURITY_GROUP_ID = _matching(r"sg-[0-9a-f]{{8,17}}", "a security group id (sg-…)")
_ALB_PATH_PATTERN = _matching(
    r"/[A-Za-z0-9_\-.$/~\"'@:+*?&]{{0,127}}", "a path pattern starting with /"
)
_HOST_HEADER = _matching(r"[A-Za-z0-9*?.-]{{1,128}}", "a host name pattern such as app.example.com")

_FIELD_PARSERS: dict[str, Parser] = {
    "account": _matching(r"\d{{12}}", "a 12-digit AWS account id"),
    "region": _matching(
        r"[a-z]{{2}}(-gov|-iso[a-z]?)?-[a-z]+-\d", "an AWS region such as eu-west-1"
    ),
    "vpc_id": _matching(r"vpc-[0-9a-f]{{8,17}}", "a VPC id (vpc-…)"),
    "vpc_cidr": _ipv4_cidr,
    "availability_zones": _list_of(
        _matching(r"{region}[a-z]", "an availability zone of {region}"), min_items=1
    ),
    "private_subnet_ids": _list_of(
        _matching(r"subnet-[0-9a-f]{{8,17}}", "a subnet id (subnet-…)"), min_items=1
    ),
    "db_security_group_id": _SECURITY_GROUP_ID,
    "cluster_name": _matching(r"[A-Za-z0-9_-]{{1,255}}", "an ECS cluster name"),
    "listener_arn": _matching(
        _ARN_PREFIX
        + r":elasticloadbalancing:{region}:{account}:listener/app/[^/]+/[0-9a-f]+/[0-9a-f]+",
        "an application load balancer listener ARN in {region}/{account}",
    ),
    "listener_security_group_id": _SECURITY_GROUP_ID,
    "listener_rule_priority": _integer(low=1, high=50_000),
    "listener_host_headers": _list_of(_HOST_HEADER, min_items=0),
    "listener_path_patterns": _list_of(_ALB_PATH_PATTERN, min_items=0),
    "desired_count": _integer(low=1, high=1_000),
    "worker_desired_count": _integer(low=1, high=1_000),
    "cpu": _one_of(tuple(FARGATE_MEMORY_BY_CPU)),
    "memory": _integer(low=512, high=122_880),
    "db_endpoint": _matching(r"[A-Za-z0-9]([A-Za-z0-9.-]{{0,251}}[A-Za-z0-9])?", "a DNS host name"),
    "db_name": _matching(r"[A-Za-z_][A-Za-z0-9_]{{0,63}}", "a MySQL database name"),
    "db_secret_arn": _SECRET_ARN,
    "app_key_secret_arn": _SECRET_ARN,
    "mail_password_parameter_name": _matching(
        r"/[A-Za-z0-9_./-]{{1,1010}}", "an SSM parameter name starting with /"
    ),
    # A plain-string secret: ElastiCache's AUTH token, which the app reads as REDIS_PASSWORD.
    "redis_auth_secret_arn": _SECRET_ARN,
    "redis_node_type": _matching(
        r"cache\.[a-z0-9]+\.[a-z0-9]+", "an ElastiCache node type such as cache.t4g.micro"
    ),
    "log_retention_days": _one_of(LOG_RETENTION_DAYS),
    "github_repository": _matching(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", "owner/repository"),
    "github_environment": _matching(r"[A-Za-z0-9_.-]{{1,255}}", "a GitHub environment name"),
    "github_oidc_provider_arn": _matching(
        _ARN_PREFIX + r":iam::{account}:oidc-provider/token\.actions\.githubusercontent\.com",
        "the ARN of the token.actions.githubusercontent.com provider in account {account}",
    ),
}
_OPTIONAL_FIELDS: Mapping[str, object] = {
    "vpc_cidr": None,
    "listener_host_headers": (),
    "listener_path_patterns": (),
    "github_oidc_provider_arn": None,
    "worker_desired_count": 1,
}


def _memory_fits_cpu(values: Mapping[str, Any]) -> str | None:
    allowed = FARGATE_MEMORY_BY_CPU[values["cpu"]]
    if values["memory"] in allowed:
        return None
    return (
        f"{values['memory']} MiB is not a Fargate size for cpu {values['cpu']} "
        f"(allowed: {allowed[0]}-{allowed[-1]} in steps of {allowed[1] - allowed[0]})"
    )


def _subnets_per_zone(values: Mapping[str, Any]) -> str | None:
    subnets, zones = len(values["private_subnet_ids"]), len(values["availability_zones"])
    if subnets % zones == 0:
        return None
    return f"{subnets} subnet(s) do not split evenly over {zones} availability zone(s)"


def _listener_conditions(values: Mapping[str, Any]) -> str | None:
    count = len(values["listener_host_headers"]) + len(values["listener_path_patterns"])
    if count == 0:
        return "set listener_host_headers and/or listener_path_patterns"
    if count > MAX_LISTENER_CONDITION_VALUES:
        return f"{count} condition values; an ALB rule allows {MAX_LISTENER_CONDITION_VALUES}"
    return None


_CROSS_FIELD_CHECKS: tuple[tuple[str, Callable[[Mapping[str, Any]], str | None]], ...] = (
    ("memory", _memory_fits_cpu),
    ("private_subnet_ids", _subnets_per_zone),
    ("listener_path_patterns", _listener_conditions),
)
