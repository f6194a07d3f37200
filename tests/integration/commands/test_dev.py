"""``invoke dev`` end to end: ordering, parity with the synthesized task definitions, safety."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import docker
import pytest
import requests
from playwright.sync_api import Page, expect

from parity.assembly.apptasks import AppTasks, environment_tasks
from parity.assembly.synth import assembly_dir
from parity.commands.dev import DevOptions, DevSession, dev, down, start_dev
from parity.config.settings import HarnessSettings
from parity.engine.labels import CONTAINER_LABEL, RUN_LABEL, SCOPE_LABEL
from parity.errors import MigrationFailed
from parity.runtime import localrun
from parity.runtime.localrun import (
    database_settings,
    ensure_database,
    local_task,
    placement,
    seed_and_resolve,
    start_service_task,
)
from parity.runtime.overrides import fargate_environment
from parity.runtime.task import LocalTask
from parity.runtime.taskendpoints import endpoint_variables
from parity.services.emulator import start_emulator
from tests.integration.support import OK_COLOUR, STATUS, ProjectCopy

pytestmark = [pytest.mark.integration, pytest.mark.emulator]
EMULATOR = HarnessSettings.from_environ().emulator

WEB = "webservice"
WORKER = "workerservice"  # Laravel-Local-Worker's service: no load balancer
ASSET_LINK = re.compile(r'src="(/build/assets/[^"]+\.js)"')
RUNNING = "JavaScript is running (fargate-parity-assets-v1)"
PAGE_BACKGROUND = "rgb(245, 247, 250)"
# What the shell and Docker add to every process environment.
SHELL_ENV = {"PATH", "HOSTNAME", "HOME", "PWD", "SHLVL", "_"}


# The scheduler's rule says rate(1 minute); the named override shortens the wait in tests.
SCHEDULE_OVERRIDE = "rate(15 seconds)"
SCHEDULE_INTERVAL_S = 15


def options() -> DevOptions:
    return DevOptions(port=0, detach=True, emulator=EMULATOR, emulator_port=0)


def settings() -> HarnessSettings:
    return dataclasses.replace(HarnessSettings.from_environ(), schedule_override=SCHEDULE_OVERRIDE)


def run_filters(session: DevSession) -> list[str]:
    context = session.run.context
    return [f"{SCOPE_LABEL}={context.scope}", f"{RUN_LABEL}={context.run_id}"]


@pytest.fixture(scope="module")
def session(project_copy: ProjectCopy, docker_client: docker.DockerClient) -> Iterator[DevSession]:
    down(project_copy.root)
    started = start_dev(project_copy.root, options(), settings())
    assert started.scheduler is not None
    started.scheduler.start()  # as attached `invoke dev` does, after the services
    yield started
    if started.scheduler is not None:
        started.scheduler.stop()
    started.run.emulator.stop()
    down(project_copy.root, volumes=True)


@pytest.fixture(scope="module")
def lifecycle_events(
    session: DevSession, docker_client: docker.DockerClient
) -> list[dict[str, Any]]:
    """Docker's start/die events of this dev run, oldest first."""
    stream = docker_client.events(
        since=datetime.now(UTC).timestamp() - 900,
        until=datetime.now(UTC).timestamp(),
        filters={"label": run_filters(session), "type": "container", "event": ["start", "die"]},
        decode=True,
    )
    return sorted(stream, key=lambda event: event["timeNano"])


def container_of(event: dict[str, Any]) -> str:
    return str(event["Actor"]["Attributes"].get(CONTAINER_LABEL, ""))


def local_tasks(project: ProjectCopy) -> AppTasks:
    return environment_tasks(project.root, "local", assembly_dir(project.root))


def running(session: DevSession, name: str) -> Any:
    web = session.running(WEB).tasks[0]
    return web.client.containers.get(web.container_ids[name])


def test_the_migration_exited_zero_before_any_service_container_started(
    lifecycle_events: list[dict[str, Any]],
) -> None:
    migrate_exits = [
        e for e in lifecycle_events if container_of(e) == "migrate" and e["Action"] == "die"
    ]
    assert len(migrate_exits) == 1
    assert migrate_exits[0]["Actor"]["Attributes"]["exitCode"] == "0"
    service_starts = [
        e
        for e in lifecycle_events
        if container_of(e) in {"laravel", "nginx", "worker"} and e["Action"] == "start"
    ]
    assert {container_of(e) for e in service_starts} == {"laravel", "nginx", "worker"}
    assert all(e["timeNano"] > migrate_exits[0]["timeNano"] for e in service_starts)


def test_the_page_healthz_and_built_asset_are_served(session: DevSession) -> None:
    page = requests.get(session.url, timeout=5)
    assert page.status_code == 200
    assert "Hello from Laravel on Fargate" in page.text
    assert requests.get(session.url + "healthz", timeout=5).status_code == 200
    asset = ASSET_LINK.search(page.text)
    assert asset
    served = requests.get(session.url.rstrip("/") + asset[1], timeout=5)
    assert served.status_code == 200
    in_image = running(session, "laravel").exec_run(["cat", f"/application/public{asset[1]}"])
    assert served.content == in_image.output


def test_in_a_browser_the_built_javascript_runs_and_the_css_applies(
    session: DevSession, page: Page
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(session.url)
    status = page.locator(STATUS)
    expect(status).to_contain_text(RUNNING)
    expect(status).to_have_css("color", OK_COLOUR)
    expect(page.locator("body")).to_have_css("background-color", PAGE_BACKGROUND)
    assets = [url for url in requested if url.endswith((".js", ".css"))]
    assert len(assets) == 2
    assert all(url.startswith(session.url + "build/assets/") for url in assets), assets


CSRF_TOKEN = re.compile(r'name="_token" value="([^"]+)"')


def artisan(session: DevSession, *arguments: str) -> str:
    """``php artisan …`` in the service's Laravel container, with its env and secrets (an
    exec's env is never stored), as a worker or the scheduler task would run it."""
    web = session.running(WEB).service.task
    secrets = {
        name: value.reveal() for name, value in session.run.secrets.of(web)["laravel"].items()
    }
    result = running(session, "laravel").exec_run(
        ["php", "artisan", *arguments], environment=secrets, user="www-data"
    )
    output = result.output.decode(errors="replace")
    assert result.exit_code == 0, output
    return output


def test_a_form_post_without_its_csrf_token_is_refused(session: DevSession) -> None:
    refused = requests.post(session.url + "greetings", data={"message": "x"}, timeout=5)
    assert refused.status_code == 419


def test_the_scheduler_rule_runs_its_task_within_its_interval_and_healthz_shows_it(
    session: DevSession,
) -> None:
    """No one runs schedule:run by hand: the local scheduler starts the rule's task (the
    Scheduler stack's task definition, the target's command) on the overridden schedule."""
    scheduler = session.scheduler
    assert scheduler is not None
    (plan,) = scheduler.plans
    assert plan.override == SCHEDULE_OVERRIDE
    assert plan.task.container("scheduler").command == ("php", "artisan", "schedule:run")
    waited_from = datetime.now(UTC)
    deadline = time.monotonic() + 2 * SCHEDULE_INTERVAL_S + 60  # two ticks, and a task's start
    while not [run for run in scheduler.runs if run.started >= waited_from]:
        assert time.monotonic() < deadline, f"no scheduled run ended: {list(scheduler.runs)}"
        time.sleep(0.5)
    run = next(run for run in scheduler.runs if run.started >= waited_from)
    assert run.exit_code == 0, run
    assert run.started - run.due < timedelta(seconds=5)  # on its fire time, not late
    health = requests.get(session.url + "healthz", timeout=5).json()
    assert health["status"] == "ok"
    # The heartbeat row that run wrote (seconds: the column has no fraction).
    last_run = datetime.fromisoformat(health["scheduler"]["last_run"])
    assert last_run >= run.started.replace(microsecond=0), (health, run)


@pytest.fixture(scope="module")
def worker(session: DevSession) -> LocalTask:
    """The Worker stack's service task, which ``invoke dev`` runs as one more service."""
    (task,) = session.running(WORKER).tasks
    return task


def test_the_worker_turns_healthy_on_its_heartbeat_and_runs_posted_jobs(
    session: DevSession, worker: LocalTask
) -> None:
    # Healthy: queue-worker-healthcheck finds a fresh heartbeat from the queue loop.
    container = worker.client.containers.get(worker.container_ids["worker"])
    assert container.exec_run(["queue-worker-healthcheck"]).exit_code == 0
    browser = requests.Session()
    token = CSRF_TOKEN.search(browser.get(session.url, timeout=5).text)
    assert token
    started = time.monotonic()
    browser.post(
        session.url + "greetings",
        data={"_token": token[1], "message": "Stored by the worker task"},
        timeout=5,
    )
    while "Stored by the worker task" not in requests.get(session.url, timeout=5).text:
        assert time.monotonic() - started < 30, "the worker did not store the greeting in 30s"
        time.sleep(0.2)


SLOW_JOB_S = 6
PROCESSING = "Processing: App\\Jobs\\StoreGreeting"


def test_a_worker_stopped_mid_job_finishes_the_job_before_it_exits(
    session: DevSession, worker: LocalTask
) -> None:
    """ECS's stop: SIGTERM, then SIGKILL after stopTimeout (120 s). queue:work finishes the
    job in hand, so the greeting is stored, not lost, and the worker exits 0."""
    container = worker.container_ids["worker"]
    config = worker.client.api.inspect_container(container)["Config"]
    assert config["StopSignal"] == "SIGTERM"  # not the php image's STOPSIGNAL (SIGQUIT)
    taken_before = worker.logs("worker").count(PROCESSING)
    artisan(session, "app:queue-greeting", "Finished after SIGTERM", f"--seconds={SLOW_JOB_S}")
    deadline = time.monotonic() + 30
    while worker.logs("worker").count(PROCESSING) == taken_before:
        assert time.monotonic() < deadline, "the worker did not take the slow job in 30s"
        time.sleep(0.2)
    taken = time.monotonic()
    worker.stop(reason="a deployment replaces it")
    stopped_after = time.monotonic() - taken
    state = worker.client.api.inspect_container(container)["State"]
    assert state["ExitCode"] == 0, worker.logs("worker", tail=20)
    # It waited for the job (most of its seconds were still to run), not for the SIGKILL.
    assert SLOW_JOB_S - 2 < stopped_after < worker.task.container("worker").stop_timeout_seconds
    assert "Finished after SIGTERM" in requests.get(session.url, timeout=5).text


def test_a_posted_greeting_waits_in_redis_until_a_worker_runs_the_job(
    session: DevSession, worker: LocalTask
) -> None:
    worker.stop(reason="the job must wait for a worker")  # after the worker tests above
    browser = requests.Session()
    token = CSRF_TOKEN.search(browser.get(session.url, timeout=5).text)
    assert token
    posted = browser.post(
        session.url + "greetings",
        data={"_token": token[1], "message": "Queued through Redis"},
        timeout=5,
    )
    assert posted.status_code == 200
    assert "Greeting queued" in posted.text
    # Stored by the job, not by the request: nothing shows before a worker took it.
    assert "Queued through Redis" not in posted.text
    artisan(session, "queue:work", "redis", "--once", "--stop-when-empty")
    assert "Queued through Redis" in requests.get(session.url, timeout=5).text


@dataclass(frozen=True)
class ProbedEnvironment:
    names: set[str]
    secret_digests: dict[str, str]


@pytest.fixture(scope="module")
def probed_environments(
    session: DevSession, project_copy: ProjectCopy
) -> dict[str, ProbedEnvironment]:
    """Each service container's spec run once more with its command swapped for a probe.

    php-fpm and nginx overwrite their own /proc/<pid>/environ (process titles), so the
    environment a container receives is read by a probe that goes through the very same
    runtime path: same spec, same injection, secrets freshly resolved from the emulator.
    """
    tasks = local_tasks(project_copy)
    emulator = start_emulator(EMULATOR, region=tasks.region, port=0)
    context = dataclasses.replace(session.run.context, emulator=emulator)
    try:
        resolved = seed_and_resolve(context, tasks)
        probed = {}
        web = tasks.service(WEB).task
        for spec in web.containers:
            secret_names = " ".join(sorted(spec.secrets))
            probe = dataclasses.replace(
                spec,
                entry_point=("/bin/sh", "-c"),
                command=(
                    "env | cut -d= -f1; for name in "
                    + secret_names
                    + '; do printf "%s=" "$name"; '
                    + 'printf %s "$(printenv "$name")" | sha256sum; done',
                ),
                health_check=None,
                depends_on=(),
                volumes_from=(),
            )
            task = LocalTask(
                context.client,
                dataclasses.replace(web, containers=(probe,)),
                placement(context, tasks, f"{context.network}-probe-{spec.name}"),
                secrets={spec.name: resolved.of(web)[spec.name]},
            )
            task.start()
            task.wait_until_stopped(timeout_s=60)
            output = task.logs(spec.name)
            task.remove()
            digests = dict(
                line.split("=", 1) for line in output.splitlines() if line.endswith("  -")
            )
            names = {line for line in output.splitlines() if line and "=" not in line}
            probed[spec.name] = ProbedEnvironment(
                names=names,
                secret_digests={name: d.split()[0] for name, d in digests.items()},
            )
        return probed
    finally:
        emulator.stop()


def test_env_and_secret_names_equal_the_synthesized_task_definition(
    probed_environments: dict[str, ProbedEnvironment], project_copy: ProjectCopy
) -> None:
    tasks = local_tasks(project_copy)
    for spec in tasks.service(WEB).task.containers:
        image = docker.from_env().images.get(spec.image)
        image_env = {item.split("=", 1)[0] for item in image.attrs["Config"].get("Env") or []}
        names = probed_environments[spec.name].names - image_env - SHELL_ENV
        # What Fargate sets in every container, and its task endpoints' URIs.
        fargate = set(fargate_environment(tasks.region)) | endpoint_variables(
            tasks.service(WEB).task
        )
        assert names == set(spec.environment) | set(spec.secrets) | fargate, spec.name


def test_secret_values_come_from_the_emulator_and_stay_out_of_docker(
    session: DevSession,
    project_copy: ProjectCopy,
    probed_environments: dict[str, ProbedEnvironment],
) -> None:
    stored = json.loads((project_copy.root / ".local" / "secrets.json").read_text())
    aurora = stored["secretsmanager"]["laravel/local/aurora"]
    expected = {
        "DB_PASSWORD": aurora["password"],
        "DB_USERNAME": aurora["username"],
        "APP_KEY": stored["secretsmanager"]["laravel/local/app-key"],
        "MAIL_PASSWORD": stored["ssm"]["/laravel/local/mail-password"],
        "REDIS_PASSWORD": stored["secretsmanager"]["laravel/local/redis-auth"],
    }
    digests = probed_environments["laravel"].secret_digests
    assert digests == {
        name: hashlib.sha256(value.encode()).hexdigest() for name, value in expected.items()
    }
    config = json.dumps(running(session, "laravel").attrs)
    assert all(value not in config for value in expected.values())


def test_local_images_are_the_asset_manifest_builds(
    session: DevSession, project_copy: ProjectCopy
) -> None:
    tasks = local_tasks(project_copy)
    hashes = {asset.asset_hash for asset in tasks.image_assets}
    for name in ("laravel", "nginx"):
        tag = running(session, name).attrs["Config"]["Image"]
        repository, _, asset_hash = tag.partition(":")
        assert repository == "fargate-parity/asset"
        assert asset_hash in hashes


def test_without_the_migration_healthz_is_503_and_the_page_fails(
    session: DevSession, project_copy: ProjectCopy, docker_client: docker.DockerClient
) -> None:
    """The control run: same task definition, fresh DB, no migration task."""
    tasks = local_tasks(project_copy)
    emulator = start_emulator(EMULATOR, region=tasks.region, port=0)
    context = localrun.LocalContext(
        client=docker_client,
        scope=session.run.context.scope,
        run_id=session.run.context.run_id,
        network=session.run.context.network,
        db_host=f"{session.run.context.network}-control-mysql",
        emulator=emulator,
        secrets_file=session.run.context.secrets_file,
    )
    try:
        resolved = seed_and_resolve(context, tasks)
        db_container = docker_client.containers.get(session.run.context.db_host)
        db_image = db_container.attrs["Config"]["Image"]
        ensure_database(
            context,
            database_settings(tasks, resolved.of(tasks.migration), db_image),
            host_port=None,
        ).ready()
        control = start_service_task(
            local_task(
                context,
                tasks,
                tasks.service(WEB).task,
                resolved,
                task_name=f"{context.network}-control",
                host_ports={8080: None},
            ),
            key=WEB,
        )
        url = f"http://127.0.0.1:{control.host_port(8080)}"
        health = requests.get(url + "/healthz", timeout=5)
        assert health.status_code == 503
        assert "pending" in health.text
        assert requests.get(url + "/", timeout=5).status_code >= 500
        control.remove()
    finally:
        emulator.stop()


def test_a_failing_migration_never_starts_the_service_and_leaves_nothing(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> None:
    from tests.integration.support import copy_project

    project = copy_project(tmp_path_factory.mktemp("failing"))
    project.add_migration(
        "2024_03_01_000000_fails",
        "<?php\nuse Illuminate\\Database\\Migrations\\Migration;\n"
        "return new class extends Migration {\n"
        "    public function up() { throw new RuntimeException('fails on purpose'); }\n};\n",
    )
    started_at = time.time()
    failing_settings = dataclasses.replace(settings(), schedule_override="rate(1 second)")
    with pytest.raises(MigrationFailed, match="migrate exited with 1"):
        dev(project.root, options(), failing_settings)
    context_id = localrun.run_id_for(project.root)
    events = docker_client.events(
        since=started_at,
        until=time.time(),
        filters={"label": [f"{RUN_LABEL}={context_id}"], "type": "container", "event": "start"},
        decode=True,
    )
    started = {container_of(event) for event in events}
    assert "migrate" in started
    # Neither web, nor worker, nor the scheduler's task (due every second).
    assert not started & {"laravel", "nginx", "worker", "scheduler"}, "nothing may start"
    labels = {"label": [f"{RUN_LABEL}={context_id}"]}
    assert docker_client.containers.list(all=True, filters=labels) == []
    assert docker_client.networks.list(filters=labels) == []
    down(project.root, volumes=True)


def test_an_interrupt_during_start_up_leaves_nothing(
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.integration.support import copy_project

    project = copy_project(tmp_path_factory.mktemp("interrupted"))

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("parity.commands.dev.start_services", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dev(project.root, options(), HarnessSettings.from_environ())
    labels = {"label": [f"{RUN_LABEL}={localrun.run_id_for(project.root)}"]}
    assert docker_client.containers.list(all=True, filters=labels) == []
    assert docker_client.networks.list(filters=labels) == []
    # Only the database's data stays, as after a Ctrl-C of a running `invoke dev`.
    kept = docker_client.volumes.list(filters=labels)
    assert [volume.name for volume in kept] == [
        localrun.data_volume_for(localrun.run_id_for(project.root))
    ]
    down(project.root, volumes=True)
    assert docker_client.volumes.list(filters=labels) == []
