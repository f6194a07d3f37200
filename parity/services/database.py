"""The local MySQL that stands in for Aurora MySQL 3 (the ``mysql:8.0`` family).

The default image is ``mysql:8.0``. Where no registry answers, a MySQL-compatible image
built from Debian's MariaDB packages (``parity/assets/mysql``) takes its place,
and the switch is announced. Readiness is judged the same way for both: the app's user
can log in to the app's database through the loopback port. Credentials reach the
container on stdin (``parity.engine.secretinject``), never in its config.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pymysql
from docker.models.containers import Container

from parity.config.settings import DEFAULT_DB_IMAGE, ExtraCertificates
from parity.console import note, step
from parity.engine.baseimage import ensure_base_image
from parity.engine.images import ImageBuild, ensure_image, image_exists, pull_image
from parity.engine.ports import LOOPBACK_ADDRESS, claim_port
from parity.engine.secretinject import image_argv, start_with_secrets, wrapped_argv, wrapper_mount
from parity.errors import NotReady
from parity.secretvalue import SecretValue
from parity.services.readiness import published_port, remove_quietly, wait_until_ready

MARIADB_IMAGE = "fargate-parity/mariadb:bookworm"
# The harness's own build context (package data): any app's local run can build it.
MARIADB_CONTEXT = Path(__file__).parents[1] / "assets" / "mysql"
READY_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class DatabaseSettings:
    database: str
    user: str
    password: str = field(repr=False)
    root_password: str = field(repr=False)
    image: str = DEFAULT_DB_IMAGE
    host_port: int | None = None  # None: Docker picks a free loopback port


def resolve_image(
    client: docker.DockerClient, requested: str, *, certificates: ExtraCertificates
) -> str:
    """Return a usable DB image: the requested one, or the MariaDB stand-in."""
    if requested == MARIADB_IMAGE:
        return build_mariadb(client, certificates=certificates)
    if image_exists(client, requested) or pull_image(client, requested) is None:
        return requested
    if requested != DEFAULT_DB_IMAGE:
        raise NotReady(
            f"DB image {requested} is not local and cannot be pulled; load it, or set "
            f"PARITY_DB_IMAGE={MARIADB_IMAGE} to build the MariaDB stand-in"
        )
    note(f"{requested} cannot be pulled; using {MARIADB_IMAGE}, built from Debian's MariaDB")
    return build_mariadb(client, certificates=certificates)


def build_mariadb(client: docker.DockerClient, *, certificates: ExtraCertificates) -> str:
    ensure_base_image(client)
    build = ImageBuild(tag=MARIADB_IMAGE, context=MARIADB_CONTEXT, dockerfile="Dockerfile")
    return ensure_image(client, build, certificates=certificates)


def start_database(
    client: docker.DockerClient,
    settings: DatabaseSettings,
    *,
    name: str,
    network: str,
    labels: dict[str, str],
    ready_timeout_s: float = READY_TIMEOUT_S,
    aliases: Sequence[str] = (),
) -> Container:
    """Start the DB on ``network`` (as ``name`` and ``aliases``: the endpoints of the RDS
    databases it stands in for), publish 3306 on loopback, wait for it.

    When it is not ready in time, the container is removed before the error surfaces."""
    if settings.host_port is not None:
        claim_port(settings.host_port, purpose="the local MySQL")
    api = client.api
    entrypoint, command = wrapped_argv(*image_argv(client, settings.image))
    created = api.create_container(
        settings.image,
        name=name,
        entrypoint=entrypoint,
        command=command,
        labels=labels,
        ports=[3306],
        stdin_open=True,  # the credentials arrive on stdin: see parity.engine.secretinject
        healthcheck={"test": ["NONE"]},  # readiness is judged by logging in, below
        host_config=api.create_host_config(
            port_bindings={3306: (LOOPBACK_ADDRESS, settings.host_port)}, mounts=[wrapper_mount()]
        ),
        networking_config=api.create_networking_config(
            {network: api.create_endpoint_config(aliases=[name, *aliases])}
        ),
    )
    container = client.containers.get(created["Id"])
    try:
        start_with_secrets(client, container.id, credentials(settings))
        with step(f"waiting for {settings.image} to accept logins"):
            wait_for_login(container, settings, timeout_s=ready_timeout_s)
    except BaseException:
        remove_quietly(container)
        raise
    return container


def credentials(settings: DatabaseSettings) -> dict[str, SecretValue]:
    """What the official image's entrypoint reads, all sent as secrets."""
    return {
        "MYSQL_DATABASE": SecretValue(settings.database),
        "MYSQL_USER": SecretValue(settings.user),
        "MYSQL_PASSWORD": SecretValue(settings.password),
        "MYSQL_ROOT_PASSWORD": SecretValue(settings.root_password),
    }


def wait_for_login(container: Container, settings: DatabaseSettings, *, timeout_s: float) -> None:
    """Wait until the app's user can log in to its database through the loopback port, the
    way the app will; fail fast if the container exits."""
    port = published_port(container, "3306/tcp")

    def login() -> str | None:
        try:
            connect(container, settings, port=port, connect_timeout_s=2).close()
        except pymysql.MySQLError as error:
            return str(error.args[-1]) if error.args else type(error).__name__
        return None

    wait_until_ready(container, what="the local MySQL", probe=login, timeout_s=timeout_s)


def connect(
    container: Container,
    settings: DatabaseSettings,
    *,
    as_root: bool = False,
    port: int | None = None,
    connect_timeout_s: float = 10,
) -> pymysql.connections.Connection[pymysql.cursors.Cursor]:
    """A session on the app's database through the loopback port, as the app's user (or
    root, who may create other schemas); statements commit as they run."""
    return pymysql.connect(
        host=LOOPBACK_ADDRESS,
        port=port or published_port(container, "3306/tcp"),
        user="root" if as_root else settings.user,
        password=settings.root_password if as_root else settings.password,
        database=settings.database,
        connect_timeout=connect_timeout_s,
        autocommit=True,
    )
