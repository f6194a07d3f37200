"""What Fargate serves every task, locally: the task metadata endpoint v4, the task role's
credentials endpoint, and (a named local override) the AWS emulator.

One small sidecar per task (nginx-light, the local load balancer's image) joins the task's
network namespace like every container and listens on the task's own 127.0.0.1:

- ``:51679/v4/<container>`` and ``/v4/<container>/task``: container and task metadata, in the
  fields ECS answers with (``ECS_CONTAINER_METADATA_URI_V4``);
- ``:51679/v2/credentials/<id>``: the task role's credentials, which the emulator's STS hands
  out for that role (``AWS_CONTAINER_CREDENTIALS_FULL_URI``; botocore accepts a full URI only
  on 127.0.0.1 or 169.254.170.2, and the SDKs' default chain then works unchanged);
- ``:4566``: the AWS emulator, through a Unix socket the harness serves
  (``parity.services.relay``), so no emulator port is open beyond the host's loopback
  (``AWS_ENDPOINT_URL``).

The JSON answers are files in the gitignored ``.local/tasks/<task>/``; the credentials are the
emulator's, never the host's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, NotFound
from docker.types import Mount

from parity.assembly.taskdef import ContainerSpec, TaskDefinition
from parity.config.settings import ExtraCertificates
from parity.engine.images import ImageBuild, ensure_image
from parity.errors import ConfigError, NotReady
from parity.runtime.loadbalancer import ALB_CONTEXT, ALB_IMAGE
from parity.services.emulator import Emulator

METADATA_PORT = 51679  # the ECS agent's own credentials and metadata port on EC2
EMULATOR_PORT = 4566  # LocalStack's conventional edge port
LOCAL = "127.0.0.1"
SIDECAR = "parity-endpoints"
READY_TIMEOUT_S = 15.0
POLL_INTERVAL_S = 0.05
MIB_PER_GIB = 1024
_MOUNT_STATE = "/parity/endpoints"
_MOUNT_RELAY = "/parity/relay"


def nginx_config(credentials_path: str) -> str:
    """The sidecar's nginx: the metadata and credentials answers, and the emulator relay."""
    return f"""worker_processes 1;
user root;
pid /tmp/parity-endpoints.pid;
error_log stderr warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  default_type application/json;
  server {{
    listen {LOCAL}:{METADATA_PORT};
    root {_MOUNT_STATE};
    location = {credentials_path} {{ try_files /credentials.json =404; }}
    location ~ ^/v4/[A-Za-z0-9_-]+/(task/)?stats$ {{ return 200 "{{}}"; }}
    location ~ ^/v4/[A-Za-z0-9_-]+/task$ {{ try_files /task.json =404; }}
    location ~ ^/v4/(?<container>[A-Za-z0-9_-]+)$ {{
      try_files /containers/$container.json =404;
    }}
  }}
  server {{
    listen {LOCAL}:{EMULATOR_PORT};
    client_max_body_size 0;
    location / {{
      proxy_pass http://unix:{_MOUNT_RELAY}/emulator.sock;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_read_timeout 120s;
    }}
  }}
}}
"""


def ensure_endpoints_image(client: docker.DockerClient, *, certificates: ExtraCertificates) -> str:
    """The sidecar runs the local load balancer's nginx-light image, with its own config."""
    build = ImageBuild(tag=ALB_IMAGE, context=ALB_CONTEXT, dockerfile="Dockerfile")
    return ensure_image(client, build, certificates=certificates)


def metadata_uri(container: str) -> str:
    return f"http://{LOCAL}:{METADATA_PORT}/v4/{container}"


def endpoint_variables(task: TaskDefinition) -> frozenset[str]:
    """The env names the task endpoints give every container of ``task``."""
    names = {"ECS_CONTAINER_METADATA_URI_V4", "ECS_CONTAINER_METADATA_URI", "AWS_ENDPOINT_URL"}
    if task.task_role_arn is not None:
        names.add("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    return frozenset(names)


def emulator_endpoint() -> str:
    """``AWS_ENDPOINT_URL`` inside every task: the emulator, on the task's own loopback."""
    return f"http://{LOCAL}:{EMULATOR_PORT}"


class TaskEndpoints:
    """The endpoint sidecar of one task: created with the holder, answers once containers
    exist, removed with the task."""

    def __init__(
        self,
        client: docker.DockerClient,
        *,
        image: str,
        emulator: Emulator,
        state_root: Path,
        cluster: str,
        account: str,
        region: str,
    ) -> None:
        self.client = client
        self.image = image
        self.emulator = emulator
        self.state_root = state_root
        self.cluster = cluster
        self.account = account
        self.region = region
        self.sidecar_id: str | None = None
        self.state: Path | None = None
        self.task: TaskDefinition | None = None
        self.task_name = ""

    def credentials_path(self, task_name: str) -> str:
        digest = hashlib.sha256(f"credentials:{task_name}".encode()).hexdigest()
        return f"/v2/credentials/{uuid.UUID(digest[:32])}"

    def environment(self, task: TaskDefinition, task_name: str, container: str) -> dict[str, str]:
        """What Fargate sets in ``container``: the metadata URIs, the credentials URI when the
        task has a role, and the emulator's endpoint (a named local override)."""
        environment = {
            "ECS_CONTAINER_METADATA_URI_V4": metadata_uri(container),
            "ECS_CONTAINER_METADATA_URI": metadata_uri(container),
            "AWS_ENDPOINT_URL": emulator_endpoint(),
        }
        if task.task_role_arn is not None:
            environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = (
                f"http://{LOCAL}:{METADATA_PORT}{self.credentials_path(task_name)}"
            )
        return environment

    def start(
        self, task: TaskDefinition, task_name: str, holder_id: str, labels: Mapping[str, str]
    ) -> None:
        """Start the sidecar in the holder's namespace and wait until it listens."""
        _refuse_port_clashes(task)
        self.task, self.task_name = task, task_name
        self.state = self.state_root / task_name
        shutil.rmtree(self.state, ignore_errors=True)
        (self.state / "containers").mkdir(parents=True)
        (self.state / "nginx.conf").write_text(nginx_config(self.credentials_path(task_name)))
        relay = self.emulator.relay_directory()
        sidecar = self.client.containers.run(
            self.image,
            ["nginx", "-c", f"{_MOUNT_STATE}/nginx.conf", "-g", "daemon off;"],
            name=f"{task_name}-{SIDECAR}",
            detach=True,
            network_mode=f"container:{holder_id}",
            labels=dict(labels),
            mounts=[
                Mount(target=_MOUNT_STATE, source=str(self.state), type="bind", read_only=True),
                Mount(target=_MOUNT_RELAY, source=str(relay), type="bind", read_only=True),
            ],
        )
        self.sidecar_id = sidecar.id
        self._wait_until_listening(sidecar)

    def _wait_until_listening(self, sidecar: Any) -> None:
        probe = " && ".join(
            f"exec {fd}<>/dev/tcp/{LOCAL}/{port}"
            for fd, port in ((3, METADATA_PORT), (4, EMULATOR_PORT))
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            sidecar.reload()
            if sidecar.status != "running":
                raise NotReady(
                    f"the task endpoints of {self.task_name} stopped:"
                    f" {sidecar.logs(tail=5).decode(errors='replace').strip()}"
                )
            if sidecar.exec_run(["bash", "-c", probe]).exit_code == 0:
                return
            time.sleep(POLL_INTERVAL_S)
        raise NotReady(f"the task endpoints of {self.task_name} did not listen in time")

    def publish(self, container_ids: Mapping[str, str], holder_id: str) -> None:
        """Write the metadata of the created containers and the task role's credentials."""
        if self.state is None or self.task is None:
            return
        task = self.task
        address = _address(self.client, holder_id)
        containers = [
            self._container(spec, container_ids[spec.name], address)
            for spec in task.containers
            if spec.name in container_ids
        ]
        for document in containers:
            _write(self.state / "containers" / f"{document['Name']}.json", document)
        _write(self.state / "task.json", self._task(containers))
        if task.task_role_arn is not None:
            credentials = self.emulator.assume_role(task.task_role_arn, session=self.task_name)
            _write(
                self.state / "credentials.json",
                {
                    "AccessKeyId": credentials["AccessKeyId"],
                    "SecretAccessKey": credentials["SecretAccessKey"],
                    "Token": credentials["SessionToken"],
                    "Expiration": _timestamp(credentials["Expiration"]),
                    "RoleArn": task.task_role_arn,
                },
            )

    @property
    def task_arn(self) -> str:
        task_id = hashlib.sha256(self.task_name.encode()).hexdigest()[:32]
        return f"arn:aws:ecs:{self.region}:{self.account}:task/{self.cluster}/{task_id}"

    def _task(self, containers: list[dict[str, Any]]) -> dict[str, Any]:
        task = self.task
        assert task is not None
        limits: dict[str, Any] = {}
        if task.cpu_units:
            limits["CPU"] = task.cpu_units / 1024
        if task.memory_mib:
            limits["Memory"] = task.memory_mib
        now = _timestamp(datetime.now(UTC))
        return {
            "Cluster": f"arn:aws:ecs:{self.region}:{self.account}:cluster/{self.cluster}",
            "TaskARN": self.task_arn,
            "Family": task.family or task.logical_id,
            "Revision": "1",
            "DesiredStatus": "RUNNING",
            "KnownStatus": "RUNNING",
            "Limits": limits,
            "PullStartedAt": now,
            "PullStoppedAt": now,
            "AvailabilityZone": f"{self.region}a",
            "LaunchType": "FARGATE",
            "Containers": containers,
        }

    def _container(self, spec: ContainerSpec, docker_id: str, address: str) -> dict[str, Any]:
        task = self.task
        assert task is not None
        limits: dict[str, Any] = {"CPU": spec.cpu_units or 0}
        if spec.memory_mib or task.memory_mib:
            limits["Memory"] = spec.memory_mib or task.memory_mib
        labels = {
            "com.amazonaws.ecs.cluster": f"arn:aws:ecs:{self.region}:{self.account}:cluster/"
            f"{self.cluster}",
            "com.amazonaws.ecs.container-name": spec.name,
            "com.amazonaws.ecs.task-arn": self.task_arn,
            "com.amazonaws.ecs.task-definition-family": task.family or task.logical_id,
            "com.amazonaws.ecs.task-definition-version": "1",
            **spec.docker_labels,
        }
        document: dict[str, Any] = {
            "DockerId": docker_id,
            "Name": spec.name,
            "DockerName": f"{self.task_name}-{spec.name}",
            "Image": spec.image,
            "ImageID": _image_id(self.client, spec.image),
            "Labels": labels,
            "DesiredStatus": "RUNNING",
            "KnownStatus": "RUNNING",
            "Limits": limits,
            "CreatedAt": _timestamp(datetime.now(UTC)),
            "Type": "NORMAL",
            "ContainerARN": f"{self.task_arn.replace(':task/', ':container/')}/{spec.name}",
            "Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": [address] if address else []}],
        }
        log = spec.log_configuration
        if isinstance(log, Mapping) and isinstance(log.get("LogDriver"), str):
            document["LogDriver"] = log["LogDriver"]
            options = log.get("Options")
            if isinstance(options, Mapping):
                document["LogOptions"] = {
                    key: value for key, value in options.items() if isinstance(value, str)
                }
        return document

    def remove(self) -> None:
        if self.sidecar_id is not None:
            with contextlib.suppress(NotFound, APIError):
                self.client.api.remove_container(self.sidecar_id, force=True)
            self.sidecar_id = None
        if self.state is not None:
            shutil.rmtree(self.state, ignore_errors=True)


def _refuse_port_clashes(task: TaskDefinition) -> None:
    for spec in task.containers:
        for mapping in spec.port_mappings:
            if mapping.container_port in (METADATA_PORT, EMULATOR_PORT):
                raise ConfigError(
                    f"container {spec.name} listens on {mapping.container_port}, where the local"
                    " task endpoints (metadata, credentials, the AWS emulator) listen in every"
                    " task; use another containerPort"
                )


def _address(client: docker.DockerClient, holder_id: str) -> str:
    networks = client.api.inspect_container(holder_id)["NetworkSettings"]["Networks"]
    for network in networks.values():
        if network.get("IPAddress"):
            return str(network["IPAddress"])
    return ""


def _image_id(client: docker.DockerClient, image: str) -> str:
    with contextlib.suppress(NotFound, APIError):
        return str(client.api.inspect_image(image)["Id"])
    return ""


def _timestamp(moment: Any) -> str:
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(moment)


def _write(path: Path, document: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2))
