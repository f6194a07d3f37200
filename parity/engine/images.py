"""Build images with docker-py, the way ``docker build`` would, plus extra CA certificates.

A build takes a context directory, a Dockerfile inside it, an optional target and build
args: exactly what a CDK Docker image asset records. The context honours
``.dockerignore``. Extra CA certificates (for registries behind TLS interception) are
added to the context as ``certs/*.crt`` without touching the source tree; the
Dockerfiles hand them to npm, pip and composer.
"""

from __future__ import annotations

import io
import re
import tarfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.utils.build import create_archive, exclude_paths

from parity.config.settings import NO_EXTRA_CERTIFICATES, ExtraCertificates
from parity.console import console, first_line, note
from parity.engine.labels import MANAGED_LABEL
from parity.errors import ImageBuildFailed

EXTRA_CA_DIR = "certs"
STEP_LINE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
FAILED_STEP_TAIL_LINES = 25


@dataclass(frozen=True)
class ImageBuild:
    """One image to build: the same inputs a CDK ``DockerImageAsset`` records."""

    tag: str
    context: Path
    dockerfile: str
    target: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)


def build_image(
    client: docker.DockerClient,
    build: ImageBuild,
    *,
    certificates: ExtraCertificates = NO_EXTRA_CERTIFICATES,
    labels: Mapping[str, str] | None = None,
) -> str:
    """Build ``build`` and return the image id; stream progress; raise ImageBuildFailed."""
    archive = context_archive(build.context, build.dockerfile, certificates)
    try:
        stream = client.api.build(
            fileobj=archive,
            custom_context=True,
            dockerfile=build.dockerfile,
            target=build.target,
            buildargs=dict(build.build_args),
            tag=build.tag,
            labels={MANAGED_LABEL: "true", **(labels or {})},
            rm=True,
            forcerm=True,
            decode=True,
        )
        return follow_build(build.tag, stream)
    except APIError as error:
        raise ImageBuildFailed(f"building {build.tag} failed: {error.explanation}") from error
    finally:
        archive.close()


def context_archive(context: Path, dockerfile: str, certificates: ExtraCertificates) -> IO[bytes]:
    """Tar the context like the docker CLI (``.dockerignore`` applied) plus the extra CAs."""
    if not (context / dockerfile).is_file():
        raise ImageBuildFailed(f"Dockerfile {context / dockerfile} does not exist; check the path")
    ignore_file = context / ".dockerignore"
    patterns = ignore_file.read_text().splitlines() if ignore_file.is_file() else []
    patterns = [line.strip() for line in patterns if line.strip() and not line.startswith("#")]
    files = sorted(exclude_paths(str(context), patterns, dockerfile=dockerfile))
    extra = [(f"{EXTRA_CA_DIR}/{name}", pem) for name, pem in certificates.bundles.items()]
    archive: IO[bytes] = create_archive(root=str(context), files=files, extra_files=extra)
    return archive


def follow_build(tag: str, stream: Iterator[dict[str, Any]]) -> str:
    """Consume the build stream: show the current step, keep its output for errors."""
    current_step = "preparing the build context"
    step_output: list[str] = []
    image_id = ""
    with console.status(f"building {tag}: {current_step}") as status:
        for chunk in stream:
            if "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                raise ImageBuildFailed(
                    f"building {tag} failed at {current_step}: {detail.strip()}; "
                    "fix the Dockerfile step above and re-run",
                    output="".join(step_output[-FAILED_STEP_TAIL_LINES:]),
                )
            text = chunk.get("stream", "")
            match = STEP_LINE.match(text.strip())
            if match:
                current_step = f"step {match[1]}/{match[2]} ({match[3][:60]})"
                step_output = []
                status.update(f"building {tag}: {current_step}")
            elif text:
                step_output.append(text)
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
    if not image_id:
        raise ImageBuildFailed(f"building {tag} produced no image; re-run with a clean build cache")
    return image_id


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def pull_image(client: docker.DockerClient, image: str) -> str | None:
    """Pull ``image``; None on success, else why it could not be pulled (one line)."""
    repository, _, tag = image.partition(":")
    started = time.monotonic()
    try:
        with console.status(f"pulling {image}…"):
            client.images.pull(repository, tag=tag or "latest")
    except DockerException as error:
        return first_line(str(getattr(error, "explanation", None) or error))
    console.print(f"[green]✓[/] pulled {image} ({time.monotonic() - started:.1f}s)")
    return None


def ensure_image(
    client: docker.DockerClient,
    build: ImageBuild,
    *,
    certificates: ExtraCertificates = NO_EXTRA_CERTIFICATES,
    rebuild: bool = False,
) -> str:
    """Build only when the tag is missing (or ``rebuild``); return the tag."""
    if not rebuild and image_exists(client, build.tag):
        note(f"{build.tag} is cached")
        return build.tag
    started = time.monotonic()
    build_image(client, build, certificates=certificates)
    console.print(f"[green]✓[/] built {build.tag} ({time.monotonic() - started:.1f}s)")
    return build.tag


def image_working_directory(client: docker.DockerClient, image: str) -> str:
    """The image's WORKDIR (``/`` when it sets none)."""
    config: Mapping[str, Any] = client.api.inspect_image(image)["Config"]
    return str(config.get("WorkingDir") or "/")


def read_image_directory(
    client: docker.DockerClient, image: str, directory: str, *, labels: Mapping[str, str]
) -> dict[str, str]:
    """The files directly in ``directory`` of ``image`` (name → text), read from a container
    that is created for it and never started; empty when the directory does not exist."""
    container = client.containers.create(image, labels=dict(labels))
    try:
        stream, _ = container.get_archive(directory)
        archive = b"".join(stream)
    except NotFound:
        return {}
    finally:
        container.remove(force=True)
    files: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            path = PurePosixPath(member.name)
            content = tar.extractfile(member) if member.isfile() and len(path.parts) == 2 else None
            if content is not None:
                files[path.name] = content.read().decode(errors="replace")
    return files
