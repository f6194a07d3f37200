"""Each Fargate semantic of the local runtime, proven with real containers."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import datetime

import docker
import pytest

from parity.assembly.secretref import parse_value_from
from parity.assembly.taskdef import (
    ContainerDependency,
    ContainerSpec,
    DependencyCondition,
    HealthCheck,
    MountPoint,
    TaskDefinition,
    Volume,
    VolumeFrom,
)
from parity.engine.baseimage import BASE_IMAGE
from parity.runtime.task import LocalTask, Placement, TaskFailed
from parity.secretvalue import SecretValue

pytestmark = pytest.mark.integration

SLEEP = ("sleep", "300")


def container(name: str, command: tuple[str, ...], **fields: object) -> ContainerSpec:
    return ContainerSpec(
        name=name,
        image=BASE_IMAGE,
        command=command,
        stop_timeout_seconds=1,
        **fields,  # type: ignore[arg-type]
    )


def task(
    *containers: ContainerSpec, memory_mib: int = 512, volumes: tuple[Volume, ...] = ()
) -> TaskDefinition:
    return TaskDefinition(
        logical_id="Task",
        family="semantics",
        network_mode="awsvpc",
        cpu_units=256,
        memory_mib=memory_mib,
        containers=containers,
        volumes=volumes,
    )


@pytest.fixture
def run(
    docker_client: docker.DockerClient, network: str, labels: dict[str, str]
) -> Iterator[object]:
    started: list[LocalTask] = []

    def start(
        definition: TaskDefinition,
        *,
        host_ports: dict[int, int | None] | None = None,
        secrets: dict[str, dict[str, SecretValue]] | None = None,
    ) -> LocalTask:
        local = LocalTask(
            docker_client,
            definition,
            Placement(
                task_name=f"semantics-{uuid.uuid4().hex[:6]}",
                network=network,
                labels=labels,
                host_ports=host_ports or {},
            ),
            secrets=secrets or {},
        )
        started.append(local)
        local.start()
        return local

    yield start
    for local in started:
        local.remove()


def timestamp(value: str) -> datetime:
    # Docker reports nanoseconds; Python parses microseconds.
    head, _, rest = value.partition(".")
    fraction = rest.rstrip("Z")[:6]
    return datetime.fromisoformat(f"{head}.{fraction}+00:00")


def test_complete_and_success_wait_for_the_dependency_to_exit(run) -> None:
    local = run(
        task(
            container("init", ("sh", "-c", "sleep 1; exit 3"), essential=False),
            container("seed", ("sh", "-c", "sleep 1"), essential=False),
            container(
                "app",
                SLEEP,
                depends_on=(
                    ContainerDependency(container="init", condition=DependencyCondition.COMPLETE),
                    ContainerDependency(container="seed", condition=DependencyCondition.SUCCESS),
                ),
            ),
        )
    )
    app_started = timestamp(local.state("app")["StartedAt"])
    assert app_started >= timestamp(local.state("init")["FinishedAt"])
    assert app_started >= timestamp(local.state("seed")["FinishedAt"])
    assert local.state("init")["ExitCode"] == 3, "COMPLETE accepts any exit code"


def test_success_with_a_failing_dependency_never_starts_the_dependent(run, docker_client) -> None:
    definition = task(
        container("migrate", ("sh", "-c", "exit 1"), essential=False),
        container(
            "app",
            SLEEP,
            depends_on=(
                ContainerDependency(container="migrate", condition=DependencyCondition.SUCCESS),
            ),
        ),
    )
    with pytest.raises(TaskFailed, match="migrate exited with 1, so app"):
        run(definition)
    leftovers = docker_client.containers.list(
        all=True, filters={"label": "org.fargate-parity.task"}, sparse=True
    )
    assert not [c for c in leftovers if "semantics" in (c.attrs.get("Names") or [""])[0]]


def test_healthy_waits_for_the_health_check_to_pass(run) -> None:
    local = run(
        task(
            container(
                "db",
                ("sh", "-c", "sleep 2; date -u +%Y-%m-%dT%H:%M:%S.%NZ > /tmp/ready; sleep 300"),
                health_check=HealthCheck(
                    command=("CMD-SHELL", "test -f /tmp/ready"),
                    interval_seconds=5,
                    timeout_seconds=1,
                    retries=10,
                ),
            ),
            container(
                "app",
                SLEEP,
                depends_on=(
                    ContainerDependency(container="db", condition=DependencyCondition.HEALTHY),
                ),
            ),
        )
    )
    db = local.client.containers.get(local.container_ids["db"])
    ready_at = timestamp(db.exec_run(["cat", "/tmp/ready"]).output.decode().strip())
    app_started = timestamp(local.state("app")["StartedAt"])
    assert app_started >= ready_at, "app started before db's health check could pass"
    # Docker's own first check comes one interval (5 s) after the start; the harness's probe
    # lets the dependent start well before that, as soon as the check passes.
    assert (app_started - timestamp(local.state("db")["StartedAt"])).total_seconds() < 4.5


def test_an_essential_container_exiting_stops_the_task(run) -> None:
    local = run(
        task(
            container("worker", ("sh", "-c", "sleep 1; exit 7")),
            container("sidecar", SLEEP),
        )
    )
    outcome = local.wait_until_stopped(timeout_s=30)
    assert outcome.exit_code("worker") == 7
    assert "worker" in outcome.stop_reason
    assert not local.state("sidecar")["Running"], "the rest of the task is stopped"


def test_every_container_joins_the_holders_network_namespace(run) -> None:
    local = run(task(container("web", SLEEP), container("worker", SLEEP)))
    client = local.client

    def namespace(container_id: str) -> bytes:
        result = client.containers.get(container_id).exec_run(["readlink", "/proc/self/ns/net"])
        assert result.exit_code == 0, result.output
        return bytes(result.output)

    holder = namespace(local.holder_id)
    assert holder.startswith(b"net:[")
    assert namespace(local.container_ids["web"]) == holder
    assert namespace(local.container_ids["worker"]) == holder


def test_volumes_from_read_only_cannot_write(run) -> None:
    local = run(
        task(
            container(
                "owner",
                ("sh", "-c", "echo shared > /data/file; sleep 300"),
                mount_points=(MountPoint(source_volume="data", container_path="/data"),),
            ),
            container(
                "reader",
                SLEEP,
                volumes_from=(VolumeFrom(source_container="owner", read_only=True),),
            ),
            volumes=(Volume(name="data"),),
        ),
    )
    reader = local.client.containers.get(local.container_ids["reader"])
    assert reader.exec_run(["cat", "/data/file"]).output == b"shared\n"
    write = reader.exec_run(["sh", "-c", "echo x > /data/file"])
    assert write.exit_code != 0
    assert b"Read-only file system" in write.output


def test_the_task_memory_limit_produces_an_oom(run) -> None:
    local = run(
        task(
            container(
                "hog", ("sh", "-c", "x=$(head -c 400000000 /dev/zero | tr '\\0' x); echo ${#x}")
            ),
            memory_mib=128,
        )
    )
    outcome = local.wait_until_stopped(timeout_s=60)
    assert outcome.exits["hog"].oom_killed
    assert outcome.exit_code("hog") == 137


def test_secrets_reach_the_process_env_but_not_the_container_config(run) -> None:
    value = f"s3cr3t-{uuid.uuid4().hex}"
    ref = parse_value_from("arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db:password::")
    local = run(
        task(
            container(
                "app",
                (
                    "sh",
                    "-c",
                    'printf %s "$DB_PASSWORD" | sha256sum; echo "leak: $DB_PASSWORD"; sleep 300',
                ),
                environment={"PLAIN": "visible"},
                secrets={"DB_PASSWORD": ref},
            ),
        ),
        secrets={"app": {"DB_PASSWORD": SecretValue(value)}},
    )
    local.wait_until_healthy(timeout_s=30)
    config = local.client.api.inspect_container(local.container_ids["app"])
    assert value not in str(config)
    assert "PLAIN=visible" in config["Config"]["Env"]
    deadline_logs = ""
    for _ in range(50):
        deadline_logs = local.logs("app")
        if "leak:" in deadline_logs:
            break
        local.client.containers.get(local.container_ids["app"]).reload()
    assert hashlib.sha256(value.encode()).hexdigest() in deadline_logs
    assert value not in deadline_logs, "streamed and shown logs mask secret values"
    assert "leak: ****" in deadline_logs
