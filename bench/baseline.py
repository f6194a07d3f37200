"""The floor: the same two images started by hand with plain ``docker`` CLI calls.

In the right order and nothing more: the DB (polled until it accepts a login) and a Redis for
each of the app's caches (started beside it, under the name the app's endpoint resolves to;
the app keeps its cache, sessions and queue there), the migration container (until it exits
0), then a holder publishing the port, Laravel and nginx in the holder's network namespace with
``--volumes-from laravel:ro``, and a poll of ``/`` until it answers 200. It waits for no health
check and resolves no secret; it applies the task's cpu and memory limits, so the app itself
runs at the same speed as under the harness.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.measure import BenchError, Stopwatch, wait_for_200
from parity.assembly.apptasks import AppTasks
from parity.engine.baseimage import BASE_IMAGE
from parity.engine.labels import Scope, run_labels
from parity.runtime.overrides import environment_overrides
from parity.services.redis import PASSWORD_VARIABLE, PORT_VARIABLE

DB_READY_QUERY = (
    'MYSQL_PWD="$MYSQL_PASSWORD" mysql --protocol=TCP -h127.0.0.1 -u"$MYSQL_USER" '
    '-e "SELECT 1" "$MYSQL_DATABASE"'
)
DB_READY_TIMEOUT_S = 90.0
DB_POLL_INTERVAL_S = 0.25
FIRST_200_TIMEOUT_S = 120.0
MIGRATION_TIMEOUT_S = 300.0
BASELINE_SCOPE = Scope.BENCH


@dataclass(frozen=True, kw_only=True)
class HandStartedApp:
    """What the hand-written commands need: the images and env of the synthesized tasks."""

    laravel_image: str
    nginx_image: str
    db_image: str
    container_port: int
    environment: Mapping[str, str]  # the laravel container's plain env
    secret_names: Sequence[str]
    cpus: float | None
    memory_mib: int | None
    laravel_container: str
    nginx_container: str
    redis_image: str = ""
    # Each cache's (network alias, port); the app's secrets that hold its password.
    caches: Sequence[tuple[str, int]] = ()
    cache_password_names: Sequence[str] = ()
    # Each worker container's (name, command): it runs the laravel image with its env.
    workers: Sequence[tuple[str, Sequence[str]]] = ()

    @classmethod
    def from_tasks(cls, tasks: AppTasks, *, db_image: str, redis_image: str = "") -> HandStartedApp:
        laravel = tasks.migration.container(tasks.watched_container)
        web = next(s.task for s in tasks.services if s.load_balancer is not None)
        nginx = next(c for c in web.containers if c.port_mappings)
        app = next(c for c in web.containers if c.image == laravel.image)
        return cls(
            laravel_image=laravel.image,
            nginx_image=nginx.image,
            db_image=db_image,
            container_port=nginx.port_mappings[0].container_port,
            # The values a local run replaces (fargate-parity.toml's, such as REDIS_SCHEME=tcp);
            # DB_HOST is set per run below.
            environment={
                name: environment_overrides(tasks, db_host="").get(name, value)
                for name, value in laravel.environment.items()
            },
            secret_names=tuple(laravel.secrets),
            redis_image=redis_image,
            caches=tuple((cache.local_host, cache.port) for cache in tasks.caches),
            cache_password_names=tuple(
                name
                for name, ref in laravel.secrets.items()
                if any(
                    cache.auth_token is not None
                    and (ref.name, ref.json_key)
                    == (cache.auth_token.name, cache.auth_token.json_key)
                    for cache in tasks.caches
                )
            ),
            cpus=web.cpu_units / 1024 if web.cpu_units else None,
            memory_mib=web.memory_mib,
            laravel_container=app.name,
            nginx_container=nginx.name,
            workers=tuple(
                (container.name, tuple(container.command or ()))
                for service in tasks.services
                if service.load_balancer is None
                for container in service.task.containers
                if container.image == laravel.image
            ),
        )


def start_by_hand(app: HandStartedApp, *, port: int, run_id: str) -> tuple[float, dict[str, float]]:
    """Seconds from the first ``docker`` command to the first 200 through nginx, and the
    seconds each stage took."""
    prefix = f"parity-bench-{run_id}"
    labels = [
        argument
        for name, value in run_labels(scope=BASELINE_SCOPE, run_id=run_id).items()
        for argument in ("--label", f"{name}={value}")
    ]
    limits = [*(["--cpus", f"{app.cpus:g}"] if app.cpus else [])]
    if app.memory_mib:
        limits += ["--memory", f"{app.memory_mib}m", "--memory-swap", f"{app.memory_mib}m"]
    db_values = {
        "MYSQL_DATABASE": app.environment.get("DB_DATABASE", "laravel"),
        "MYSQL_USER": "laravel",
        "MYSQL_PASSWORD": secrets.token_urlsafe(16),
        "MYSQL_ROOT_PASSWORD": secrets.token_urlsafe(16),
    }
    redis_password = secrets.token_urlsafe(16)
    app_values = {
        **app.environment,
        "DB_HOST": f"{prefix}-db",
        **secret_values(app.secret_names, db_values),
        **dict.fromkeys(app.cache_password_names, redis_password),
    }
    # Values travel in the CLI's environment (`-e NAME`), never on its command line.
    environment = {**os.environ, **db_values, **app_values, PASSWORD_VARIABLE: redis_password}
    db_env = [argument for name in db_values for argument in ("-e", name)]
    app_env = [argument for name in app_values for argument in ("-e", name)]

    def docker(*arguments: str, timeout_s: float = 60.0) -> None:
        result = subprocess.run(
            ["docker", *arguments],
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise BenchError(f"baseline: docker {arguments[0]} failed: {' | '.join(tail)}")

    clock = Stopwatch()
    stages: dict[str, float] = {}
    stage = Stopwatch()

    def finished(name: str) -> None:
        nonlocal stage
        stages[name] = stage.elapsed()
        stage = Stopwatch()

    docker("network", "create", *labels, prefix)
    docker(
        "run",
        "--detach",
        "--name",
        f"{prefix}-db",
        "--network",
        prefix,
        *labels,
        *db_env,
        app.db_image,
    )
    for alias, cache_port in app.caches:
        docker(
            "run",
            "--detach",
            "--name",
            f"{prefix}-{alias}",
            "--network",
            prefix,
            "--network-alias",
            alias,
            *labels,
            "-e",
            PASSWORD_VARIABLE,
            "-e",
            f"{PORT_VARIABLE}={cache_port}",
            app.redis_image,
        )
    wait_for_db(f"{prefix}-db", environment)
    finished("network + DB until it accepts a login (docker exec polls), Redis started")
    docker(
        "run",
        "--name",
        f"{prefix}-migrate",
        "--network",
        prefix,
        *labels,
        *limits,
        *app_env,
        app.laravel_image,
        "php",
        "artisan",
        "migrate",
        "--force",
        timeout_s=MIGRATION_TIMEOUT_S,
    )
    finished("migration container to exit 0")
    docker(
        "run",
        "--detach",
        "--init",
        "--name",
        f"{prefix}-holder",
        "--network",
        prefix,
        "--publish",
        f"127.0.0.1:{port}:{app.container_port}",
        *labels,
        BASE_IMAGE,
        "sleep",
        "infinity",
    )
    namespace = ["--network", f"container:{prefix}-holder"]
    docker(
        "run",
        "--detach",
        "--name",
        f"{prefix}-{app.laravel_container}",
        *namespace,
        *labels,
        *limits,
        *app_env,
        app.laravel_image,
    )
    docker(
        "run",
        "--detach",
        "--name",
        f"{prefix}-{app.nginx_container}",
        *namespace,
        *labels,
        *limits,
        "--volumes-from",
        f"{prefix}-{app.laravel_container}:ro",
        app.nginx_image,
    )
    for name, command in app.workers:
        docker(
            "run",
            "--detach",
            "--name",
            f"{prefix}-{name}",
            "--network",
            prefix,
            *labels,
            *limits,
            *app_env,
            app.laravel_image,
            *command,
        )
    finished("holder, laravel, nginx and the workers created and started")
    wait_for_200(f"http://127.0.0.1:{port}/", timeout_s=FIRST_200_TIMEOUT_S)
    finished("until the first 200")
    return clock.elapsed(), stages


def secret_values(names: Sequence[str], db_values: Mapping[str, str]) -> dict[str, str]:
    """Throwaway values for the task's secrets, the DB credentials matching the DB's."""
    known = {
        "DB_USERNAME": db_values["MYSQL_USER"],
        "DB_PASSWORD": db_values["MYSQL_PASSWORD"],
        "APP_KEY": "base64:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    return {name: known.get(name, secrets.token_urlsafe(16)) for name in names}


def wait_for_db(container: str, environment: Mapping[str, str]) -> None:
    deadline = time.monotonic() + DB_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        probe = subprocess.run(
            ["docker", "exec", container, "sh", "-c", DB_READY_QUERY],
            env=dict(environment),
            capture_output=True,
            timeout=30,
            check=False,
        )
        if probe.returncode == 0:
            return
        time.sleep(DB_POLL_INTERVAL_S)
    raise BenchError(f"baseline: {container} did not accept a login within {DB_READY_TIMEOUT_S}s")
