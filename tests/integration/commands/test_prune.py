"""`invoke prune`'s core on real images, in a repository of this test's own (never the images
other runs on this engine use): the kept tags stay, so do the images a container uses, the rest
and the dangling layers go."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.errors import ImageNotFound

from parity.commands.prune import prune_images
from parity.engine.baseimage import BASE_IMAGE
from parity.engine.images import ImageBuild, build_image
from parity.engine.labels import RUN_LABEL

pytestmark = pytest.mark.integration


@pytest.fixture
def repository(docker_client: docker.DockerClient) -> Iterator[str]:
    name = f"fargate-parity-test/prune-{uuid.uuid4().hex[:8]}"
    yield name
    for image in docker_client.images.list(name=name):
        for tag in image.tags:
            docker_client.images.remove(tag, force=True)


def build(
    client: docker.DockerClient, tag: str, content: str, labels: dict[str, str], tmp_path: Path
) -> str:
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nLABEL content={content}\n")
    return build_image(client, ImageBuild(tag, tmp_path, "Dockerfile"), labels=labels)


def test_prune_keeps_the_releases_and_what_runs_and_removes_the_rest(
    docker_client: docker.DockerClient,
    repository: str,
    labels: dict[str, str],
    run_id: str,
    tmp_path: Path,
) -> None:
    ours = {RUN_LABEL: run_id}
    for name in ("current", "previous-abc-app", "old", "in-use"):
        build(docker_client, f"{repository}:{name}", name, ours, tmp_path)
    replaced = build(docker_client, f"{repository}:current-2", "first", ours, tmp_path)
    build(docker_client, f"{repository}:current-2", "second", ours, tmp_path)  # first: dangling
    docker_client.containers.create(f"{repository}:in-use", ["true"], labels=labels)

    report = prune_images(
        docker_client,
        repositories=[repository],
        keep=frozenset({f"{repository}:current", f"{repository}:current-2"}),
        keep_prefixes=(f"{repository}:previous-abc-",),
        dangling_label=f"{RUN_LABEL}={run_id}",
    )

    assert report.removed == (f"{repository}:old",)
    assert report.in_use == (f"{repository}:in-use",)
    tags = {tag for image in docker_client.images.list(name=repository) for tag in image.tags}
    assert tags == {
        f"{repository}:{name}" for name in ("current", "current-2", "previous-abc-app", "in-use")
    }
    with pytest.raises(ImageNotFound):
        docker_client.images.get(replaced)
