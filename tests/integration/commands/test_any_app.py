"""Another team's CDK app, run through the user-facing tasks only: its fargate-parity.toml, then
`invoke dev` and `invoke run-task`, with PARITY_PROJECT pointing at it.

The app (fixtures/shop) is JavaScript, with its own stack names and a small Python image: a
migration task in one stack, with the data the stack creates (an Aurora cluster with a generated
secret, an SQS queue, an S3 bucket, an SSM parameter); a web service behind an ALB the stack
creates (desiredCount 2) and a worker with no load balancer in another. The containers reach the
queue and the bucket through the SDK's default credential chain, with their task roles.

`invoke dev` runs in the foreground (the emulator lives in its process), started with a host
credential in its environment that must never reach a container.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
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
START_TIMEOUT_S = 600.0
# A credential of the invoking environment: none of it may reach a container.
HOST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "host-access-key-id-that-must-stay-on-the-host",
    "AWS_SECRET_ACCESS_KEY": "host-secret-that-must-stay-on-the-host",
    "AWS_SESSION_TOKEN": "host-session-token",
}
ENVIRONMENT_SCRIPT = "import os, json; print(json.dumps(dict(os.environ)))"
FARGATE_VARIABLES = {
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "ECS_CONTAINER_METADATA_URI_V4",
    "ECS_CONTAINER_METADATA_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_ENDPOINT_URL",
}


@dataclass
class DevProcess:
    """`invoke dev` in the foreground: its output collected line by line."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def collect(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def wait_for_ready(self, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready = READY.search("".join(self.lines))
            if ready:
                return ready[1]
            assert self.process.poll() is None, "".join(self.lines)[-3000:]
            time.sleep(0.2)
        raise AssertionError("invoke dev was not ready in time:\n" + "".join(self.lines)[-3000:])

    def stop(self) -> None:
        """Ctrl-C, as a user stops it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=120)


@dataclass(frozen=True)
class RunningShop:
    root: Path
    url: str
    started_at: float
    dev: DevProcess

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
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "dev", "--port", "0", "--emulator-port", "0"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **HOST_CREDENTIALS, "PARITY_PROJECT": str(root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    dev = DevProcess(process)
    threading.Thread(target=dev.collect, daemon=True).start()
    try:
        url = dev.wait_for_ready(START_TIMEOUT_S)
        assert url == f"http://127.0.0.1:{port}/"
        yield RunningShop(root=root, url=url, started_at=started_at, dev=dev)
    finally:
        dev.stop()
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
    # Round robin, but a slow answer (LocalStack behind the page) moves nginx to the other
    # task: ask until both have answered, every answer a 200.
    tasks: set[str] = set()
    deadline = time.monotonic() + DEADLINE_S
    while len(tasks) < 2:
        assert time.monotonic() < deadline, f"only {tasks} answered"
        answer = requests.get(shop.url, timeout=10)
        assert answer.status_code == 200, answer.text[:500]
        tasks.add(answer.json()["task"])
    assert len(tasks) == 2


def test_the_worker_runs_and_its_work_shows_on_the_web(shop: RunningShop) -> None:
    first = requests.get(shop.url, timeout=5).json()["heartbeats"]
    deadline = time.monotonic() + DEADLINE_S
    while requests.get(shop.url, timeout=5).json()["heartbeats"] <= first:
        assert time.monotonic() < deadline, "the worker wrote no heartbeat"
        time.sleep(0.5)


def running_container(
    shop: RunningShop, client: docker.DockerClient, name: str
) -> docker.models.containers.Container:
    (found, *_) = client.containers.list(
        filters={"label": [*shop.labels["label"], f"{CONTAINER_LABEL}={name}"]}
    )
    return found


def in_container(container: docker.models.containers.Container, script: str) -> Any:
    """Run a Python script in the container; its last stdout line, as JSON."""
    result = container.exec_run(["python3", "-c", script])
    output = result.output.decode(errors="replace")
    assert result.exit_code == 0, output
    return json.loads(output.strip().splitlines()[-1])


def test_an_order_goes_through_the_queue_to_the_bucket_and_the_db(shop: RunningShop) -> None:
    # The web task puts it on the queue; the worker writes the receipt to S3 and the row to the
    # DB it reaches through the generated secret's host; the web task then sees both.
    order = requests.post(shop.url + "orders", timeout=5).json()
    deadline = time.monotonic() + DEADLINE_S
    status = requests.get(shop.url + f"orders/{order['order']}", timeout=5).json()
    while not (status["receipt"] and status["fulfilled_at"]):
        assert time.monotonic() < deadline, f"the worker never fulfilled the order: {status}"
        time.sleep(0.1)
        status = requests.get(shop.url + f"orders/{order['order']}", timeout=5).json()
    assert status["fulfilled_at"] >= order["at"]


def test_the_ssm_parameter_the_stack_creates_reaches_the_containers(shop: RunningShop) -> None:
    assert requests.get(shop.url, timeout=5).json()["greeting"] == "welcome to the shop"


def test_every_container_gets_what_fargate_sets_and_no_host_credential(
    shop: RunningShop, docker_client: docker.DockerClient
) -> None:
    for name in ("web", "worker"):
        container = running_container(shop, docker_client, name)
        environment = in_container(
            container, "import os, json; print(json.dumps(dict(os.environ)))"
        )
        assert set(environment) >= FARGATE_VARIABLES
        assert environment["AWS_EXECUTION_ENV"] == "AWS_ECS_FARGATE"
        assert environment["AWS_REGION"] == "eu-central-1"
        assert not set(HOST_CREDENTIALS) & set(environment)
        leaked = [v for v in HOST_CREDENTIALS.values() if v in json.dumps(environment)]
        assert leaked == []


METADATA_SCRIPT = """
import json, os, urllib.request
def get(url):
    return json.load(urllib.request.urlopen(url, timeout=5))
uri = os.environ["ECS_CONTAINER_METADATA_URI_V4"]
credentials = get(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
import boto3
identity = boto3.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).get_caller_identity()
print(json.dumps({"container": get(uri), "task": get(uri + "/task"),
                  "credentials": credentials, "identity": identity["Arn"]}))
"""


def test_the_metadata_and_credentials_endpoints_answer_as_ecs_does(
    shop: RunningShop, docker_client: docker.DockerClient
) -> None:
    container = running_container(shop, docker_client, "worker")
    answers = in_container(container, METADATA_SCRIPT)
    task, metadata = answers["task"], answers["container"]
    assert task["LaunchType"] == "FARGATE"
    assert task["Family"] == "shop-local-worker"
    assert task["Limits"] == {"CPU": 0.25, "Memory": 512}
    assert task["TaskARN"].startswith("arn:aws:ecs:eu-central-1:111111111111:task/")
    assert task["AvailabilityZone"].startswith("eu-central-1")
    assert [c["Name"] for c in task["Containers"]] == ["worker"]
    assert metadata["DockerId"] == container.id
    assert metadata["Labels"]["com.amazonaws.ecs.task-arn"] == task["TaskARN"]
    assert metadata["Networks"][0]["IPv4Addresses"]
    credentials = answers["credentials"]
    assert {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn"} <= set(credentials)
    assert credentials["AccessKeyId"] != HOST_CREDENTIALS["AWS_ACCESS_KEY_ID"]
    # The emulator accepts them, as the task role in the stack's account.
    role = credentials["RoleArn"].rsplit("/", 1)[1]
    assert answers["identity"].startswith(f"arn:aws:sts::111111111111:assumed-role/{role}/")


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


def test_nothing_is_left_after_ctrl_c_and_invoke_down(
    shop: RunningShop, docker_client: docker.DockerClient
) -> None:
    shop.dev.stop()
    assert shop.dev.process.returncode is not None
    assert invoke(shop.root, "down").returncode == 0
    assert docker_client.containers.list(all=True, filters=shop.labels) == []
    assert docker_client.networks.list(filters=shop.labels) == []
    kept = docker_client.volumes.list(filters=shop.labels)
    assert [volume.name for volume in kept] == [data_volume_for(run_id_for(shop.root))]
    removed = invoke(shop.root, "down", "--volumes")
    assert removed.returncode == 0
    assert "its data is lost" in " ".join(removed.stderr.split())  # rich wraps lines
    assert docker_client.volumes.list(filters=shop.labels) == []
