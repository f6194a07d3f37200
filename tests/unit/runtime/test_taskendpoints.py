"""What Fargate gives every container: the env each gets and the sidecar's nginx answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parity.assembly.taskdef import ContainerSpec, PortMapping, TaskDefinition
from parity.errors import ConfigError
from parity.runtime.taskendpoints import (
    EMULATOR_PORT,
    METADATA_PORT,
    TaskEndpoints,
    endpoint_variables,
    nginx_config,
)

ROLE = "arn:aws:iam::111111111111:role/Task"


def task(*, role: str | None = ROLE, port: int = 8000) -> TaskDefinition:
    container = ContainerSpec(
        name="web", image="app", port_mappings=(PortMapping(container_port=port),)
    )
    return TaskDefinition(
        logical_id="WebTask",
        family="shop-web",
        network_mode="awsvpc",
        cpu_units=256,
        memory_mib=512,
        containers=(container,),
        task_role_arn=role,
    )


def endpoints(tmp_path: Path) -> TaskEndpoints:
    nothing: Any = None  # neither Docker nor the emulator is touched by what is tested here
    return TaskEndpoints(
        nothing,
        image="nginx",
        emulator=nothing,
        state_root=tmp_path,
        cluster="local",
        account="111111111111",
        region="eu-central-1",
    )


def test_each_container_gets_the_metadata_credentials_and_emulator_uris(tmp_path: Path) -> None:
    environment = endpoints(tmp_path).environment(task(), "shop-web-1", "web")
    assert (
        environment["ECS_CONTAINER_METADATA_URI_V4"] == f"http://127.0.0.1:{METADATA_PORT}/v4/web"
    )
    assert environment["ECS_CONTAINER_METADATA_URI"] == environment["ECS_CONTAINER_METADATA_URI_V4"]
    assert environment["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{EMULATOR_PORT}"
    credentials = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    # botocore takes a full URI over http only on these hosts.
    assert credentials.startswith(f"http://127.0.0.1:{METADATA_PORT}/v2/credentials/")


def test_a_task_without_a_role_gets_no_credentials_uri(tmp_path: Path) -> None:
    environment = endpoints(tmp_path).environment(task(role=None), "shop-web-1", "web")
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" not in environment
    assert set(environment) == endpoint_variables(task(role=None))
    assert set(endpoints(tmp_path).environment(task(), "t", "web")) == endpoint_variables(task())


def test_each_task_has_its_own_credentials_path(tmp_path: Path) -> None:
    sidecar = endpoints(tmp_path)
    assert sidecar.credentials_path("a") != sidecar.credentials_path("b")
    assert sidecar.credentials_path("a") == sidecar.credentials_path("a")


def test_the_sidecar_listens_only_on_the_tasks_loopback() -> None:
    config = nginx_config("/v2/credentials/x")
    assert f"listen 127.0.0.1:{METADATA_PORT};" in config
    assert f"listen 127.0.0.1:{EMULATOR_PORT};" in config
    assert "location = /v2/credentials/x" in config
    assert "proxy_pass http://unix:" in config


@pytest.mark.parametrize("port", [METADATA_PORT, EMULATOR_PORT])
def test_a_container_on_an_endpoint_port_is_refused_naming_it(tmp_path: Path, port: int) -> None:
    with pytest.raises(ConfigError, match=f"container web listens on {port}"):
        endpoints(tmp_path).start(task(port=port), "shop-web-1", "holder", {})
