"""Shared paths and handles for the integration tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from docker.models.containers import Container

from parity.services.database import DatabaseSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RESOURCES = PROJECT_ROOT / "resources"
# The sample page: app.js rewrites the status line and marks it ok; app.css colours that.
STATUS = "#js-status"
OK_COLOUR = "rgb(10, 125, 50)"


@dataclass(frozen=True)
class SessionDatabase:
    """The session's DB: reachable from the session network as ``host``."""

    container: Container
    settings: DatabaseSettings
    host: str

    def fresh_schema(self, name: str) -> str:
        """An empty database ``name`` the app user owns (an old one of that name is dropped)."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"schema name {name!r} must be letters, digits and underscores")
        sql = (
            f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`; "
            f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{self.settings.user}'@'%';"
        )
        result = self.container.exec_run(
            ["mysql", "--protocol=TCP", "-h127.0.0.1", "-uroot", "-e", sql],
            environment={"MYSQL_PWD": self.settings.root_password},
        )
        assert result.exit_code == 0, result.output.decode(errors="replace")
        return name


COPIED = (
    "fargate-parity.toml",
    "cdk.json",
    "cdk",
    "resources",
    "package.json",
    "package-lock.json",
)
LINKED = (".venv", "node_modules")
MIGRATIONS = Path("resources/laravel/database/migrations")


class ProjectCopy:
    def __init__(self, root: Path) -> None:
        self.root = root

    def add_migration(self, name: str, body: str) -> Path:
        path = self.root / MIGRATIONS / f"{name}.php"
        path.write_text(body)
        return path


def copy_project(root: Path) -> ProjectCopy:
    """A throwaway copy of the project (sharing .venv and node_modules) to change freely."""
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
