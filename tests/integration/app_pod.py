"""Start the two app containers the way an awsvpc task does, for the image tests.

A holder container owns the network namespace (and the published port); Laravel and
nginx join it, so nginx reaches php-fpm on 127.0.0.1:9000, and nginx mounts
``/application/public`` from Laravel read-only.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass

import docker
import requests
from docker.models.containers import Container

from parity.engine.baseimage import BASE_IMAGE

NGINX_PORT = "8080/tcp"
READY_TIMEOUT_S = 60.0


def app_environment(*, db_host: str, schema: str, user: str, password: str) -> dict[str, str]:
    return {
        "APP_ENV": "local",
        "APP_DEBUG": "false",
        "APP_KEY": "base64:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "LOG_CHANNEL": "stderr",
        "DB_CONNECTION": "mysql",
        "DB_HOST": db_host,
        "DB_PORT": "3306",
        "DB_DATABASE": schema,
        "DB_USERNAME": user,
        "DB_PASSWORD": password,
        "MAIL_PASSWORD": "unused-in-tests",
    }


@dataclass
class AppPod:
    holder: Container
    laravel: Container
    nginx: Container
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> requests.Response:
        return requests.get(self.base_url + path, timeout=10)

    def remove(self) -> None:
        for container in (self.nginx, self.laravel, self.holder):
            container.remove(force=True, v=True)


def start_app_pod(
    client: docker.DockerClient,
    *,
    laravel_image: str,
    nginx_image: str,
    network: str,
    environment: dict[str, str],
    labels: dict[str, str],
) -> AppPod:
    holder = client.containers.run(
        BASE_IMAGE,
        ["sleep", "infinity"],
        detach=True,
        init=True,
        network=network,
        ports={NGINX_PORT: ("127.0.0.1", None)},
        labels=labels,
    )
    namespace = f"container:{holder.id}"
    laravel = client.containers.run(
        laravel_image, detach=True, network_mode=namespace, environment=environment, labels=labels
    )
    nginx = client.containers.run(
        nginx_image,
        detach=True,
        network_mode=namespace,
        volumes_from=[f"{laravel.id}:ro"],
        labels=labels,
    )
    holder.reload()
    port = int(holder.attrs["NetworkSettings"]["Ports"][NGINX_PORT][0]["HostPort"])
    pod = AppPod(holder=holder, laravel=laravel, nginx=nginx, port=port)
    wait_until_serving(pod)
    return pod


def wait_until_serving(pod: AppPod) -> None:
    """Wait until nginx answers its own health endpoint and php-fpm accepts connections."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last_error = ""
    while time.monotonic() < deadline:
        for container in (pod.laravel, pod.nginx):
            container.reload()
            if container.status == "exited":
                logs = container.logs(tail=20).decode(errors="replace")
                raise AssertionError(f"{container.image.tags} exited early:\n{logs}")
        try:
            nginx_ok = pod.get("/nginx-health").status_code == 200
            fpm_ok = pod.laravel.exec_run(["php-fpm-healthcheck"]).exit_code == 0
            if nginx_ok and fpm_ok:
                return
        except requests.RequestException as error:
            last_error = str(error)
        time.sleep(0.2)
    raise AssertionError(f"the app pod did not serve within {READY_TIMEOUT_S}s: {last_error}")
