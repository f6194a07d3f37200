"""The local Redis that stands in for ElastiCache Redis.

The image is Debian's ``redis-server``, built from ``parity/assets/redis`` the way the MariaDB
stand-in is built, and tagged by the hash of that directory, so a changed stand-in is rebuilt.
The container listens on the port the replication group declares, joins the run's network
under the names the app's endpoint resolves to, and requires the AUTH password the app reads;
the password reaches it on stdin (``parity.engine.secretinject``), never in its config.
Readiness is a real ``AUTH`` + ``PING`` answered ``PONG`` through the loopback port.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.models.containers import Container

from parity.config.settings import ExtraCertificates
from parity.console import step
from parity.engine.baseimage import ensure_base_image
from parity.engine.images import ImageBuild, ensure_image
from parity.engine.ports import LOOPBACK_ADDRESS, claim_port
from parity.engine.secretinject import image_argv, start_with_secrets, wrapped_argv, wrapper_mount
from parity.secretvalue import SecretValue
from parity.services.readiness import published_port, remove_quietly, wait_until_ready

REDIS_CONTEXT = Path(__file__).parents[1] / "assets" / "redis"
REDIS_IMAGE_REPOSITORY = "fargate-parity/redis"
DEFAULT_REDIS_PORT = 6379
PORT_VARIABLE = "REDIS_PORT"
PASSWORD_VARIABLE = "REDIS_PASSWORD"  # noqa: S105  (the name the image reads, no value)
READY_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.1
PING_TIMEOUT_S = 1.0


@dataclass(frozen=True, kw_only=True)
class RedisSettings:
    image: str
    port: int = DEFAULT_REDIS_PORT
    password: SecretValue | None = None  # None: no AUTH, as a group without an AuthToken
    host_port: int | None = None  # None: Docker picks a free loopback port


def redis_image_tag(context: Path = REDIS_CONTEXT) -> str:
    """``fargate-parity/redis:bookworm-<hash>``: the hash covers every file of the context."""
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(path.relative_to(context).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return f"{REDIS_IMAGE_REPOSITORY}:bookworm-{digest.hexdigest()[:12]}"


def ensure_redis_image(client: docker.DockerClient, *, certificates: ExtraCertificates) -> str:
    """Build the stand-in once per change of its context; return its tag."""
    ensure_base_image(client)
    build = ImageBuild(tag=redis_image_tag(), context=REDIS_CONTEXT, dockerfile="Dockerfile")
    return ensure_image(client, build, certificates=certificates)


def start_redis(
    client: docker.DockerClient,
    settings: RedisSettings,
    *,
    name: str,
    network: str,
    aliases: Sequence[str],
    labels: dict[str, str],
    ready_timeout_s: float = READY_TIMEOUT_S,
) -> Container:
    """``launch_redis``, then ``await_redis``."""
    container = launch_redis(
        client, settings, name=name, network=network, aliases=aliases, labels=labels
    )
    await_redis(container, settings, timeout_s=ready_timeout_s)
    return container


def launch_redis(
    client: docker.DockerClient,
    settings: RedisSettings,
    *,
    name: str,
    network: str,
    aliases: Sequence[str],
    labels: dict[str, str],
) -> Container:
    """Start Redis on ``network`` (as ``name`` and ``aliases``) and publish its port on
    loopback; ``await_redis`` waits for it. When it cannot start, the container is removed
    first."""
    if settings.host_port is not None:
        claim_port(settings.host_port, purpose="the local Redis")
    api = client.api
    entrypoint, command = wrapped_argv(*image_argv(client, settings.image))
    created = api.create_container(
        settings.image,
        name=name,
        entrypoint=entrypoint,
        command=command,
        environment={PORT_VARIABLE: str(settings.port)},
        labels=labels,
        ports=[settings.port],
        stdin_open=True,  # the password arrives on stdin: see parity.engine.secretinject
        healthcheck={"test": ["NONE"]},  # readiness is judged by a PING: await_redis
        host_config=api.create_host_config(
            port_bindings={settings.port: (LOOPBACK_ADDRESS, settings.host_port)},
            mounts=[wrapper_mount()],
        ),
        networking_config=api.create_networking_config(
            {network: api.create_endpoint_config(aliases=[name, *aliases])}
        ),
    )
    container = client.containers.get(created["Id"])
    secrets = {} if settings.password is None else {PASSWORD_VARIABLE: settings.password}
    try:
        start_with_secrets(client, container.id, secrets)
    except BaseException:
        remove_quietly(container)
        raise
    return container


def await_redis(container: Container, settings: RedisSettings, *, timeout_s: float) -> None:
    """Wait until the launched Redis answers PONG; when it does not in time, the container
    is removed before the error surfaces."""
    try:
        with step(f"waiting for the local Redis ({settings.image}) to answer PING"):
            wait_for_pong(container, settings, timeout_s=timeout_s)
    except BaseException:
        remove_quietly(container)
        raise


def wait_for_pong(container: Container, settings: RedisSettings, *, timeout_s: float) -> None:
    """Wait until ``AUTH`` + ``PING`` through the loopback port answers PONG; fail fast if the
    container exits."""
    port = published_port(container, f"{settings.port}/tcp")
    wait_until_ready(
        container,
        what="the local Redis",
        probe=lambda: ping(port=port, password=settings.password),
        timeout_s=timeout_s,
        poll_interval_s=POLL_INTERVAL_S,
    )


def answers_ping(container: Container, settings: RedisSettings) -> bool:
    """Whether a running stand-in answers PONG with ``settings``' password on its port."""
    bindings = container.attrs["NetworkSettings"]["Ports"].get(f"{settings.port}/tcp") or []
    if not bindings:
        return False
    return ping(port=int(bindings[0]["HostPort"]), password=settings.password) is None


def ping(*, port: int, password: SecretValue | None, host: str = LOOPBACK_ADDRESS) -> str | None:
    """None when Redis answers PONG (after AUTH, with a password); else what went wrong, in
    one line that never holds the password."""
    try:
        with socket.create_connection((host, port), timeout=PING_TIMEOUT_S) as connection:
            replies = connection.makefile("rb")
            if password is not None:
                connection.sendall(_command("AUTH", password.reveal()))
                reply = replies.readline()
                if not reply.startswith(b"+OK"):
                    return f"AUTH answered {_show(reply)}"
            connection.sendall(_command("PING"))
            reply = replies.readline()
    except OSError as error:
        return str(error) or type(error).__name__
    return None if reply == b"+PONG\r\n" else f"PING answered {_show(reply)}"


def _command(*words: str) -> bytes:
    """A command in RESP, Redis's protocol: an array of bulk strings."""
    encoded = [word.encode() for word in words]
    return b"".join(
        [f"*{len(encoded)}\r\n".encode()]
        + [b"$%d\r\n%s\r\n" % (len(word), word) for word in encoded]
    )


def _show(reply: bytes) -> str:
    return reply.decode(errors="replace").strip() or "nothing (connection closed)"
