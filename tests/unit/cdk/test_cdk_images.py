"""The image assets: what reaches the build context and its hash, and the spec's Dockerfiles."""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest
from laravel_infra import spec

from .cdk_assembly import RESOURCES_DIR

SOURCES = {
    "Dockerfile-laravel": "FROM debian:bookworm-slim AS runtime\n",
    "Dockerfile-nginx": "FROM debian:bookworm-slim\n",
    "laravel/artisan": "<?php\n",
}
# Machine-specific or generated: none of it may reach the image context or change its hash.
LOCAL_ONLY = {
    "certs/host-ca-bundle.crt": "a machine's CA bundle\n",
    "laravel/node_modules/vite/index.js": "dependency\n",
    "laravel/vendor/autoload.php": "dependency\n",
    "laravel/storage/logs/laravel.log": "runtime state\n",
    "laravel/.env": "APP_KEY=local-only\n",
    "laravel/public/build/app.js": "build output\n",
}


def write_files(root: Path, files: Mapping[str, str]) -> None:
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)


def laravel_asset(context: Path, outdir: Path, cdk_context: dict[str, object]) -> tuple[str, Path]:
    from aws_cdk import App, Stack
    from laravel_infra.constructs.image import AppImage

    app = App(outdir=str(outdir), context=cdk_context)
    image = AppImage(Stack(app, "Images"), "Image", resources_dir=context, build=spec.LARAVEL_IMAGE)
    # Assets are hashed and staged when constructed; the stack itself is never synthesized.
    return image.asset.asset_hash, outdir / f"asset.{image.asset.asset_hash}"


@pytest.fixture
def build_context(tmp_path: Path) -> Path:
    context = tmp_path / "resources"
    write_files(context, SOURCES)
    shutil.copy(RESOURCES_DIR / ".dockerignore", context / ".dockerignore")
    return context


def test_local_files_stay_out_of_the_context_and_the_hash(
    build_context: Path, tmp_path: Path, cdk_context: dict[str, object]
) -> None:
    clean_hash, _ = laravel_asset(build_context, tmp_path / "clean", cdk_context)
    write_files(build_context, LOCAL_ONLY)
    local_hash, staged = laravel_asset(build_context, tmp_path / "local", cdk_context)
    assert local_hash == clean_hash
    for relative in SOURCES:
        assert (staged / relative).is_file(), relative
    for relative in LOCAL_ONLY:
        assert not (staged / relative).exists(), relative


def test_a_source_change_changes_the_hash(
    build_context: Path, tmp_path: Path, cdk_context: dict[str, object]
) -> None:
    before, _ = laravel_asset(build_context, tmp_path / "before", cdk_context)
    (build_context / "laravel/artisan").write_text("<?php // changed\n")
    after, _ = laravel_asset(build_context, tmp_path / "after", cdk_context)
    assert after != before


@pytest.mark.parametrize(
    ("build", "health_check_script"),
    [
        (spec.LARAVEL_IMAGE, spec.LARAVEL_HEALTH_CHECK_SCRIPT),
        (spec.LARAVEL_IMAGE, spec.WORKER_HEALTH_CHECK_SCRIPT),
        (spec.NGINX_IMAGE, spec.NGINX_HEALTH_CHECK_SCRIPT),
    ],
)
def test_the_dockerfiles_provide_what_the_spec_uses(
    build: spec.ImageBuild, health_check_script: str
) -> None:
    dockerfile = (RESOURCES_DIR / build.file).read_text()
    if build.target is not None:
        assert re.search(rf"^FROM \S+ AS {build.target}$", dockerfile, re.MULTILINE | re.IGNORECASE)
    assert f"/usr/local/bin/{health_check_script}" in dockerfile
