"""``invoke prune``: the image tags and dangling layers that every edit leaves behind.

Each edit of the app builds a new image per asset (tagged by its asset hash), and each
previous-release check builds that release's images; the old ones pile up. Prune keeps the
images of the current release (this checkout's synthesized assembly) and of the previous one
(the previous-release check's tags for it), and every image a container still uses (Docker
refuses those); it removes the other tags of the harness's repositories and the harness's
dangling layers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound

from parity.assembly.apptasks import environment_tasks
from parity.assembly.cloud import LOCAL_IMAGE_REPOSITORY
from parity.config.settings import LOCAL_ENVIRONMENT
from parity.console import note, step
from parity.engine.daemon import ensure_engine
from parity.engine.labels import CONFLICT, MANAGED_LABEL
from parity.errors import HarnessError
from parity.runtime.bringup import prepare_assembly
from parity.verify.previous import PREVIOUS_IMAGE_REPOSITORY, default_previous_ref, resolve_release


@dataclass(frozen=True, kw_only=True)
class PruneReport:
    removed: tuple[str, ...]
    # Tags a container still uses: Docker keeps them.
    in_use: tuple[str, ...]
    reclaimed_bytes: int

    def headline(self) -> str:
        return (
            f"removed {len(self.removed)} image tag(s) and the dangling layers "
            f"({self.reclaimed_bytes / 1e6:.0f} MB reclaimed); kept the current and previous "
            f"release's images{f' and {len(self.in_use)} in use' if self.in_use else ''}"
        )


def prune(project_root: Path, *, previous_ref: str | None = None) -> PruneReport:
    """Keep the current release's and the previous release's images, remove the rest."""
    keep = current_images(project_root)
    keep_prefixes = previous_release_prefixes(project_root, previous_ref)
    with step("removing old image tags and dangling layers"):
        return prune_images(
            ensure_engine(),
            repositories=(LOCAL_IMAGE_REPOSITORY, PREVIOUS_IMAGE_REPOSITORY),
            keep=keep,
            keep_prefixes=keep_prefixes,
        )


def current_images(project_root: Path) -> frozenset[str]:
    """The local tags of the current assembly's image assets (synthesized when stale)."""
    tasks = environment_tasks(project_root, LOCAL_ENVIRONMENT, prepare_assembly(project_root))
    return frozenset(asset.local_image for asset in tasks.image_assets)


def previous_release_prefixes(project_root: Path, previous_ref: str | None) -> tuple[str, ...]:
    """The tag prefix of the previous release's images (none when there is no previous
    release: no tag and no parent commit, said so)."""
    try:
        release = resolve_release(project_root, previous_ref or default_previous_ref(project_root))
    except HarnessError as error:
        note(f"no previous release to keep images of: {error}")
        return ()
    return (f"{PREVIOUS_IMAGE_REPOSITORY}:{release.sha}-",)


def prune_images(
    client: docker.DockerClient,
    *,
    repositories: Iterable[str],
    keep: frozenset[str],
    keep_prefixes: tuple[str, ...] = (),
    dangling_label: str = f"{MANAGED_LABEL}=true",
) -> PruneReport:
    """Untag every image of ``repositories`` that is not kept (Docker removes its layers once
    no tag or container holds them), then the dangling images carrying ``dangling_label``
    (default: every dangling image the harness built)."""
    removed: list[str] = []
    in_use: list[str] = []
    for repository in repositories:
        for image in client.images.list(name=repository):
            for tag in image.tags:
                if not tag.startswith(f"{repository}:") or tag in keep:
                    continue
                if tag.startswith(keep_prefixes):
                    continue
                try:
                    client.images.remove(tag)
                    removed.append(tag)
                except ImageNotFound:
                    pass
                except APIError as error:
                    if error.status_code != CONFLICT:
                        raise
                    in_use.append(tag)
    dangling = client.images.prune(filters={"dangling": True, "label": dangling_label})
    return PruneReport(
        removed=tuple(removed),
        in_use=tuple(in_use),
        reclaimed_bytes=int(dangling.get("SpaceReclaimed") or 0),
    )
