"""A throwaway copy of the project that the deploy tests change from version to version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.support import PROJECT_ROOT

COPIED = ("cdk.json", "cdk", "resources", "package.json", "package-lock.json")
LINKED = (".venv", "node_modules")
MIGRATIONS = Path("resources/laravel/database/migrations")


class ProjectCopy:
    def __init__(self, root: Path) -> None:
        self.root = root

    def add_migration(self, name: str, body: str) -> Path:
        path = self.root / MIGRATIONS / f"{name}.php"
        path.write_text(body)
        return path


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> ProjectCopy:
    root = tmp_path_factory.mktemp("project")
    for name in COPIED:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(
                source,
                root / name,
                ignore=shutil.ignore_patterns("node_modules", "__pycache__", "*.crt", "*.pem"),
            )
        else:
            shutil.copy2(source, root / name)
    for name in LINKED:
        (root / name).symlink_to(PROJECT_ROOT / name)
    return ProjectCopy(root)
