"""The local MySQL that stands in for Aurora MySQL 3 (the ``mysql:8.0`` family).

The default image is ``mysql:8.0``. Where no registry answers, a MySQL-compatible image
built from Debian's MariaDB packages (``resources/Dockerfile-mysql``) takes its place,
and the switch is announced. Both get the same health check, so readiness is judged
the same way: the configured user can run a query in the configured database.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from parity.baseimage import ensure_base_image, try_pull
from parity.console import note, step
from parity.errors import NotReady
from parity.images import ExtraCertificates, ImageBuild, ensure_image, image_exists
from parity.netcheck import ensure_port_free

DEFAULT_DB_IMAGE = "mysql:8.0"
MARIADB_IMAGE = "fargate-parity/mariadb:bookworm"
READY_TIMEOUT_S = 90.0
# Runs inside the container; the shell expands the variables, so no value is in our argv.
READY_PROBE = (
    'MYSQL_PWD="$MYSQL_PASSWORD" mysql --protocol=TCP -h127.0.0.1 -u"$MYSQL_USER" '
    '-e "SELECT 1" "$MYSQL_DATABASE" >/dev/null 2>&1'
)
NANOSECONDS = 1_000_000_000


@dataclass(frozen=True)
class DatabaseSettings:
    database: str
    user: str
    password: str = field(repr=False)
    root_password: str = field(repr=False)
    image: str = DEFAULT_DB_IMAGE
    host_port: int | None = None  # None: Docker picks a free loopback port


def resolve_image(
    client: docker.DockerClient,
    requested: str,
    *,
    resources: Path,
    certificates: ExtraCertificates,
) -> str:
    """Return a usable DB image: the requested one, or the MariaDB stand-in."""
    if requested == MARIADB_IMAGE:
        return build_mariadb(client, resources=resources, certificates=certificates)
    if image_exists(client, requested) or try_pull(client, requested):
        return requested
    if requested != DEFAULT_DB_IMAGE:
        raise NotReady(
            f"DB image {requested} is not local and cannot be pulled; load it, or set "
            f"PARITY_DB_IMAGE={MARIADB_IMAGE} to build the MariaDB stand-in"
        )
    note(f"{requested} cannot be pulled; using {MARIADB_IMAGE}, built from Debian's MariaDB")
    return build_mariadb(client, resources=resources, certificates=certificates)


def build_mariadb(
    client: docker.DockerClient, *, resources: Path, certificates: ExtraCertificates
) -> str:
    ensure_base_image(client)
    build = ImageBuild(tag=MARIADB_IMAGE, context=resources, dockerfile="Dockerfile-mysql")
    return ensure_image(client, build, certificates=certificates)


def start_database(
    client: docker.DockerClient,
    settings: DatabaseSettings,
    *,
    name: str,
    network: str,
    labels: dict[str, str],
    ready_timeout_s: float = READY_TIMEOUT_S,
) -> Container:
    """Start the DB on ``network`` (alias ``name``), publish 3306 on loopback, wait for it.

    When it is not ready in time, the container is removed before the error surfaces."""
    if settings.host_port is not None:
        ensure_port_free(settings.host_port, purpose="the local MySQL")
    container: Container = client.containers.run(
        settings.image,
        name=name,
        detach=True,
        labels=labels,
        network=network,
        environment={
            "MYSQL_DATABASE": settings.database,
            "MYSQL_USER": settings.user,
            "MYSQL_PASSWORD": settings.password,
            "MYSQL_ROOT_PASSWORD": settings.root_password,
        },
        ports={"3306/tcp": ("127.0.0.1", settings.host_port)},
        healthcheck={
            "test": ["CMD-SHELL", READY_PROBE],
            "interval": 1 * NANOSECONDS,
            "timeout": 5 * NANOSECONDS,
            "retries": 120,
            "start_period": 0,
        },
    )
    try:
        with step(f"waiting for {settings.image} to accept logins"):
            wait_healthy(container, timeout_s=ready_timeout_s, what="the local MySQL")
    except BaseException:
        remove_quietly(container)
        raise
    return container


def create_schema(container: Container, settings: DatabaseSettings, schema: str) -> None:
    """Create an empty database ``schema`` that ``settings.user`` owns (dropping any old one)."""
    if not schema.replace("_", "").isalnum():
        raise ValueError(f"schema name {schema!r} must be letters, digits and underscores")
    sql = (
        f"DROP DATABASE IF EXISTS `{schema}`; CREATE DATABASE `{schema}`; "
        f"GRANT ALL PRIVILEGES ON `{schema}`.* TO '{settings.user}'@'%';"
    )
    result = container.exec_run(
        ["sh", "-c", 'MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql -uroot -e "$0"', sql]
    )
    if result.exit_code != 0:
        output = result.output.decode(errors="replace").strip()
        raise NotReady(f"creating schema {schema} in {container.name} failed: {output}")


def wait_healthy(container: Container, *, timeout_s: float, what: str) -> None:
    """Wait for Docker to report the container healthy; fail fast if it exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs["State"]
        if state.get("Health", {}).get("Status") == "healthy":
            return
        if state["Status"] in {"exited", "dead"}:
            tail = container.logs(tail=5).decode(errors="replace").strip().replace("\n", " | ")
            raise NotReady(
                f"{what} ({container.name}) exited with {state['ExitCode']} before it was "
                f"ready: {tail}"
            )
        time.sleep(0.25)
    raise NotReady(
        f"{what} ({container.name}) was not ready within {timeout_s:.0f}s; "
        f"see `docker logs {container.name}`, or raise the timeout"
    )


def published_port(container: Container, container_port: str = "3306/tcp") -> int:
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"][container_port]
    return int(bindings[0]["HostPort"])


def remove_quietly(container: Container) -> None:
    with contextlib.suppress(NotFound, APIError):
        container.remove(force=True, v=True)
