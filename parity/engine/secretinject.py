"""Secrets into a container's environment through its stdin, never through its config.

``docker run -e`` stores values in the container's config on disk and shows them in
``docker inspect``. Instead the container starts a small wrapper that reads NAME=BASE64
lines from stdin, exports them and execs the real command; the harness writes the lines
right after the start, and stdin closes once they are read.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Mapping
from pathlib import Path

import docker
from docker.types import Mount

from parity.secretvalue import SecretValue

SECRETS_WRAPPER = Path(__file__).parents[1] / "assets" / "inject-secrets.sh"
SECRETS_WRAPPER_IN_CONTAINER = "/run/fargate-parity/inject-secrets"


def secrets_payload(values: Mapping[str, SecretValue]) -> bytes:
    """NAME=BASE64 lines for the wrapper, ended by an empty line."""
    lines = [
        f"{name}={base64.b64encode(value.reveal().encode()).decode()}\n"
        for name, value in values.items()
    ]
    return ("".join(lines) + "\n").encode()


def wrapper_mount() -> Mount:
    return Mount(
        target=SECRETS_WRAPPER_IN_CONTAINER,
        source=str(SECRETS_WRAPPER),
        type="bind",
        read_only=True,
    )


def wrapped_argv(entrypoint: list[str], command: list[str]) -> tuple[list[str], list[str]]:
    """(entrypoint, command) that run the wrapper first, then the original argv."""
    return ["/bin/sh", SECRETS_WRAPPER_IN_CONTAINER], entrypoint + command


def image_argv(client: docker.DockerClient, image: str) -> tuple[list[str], list[str]]:
    """The image's own ENTRYPOINT and CMD."""
    config = client.api.inspect_image(image)["Config"]
    return list(config.get("Entrypoint") or []), list(config.get("Cmd") or [])


def start_with_secrets(
    client: docker.DockerClient, container_id: str, values: Mapping[str, SecretValue]
) -> None:
    """Start a container created with ``stdin_open=True`` (not detached, so docker-py sets
    StdinOnce) and the wrapper as its entrypoint, and hand it ``values``."""
    attached = client.api.attach_socket(container_id, params={"stdin": 1, "stream": 1})
    raw: socket.socket = attached._sock  # the HTTP-hijacked socket behind docker-py's wrapper
    try:
        client.api.start(container_id)
        raw.sendall(secrets_payload(values))
        raw.shutdown(socket.SHUT_WR)
    finally:
        attached.close()
