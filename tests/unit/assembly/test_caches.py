"""ElastiCache Redis in templates: what its stand-in must look like, and the overrides that
point the app's endpoint at it."""

from __future__ import annotations

from typing import Any

import pytest

from parity.assembly.apptasks import AppTasks, deploy_stacks, environment_tasks
from parity.assembly.caches import RedisCache, redis_caches
from parity.assembly.intrinsics import Resolver, StackScope
from parity.assembly.secretref import SecretService
from parity.errors import ConfigError, UnresolvableField

from ..cdk.cdk_assembly import PROJECT_ROOT
from ..synthesized import synthesized_assembly

AUTH_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/redis-auth"


def caches_of(*resources: tuple[str, dict[str, Any]]) -> tuple[RedisCache, ...]:
    template = {"Resources": dict(resources)}
    scope = StackScope(name="App", template=template, account="123456789012", region="eu-west-1")
    return redis_caches(Resolver.create([scope]), ["App"])


def group(**properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::ElastiCache::ReplicationGroup",
        "Properties": {
            "SecurityGroupIds": [{"Fn::GetAtt": ["Group", "GroupId"]}],  # never resolved
            **properties,
        },
    }


@pytest.fixture(scope="module")
def local_tasks(tmp_path_factory: pytest.TempPathFactory) -> AppTasks:
    return environment_tasks(PROJECT_ROOT, "local", synthesized_assembly(tmp_path_factory, "local"))


def test_the_apps_redis_is_found_with_its_port_auth_and_tls(local_tasks: AppTasks) -> None:
    (cache,) = local_tasks.caches
    assert cache.stack == "Laravel-Local-Migration"
    assert cache.logical_id.startswith("RedisReplicationGroup")
    assert (cache.port, cache.transit_encryption) == (6380, True)
    assert cache.auth_token is not None
    assert cache.auth_token.service is SecretService.SECRETS_MANAGER
    assert cache.auth_token.name == "laravel/local/redis-auth"
    assert cache.local_host == f"redis-{cache.logical_id.lower()}"


def test_every_laravel_container_reads_the_stand_in(local_tasks: AppTasks) -> None:
    # The migration reads the group's GetAtt in its own stack; the service the migration
    # stack's output (Fn::GetStackOutput). Both resolve to the stand-in.
    (cache,) = local_tasks.caches
    for container in (
        local_tasks.migration.container("migrate"),
        local_tasks.service("webservice").task.container("laravel"),
        local_tasks.service("workerservice").task.container("worker"),
    ):
        assert container.environment["REDIS_HOST"] == cache.local_host
        assert container.environment["REDIS_PORT"] == "6380"
        assert container.secrets["REDIS_PASSWORD"].name == "laravel/local/redis-auth"


def test_the_worker_runs_as_a_service_and_the_scheduler_deploys_last(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    stacks = deploy_stacks(PROJECT_ROOT, "local", synthesized_assembly(tmp_path_factory, "local"))
    assert stacks.all == (
        "Laravel-Local-Migration",
        "Laravel-Local-Service",
        "Laravel-Local-Worker",
        "Laravel-Local-Scheduler",
    )
    assert stacks.others == ("Laravel-Local-Scheduler",)


def test_overrides_cover_each_endpoint_of_the_type() -> None:
    (replication,) = caches_of(("Group", group(Port=6380)))
    assert {(o.target, o.value) for o in replication.overrides()} == {
        ("Group.PrimaryEndPoint.Address", "redis-group"),
        ("Group.PrimaryEndPoint.Port", "6380"),
        ("Group.ReaderEndPoint.Address", "redis-group"),
        ("Group.ReaderEndPoint.Port", "6380"),
    }
    assert all(o.stack == "App" and "stands in" in o.reason for o in replication.overrides())
    (cluster,) = caches_of(
        ("Cluster", {"Type": "AWS::ElastiCache::CacheCluster", "Properties": {"Engine": "redis"}})
    )
    assert {(o.target, o.value) for o in cluster.overrides()} == {
        ("Cluster.RedisEndpoint.Address", "redis-cluster"),
        ("Cluster.RedisEndpoint.Port", "6379"),
    }


def test_defaults_without_port_auth_or_tls() -> None:
    (cache,) = caches_of(("Group", group()))
    assert (cache.port, cache.auth_token, cache.transit_encryption) == (6379, None, False)


def test_memcached_gets_no_redis_stand_in() -> None:
    memcached = {"Type": "AWS::ElastiCache::CacheCluster", "Properties": {"Engine": "memcached"}}
    assert caches_of(("Memcached", memcached)) == ()


@pytest.mark.parametrize(
    ("token", "secret_id", "json_key"),
    [
        (f"{{{{resolve:secretsmanager:{AUTH_ARN}:SecretString:::}}}}", AUTH_ARN, None),
        (f"{{{{resolve:secretsmanager:{AUTH_ARN}}}}}", AUTH_ARN, None),
        (f"{{{{resolve:secretsmanager:{AUTH_ARN}:SecretString:token::}}}}", AUTH_ARN, "token"),
        # By name: the stack's own account and region.
        ("{{resolve:secretsmanager:app/redis-auth:SecretString}}", AUTH_ARN, None),
        ({"Fn::Join": ["", ["{{resolve:secretsmanager:", AUTH_ARN, "}}"]]}, AUTH_ARN, None),
    ],
)
def test_the_auth_token_names_its_secret(token: Any, secret_id: str, json_key: str | None) -> None:
    (cache,) = caches_of(("Group", group(AuthToken=token)))
    assert cache.auth_token is not None
    assert (cache.auth_token.secret_id, cache.auth_token.json_key) == (secret_id, json_key)


def test_a_literal_auth_token_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"App Group\.AuthToken is not a Secrets Manager dyn"):
        caches_of(("Group", group(AuthToken="hunter2hunter2hunter2")))


def test_a_port_the_stand_in_cannot_know_is_an_error() -> None:
    with pytest.raises(UnresolvableField, match=r"App Group\.Port: Ref 'Nope' names no"):
        caches_of(("Group", group(Port={"Ref": "Nope"})))
    with pytest.raises(ConfigError, match=r"App Group\.Port is 'six'; the local Redis needs"):
        caches_of(("Group", group(Port="six")))
