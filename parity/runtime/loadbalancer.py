"""A local stand-in for a service's ALB listener: an existing one, or one the stack creates.

It owns the service's loopback port. Service tasks register behind it by their holder's
address on the harness network; switching targets rewrites the upstream list and
reloads nginx, which lets in-flight requests finish on the old workers. During a switch
the old target stays as a backup, so a request the new task fails is retried on the
old one: the same guarantee ECS's rolling update with minimumHealthyPercent 100 gives.
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import docker
import requests
from docker.errors import NotFound
from docker.models.containers import Container

from parity.config.settings import ExtraCertificates
from parity.engine.images import ImageBuild, ensure_image
from parity.engine.ports import LOOPBACK_ADDRESS, claim_port
from parity.errors import HarnessError, NotReady

ALB_IMAGE = "fargate-parity/alb:nginx"
ALB_CONTEXT = Path(__file__).parents[1] / "assets" / "alb"
TARGETS_FILE = "/etc/nginx/targets.conf"
TARGET_HEADER = "X-Parity-Target"
POLL_INTERVAL_S = 0.1


def targets_config(primaries: tuple[str, ...], backups: tuple[str, ...] = ()) -> str:
    """The nginx upstream block: ``primaries`` serve in turn; ``backups`` only when they fail."""
    lines = [f"    server {primary};" for primary in primaries] + [
        f"    server {backup} backup;" for backup in backups
    ]
    return "upstream targets {\n" + "\n".join(lines) + "\n    keepalive 16;\n}\n"


class LocalLoadBalancer:
    def __init__(
        self,
        client: docker.DockerClient,
        *,
        name: str,
        network: str,
        labels: dict[str, str],
        host_port: int,
    ) -> None:
        self.client = client
        self.name = name
        self.network = network
        self.labels = labels
        self.host_port = host_port
        # Whether this process started it (a failed run removes only what it started).
        self.started_here = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.host_port}"

    def container(self) -> Container | None:
        try:
            return self.client.containers.get(self.name)
        except NotFound:
            return None

    def ensure_running(self, certificates: ExtraCertificates) -> None:
        """Start the balancer unless it already runs (it outlives each deploy). A host port of
        0 takes a free one; ``url`` then names it."""
        existing = self.container()
        if existing is not None and existing.status == "running":
            self.host_port = published_port(existing)
            return
        if existing is not None:
            existing.remove(force=True)
        ensure_image(
            self.client,
            ImageBuild(tag=ALB_IMAGE, context=ALB_CONTEXT, dockerfile="Dockerfile"),
            certificates=certificates,
        )
        self.host_port = claim_port(self.host_port, purpose="the local load balancer")
        self.client.containers.run(
            ALB_IMAGE,
            name=self.name,
            detach=True,
            network=self.network,
            ports={"80/tcp": (LOOPBACK_ADDRESS, self.host_port)},
            labels=self.labels,
        )
        self.started_here = True

    def route(self, *primaries: str, backups: tuple[str, ...] = ()) -> None:
        """Point the listener at ``primaries`` (host:port each), ``backups`` as fallbacks."""
        container = self.container()
        if container is None:
            raise HarnessError(f"the local load balancer {self.name} is not running")
        payload = targets_config(primaries, backups).encode()
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            info = tarfile.TarInfo(Path(TARGETS_FILE).name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        container.put_archive(str(Path(TARGETS_FILE).parent), archive.getvalue())
        result = container.exec_run(["nginx", "-s", "reload"])
        if result.exit_code != 0:
            raise HarnessError(
                f"reloading the local load balancer failed: {result.output.decode().strip()}"
            )

    def wait_until_served_by(self, *targets: str, path: str, timeout_s: float) -> None:
        """Wait until ``path`` answers 200 through the listener from one of ``targets``."""
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            try:
                response = requests.get(self.url + path, timeout=2)
                served_by = response.headers.get(TARGET_HEADER, "")
                if response.status_code == 200 and served_by in targets:
                    return
                last = f"HTTP {response.status_code} from {served_by or 'no target'}"
            except requests.RequestException as error:
                last = type(error).__name__
            time.sleep(POLL_INTERVAL_S)
        raise NotReady(
            f"{path} through the local load balancer did not answer 200 from"
            f" {' or '.join(targets)} within "
            f"{timeout_s:.0f}s ({last})"
        )

    def remove(self) -> None:
        container = self.container()
        if container is not None:
            container.remove(force=True)

    def current_targets(self) -> str:
        container = self.container()
        if container is None:
            return ""
        result = container.exec_run(["cat", TARGETS_FILE])
        return result.output.decode() if result.exit_code == 0 else ""


def published_port(container: Container) -> int:
    bindings = container.attrs["NetworkSettings"]["Ports"].get("80/tcp") or []
    if not bindings:
        raise HarnessError(f"the local load balancer {container.name} publishes no port")
    return int(bindings[0]["HostPort"])


def holder_address(client: docker.DockerClient, holder_id: str, network: str, port: int) -> str:
    """host:port of a task on the harness network (where the balancer reaches it)."""
    attrs = client.api.inspect_container(holder_id)
    address = attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
    return f"{address}:{port}"
