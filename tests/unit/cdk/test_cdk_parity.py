"""Parity: the migration container and the service's Laravel container are the same program.

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


def laravel_containers(assembly: Assembly, env: str) -> tuple[dict[str, Any], dict[str, Any]]:
    _, migration = only_resource(
        assembly.template(stack_name(env, "Migration")), "AWS::ECS::TaskDefinition"
    )
    _, service = only_resource(
        assembly.template(stack_name(env, "Service")), "AWS::ECS::TaskDefinition"
    )
    return container(migration, "migrate"), container(service, "laravel")


def image_tag(definition: dict[str, Any]) -> str:
    # {"Fn::Sub": "<account>.dkr.ecr.<region>.${AWS::URLSuffix}/<assets repository>:<asset hash>"}
    tag: str = definition["Image"]["Fn::Sub"].rsplit(":", 1)[1]
    return tag


def test_identical_environment(assembly: Assembly, env: str) -> None:
    migrate, laravel = laravel_containers(assembly, env)
    assert migrate["Environment"] == laravel["Environment"]
    assert {item["Name"] for item in migrate["Environment"]} == {
        "APP_ENV", "APP_DEBUG", "LOG_CHANNEL", "DB_CONNECTION", "DB_HOST", "DB_PORT", "DB_DATABASE",
    }  # fmt: skip


def test_identical_secrets(assembly: Assembly, env: str) -> None:
    migrate, laravel = laravel_containers(assembly, env)
    assert migrate["Secrets"] == laravel["Secrets"]
    assert [item["Name"] for item in migrate["Secrets"]] == [
        "DB_USERNAME", "DB_PASSWORD", "APP_KEY", "MAIL_PASSWORD",
    ]  # fmt: skip


def test_secrets_point_at_the_configured_sources(assembly: Assembly, env: str) -> None:

    config = load_environment(env, directory=ENVIRONMENTS_DIR)
    migrate, _ = laravel_containers(assembly, env)
    value_from = {item["Name"]: item["ValueFrom"] for item in migrate["Secrets"]}
    assert value_from == {
        "DB_USERNAME": f"{config.db_secret_arn}:username::",
        "DB_PASSWORD": f"{config.db_secret_arn}:password::",
        "APP_KEY": config.app_key_secret_arn,
        "MAIL_PASSWORD": (
            f"arn:aws:ssm:{config.region}:{config.account}:parameter"
            f"{config.mail_password_parameter_name}"
        ),
    }
    environment = {item["Name"]: item["Value"] for item in migrate["Environment"]}
    assert environment["APP_ENV"] == env
    assert environment["DB_HOST"] == config.db_endpoint
    assert environment["DB_DATABASE"] == config.db_name
    assert (environment["APP_DEBUG"], environment["DB_PORT"]) == ("false", "3306")


def test_same_image_asset(assembly: Assembly, env: str) -> None:
    migrate, laravel = laravel_containers(assembly, env)
    assert migrate["Image"] == laravel["Image"]
    laravel_hash = image_tag(laravel)
    for kind in ("Migration", "Service"):
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
