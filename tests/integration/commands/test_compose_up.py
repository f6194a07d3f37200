"""The exported compose file, run for real with Docker Compose (the v2 plugin, else Debian's
docker-compose, which the harness installs where it installs Docker): up, the page through
nginx answers 200, down."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests

from parity.commands.compose import COMPOSE_FILE, export_compose
from parity.config.settings import DEFAULT_HTTP_PORT, ExtraCertificates, HarnessSettings
from parity.engine.daemon import compose_command
from parity.engine.ports import LOOPBACK_ADDRESS, claim_port
from parity.runtime.bringup import build_app
from parity.services.database import resolve_image
from tests.integration.support import PROJECT_ROOT, ProjectCopy

pytestmark = pytest.mark.integration
READY_TIMEOUT_S = 300.0


def compose(cli: list[str], project: str, compose_file: Path, *arguments: str) -> list[str]:
    return [*cli, "-p", project, "-f", str(compose_file), *arguments]


@pytest.fixture
def compose_up(
    docker_client: docker.DockerClient,
    project_copy: ProjectCopy,
    harness_settings: HarnessSettings,
    certificates: ExtraCertificates,
    run_id: str,
) -> Iterator[str]:
    """The exported file, up on a free loopback port (the one edit: the published port); its
    URL. Down, volumes included, afterwards."""
    cli = compose_command()
    if cli is None:
        pytest.skip("no Docker Compose here, and the harness does not manage this engine")
    root = project_copy.root
    # The file builds the Redis stand-in from the harness's parity/assets, as in a checkout.
    if not (root / "parity").exists():
        (root / "parity").symlink_to(PROJECT_ROOT / "parity")
    build_app(root, harness_settings)  # the asset images the file names, as invoke dev builds
    export_compose(root)
    port = claim_port(0, purpose="the compose file's nginx")
    exported = (root / COMPOSE_FILE).read_text()
    published = f"{LOOPBACK_ADDRESS}:{DEFAULT_HTTP_PORT}:"
    assert published in exported
    compose_file = root / COMPOSE_FILE.parent / "docker-compose.test.yml"
    compose_file.write_text(exported.replace(published, f"{LOOPBACK_ADDRESS}:{port}:"))
    project = f"parity-test-{run_id}-compose"
    db_image = resolve_image(docker_client, harness_settings.db_image, certificates=certificates)
    environment = {**os.environ, "PARITY_DB_IMAGE": db_image}
    try:
        up = subprocess.run(
            compose(cli, project, compose_file, "up", "-d", "--renew-anon-volumes"),
            cwd=root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert up.returncode == 0, up.stderr[-3000:]
        yield f"http://{LOOPBACK_ADDRESS}:{port}/"
    finally:
        subprocess.run(
            compose(cli, project, compose_file, "down", "-v", "--remove-orphans"),
            cwd=root,
            env=environment,
            capture_output=True,
            timeout=300,
            check=False,
        )


def test_the_exported_compose_file_serves_the_page_through_nginx(compose_up: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    status = None
    while time.monotonic() < deadline:
        try:
            status = requests.get(compose_up, timeout=5).status_code
        except requests.ConnectionError:
            status = None
        if status == 200:
            break
        time.sleep(0.5)
    assert status == 200
