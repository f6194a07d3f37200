"""Container mode: the LocalStack image, published on loopback and labelled like every container."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import docker
from docker.errors import NotFound
from docker.models.containers import Container

from parity.engine.images import image_exists, pull_image
from parity.engine.labels import MANAGED_LABEL
from parity.engine.ports import LOOPBACK_ADDRESS, claim_port
from parity.services.localstack.settings import (
    AUTH_TOKEN_VARIABLE,
    CONTAINER_PORT,
    FREE_IMAGE,
    LICENSED_IMAGE,
    OFFLINE_SETTINGS,
    STOP_GRACE_S,
)


class ImageStore(Protocol):
    def has(self, image: str) -> bool: ...

    def pull(self, image: str) -> str | None:
        """Pull ``image``; None on success, else why it could not be pulled."""
        ...


@dataclass(frozen=True)
class DockerImages:
    client: docker.DockerClient

    def has(self, image: str) -> bool:
        return image_exists(self.client, image)

    def pull(self, image: str) -> str | None:
        return pull_image(self.client, image)


@dataclass(frozen=True)
class LocalStackPlan:
    """The container image to run, or None for host mode with ``reason`` saying why."""

    image: str | None
    reason: str = ""


def container_image(environ: Mapping[str, str]) -> str:
    # Images after 4.14.0 refuse to start without a token (since 2026-03-23).
    return LICENSED_IMAGE if environ.get(AUTH_TOKEN_VARIABLE) else FREE_IMAGE


def plan_localstack(images: ImageStore | None, environ: Mapping[str, str]) -> LocalStackPlan:
    """The image when it is local or can be pulled; otherwise host mode and why."""
    image = container_image(environ)
    if images is None:
        return LocalStackPlan(None, "no Docker engine answers")
    if images.has(image):
        return LocalStackPlan(image)
    failure = images.pull(image)
    if failure is None:
        return LocalStackPlan(image)
    return LocalStackPlan(None, f"{image} is not local and cannot be pulled ({failure})")


def container_name(port: int) -> str:
    return f"parity-localstack-{port}"


def container_run_arguments(
    image: str, *, port: int, labels: Mapping[str, str], environ: Mapping[str, str]
) -> dict[str, Any]:
    """Keyword arguments of ``containers.run``; the token goes in the environment only."""
    environment = {**OFFLINE_SETTINGS, "LOCALSTACK_HOST": f"127.0.0.1:{port}"}
    token = environ.get(AUTH_TOKEN_VARIABLE)
    if token:
        environment[AUTH_TOKEN_VARIABLE] = token
    return {
        "image": image,
        "name": container_name(port),
        "detach": True,
        "labels": dict(labels),
        "environment": environment,
        "ports": {f"{CONTAINER_PORT}/tcp": (LOOPBACK_ADDRESS, port)},
    }


@dataclass
class LocalStackContainer:
    container: Container

    @property
    def where(self) -> str:
        return f"container {self.container.name}"

    def exit_reason(self) -> str | None:
        try:
            self.container.reload()
        except NotFound:
            return "the container was removed"
        if self.container.status in ("exited", "dead"):
            return f"exit code {self.container.attrs['State']['ExitCode']}"
        return None

    def log_tail(self, lines: int) -> str:
        try:
            output: bytes = self.container.logs(tail=lines)
        except NotFound:
            return ""
        return output.decode(errors="replace")

    def stop(self) -> None:
        with contextlib.suppress(NotFound):
            self.container.stop(timeout=int(STOP_GRACE_S))
        with contextlib.suppress(NotFound):
            self.container.remove(force=True, v=True)


def start_container(
    client: docker.DockerClient,
    image: str,
    *,
    port: int | None,
    labels: Mapping[str, str],
    environ: Mapping[str, str],
) -> tuple[LocalStackContainer, int]:
    if port:
        with contextlib.suppress(NotFound):
            stale = client.containers.get(container_name(port))
            if stale.labels.get(MANAGED_LABEL) == "true":  # left by a killed run of ours
                stale.remove(force=True, v=True)
    bound_port = claim_port(port, purpose="LocalStack")
    arguments = container_run_arguments(image, port=bound_port, labels=labels, environ=environ)
    return LocalStackContainer(client.containers.run(**arguments)), bound_port
