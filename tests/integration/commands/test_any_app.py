"""Another team's CDK app, run through the user-facing tasks only: its fargate-parity.toml, then
`invoke dev` and `invoke run-task`, with PARITY_PROJECT pointing at it.

The app (fixtures/shop) is JavaScript, with its own stack names and a small Python image: a
migration task in one stack; a web service behind an ALB the stack creates (desiredCount 2) and a
worker with no load balancer in another.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
import yaml

from parity.engine.labels import CONTAINER_LABEL, RUN_LABEL
from parity.engine.ports import claim_port
from parity.runtime.localrun import data_volume_for, run_id_for
from tests.integration.support import PROJECT_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.emulator]
FIXTURE = Path(__file__).parent / "fixtures" / "shop"
READY = re.compile(r"ready: (http://127\.0\.0\.1:\d+/)")
DEADLINE_S = 60.0


@dataclass(frozen=True)
class RunningShop:
    root: Path
    url: str
    started_at: float

    @property
    def labels(self) -> dict[str, list[str]]:
        return {"label": [f"{RUN_LABEL}={run_id_for(self.root)}"]}


def invoke(root: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """A task as a user runs it, from the harness checkout, pointed at the app."""
    return subprocess.run(
        [sys.executable, "-m", "invoke", *arguments],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PARITY_PROJECT": str(root)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningShop]:
    root = tmp_path_factory.mktemp("shop") / "app"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("cdk.out"))
    (root / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")  # aws-cdk-lib from npm
    # The storefront's port comes from the app's config, as a team would pin it.
    port = claim_port(None, purpose="the storefront")
    with (root / "fargate-parity.toml").open("a") as config:
        config.write(f"\n[environments.local.services.ports]\nstorefrontservice = {port}\n")
    started_at = time.time()
    result = invoke(root, "dev", "--detach", "--port", "0", "--emulator-port", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    ready = READY.search(result.stderr)
    assert ready, result.stderr[-3000:]
    assert ready[1] == f"http://127.0.0.1:{port}/"
    yield RunningShop(root=root, url=ready[1], started_at=started_at)
    invoke(root, "down", "--volumes")


def lifecycle(shop: RunningShop, client: docker.DockerClient) -> list[dict[str, Any]]:
    events = client.events(
        since=shop.started_at,
        until=time.time(),
        filters={**shop.labels, "type": "container", "event": ["start", "die"]},
        decode=True,
    )
    return sorted(events, key=lambda event: event["timeNano"])


def container(event: dict[str, Any]) -> str:
    return str(event["Actor"]["Attributes"].get(CONTAINER_LABEL, ""))


def test_the_migration_finished_before_any_service_container_started(
    shop: RunningShop, docker_client: docker.DockerClient
) -> None:
    events = lifecycle(shop, docker_client)
    migrated = [e for e in events if container(e) == "schema" and e["Action"] == "die"]
    assert len(migrated) == 1
    assert migrated[0]["Actor"]["Attributes"]["exitCode"] == "0"
    services = [e for e in events if container(e) in {"web", "worker"} and e["Action"] == "start"]
    assert sorted(container(e) for e in services) == ["web", "web", "worker"]
    assert all(e["timeNano"] > migrated[0]["timeNano"] for e in services)


def test_the_web_service_answers_through_the_load_balancer_from_its_two_tasks(
    shop: RunningShop,
) -> None:
    assert requests.get(shop.url + "health", timeout=5).status_code == 200
    tasks = {requests.get(shop.url, timeout=5).json()["task"] for _ in range(8)}
    assert len(tasks) == 2


def test_the_worker_runs_and_its_work_shows_on_the_web(shop: RunningShop) -> None:
    first = requests.get(shop.url, timeout=5).json()["heartbeats"]
    deadline = time.monotonic() + DEADLINE_S
    while requests.get(shop.url, timeout=5).json()["heartbeats"] <= first:
        assert time.monotonic() < deadline, "the worker wrote no heartbeat"
        time.sleep(0.5)


def test_run_task_exits_with_the_watched_containers_code(shop: RunningShop) -> None:
    failing = invoke(shop.root, "run-task", "schema", "--", "python3", "-c", "raise SystemExit(3)")
    assert failing.returncode == 3, failing.stderr[-2000:]
    assert "the task exited with 3" in failing.stderr
    passing = invoke(shop.root, "run-task", "shop-local-worker", "--", "python3", "-c", "print(7)")
    assert passing.returncode == 0, passing.stderr[-2000:]
    assert "worker | 7" in passing.stderr


def test_an_unknown_task_is_one_line_naming_the_ones_there_are(shop: RunningShop) -> None:
    result = invoke(shop.root, "run-task", "nope")
    assert result.returncode == 1
    assert "no task definitions match 'nope'" in result.stderr
    assert "shop-local-web" in result.stderr


def test_the_compose_export_builds_from_the_apps_own_image_folder(shop: RunningShop) -> None:
    result = invoke(shop.root, "compose")
    assert result.returncode == 0, result.stderr[-2000:]

    services = yaml.safe_load((shop.root / "compose" / "docker-compose.yml").read_text())[
        "services"
    ]
    assert {"schema", "web", "worker", "mysql"} <= set(services)
    for name in ("schema", "web", "worker"):
        assert services[name]["build"]["context"] == "../image"
    assert services["web"]["depends_on"]["schema"] == {
        "condition": "service_completed_successfully"
    }
    # The secrets reach compose only through the gitignored env files.
    assert (shop.root / ".local" / "compose" / "web.env").stat().st_mode & 0o077 == 0


def test_nothing_is_left_after_invoke_down(
    shop: RunningShop, docker_client: docker.DockerClient
) -> None:
    assert invoke(shop.root, "down").returncode == 0
    assert docker_client.containers.list(all=True, filters=shop.labels) == []
    assert docker_client.networks.list(filters=shop.labels) == []
    kept = docker_client.volumes.list(filters=shop.labels)
    assert [volume.name for volume in kept] == [data_volume_for(run_id_for(shop.root))]
    removed = invoke(shop.root, "down", "--volumes")
    assert removed.returncode == 0
    assert "its data is lost" in " ".join(removed.stderr.split())  # rich wraps lines
    assert docker_client.volumes.list(filters=shop.labels) == []
