"""The Laravel and nginx images in the awsvpc shape, against a real MySQL-compatible DB."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from parity.config.settings import ExtraCertificates
from parity.engine.baseimage import ensure_base_image
from parity.engine.images import ImageBuild, build_image
from tests.integration.app_pod import AppPod, app_environment, start_app_pod
from tests.integration.support import RESOURCES, SessionDatabase

pytestmark = pytest.mark.integration

LARAVEL_TAG = "fargate-parity-test/laravel:latest"
NGINX_TAG = "fargate-parity-test/nginx:latest"
ASSET_LINK = re.compile(r'src="(/build/assets/[^"]+\.js)"')
MIGRATE = ["php", "artisan", "migrate", "--force"]


@pytest.fixture(scope="module")
def app_images(
    docker_client: docker.DockerClient, certificates: ExtraCertificates
) -> tuple[str, str]:
    ensure_base_image(docker_client)
    build_image(
        docker_client,
        ImageBuild(LARAVEL_TAG, RESOURCES, "Dockerfile-laravel", target="runtime"),
        certificates=certificates,
    )
    build_image(docker_client, ImageBuild(NGINX_TAG, RESOURCES, "Dockerfile-nginx"))
    return LARAVEL_TAG, NGINX_TAG


def run_migration(
    client: docker.DockerClient,
    image: str,
    env: dict[str, str],
    network: str,
    labels: dict[str, str],
) -> tuple[int, str]:
    container = client.containers.run(
        image, MIGRATE, detach=True, network=network, environment=env, labels=labels
    )
    try:
        exit_code = int(container.wait(timeout=120)["StatusCode"])
        return exit_code, container.logs().decode(errors="replace")
    finally:
        container.remove(force=True, v=True)


def pod_for_schema(
    docker_client: docker.DockerClient,
    app_images: tuple[str, str],
    database: SessionDatabase,
    network: str,
    labels: dict[str, str],
    schema: str,
) -> tuple[AppPod, dict[str, str]]:
    env = app_environment(
        db_host=database.host,
        schema=database.fresh_schema(schema),
        user=database.settings.user,
        password=database.settings.password,
    )
    laravel, nginx = app_images
    pod = start_app_pod(
        docker_client,
        laravel_image=laravel,
        nginx_image=nginx,
        network=network,
        environment=env,
        labels=labels,
    )
    return pod, env


@pytest.fixture(scope="module")
def unmigrated_pod(docker_client, app_images, database, network, labels) -> Iterator[AppPod]:
    pod, _ = pod_for_schema(docker_client, app_images, database, network, labels, "unmigrated")
    yield pod
    pod.remove()


@pytest.fixture(scope="module")
def migration(
    docker_client, app_images, database, network, labels
) -> Iterator[tuple[int, str, AppPod]]:
    pod, env = pod_for_schema(docker_client, app_images, database, network, labels, "migrated")
    exit_code, logs = run_migration(docker_client, app_images[0], env, network, labels)
    yield exit_code, logs, pod
    pod.remove()


@pytest.fixture(scope="module")
def migrated_pod(migration: tuple[int, str, AppPod]) -> AppPod:
    exit_code, logs, pod = migration
    assert exit_code == 0, logs
    return pod


def test_healthz_is_503_before_the_migration(unmigrated_pod: AppPod) -> None:
    response = unmigrated_pod.get("/healthz")
    assert response.status_code == 503
    assert "pending" in response.text


def test_migration_exits_zero(migration: tuple[int, str, AppPod]) -> None:
    exit_code, logs, _ = migration
    assert exit_code == 0, logs
    assert "greetings" in logs


def test_healthz_is_200_after_the_migration(migrated_pod: AppPod) -> None:
    assert migrated_pod.get("/healthz").status_code == 200


def test_index_shows_rows_from_the_migrated_table(migrated_pod: AppPod) -> None:
    response = migrated_pod.get("/")
    assert response.status_code == 200
    assert "Hello from Laravel on Fargate" in response.text


def test_nginx_serves_the_built_asset_from_the_laravel_image(migrated_pod: AppPod) -> None:
    page = migrated_pod.get("/").text
    asset = ASSET_LINK.search(page)
    assert asset, f"no built JS asset linked from the page:\n{page[:2000]}"
    response = migrated_pod.get(asset[1])
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] in {
        "application/javascript",
        "text/javascript",
    }
    in_laravel = migrated_pod.laravel.exec_run(["cat", f"/application/public{asset[1]}"])
    assert in_laravel.output == response.content


def test_nginx_image_has_no_php(migrated_pod: AppPod) -> None:
    assert migrated_pod.nginx.exec_run(["sh", "-c", "command -v php"]).exit_code != 0
    assert migrated_pod.nginx.exec_run(["sh", "-c", "ls /usr/bin | grep -i php"]).exit_code != 0


def test_nginx_cannot_write_to_the_shared_public_volume(migrated_pod: AppPod) -> None:
    result = migrated_pod.nginx.exec_run(["touch", "/application/public/written-by-nginx"])
    assert result.exit_code != 0
    assert b"Read-only file system" in result.output


def test_a_rebuilt_asset_is_served_never_a_stale_copy(
    docker_client, app_images, database, network, labels, certificates, tmp_path: Path
) -> None:
    context = tmp_path / "resources"
    shutil.copytree(RESOURCES, context, ignore=shutil.ignore_patterns("node_modules", "certs"))
    (context / "certs").mkdir()
    marker = "rebuilt-asset-marker-7f3a"
    app_js = context / "laravel" / "resources" / "js" / "app.js"
    app_js.write_text(app_js.read_text() + f'\nconsole.log("{marker}");\n')
    rebuilt_tag = "fargate-parity-test/laravel:rebuilt"
    build_image(
        docker_client,
        ImageBuild(rebuilt_tag, context, "Dockerfile-laravel", target="runtime"),
        certificates=certificates,
    )
    pod, env = pod_for_schema(
        docker_client, (rebuilt_tag, app_images[1]), database, network, labels, "rebuilt"
    )
    try:
        exit_code, logs = run_migration(docker_client, rebuilt_tag, env, network, labels)
        assert exit_code == 0, logs
        asset = ASSET_LINK.search(pod.get("/").text)
        assert asset
        assert marker in pod.get(asset[1]).text
    finally:
        pod.remove()
        docker_client.images.remove(rebuilt_tag, force=True)
