"""What every benchmark section gets: options, the engine, settings and a scratch workspace."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import docker

from bench.devloop import prime
from bench.project import ImageLedger, ProjectCopy, copy_checkout, copy_project
from parity.config.settings import HarnessSettings
from parity.services.database import resolve_image
from parity.services.redis import ensure_redis_image


@dataclass(frozen=True, kw_only=True)
class BenchOptions:
    """How many runs each figure is the median of, and which sections run."""

    runs: int = 3  # warm/hot/baseline start-ups, rebuilds, local deploys
    cold_runs: int = 1  # cold start-ups: each builds both images from the base image
    edit_runs: int = 5  # PHP edits, and asset edits with --hot (cheap)
    asset_edit_runs: int = 2  # asset edits: synth + rebuild + restart each
    ecs_trials: int = 500  # simulated ECS deploys for the scripted-fake gate latency
    suite: bool = True  # time `invoke test-integration` (warm)
    cold_suite: bool = False  # and once more with every app image built from scratch
    sections: tuple[str, ...] = ()  # empty: all
    soak_seconds: tuple[float, ...] = (60.0,)  # one soak per duration (`--soak 60,300`)


@dataclass(kw_only=True)
class BenchContext:
    project_root: Path
    workspace: Path
    options: BenchOptions
    client: docker.DockerClient
    settings: HarnessSettings
    ledger: ImageLedger
    session_id: str
    _primed: ProjectCopy | None = None

    def new_copy(self, name: str) -> ProjectCopy:
        """A fresh copy of the project: never synthesized, images as the engine has them."""
        return copy_project(self.project_root, self.workspace / f"{name}-{nonce()}")

    def primed_copy(self, name: str) -> ProjectCopy:
        """A copy in the warm state: synthesized (its synth stamp current) and its images
        built. The first call synthesizes once; later ones copy that copy, cdk.out included."""
        if self._primed is None:
            self._primed = self.new_copy("primed")
            prime(self._primed, self.client, self.settings)
        destination = self.workspace / f"{name}-{nonce()}"
        copy = copy_project(self._primed.root, destination, with_assembly=True)
        prime(copy, self.client, self.settings)  # no synth, no build: checks they are current
        return copy

    def new_checkout(self, name: str) -> ProjectCopy:
        return copy_checkout(self.project_root, self.workspace / f"{name}-{nonce()}")

    def redis_image(self) -> str:
        return ensure_redis_image(self.client, certificates=self.settings.certificates())

    def db_image(self) -> str:
        return resolve_image(
            self.client,
            self.settings.db_image,
            certificates=self.settings.certificates(),
        )


def nonce() -> str:
    return secrets.token_hex(4)
