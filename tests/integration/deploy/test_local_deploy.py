"""``invoke deploy --env local``: the migration gate and a rolling replacement, for real."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import docker
import pytest
import requests

from parity.assembly.apptasks import deploy_stacks
from parity.assembly.synth import assembly_dir, synth
from parity.commands.dev import down
from parity.config.settings import HarnessSettings
from parity.deploy.backends import open_backend
from parity.deploy.flow import DeployOptions, PreDeploySteps, deploy, new_deploy_id
from parity.errors import MigrationFailed
from tests.integration.support import ProjectCopy

pytestmark = [pytest.mark.integration, pytest.mark.emulator]

ADDITIVE_MIGRATION = """<?php
use Illuminate\\Database\\Migrations\\Migration;
use Illuminate\\Support\\Facades\\DB;

return new class extends Migration
{
    public function up()
    {
        DB::table('greetings')->insert([
            'message' => 'Hello from version B',
            'created_at' => now(),
            'updated_at' => now(),
        ]);
    }

    public function down()
    {
        DB::table('greetings')->where('message', 'Hello from version B')->delete();
    }
};
"""
FAILING_MIGRATION = """<?php
use Illuminate\\Database\\Migrations\\Migration;

return new class extends Migration
{
    public function up()
    {
        throw new RuntimeException('this migration fails on purpose');
    }
};
"""
LOAD_MAX_REQUESTS = 20_000
LOAD_MAX_SECONDS = 600.0


@dataclass
class RequestLoop:
    """A bounded loop of requests on loopback, counting every non-200 answer as a failure."""

    url: str
    results: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + LOAD_MAX_SECONDS
        with requests.Session() as session:
            while not self._stop.is_set() and time.monotonic() < deadline:
                if sum(self.results.values()) >= LOAD_MAX_REQUESTS:
                    break
                try:
                    status = session.get(self.url, timeout=5).status_code
                    self.results["ok" if status == 200 else f"http {status}"] += 1
                except requests.RequestException as error:
                    self.results[type(error).__name__] += 1
                time.sleep(0.02)

    def stop(self) -> Counter[str]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        return self.results


def deploy_local(project: ProjectCopy, port: int) -> None:
    options = DeployOptions(environment="local", deploy_id=new_deploy_id(), migration_timeout_s=300)
    steps = PreDeploySteps(
        synth=lambda: synth(project_root=project.root, env="local"),
        stacks=lambda: deploy_stacks(project.root, "local", assembly_dir(project.root)),
        check=lambda: None,
        # The copy has no git history; tests/integration/verify covers the release checks.
        release_checks=lambda: None,
        diff=lambda: "",
    )
    with open_backend(
        "local",
        project_root=project.root,
        settings=HarnessSettings.from_environ(),
        local_port=port,
        emulator=HarnessSettings.from_environ().emulator,
        emulator_port=0,
    ) as backend:
        deploy(options, backend=backend, pre_deploy=steps, project_root=project.root)


@pytest.fixture(scope="module")
def version_a(project_copy: ProjectCopy, docker_client: docker.DockerClient) -> Iterator[str]:
    port = free_port()
    deploy_local(project_copy, port)
    yield f"http://127.0.0.1:{port}"
    down(project_copy.root)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_version_a_serves_after_its_migration(version_a: str) -> None:
    assert requests.get(version_a + "/healthz", timeout=5).status_code == 200
    assert "Hello from Laravel on Fargate" in requests.get(version_a + "/", timeout=5).text


def test_a_to_b_under_load_fails_no_request(
    version_a: str, project_copy: ProjectCopy, record_property: pytest.RecordProperty
) -> None:
    project_copy.add_migration("2024_02_01_000000_greet_version_b", ADDITIVE_MIGRATION)
    port = int(version_a.rsplit(":", 1)[1])
    loop = RequestLoop(version_a + "/")
    loop.start()
    try:
        deploy_local(project_copy, port)
    finally:
        results = loop.stop()
    record_property("requests_during_deploy", dict(results))
    print(f"requests during the A → B deploy: {dict(results)}")
    assert results["ok"] > 50, results
    assert set(results) == {"ok"}, f"failed requests during the rolling replacement: {results}"
    assert "Hello from version B" in requests.get(version_a + "/", timeout=5).text


def test_a_failing_migration_leaves_the_running_version_serving(
    version_a: str, project_copy: ProjectCopy
) -> None:
    before = requests.get(version_a + "/healthz", timeout=5).headers["X-Parity-Target"]
    broken = project_copy.add_migration("2024_03_01_000000_fails", FAILING_MIGRATION)
    port = int(version_a.rsplit(":", 1)[1])
    try:
        with pytest.raises(MigrationFailed, match="exited 1"):
            deploy_local(project_copy, port)
    finally:
        broken.unlink()
    response = requests.get(version_a + "/", timeout=5)
    assert response.status_code == 200
    assert "Hello from version B" in response.text
    assert response.headers["X-Parity-Target"] == before, "the service was not replaced"
