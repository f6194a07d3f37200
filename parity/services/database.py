"""The local MySQL that stands in for Aurora MySQL 3 (the ``mysql:8.0`` family).

The default image is ``mysql:8.0``. Where no registry answers, a MySQL-compatible image
built from Debian's MariaDB packages (``parity/assets/mysql``) takes its place,
and the switch is announced. Readiness is judged the same way for both: the app's user
can log in to the app's database through the loopback port. Credentials reach the
container on stdin (``parity.engine.secretinject``), never in its config.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pymysql
from docker.errors import NotFound
from docker.models.containers import Container
from docker.types import Mount
from docker.utils.socket import STDERR, frames_iter

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
# Where both the official image and the MariaDB stand-in keep their data.
DATA_DIR = "/var/lib/mysql"
# How the stand-in's entrypoint creates the app's database; a reset creates it the same way.
CREATE_OPTIONS = "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"


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
    data_volume: str | None = None,
    aliases: Sequence[str] = (),
) -> Container:
    """``launch_database``, then ``await_database``."""
    container = launch_database(
        client,
        settings,
        name=name,
        network=network,
        labels=labels,
        data_volume=data_volume,
        aliases=aliases,
    )
    await_database(container, settings, timeout_s=ready_timeout_s)
    return container


def launch_database(
    client: docker.DockerClient,
    settings: DatabaseSettings,
    *,
    name: str,
    network: str,
    labels: dict[str, str],
    data_volume: str | None = None,
    aliases: Sequence[str] = (),
) -> Container:
    """Start the DB on ``network`` (as ``name`` and ``aliases``: the endpoints of the RDS
    databases it stands in for), publish 3306 on loopback; ``await_database`` waits for it.
    With ``data_volume`` (a named volume) its data outlives the container.

    When it cannot start, the container is removed before the error surfaces."""
    if settings.host_port is not None:
        claim_port(settings.host_port, purpose="the local MySQL")
    api = client.api
    entrypoint, command = wrapped_argv(*image_argv(client, settings.image))
    mounts = [wrapper_mount()]
    if data_volume is not None:
        mounts.append(Mount(target=DATA_DIR, source=data_volume, type="volume"))
    created = api.create_container(
        settings.image,
        name=name,
        entrypoint=entrypoint,
        command=command,
        labels=labels,
        ports=[3306],
        stdin_open=True,  # the credentials arrive on stdin: see parity.engine.secretinject
        healthcheck={"test": ["NONE"]},  # readiness is judged by logging in: await_database
        host_config=api.create_host_config(
            port_bindings={3306: (LOOPBACK_ADDRESS, settings.host_port)}, mounts=mounts
        ),
        networking_config=api.create_networking_config(
            {network: api.create_endpoint_config(aliases=[name, *aliases])}
        ),
    )
    container = client.containers.get(created["Id"])
    try:
        start_with_secrets(client, container.id, credentials(settings))
    except BaseException:
        remove_quietly(container)
        raise
    return container


def await_database(container: Container, settings: DatabaseSettings, *, timeout_s: float) -> None:
    """Wait until the launched DB accepts the app's login; when it is not ready in time, the
    container is removed before the error surfaces."""
    try:
        with step(f"waiting for {settings.image} to accept logins"):
            wait_for_login(container, settings, timeout_s=timeout_s)
    except BaseException:
        remove_quietly(container)
        raise


def ensure_data_volume(client: docker.DockerClient, name: str, labels: dict[str, str]) -> str:
    """The named volume the DB keeps its data in, created (with ``labels``) when missing."""
    try:
        client.volumes.get(name)
    except NotFound:
        client.volumes.create(name=name, labels=labels)
    return name


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


class DatabaseCommandFailed(NotReady):
    """A client tool run in the DB container (mysqldump, mysql) exited non-zero."""


def _root_client(tool: str, settings: DatabaseSettings, *extra: str) -> list[str]:
    """``tool`` as root on the app's database over the container's own loopback; the password
    travels in the exec's environment (MYSQL_PWD), never in its argv."""
    return [
        tool,
        "--protocol=TCP",
        "-h127.0.0.1",
        "-uroot",
        "--default-character-set=utf8mb4",
        *extra,
        settings.database,
    ]


def dump_database(
    container: Container, settings: DatabaseSettings, write: Callable[[bytes], object]
) -> None:
    """mysqldump the app's database (schema, data, routines, triggers), consistent without
    locking (one transaction), handing its output to ``write`` as it streams."""
    api = container.client.api
    command = _root_client(
        "mysqldump",
        settings,
        "--single-transaction",
        "--routines",
        "--triggers",
        "--add-drop-table",
    )
    exec_id = api.exec_create(
        container.id, command, environment={"MYSQL_PWD": settings.root_password}
    )["Id"]
    errors = bytearray()
    for out, err in api.exec_start(exec_id, stream=True, demux=True):
        if out:
            write(out)
        if err:
            errors += err
    _check_exit(container, exec_id, "mysqldump", errors)


def load_database(
    container: Container, settings: DatabaseSettings, chunks: Iterable[bytes]
) -> None:
    """Run SQL (a dump) against the app's database as root, fed on the exec's stdin."""
    api = container.client.api
    command = _root_client("mysql", settings, "--binary-mode")
    exec_id = api.exec_create(
        container.id,
        command,
        stdin=True,
        environment={"MYSQL_PWD": settings.root_password},
    )["Id"]
    attached = api.exec_start(exec_id, socket=True)
    errors = bytearray()

    def collect() -> None:
        for stream, data in frames_iter(attached, tty=False):
            if stream == STDERR:
                errors.extend(data)

    reader = threading.Thread(target=collect, daemon=True, name="mysql-stderr")
    reader.start()
    raw = attached._sock  # the HTTP-hijacked socket, as in parity.engine.secretinject
    try:
        for chunk in chunks:
            raw.sendall(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # mysql stopped reading: its exit code and message say why
    finally:
        raw.shutdown(socket.SHUT_WR)
        reader.join()
        attached.close()
    _check_exit(container, exec_id, "mysql", errors)


def reset_database(container: Container, settings: DatabaseSettings) -> None:
    """Drop the app's database and create it empty (the app user's grants are by name, so they
    hold): what a restore starts from, so tables the snapshot did not have are gone too."""
    with connect(container, settings, as_root=True) as session, session.cursor() as cursor:
        name = settings.database.replace("`", "``")
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` {CREATE_OPTIONS}")


def _check_exit(container: Container, exec_id: str, tool: str, errors: bytes | bytearray) -> None:
    code = container.client.api.exec_inspect(exec_id)["ExitCode"]
    if code != 0:
        lines = [line for line in errors.decode(errors="replace").splitlines() if line.strip()]
        detail = lines[-1] if lines else "no message"
        raise DatabaseCommandFailed(f"{tool} in {container.name} exited with {code}: {detail}")
