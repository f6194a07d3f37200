"""Parity: every Laravel container (migration, web, worker, scheduler) is the same program.

Read from the synthesized templates and asset manifests, so it holds for what gets deployed.
"""

from __future__ import annotations

from typing import Any

import pytest
from laravel_infra.config import load_environment

from .cdk_assembly import (
    ENVIRONMENT_NAMES,
    ENVIRONMENTS_DIR,
    Assembly,
    container,
    only_resource,
    stack_name,
)

pytestmark = pytest.mark.parametrize("env", ENVIRONMENT_NAMES)


# stack kind -> its Laravel container
LARAVEL_CONTAINERS = {
    "Migration": "migrate",
    "Service": "laravel",
    "Worker": "worker",
    "Scheduler": "scheduler",
}


def laravel_containers(assembly: Assembly, env: str) -> dict[str, dict[str, Any]]:
    """Stack kind -> its Laravel container definition."""
    found = {}
    for kind, name in LARAVEL_CONTAINERS.items():
        _, task = only_resource(
            assembly.template(stack_name(env, kind)), "AWS::ECS::TaskDefinition"
        )
        found[kind] = container(task, name)
    return found


def same_everywhere(assembly: Assembly, env: str, field: str) -> Any:
    """The field's value, asserted equal in every Laravel container; the stack a value comes
    from (Fn::GetStackOutput of the migration stack, or its own GetAtt there) is read through."""
    values = {
        kind: locally_read(c[field], kind) for kind, c in laravel_containers(assembly, env).items()
    }
    first = values["Migration"]
    assert all(value == first for value in values.values()), values
    return first


def locally_read(value: Any, kind: str) -> Any:
    """Replace other stacks' published outputs by the expression they publish."""
    if isinstance(value, list):
        return [locally_read(item, kind) for item in value]
    if isinstance(value, dict):
        if list(value) == ["Fn::GetStackOutput"]:
            return {"output": value["Fn::GetStackOutput"]["OutputName"]}
        return {key: locally_read(item, kind) for key, item in value.items()}
    return value


def image_tag(definition: dict[str, Any]) -> str:
    # {"Fn::Sub": "<account>.dkr.ecr.<region>.${AWS::URLSuffix}/<assets repository>:<asset hash>"}
    tag: str = definition["Image"]["Fn::Sub"].rsplit(":", 1)[1]
    return tag


def test_identical_environment(assembly: Assembly, env: str) -> None:
    containers = laravel_containers(assembly, env)
    names = [[item["Name"] for item in c["Environment"]] for c in containers.values()]
    assert all(each == names[0] for each in names)
    assert set(names[0]) == {
        "APP_ENV", "APP_DEBUG", "LOG_CHANNEL", "DB_CONNECTION", "DB_HOST", "DB_PORT", "DB_DATABASE",
        "CACHE_DRIVER", "SESSION_DRIVER", "QUEUE_CONNECTION", "REDIS_HOST", "REDIS_PORT",
        "REDIS_SCHEME",
    }  # fmt: skip
    # Plain values are equal; the Redis endpoint is the same replication group's, read in
    # the migration stack and published to the others.
    values = {
        kind: {i["Name"]: i["Value"] for i in c["Environment"]} for kind, c in containers.items()
    }
    for name in names[0]:
        if name not in ("REDIS_HOST", "REDIS_PORT"):
            assert len({values[kind][name] for kind in values}) == 1, name
    redis_id, _ = only_resource(
        assembly.template(stack_name(env, "Migration")), "AWS::ElastiCache::ReplicationGroup"
    )
    outputs = assembly.template(stack_name(env, "Migration"))["Outputs"]
    for name, attribute in (("REDIS_HOST", "Address"), ("REDIS_PORT", "Port")):
        expected = {"Fn::GetAtt": [redis_id, f"PrimaryEndPoint.{attribute}"]}
        assert values["Migration"][name] == expected
        for kind in ("Service", "Worker", "Scheduler"):
            reference = values[kind][name]["Fn::GetStackOutput"]
            assert reference["StackName"] == stack_name(env, "Migration")
            assert outputs[reference["OutputName"]]["Value"] == expected


def test_identical_secrets(assembly: Assembly, env: str) -> None:
    secrets = same_everywhere(assembly, env, "Secrets")
    assert [item["Name"] for item in secrets] == [
        "DB_USERNAME", "DB_PASSWORD", "APP_KEY", "MAIL_PASSWORD", "REDIS_PASSWORD",
    ]  # fmt: skip


def test_secrets_point_at_the_configured_sources(assembly: Assembly, env: str) -> None:

    config = load_environment(env, directory=ENVIRONMENTS_DIR)
    migrate = laravel_containers(assembly, env)["Migration"]
    value_from = {item["Name"]: item["ValueFrom"] for item in migrate["Secrets"]}
    assert value_from == {
        "DB_USERNAME": f"{config.db_secret_arn}:username::",
        "DB_PASSWORD": f"{config.db_secret_arn}:password::",
        "APP_KEY": config.app_key_secret_arn,
        "MAIL_PASSWORD": (
            f"arn:aws:ssm:{config.region}:{config.account}:parameter"
            f"{config.mail_password_parameter_name}"
        ),
        "REDIS_PASSWORD": config.redis_auth_secret_arn,
    }
    environment = {item["Name"]: item["Value"] for item in migrate["Environment"]}
    assert environment["APP_ENV"] == env
    assert environment["DB_HOST"] == config.db_endpoint
    assert environment["DB_DATABASE"] == config.db_name
    assert (environment["APP_DEBUG"], environment["DB_PORT"]) == ("false", "3306")
    assert {
        environment[name] for name in ("CACHE_DRIVER", "SESSION_DRIVER", "QUEUE_CONNECTION")
    } == {"redis"}
    assert environment["REDIS_SCHEME"] == "tls"


def test_same_image_asset(assembly: Assembly, env: str) -> None:
    image = same_everywhere(assembly, env, "Image")
    laravel_hash = image_tag({"Image": image})
    for kind in LARAVEL_CONTAINERS:
        images = assembly.assets(stack_name(env, kind))["dockerImages"]
        assert images[laravel_hash]["source"] == {
            "directory": f"asset.{laravel_hash}",
            "dockerFile": "Dockerfile-laravel",
            "dockerBuildTarget": "runtime",
        }


def test_nginx_image_is_its_own_asset(assembly: Assembly, env: str) -> None:
    _, service = only_resource(
        assembly.template(stack_name(env, "Service")), "AWS::ECS::TaskDefinition"
    )
    nginx_hash = image_tag(container(service, "nginx"))
    assert nginx_hash != image_tag(container(service, "laravel"))
    images = assembly.assets(stack_name(env, "Service"))["dockerImages"]
    assert images[nginx_hash]["source"] == {
        "directory": f"asset.{nginx_hash}",
        "dockerFile": "Dockerfile-nginx",
    }
