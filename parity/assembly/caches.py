"""ElastiCache Redis in the assembly's templates, and the local overrides that point the app at
the local Redis standing in for each.

A replication group's (or Redis cache cluster's) endpoint only exists once deployed, so a
container env that reads it (``Fn::GetAtt [Group, PrimaryEndPoint.Address]``, directly or
through another stack's output) gets a named local override instead: the host is the network
name of that cache's stand-in on the run's network, the port the one the template declares,
on which the stand-in listens too. The stand-in requires the password the group's
``AuthToken`` names (a Secrets Manager dynamic reference), so an app that reads the wrong
secret fails locally as it would in AWS.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from parity.assembly.intrinsics import LocalOverride, Resolver, StackScope
from parity.assembly.secretref import SecretRef, SecretService, parse_value_from
from parity.errors import ConfigError

REPLICATION_GROUP = "AWS::ElastiCache::ReplicationGroup"
CACHE_CLUSTER = "AWS::ElastiCache::CacheCluster"
# The GetAtt endpoint names of each type; each has ``.Address`` and ``.Port``.
ENDPOINTS: Mapping[str, tuple[str, ...]] = {
    REPLICATION_GROUP: ("PrimaryEndPoint", "ReaderEndPoint"),
    CACHE_CLUSTER: ("RedisEndpoint",),
}
REDIS_DEFAULT_PORT = 6379
# {{resolve:secretsmanager:secret-id:SecretString:json-key:version-stage:version-id}}, the
# last four parts optional.
_DYNAMIC_SECRET = re.compile(
    r"\{\{resolve:secretsmanager:(?P<id>.+?)"
    r"(?::SecretString(?::(?P<key>[^:}]*)(?::(?P<stage>[^:}]*)(?::(?P<version>[^:}]*))?)?)?)?\}\}"
)
STAND_IN_REASON = "the local Redis stands in for ElastiCache"


@dataclass(frozen=True, kw_only=True)
class RedisCache:
    """One ElastiCache Redis resource: what its local stand-in must look like."""

    stack: str
    logical_id: str
    resource_type: str
    port: int
    # The secret holding the AUTH token; None when the group requires no AUTH.
    auth_token: SecretRef | None
    transit_encryption: bool

    @property
    def local_host(self) -> str:
        """The stand-in's name on the run's network, which the endpoint attributes resolve to."""
        return f"redis-{self.logical_id.lower()}"

    def overrides(self) -> tuple[LocalOverride, ...]:
        """The endpoint attributes, pointed at the stand-in."""
        return tuple(
            LocalOverride.get_att(
                stack=self.stack,
                logical_id=self.logical_id,
                attribute=f"{endpoint}.{part}",
                value=value,
                reason=STAND_IN_REASON,
            )
            for endpoint in ENDPOINTS[self.resource_type]
            for part, value in (("Address", self.local_host), ("Port", str(self.port)))
        )


def redis_caches(resolver: Resolver, stacks: Iterable[str]) -> tuple[RedisCache, ...]:
    """Every Redis replication group and Redis cache cluster of ``stacks``."""
    return tuple(
        _read(resolver, scope, logical_id, resource)
        for scope in (resolver.scope(name) for name in stacks)
        for logical_id, resource in _redis_resources(scope.template)
    )


def _redis_resources(template: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for logical_id, resource in template.get("Resources", {}).items():
        kind = resource.get("Type")
        engine = resource.get("Properties", {}).get("Engine", "redis")
        # A replication group without an Engine is Redis; memcached has no stand-in.
        if kind in ENDPOINTS and str(engine).lower() in ("redis", "valkey"):
            yield logical_id, resource


def _read(
    resolver: Resolver, scope: StackScope, logical_id: str, resource: Mapping[str, Any]
) -> RedisCache:
    properties = resource.get("Properties", {})
    # Only what the stand-in needs is resolved: the rest (subnet group, security groups)
    # names things that exist only once deployed.
    read = {
        name: resolver.resolve(properties[name], stack=scope.name, path=f"{logical_id}.{name}")
        for name in ("Port", "AuthToken", "TransitEncryptionEnabled")
        if name in properties
    }
    where = f"{scope.name} {logical_id}"
    port = read.get("Port", REDIS_DEFAULT_PORT)
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool):
        raise ConfigError(
            f"{where}.Port is {port!r}; the local Redis needs the port as a literal number"
        )
    token = read.get("AuthToken")
    return RedisCache(
        stack=scope.name,
        logical_id=logical_id,
        resource_type=resource["Type"],
        port=port,
        auth_token=None if token is None else _auth_secret(token, scope=scope, where=where),
        transit_encryption=read.get("TransitEncryptionEnabled") in (True, "true"),
    )


def _auth_secret(token: Any, *, scope: StackScope, where: str) -> SecretRef:
    match = _DYNAMIC_SECRET.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        raise ConfigError(
            f"{where}.AuthToken is not a Secrets Manager dynamic reference"
            " ({{resolve:secretsmanager:…}}); the local Redis takes its password from the"
            " secret the reference names"
        )
    secret_id = match["id"]
    if not secret_id.startswith("arn:"):
        secret_id = (
            f"arn:{scope.partition}:secretsmanager:{scope.region}:{scope.account}"
            f":secret:{secret_id}"
        )
    reference = ":".join(
        [secret_id, match["key"] or "", match["stage"] or "", match["version"] or ""]
    )
    secret = parse_value_from(reference)
    if secret.service is not SecretService.SECRETS_MANAGER:
        raise ConfigError(f"{where}.AuthToken names {secret_id}, not a Secrets Manager secret")
    return secret
