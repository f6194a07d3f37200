"""Bad input with real Docker: one clear line, and nothing left running."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import docker
import pytest

from parity.engine.baseimage import BASE_IMAGE
from parity.engine.images import ImageBuild, build_image
from parity.engine.labels import RUN_LABEL
from parity.errors import ImageBuildFailed, NotReady, PortInUse
from parity.services.database import DatabaseSettings, start_database

pytestmark = pytest.mark.integration


def containers_of(client: docker.DockerClient, run_id: str) -> list[object]:
    return list(client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"}))


def test_a_failed_build_names_the_step_shows_its_output_and_leaves_no_container(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    cause = f"the real cause {uuid.uuid4().hex}"
    (tmp_path / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nRUN echo preparing\nRUN echo '{cause}' >&2 && exit 3\n"
    )
    with pytest.raises(ImageBuildFailed) as failure:
        build_image(
            docker_client, ImageBuild("fargate-parity-test/broken:1", tmp_path, "Dockerfile")
        )
    message = str(failure.value)
    assert "step 3/4 (RUN echo 'the real cause" in message  # step 4 is the harness's LABEL
    assert "returned a non-zero code: 3" in message
    assert "\n" not in message
    assert cause in failure.value.output
    # The failed step's container is the only one whose command holds this run's marker.
    leftovers = [
        c
        for c in docker_client.containers.list(all=True)
        if cause in " ".join(c.attrs["Config"]["Cmd"] or [])
    ]
    assert leftovers == []


def test_a_db_that_is_not_ready_in_time_is_removed(
    docker_client: docker.DockerClient,
    network: str,
    labels: dict[str, str],
    run_id: str,
    tmp_path: Path,
) -> None:
    # Runs, but no MySQL: its login probe never passes.
    (tmp_path / "Dockerfile").write_text(f'FROM {BASE_IMAGE}\nCMD ["sleep", "300"]\n')
    image = "fargate-parity-test/never-ready:1"
    build_image(docker_client, ImageBuild(image, tmp_path, "Dockerfile"))
    never_ready = DatabaseSettings(
        image=image, database="db", user="u", password="p", root_password="r"
    )
    before = len(containers_of(docker_client, run_id))
    with pytest.raises(NotReady, match="was not ready within 2s"):
        start_database(
            docker_client,
            never_ready,
            name=f"never-ready-{run_id}",
            network=network,
            labels=labels,
            ready_timeout_s=2,
        )
    assert len(containers_of(docker_client, run_id)) == before


def test_a_taken_db_port_fails_before_anything_starts(
    docker_client: docker.DockerClient, network: str, labels: dict[str, str], run_id: str
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        before = len(containers_of(docker_client, run_id))
        settings = DatabaseSettings(
            image=BASE_IMAGE,
            database="db",
            user="u",
            password="p",
            root_password="r",
            host_port=port,
        )
        with pytest.raises(PortInUse, match=f"port {port} on 127.0.0.1 is already in use"):
            start_database(
                docker_client, settings, name=f"taken-{run_id}", network=network, labels=labels
            )
        assert len(containers_of(docker_client, run_id)) == before
