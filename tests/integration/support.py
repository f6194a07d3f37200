"""Shared paths and handles for the integration tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from docker.models.containers import Container

from parity.database import DatabaseSettings, create_schema

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RESOURCES = PROJECT_ROOT / "resources"


@dataclass(frozen=True)
class SessionDatabase:
    """The session's DB: reachable from the session network as ``host``."""

    container: Container
    settings: DatabaseSettings
    host: str

    def fresh_schema(self, name: str) -> str:
        create_schema(self.container, self.settings, name)
        return name
