"""Throwaway git repositories for the ref and export tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "compat tests",
    "GIT_AUTHOR_EMAIL": "compat@tests.invalid",
    "GIT_COMMITTER_NAME": "compat tests",
    "GIT_COMMITTER_EMAIL": "compat@tests.invalid",
}


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=root,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


class Repository:
    def __init__(self, root: Path) -> None:
        self.root = root
        git(root, "init", "--quiet", "--initial-branch=main")

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        """Write ``files`` (path → text), commit everything, return the new sha."""
        for relative, text in files.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.root, "add", "--all")
        git(self.root, "commit", "--quiet", "--message", message)
        return git(self.root, "rev-parse", "HEAD")

    def tag(self, name: str, ref: str = "HEAD") -> None:
        git(self.root, "tag", name, ref)


@pytest.fixture
def make_repository(tmp_path: Path) -> Callable[[str], Repository]:
    def make(name: str = "repo") -> Repository:
        root = tmp_path / name
        root.mkdir()
        return Repository(root)

    return make
