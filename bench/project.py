"""Throwaway copies of the project for the benchmarks, and the images they leave behind.

Every measurement that edits source, adds a migration or needs its own run id works in a copy
(the real ``resources/`` is never edited). A copy is its own git repository, so the harness's
synth stamp works there as it does in a clone: an unchanged copy is not re-synthesized.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound

from parity.assembly.apptasks import AppTasks, environment_tasks
from parity.assembly.synth import assembly_dir
from parity.config.settings import LOCAL_ENVIRONMENT

# What `invoke dev` and `invoke deploy --env local` read (the synth inputs).
PROJECT_FILES = (
    "fargate-parity.toml",
    "cdk.json",
    "cdk",
    "resources",
    "package.json",
    "package-lock.json",
    "pyproject.toml",
    ".gitignore",
)
SHARED_DIRECTORIES = (".venv", "node_modules")
COPY_IGNORES = ("node_modules", "__pycache__", "*.crt", "*.pem", "cdk.out", ".local", ".cache")
LARAVEL_SOURCE = Path("resources/laravel")
MIGRATIONS = LARAVEL_SOURCE / "database/migrations"
APP_DOCKERFILES = (Path("resources/Dockerfile-laravel"), Path("resources/Dockerfile-nginx"))
FROM_LINE = re.compile(r"^(FROM\s+\S+(?:\s+AS\s+\S+)?)\s*$", re.IGNORECASE | re.MULTILINE)
CACHE_BUST_LABEL = "org.fargate-parity.bench-cold"
SHARED_TAG_PREFIXES = ("fargate-parity-test/",)


@dataclass(frozen=True)
class ProjectCopy:
    root: Path

    @property
    def laravel(self) -> Path:
        return self.root / LARAVEL_SOURCE

    def edit(self, relative: str | Path, change: Callable[[str], str]) -> Path:
        """Rewrite one file in place (as an editor saving it would)."""
        path = self.root / relative
        original = path.read_text()
        changed = change(original)
        if changed == original:
            raise ValueError(f"the edit of {relative} changed nothing")
        path.write_text(changed)
        return path

    def add_migration(self, name: str, body: str) -> Path:
        path = self.root / MIGRATIONS / f"{name}.php"
        path.write_text(body)
        return path

    def bust_build_cache(self, nonce: str) -> None:
        """A LABEL right after every FROM of the app's Dockerfiles: no layer above
        ``debian:bookworm-slim`` is in the build cache any more, and the asset hashes are
        new, so the next build of this copy is cold while every other image stays put."""
        for relative in APP_DOCKERFILES:
            self.edit(
                relative,
                lambda text: FROM_LINE.sub(
                    lambda m: f'{m[1]}\nLABEL {CACHE_BUST_LABEL}="{nonce}"', text
                ),
            )

    def app_tasks(self) -> AppTasks:
        """The task definitions of the copy's last synth."""
        return environment_tasks(self.root, LOCAL_ENVIRONMENT, assembly_dir(self.root))

    def image_tags(self) -> tuple[str, str]:
        """(laravel image, nginx image) of the copy's last synth."""
        tasks = self.app_tasks()
        laravel = tasks.migration.container(tasks.watched_container).image
        others = {c.image for s in tasks.services for c in s.task.containers} - {laravel}
        if len(others) != 1:
            raise ValueError(f"expected one nginx image next to {laravel}, found {others}")
        return laravel, others.pop()


def copy_project(source: Path, destination: Path, *, with_assembly: bool = False) -> ProjectCopy:
    """Copy what the harness reads from ``source``; share its .venv and node_modules.
    ``with_assembly`` copies cdk.out too: file times are kept, so its synth stamp stays
    current and the copy is not synthesized again."""
    destination.mkdir(parents=True)
    for name in PROJECT_FILES:
        copy_entry(source / name, destination / name)
    if with_assembly:
        shutil.copytree(assembly_dir(source), assembly_dir(destination), symlinks=True)
    return finish_copy(source.resolve(), destination)


def copy_checkout(source: Path, destination: Path) -> ProjectCopy:
    """A local clone of ``source`` (history and tags included: the previous-release check
    builds from them) with the working tree's uncommitted changes on top: what
    `invoke test-integration` needs, with a checkout id of its own."""
    subprocess.run(
        ["git", "clone", "--quiet", "--local", str(source), str(destination)], check=True
    )
    changed = git_paths(source, "--modified", "--others", "--exclude-standard")
    for relative in changed:
        origin = source / relative
        if origin.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    for relative in git_paths(source, "--deleted"):
        (destination / relative).unlink(missing_ok=True)
    link_shared_directories(source, destination)
    return ProjectCopy(destination)


def git_paths(repository: Path, *selection: str) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", *selection],
        cwd=repository,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(set(listed.split("\0")) - {""})


def copy_entry(origin: Path, target: Path) -> None:
    if origin.is_dir():
        shutil.copytree(origin, target, ignore=shutil.ignore_patterns(*COPY_IGNORES))
    elif origin.exists():
        shutil.copy2(origin, target)


def finish_copy(source: Path, destination: Path) -> ProjectCopy:
    subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "init", "--quiet"], cwd=destination, check=True
    )
    link_shared_directories(source, destination)
    return ProjectCopy(destination)


def link_shared_directories(source: Path, destination: Path) -> None:
    """Symlink .venv and node_modules (git's ``dir/`` ignore rules miss symlinks)."""
    for name in SHARED_DIRECTORIES:
        (destination / name).symlink_to((source / name).resolve())
    exclude = destination / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    with exclude.open("a") as rules:
        rules.writelines(f"/{name}\n" for name in SHARED_DIRECTORIES)
    destination.chmod(0o755)  # bind-mounted sources must stay readable for www-data


def remove_cache_busted(client: docker.DockerClient, cache_bust: str) -> int:
    """Remove every image built from a copy cache-busted with ``cache_bust``: tagged ones and
    the untagged ones a multi-stage build leaves (its ``assets`` stage). Tags other test runs
    share (``fargate-parity-test/*``, rebuilt by every session) stay where they are."""
    removed = 0
    for image in client.images.list(filters={"label": f"{CACHE_BUST_LABEL}={cache_bust}"}):
        for tag in image.tags:
            if not tag.startswith(SHARED_TAG_PREFIXES):
                with contextlib.suppress(ImageNotFound, APIError):
                    client.images.remove(tag, noprune=False)
                    removed += 1
    for image in client.images.list(
        all=True, filters={"label": f"{CACHE_BUST_LABEL}={cache_bust}", "dangling": True}
    ):
        with contextlib.suppress(ImageNotFound, APIError):
            client.images.remove(image.id, noprune=False)
            removed += 1
    return removed


@dataclass
class ImageLedger:
    """Images the benchmarks created, removed at the end. A tag that existed before the
    benchmarks started is never removed: other runs on this engine may use it."""

    client: docker.DockerClient
    preexisting: frozenset[str] = field(default_factory=frozenset)
    created: list[str] = field(default_factory=list)

    @classmethod
    def snapshot(cls, client: docker.DockerClient) -> ImageLedger:
        tags = {tag for image in client.images.list() for tag in image.tags}
        return cls(client=client, preexisting=frozenset(tags))

    def track(self, tags: Iterable[str]) -> None:
        for tag in tags:
            if tag not in self.preexisting and tag not in self.created:
                self.created.append(tag)

    def remove_created(self) -> int:
        removed = 0
        for tag in reversed(self.created):
            with contextlib.suppress(ImageNotFound, APIError):
                self.client.images.remove(tag, noprune=False)
                removed += 1
        self.created.clear()
        return removed
