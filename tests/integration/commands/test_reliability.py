"""A user's bad day against a healthy environment (issue 12), through the real tasks: another
run's failure, a bad flag or secrets file, a second concurrent run, a closed output pipe, and an
``invoke dev`` killed during a slow migration. The running environment must survive each, and a
migration must never run twice.

The app is the shop (fixtures/shop) with a slow, Laravel-like migration: it looks in its
``migrations`` table, and only when ``m1`` is missing it works for a while and records it. Two
migrations side by side would both record it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import requests

from parity.engine.labels import (
    CONTAINER_LABEL,
    RUN_LABEL,
    SCOPE_LABEL,
    TASK_LABEL,
    Scope,
    run_labels,
)
from parity.runtime.bringup import LOCAL_STATE, SECRETS_FILE, checkout_lock
from parity.runtime.localrun import run_id_for
from parity.services.motoprocess import RECORD, is_emulator_process
from tests.integration.commands.test_any_app import FIXTURE, READY, invoke
from tests.integration.support import PROJECT_ROOT

# The probes test the harness, not an emulator: they run on the embedded one only.
pytestmark = [pytest.mark.integration]
# m1 works for 20 s before it records itself; like PHP's sleep(), a SIGTERM cuts the work short
# and the migration goes on to record itself.
SLOW_MIGRATION = """
import signal


class Stopped(Exception):
    pass


def stopped(*_):
    raise Stopped()


def migrate():
    signal.signal(signal.SIGTERM, stopped)
    with connect() as db, db.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS heartbeats"
            " (id INT AUTO_INCREMENT PRIMARY KEY, task VARCHAR(64), at DOUBLE)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS migrations"
            " (id INT AUTO_INCREMENT PRIMARY KEY, migration VARCHAR(64), batch INT)"
        )
        cursor.execute("SELECT COUNT(*) FROM migrations WHERE migration = 'm1'")
        if cursor.fetchone()[0] == 0:
            print("migrating: m1", flush=True)
            try:
                time.sleep(20)
            except Stopped:
                print("SIGTERM: recording m1 anyway", flush=True)
            cursor.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM migrations")
            cursor.execute(
                "INSERT INTO migrations (migration, batch) VALUES ('m1', %s)", cursor.fetchone()
            )
        print("migrated: m1", flush=True)


class Handler(Handler):
    def do_GET(self):
        if self.path not in ("/migrations", "/forget"):
            return super().do_GET()
        with connect() as db, db.cursor() as cursor:
            if self.path == "/forget":
                cursor.execute("DELETE FROM migrations")
            cursor.execute("SELECT migration, batch FROM migrations ORDER BY id")
            body = json.dumps(cursor.fetchall()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

"""

# Where the shop records its migrations: what a timed-out migration reports on.
MIGRATIONS_TABLE = """
[environments.local.migrations_check]
pretend_arguments = ["--pretend"]
migrations_dir = "/app"
files = "*.py"
repository_table = "migrations"
"""


@dataclass(frozen=True)
class Shop:
    root: Path
    url: str

    @property
    def port(self) -> str:
        return self.url.rsplit(":", 1)[1].rstrip("/")

    def migrations(self) -> list[list[object]]:
        rows: list[list[object]] = requests.get(self.url + "migrations", timeout=5).json()
        return rows


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    root = tmp_path_factory.mktemp("reliable-shop") / "app"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("cdk.out"))
    (root / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")
    script = root / "image" / "shop.py"
    main = 'if __name__ == "__main__":'
    script.write_text(script.read_text().replace(main, SLOW_MIGRATION + main))
    with (root / "fargate-parity.toml").open("a") as config:
        config.write(MIGRATIONS_TABLE)
    result = invoke(root, "dev", "--detach", "--port", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    ready = READY.search(result.stderr)
    assert ready, result.stderr[-3000:]
    yield Shop(root=root, url=ready[1])
    recorded = root / LOCAL_STATE / RECORD
    pid = json.loads(recorded.read_text())["pid"] if recorded.exists() else None
    invoke(root, "down")
    assert pid is None or not is_emulator_process(pid), "invoke down left the emulator running"


def container_ids(client: docker.DockerClient, root: Path) -> set[str]:
    labels = {"label": [f"{RUN_LABEL}={run_id_for(root)}"]}
    return {container.id for container in client.containers.list(all=True, filters=labels)}


def serves(shop: Shop) -> int:
    return requests.get(shop.url + "health", timeout=5).status_code


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_after_detach_the_emulator_still_serves_the_tasks_until_down(shop: Shop) -> None:
    # POST /orders sends the order to SQS from the web task, with the task role's credentials
    # from its endpoints: both reach the emulator, which outlives the `invoke dev --detach`
    # that started it (the fixture's teardown checks that `invoke down` stops it).
    record = json.loads((shop.root / LOCAL_STATE / RECORD).read_text())
    assert is_emulator_process(record["pid"])
    posted = requests.post(shop.url + "orders", timeout=5)
    assert posted.status_code == 200, posted.text[:500]
    assert posted.json()["order"]


def test_a_second_run_whose_port_is_taken_fails_in_one_line_and_the_first_still_serves(
    shop: Shop, docker_client: docker.DockerClient, taken_port: int
) -> None:
    before = container_ids(docker_client, shop.root)
    result = invoke(shop.root, "dev", "--detach", "--port", str(taken_port))
    assert result.returncode == 1
    assert one_line(result).startswith(f"error: port {taken_port} on 127.0.0.1 is already in use")
    assert container_ids(docker_client, shop.root) == before
    assert serves(shop) == 200


@pytest.mark.parametrize(
    ("secrets", "problem"),
    [
        ("[1, 2]", "the top level must be an object"),
        ('{"secretsmanager": {"shop/db": 5}, "ssm": {}}', "secretsmanager.shop/db must be"),
        (None, "--port '70000' is not a port"),
        (None, "--port '-1' is not a port"),
        (None, "--port 'abc' is not a port"),
    ],
)
def test_bad_input_is_one_line_before_any_container_starts(
    shop: Shop, docker_client: docker.DockerClient, secrets: str | None, problem: str
) -> None:
    path = shop.root / SECRETS_FILE
    kept = path.read_text()
    port = problem.split("'")[1] if secrets is None else "0"
    if secrets is not None:
        path.write_text(secrets)
    before = container_ids(docker_client, shop.root)
    try:
        result = invoke(shop.root, "dev", "--detach", "--port", port)
    finally:
        path.write_text(kept)
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith("error: ")
    assert problem in line
    if secrets is not None:
        assert str(path) in line
    assert container_ids(docker_client, shop.root) == before
    assert serves(shop) == 200


def test_a_second_concurrent_run_is_refused_naming_the_one_that_runs(shop: Shop) -> None:
    with checkout_lock(shop.root):
        result = invoke(shop.root, "dev", "--detach", "--port", shop.port)
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith("error: another local run of this checkout is running")
    assert f"pid {os.getpid()}" in line
    assert serves(shop) == 200


def test_a_closed_output_pipe_does_not_tear_the_environment_down(shop: Shop) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "invoke", "dev", "--detach", "--port", shop.port],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PARITY_PROJECT": str(shop.root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert run.stderr is not None
    run.stderr.readline()  # `| head -1`
    run.stderr.close()
    assert run.wait(timeout=600) == 0
    assert serves(shop) == 200


def test_an_orphaned_migration_is_waited_for_and_never_runs_twice(
    shop: Shop, docker_client: docker.DockerClient
) -> None:
    assert [row[0] for row in requests.get(shop.url + "forget", timeout=5).json()] == []
    first = subprocess.Popen(
        [sys.executable, "-m", "invoke", "dev", "--detach", "--port", shop.port],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PARITY_PROJECT": str(shop.root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    migration = wait_for_running_migration(docker_client, shop.root)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    # What an engine that stopped under a run leaves: an exited container of the checkout.
    stale = docker_client.containers.create(
        "debian:bookworm-slim",
        ["true"],
        labels=run_labels(scope=Scope.DEV, run_id=run_id_for(shop.root)),
    )
    second = invoke(shop.root, "dev", "--detach", "--port", shop.port)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"migration task {migration} of an earlier run still runs" in second.stderr
    assert "stopped container(s) an earlier run of this checkout left" in second.stderr
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(stale.id)
    assert shop.migrations() == [["m1", 1]]


def wait_for_running_migration(client: docker.DockerClient, root: Path) -> str:
    """The task name of this checkout's migration once its watched container runs."""
    labels = [f"{RUN_LABEL}={run_id_for(root)}", f"{CONTAINER_LABEL}=schema"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for container in client.containers.list(filters={"label": labels, "status": "running"}):
            if "-migration-" in container.labels.get(TASK_LABEL, ""):
                return str(container.labels[TASK_LABEL])
        time.sleep(0.2)
    raise AssertionError("no migration task started within 300s")


def test_a_timed_out_local_migration_tells_what_it_did_and_leaves_nothing_it_started(
    shop: Shop, docker_client: docker.DockerClient
) -> None:
    result = invoke(shop.root, "migrate", "--env", "local", "--timeout", "5", "--port", "0")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the migration did not finish within 5s; task ")
    assert "was stopped: schema then exited 0;" in last
    assert "the migrations table gained m1 (the stop did not undo them)" in last
    labels = [f"{RUN_LABEL}={run_id_for(shop.root)}", f"{SCOPE_LABEL}={Scope.LOCAL_DEPLOY}"]
    assert docker_client.containers.list(all=True, filters={"label": labels}) == []
    assert serves(shop) == 200


def test_the_dev_secrets_file_stays_as_it_was_after_invoke_logs(shop: Shop) -> None:
    path = shop.root / SECRETS_FILE
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    result = invoke(shop.root, "logs", "--tail", "5")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert json.loads(before[0])  # still the values the running environment was seeded with
