"""The previous release's images: exported from git, built like the current assets, cached."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import docker
import pytest
from docker.errors import ImageNotFound

from parity.assembly.apptasks import ServiceSpec
from parity.assembly.taskdef import ContainerSpec
from parity.config.settings import ExtraCertificates
from parity.engine.images import ImageBuild
from parity.verify import previous as compat
from parity.verify.previous import (
    PreviousVersionUnavailable,
    Release,
    build_previous_images,
    export_resources,
    previous_image_tag,
    resolve_release,
    with_previous_images,
    worker_services,
)
from tests.unit.verify.conftest import Repository
from tests.unit.verify.tasks import LARAVEL_ASSET, SIDECAR_IMAGE, app_tasks, image_asset, task

SHA = "0123456789abcdef0123456789abcdef01234567"
RELEASE = Release(ref="v1.0.0", sha=SHA)
DOCKERFILES = {"resources/Dockerfile-laravel": "FROM scratch\n", "resources/Dockerfile-nginx": ""}


class FakeImages:
    def __init__(self, present: set[str]) -> None:
        self.present = present

    def get(self, tag: str) -> object:
        if tag not in self.present:
            raise ImageNotFound(tag)
        return object()


class FakeClient:
    """Only what the build step asks the engine: whether an image tag exists."""

    def __init__(self, present: set[str]) -> None:
        self.images = FakeImages(present)


def client_with(*present: str) -> docker.DockerClient:
    return cast(docker.DockerClient, FakeClient(set(present)))


def test_the_export_holds_resources_as_committed_at_the_ref(
    make_repository: Callable[[str], Repository], tmp_path: Path
) -> None:
    repo = make_repository("repo")
    first = repo.commit(
        {"resources/laravel/routes/web.php": "v1", "README.md": "top level", **DOCKERFILES}
    )
    repo.commit({"resources/laravel/routes/web.php": "v2", "resources/new.txt": "new"})
    exported = export_resources(
        repo.root, release=Release(ref="HEAD~1", sha=first), destination=tmp_path / "out"
    )
    assert exported == tmp_path / "out" / "resources"
    assert (exported / "laravel/routes/web.php").read_text() == "v1"
    assert not (exported / "new.txt").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["resources"]


def test_a_ref_without_resources_is_named(
    make_repository: Callable[[str], Repository], tmp_path: Path
) -> None:
    repo = make_repository("repo")
    repo.commit({"README.md": "before the app existed"})
    release = resolve_release(repo.root, "HEAD")
    with pytest.raises(PreviousVersionUnavailable, match=r"has no resources/ directory"):
        export_resources(repo.root, release=release, destination=tmp_path / "out")


def test_a_ref_without_the_laravel_dockerfile_is_a_clear_error(
    make_repository: Callable[[str], Repository],
) -> None:
    repo = make_repository("repo")
    repo.commit({"resources/Dockerfile-nginx": "FROM scratch\n"})
    repo.tag("v0.1.0")
    repo.commit(DOCKERFILES)
    release = resolve_release(repo.root, "v0.1.0")
    with pytest.raises(PreviousVersionUnavailable) as raised:
        build_previous_images(
            client_with(),
            app_tasks(),
            project_root=repo.root,
            release=release,
            certificates=ExtraCertificates(),
        )
    assert str(raised.value) == (
        f"the previous version (v0.1.0, {release.sha[:12]}) has no resources/Dockerfile-laravel, "
        "which the current Dockerfile-laravel/Asset image is built from; pass --previous with a "
        "release that builds it"
    )


def test_each_asset_is_built_from_the_export_with_the_current_recipe(
    make_repository: Callable[[str], Repository], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repository("repo")
    repo.commit({**DOCKERFILES, "resources/laravel/artisan": "previous"})
    repo.tag("v1.0.0")
    repo.commit({"resources/laravel/artisan": "current"})
    release = resolve_release(repo.root, "v1.0.0")
    built: list[tuple[ImageBuild, str]] = []

    def record(client: Any, build: ImageBuild, **_: Any) -> str:
        built.append((build, (build.context / "laravel/artisan").read_text()))
        return build.tag

    monkeypatch.setattr(compat, "ensure_image", record)
    tasks = app_tasks()
    previous = build_previous_images(
        client_with(),
        tasks,
        project_root=repo.root,
        release=release,
        certificates=ExtraCertificates(),
    )
    recipes = [(b.dockerfile, b.target, b.context.name, text) for b, text in built]
    assert recipes == [
        ("Dockerfile-laravel", "runtime", "resources", "previous"),
        ("Dockerfile-nginx", None, "resources", "previous"),
    ]
    assert not built[0][0].context.exists(), "the export is removed after the build"
    laravel_image = tasks.migration.container("migrate").image
    assert previous.images[laravel_image] == (
        f"fargate-parity/previous:{release.sha}-Dockerfile-laravel-runtime"
    )
    assert SIDECAR_IMAGE not in previous.images


def test_images_built_for_the_commit_are_reused_without_git(tmp_path: Path) -> None:
    tasks = app_tasks()
    tags = [
        f"fargate-parity/previous:{SHA}-Dockerfile-laravel-runtime",
        f"fargate-parity/previous:{SHA}-Dockerfile-nginx",
    ]
    previous = build_previous_images(
        client_with(*tags),
        tasks,
        project_root=tmp_path,  # not a git checkout: exporting would fail
        release=RELEASE,
        certificates=ExtraCertificates(),
    )
    assert sorted(previous.images.values()) == sorted(tags)


def test_the_tag_tells_recipes_of_one_commit_apart() -> None:
    runtime = image_asset(LARAVEL_ASSET, "Dockerfile-laravel", "runtime")
    assets = image_asset(LARAVEL_ASSET, "Dockerfile-laravel", "assets")
    with_args = image_asset(LARAVEL_ASSET, "Dockerfile-laravel", "runtime", {"PHP": "8.2"})
    tags = {previous_image_tag(release=RELEASE, asset=a) for a in (runtime, assets, with_args)}
    assert len(tags) == 3
    assert previous_image_tag(release=RELEASE, asset=runtime) == (
        f"fargate-parity/previous:{SHA}-Dockerfile-laravel-runtime"
    )
    nested = image_asset(LARAVEL_ASSET, "docker/Dockerfile app", None)
    assert previous_image_tag(release=RELEASE, asset=nested).endswith(
        f"{SHA}-docker-Dockerfile-app"
    )


def test_the_migration_and_every_service_run_the_previous_builds_of_their_assets() -> None:
    tasks = app_tasks()
    service = tasks.services[0]
    laravel_image = tasks.migration.container("migrate").image
    swapped = with_previous_images(tasks, {laravel_image: "fargate-parity/previous:x"})
    web = swapped.services[0].task
    assert web.container("laravel").image == "fargate-parity/previous:x"
    assert swapped.migration.container("migrate").image == "fargate-parity/previous:x"
    assert web.container("nginx").image == service.task.container("nginx").image
    assert web.container("sidecar").image == SIDECAR_IMAGE
    assert (
        swapped.migration.container("migrate").command
        == tasks.migration.container("migrate").command
    )


def test_the_previous_workers_are_the_services_without_a_load_balancer_on_the_app_image() -> None:
    tasks = app_tasks()
    laravel_image = tasks.migration.container("migrate").image
    worker = ServiceSpec(
        name="WorkerService0A1B2C3D",
        stack=tasks.services[0].stack,
        task=task("worker", ContainerSpec(name="worker", image=laravel_image)),
        desired_count=1,
    )
    exporter = ServiceSpec(
        name="MetricsExporter",
        stack=tasks.services[0].stack,
        task=task("exporter", ContainerSpec(name="exporter", image=SIDECAR_IMAGE)),
        desired_count=1,
    )
    with_worker = dataclasses.replace(tasks, services=(*tasks.services, worker, exporter))
    assert worker_services(tasks) == ()
    assert worker_services(with_worker) == (worker,)
    swapped = with_previous_images(with_worker, {laravel_image: "fargate-parity/previous:x"})
    (previous_worker,) = worker_services(swapped)
    assert previous_worker.task.container("worker").image == "fargate-parity/previous:x"
