"""The local Redis stand-in: built from Debian's redis-server, ready on a real PING, AUTH on."""

from __future__ import annotations

import docker
import pytest
from docker.models.containers import Container

from parity.config.settings import ExtraCertificates
from parity.secretvalue import SecretValue
from parity.services.readiness import published_port, remove_quietly
from parity.services.redis import RedisSettings, answers_ping, ensure_redis_image, ping, start_redis

pytestmark = pytest.mark.integration

# Quote and backslash: the config line that carries it must escape both.
PASSWORD = SecretValue('dev-"redis"\\pass')
PORT = 6380


@pytest.fixture(scope="module")
def redis_image(docker_client: docker.DockerClient, certificates: ExtraCertificates) -> str:
    return ensure_redis_image(docker_client, certificates=certificates)


@pytest.fixture(scope="module")
def redis(
    docker_client: docker.DockerClient,
    redis_image: str,
    network: str,
    labels: dict[str, str],
    run_id: str,
) -> Container:
    settings = RedisSettings(image=redis_image, port=PORT, password=PASSWORD)
    container = start_redis(
        docker_client,
        settings,
        name=f"parity-test-{run_id}-redis",
        network=network,
        aliases=["redis-cache"],
        labels=labels,
    )
    yield container
    remove_quietly(container)


def test_answers_an_authenticated_ping_on_the_templates_port(redis: Container) -> None:
    port = published_port(redis, f"{PORT}/tcp")
    assert ping(port=port, password=PASSWORD) is None
    assert answers_ping(redis, RedisSettings(image="unused", port=PORT, password=PASSWORD))


def test_requires_the_password(redis: Container) -> None:
    port = published_port(redis, f"{PORT}/tcp")
    assert ping(port=port, password=None) == "PING answered -NOAUTH Authentication required."
    wrong = ping(port=port, password=SecretValue("wrong"))
    assert wrong is not None
    assert wrong.startswith("AUTH answered -WRONGPASS")


def test_publishes_on_loopback_only(redis: Container) -> None:
    bindings = redis.attrs["NetworkSettings"]["Ports"][f"{PORT}/tcp"]
    assert [binding["HostIp"] for binding in bindings] == ["127.0.0.1"]


def test_the_password_is_in_no_container_config(
    docker_client: docker.DockerClient, redis: Container
) -> None:
    config = docker_client.api.inspect_container(redis.id)
    assert PASSWORD.reveal() not in str(config)
    top = docker_client.api.top(redis.id)
    assert PASSWORD.reveal() not in str(top)


def test_the_app_reaches_it_by_its_alias_on_the_run_network(
    docker_client: docker.DockerClient, redis_image: str, redis: Container, network: str
) -> None:
    output = docker_client.containers.run(
        redis_image,
        entrypoint=["redis-cli"],
        command=["-h", "redis-cache", "-p", str(PORT), "ping"],
        environment={"REDISCLI_AUTH": PASSWORD.reveal()},
        network=network,
        remove=True,
    )
    assert output.strip() == b"PONG"
