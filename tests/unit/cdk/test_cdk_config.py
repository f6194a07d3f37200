"""Environment config: every file loads, and bad input names the file and the field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from laravel_infra.config import (
    ConfigError,
    EnvironmentConfig,
    environment_names,
    load_environment,
    load_environments,
)

from .cdk_assembly import CDK_DIR, ENVIRONMENT_NAMES, ENVIRONMENTS_DIR

PROD_OIDC_PROVIDER_ARN = (
    "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com"
)


def write_environment(directory: Path, name: str, values: dict[str, Any]) -> Path:
    # JSON strings, numbers, booleans and arrays are valid TOML values too.
    path = directory / f"{name}.toml"
    path.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items()))
    return path


@pytest.fixture
def qa_values() -> dict[str, Any]:
    return tomllib.loads((ENVIRONMENTS_DIR / "qa.toml").read_text())


def load_qa_with(tmp_path: Path, values: dict[str, Any]) -> EnvironmentConfig:
    write_environment(tmp_path, "qa", values)
    return load_environment("qa", directory=tmp_path)


def test_the_three_environments_exist() -> None:
    assert ENVIRONMENT_NAMES == ("local", "prod", "qa")
    assert environment_names(ENVIRONMENTS_DIR) == ENVIRONMENT_NAMES


@pytest.mark.parametrize("name", ENVIRONMENT_NAMES)
def test_every_environment_file_loads(name: str) -> None:
    config = load_environment(name, directory=ENVIRONMENTS_DIR)
    assert config.name == name
    assert config.github_environment == name
    assert config.source == ENVIRONMENTS_DIR / f"{name}.toml"


def test_config_is_frozen() -> None:
    config = load_environment("qa", directory=ENVIRONMENTS_DIR)
    with pytest.raises(AttributeError):
        config.cpu = 4096  # type: ignore[misc]


def test_local_uses_obviously_fake_ids() -> None:
    local = load_environment("local", directory=ENVIRONMENTS_DIR)
    assert local.account == "000000000000"
    assert local.region == "us-east-1"
    assert local.db_endpoint == "aurora.local.internal"
    assert local.db_secret_arn.endswith(":000000000000:secret:laravel/local/aurora")
    assert local.app_key_secret_arn.endswith(":000000000000:secret:laravel/local/app-key")
    assert local.mail_password_parameter_name == "/laravel/local/mail-password"


def test_load_environments_selects_one() -> None:
    (only,) = load_environments(ENVIRONMENTS_DIR, only="prod")
    assert only.name == "prod"
    assert [config.name for config in load_environments(ENVIRONMENTS_DIR)] == list(
        ENVIRONMENT_NAMES
    )


def test_unknown_environment_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as raised:
        load_environment("staging", directory=ENVIRONMENTS_DIR)
    assert str(raised.value) == (
        "unknown environment 'staging'; valid environments: local, prod, qa"
    )


def test_missing_field_names_the_field_and_the_file(
    tmp_path: Path, qa_values: dict[str, Any]
) -> None:
    del qa_values["listener_arn"]
    with pytest.raises(ConfigError) as raised:
        load_qa_with(tmp_path, qa_values)
    assert str(raised.value) == f"{tmp_path / 'qa.toml'}: missing field 'listener_arn'"


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("account", "12345", "a 12-digit AWS account id"),
        ("cpu", 300, "expected one of 256, 512"),
        ("cpu", "512", "expected one of 256, 512"),
        ("desired_count", 0, "an integer from 1"),
        ("desired_count", True, "an integer from 1"),
        ("private_subnet_ids", ["subnet-1"], "a subnet id"),
        ("private_subnet_ids", [], "at least 1 item"),
        ("availability_zones", ["us-east-1a"], "an availability zone of eu-west-1"),
        ("listener_arn", "arn:aws:elasticloadbalancing:eu-west-1:999999999999:listener/app/x/1/2",
         "listener ARN in eu-west-1/111111111111"),
        ("db_secret_arn", "arn:aws:secretsmanager:us-east-1:111111111111:secret:laravel/qa/aurora",
         "secret ARN in eu-west-1/111111111111"),
        ("listener_rule_priority", 0, "from 1 to 50000"),
        ("log_retention_days", 10, "expected one of 1, 3, 5"),
        ("vpc_cidr", "10.0.0.1/16", "IPv4 CIDR"),
        ("mail_password_parameter_name", "laravel/qa/mail", "starting with /"),
        ("github_repository", "laravel-app", "owner/repository"),
        ("github_oidc_provider_arn", PROD_OIDC_PROVIDER_ARN, "provider in account 111111111111"),
    ],
)  # fmt: skip
def test_invalid_field_names_the_field_and_the_file(
    tmp_path: Path, qa_values: dict[str, Any], field: str, value: object, complaint: str
) -> None:
    qa_values[field] = value
    with pytest.raises(ConfigError) as raised:
        load_qa_with(tmp_path, qa_values)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'qa.toml'}: field {field!r}: ")
    assert complaint in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("changes", "field", "complaint"),
    [
        ({"cpu": 256, "memory": 4096}, "memory", "not a Fargate size for cpu 256"),
        ({"private_subnet_ids": ["subnet-0a11111111111111a"]}, "private_subnet_ids",
         "do not split evenly over 2 availability zone(s)"),
        ({"listener_host_headers": []}, "listener_path_patterns", "set listener_host_headers"),
        ({"listener_path_patterns": ["/a", "/b", "/c", "/d", "/e"]}, "listener_path_patterns",
         "6 condition values"),
    ],
)  # fmt: skip
def test_inconsistent_fields_name_the_field_and_the_file(
    tmp_path: Path, qa_values: dict[str, Any], changes: dict[str, Any], field: str, complaint: str
) -> None:
    qa_values.update(changes)
    with pytest.raises(ConfigError) as raised:
        load_qa_with(tmp_path, qa_values)
    assert str(raised.value).startswith(f"{tmp_path / 'qa.toml'}: field {field!r}: ")
    assert complaint in str(raised.value)


def test_unknown_field_is_a_typo_not_a_silent_default(
    tmp_path: Path, qa_values: dict[str, Any]
) -> None:
    qa_values["desired_cont"] = 3
    with pytest.raises(ConfigError) as raised:
        load_qa_with(tmp_path, qa_values)
    assert str(raised.value).startswith(f"{tmp_path / 'qa.toml'}: unknown field 'desired_cont'")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "qa.toml").write_text("account = \n")
    with pytest.raises(ConfigError, match=r"qa\.toml: invalid TOML"):
        load_environment("qa", directory=tmp_path)


def test_optional_fields_default(tmp_path: Path, qa_values: dict[str, Any]) -> None:
    del qa_values["vpc_cidr"]
    config = load_qa_with(tmp_path, qa_values)
    assert config.vpc_cidr is None
    assert config.github_oidc_provider_arn is None
    assert config.listener_path_patterns == ()


def test_app_reports_a_config_error_in_one_line_without_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, str(CDK_DIR / "app.py")],
        env={**os.environ, "CDK_CONTEXT_JSON": '{"env": "staging"}'},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: unknown environment 'staging'; valid environments: local, prod, qa"
    )
    assert "Traceback" not in result.stderr
