"""Fixtures for the previous-version check: the ref under test and a released project copy.

``PARITY_PREVIOUS_REF`` names the previous release of this checkout (``invoke
test-integration --previous REF`` sets it); unset, the last tag or ``HEAD~1`` is used.
``PARITY_EMULATOR`` picks the AWS emulator (moto by default).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from parity.config.settings import EmulatorKind
from parity.engine.labels import Scope, remove_labelled
from parity.runtime.localrun import run_id_for
from tests.integration.support import MIGRATIONS, PROJECT_ROOT, ProjectCopy, copy_project

PREVIOUS_REF_VARIABLE = "PARITY_PREVIOUS_REF"
EMULATOR_VARIABLE = "PARITY_EMULATOR"
FIXTURES = Path(__file__).parent / "fixtures"
RELEASE_TAG = "v1.0.0"
# Fixed identity and dates make the copy's commit shas depend on its content only, so the
# previous release's images (cached by sha) are reused by the next session.
GIT_ENVIRONMENT = {
    "GIT_AUTHOR_NAME": "fargate-parity tests",
    "GIT_AUTHOR_EMAIL": "tests@fargate-parity.invalid",
    "GIT_AUTHOR_DATE": "2030-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "fargate-parity tests",
    "GIT_COMMITTER_EMAIL": "tests@fargate-parity.invalid",
    "GIT_COMMITTER_DATE": "2030-01-01T00:00:00Z",
}
COPY_GITIGNORE = "cdk.out/\n.local/\n.venv\nnode_modules\n"


@pytest.fixture(scope="session")
def previous_ref() -> str | None:
    return os.environ.get(PREVIOUS_REF_VARIABLE) or None


@pytest.fixture(scope="session")
def emulator_kind() -> EmulatorKind:
    return EmulatorKind.parse(os.environ.get(EMULATOR_VARIABLE, "moto"))


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=root,
        env={**os.environ, **GIT_ENVIRONMENT},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@dataclass(frozen=True)
class ReleasedProject:
    """A project copy in its own git repo: RELEASE_TAG is the previous release, and each
    ``release_with`` commits a new version on top of it with one fixture migration."""

    copy: ProjectCopy

    @property
    def root(self) -> Path:
        return self.copy.root

    def release_with(self, fixture: str) -> None:
        for earlier in FIXTURES.glob("*.php"):
            (self.root / MIGRATIONS / earlier.name).unlink(missing_ok=True)
        shutil.copy2(FIXTURES / fixture, self.root / MIGRATIONS / fixture)
        git(self.root, "add", "--all")
        git(self.root, "commit", "--quiet", "--allow-empty", "--message", f"new version: {fixture}")


@pytest.fixture(scope="module")
def released_project(docker_client: docker.DockerClient) -> Iterator[ReleasedProject]:
    # A fixed path per checkout: a check of an interrupted session left containers labelled
    # with this path's run id, and the next check here removes them before it starts.
    root = Path(tempfile.gettempdir()) / f"fargate-parity-compat-{run_id_for(PROJECT_ROOT)}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    copy = copy_project(root)
    (root / ".gitignore").write_text(COPY_GITIGNORE)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--message", "the previous release")
    git(root, "tag", RELEASE_TAG)
    yield ReleasedProject(copy)
    remove_labelled(docker_client, scope=Scope.COMPAT, run_id=run_id_for(root))
    shutil.rmtree(root, ignore_errors=True)
