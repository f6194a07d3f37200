"""The previous version against the new schema: the expand/contract check.

During an ECS rolling update the old tasks keep serving while the new migrations have
already run. This check reproduces that moment locally: the current migration task runs
to completion on a fresh schema, then the service task definition starts with the
images of the previous release (built from a git ref the way CDK builds the current
ones), and its smoke checks run through the published loopback port.

The previous release's queue workers (the services with no load balancer that run the app image)
run too, so a job queued through the previous front service must be taken and finished by a
previous worker against the new schema.

The previous tasks are the current task definitions with their image assets swapped, both
nginx and Laravel: an old ECS task runs its own revision's images, and nginx serves the
built assets of the Laravel image next to it. The migrations check runs the previous
migration task the same way, to bring a fresh schema to the previous release's. Env, secrets
and health checks stay the current ones; they come from the current synth, and the schema is
what is on trial.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import io
import re
import secrets as random_tokens
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import requests

from parity.assembly.apptasks import AppTasks, ServiceSpec
from parity.assembly.cloud import DockerImageAsset
from parity.assembly.taskdef import TaskDefinition
from parity.config.settings import EmulatorKind, ExtraCertificates, HarnessSettings
from parity.console import console, note
from parity.engine.images import ImageBuild, ensure_image, image_exists
from parity.engine.labels import Scope, remove_labelled
from parity.errors import ConfigError, HarnessError, NotReady
from parity.runtime.bringup import LocalRun, bring_up, build_app
from parity.runtime.localrun import (
    LocalContext,
    ResolvedSecrets,
    local_task,
    run_id_for,
    run_migration,
    start_service_task,
)
from parity.runtime.task import LocalTask, TaskFailed, TaskTimeout

PREVIOUS_IMAGE_REPOSITORY = "fargate-parity/previous"
# The CDK app's image assets are staged copies of this directory; the assembly keeps only
# the copy, so the previous release's build context is this directory at the git ref.
RESOURCES_DIR = "resources"
SHORT_SHA = 12
REQUEST_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 200
LOG_EXCERPT_CHARS = 200
EXPAND_CONTRACT_HINT = (
    "a migration dropped or renamed something it reads; split it into expand (now) "
    "and contract (next release)"
)
NEVER_SERVED_HINT = (
    "its containers could not start with the current task definition; see the output above"
)
# One greeting on the page: <li class="greeting" data-id="1">Hello</li>. The empty-table
# placeholder carries a second class, so it does not count.
GREETING_ITEM = re.compile(r'<li\b[^>]*\bclass="greeting"[^>]*>(.*?)</li>', re.DOTALL)
MARKUP = re.compile(r"<[^>]+>")
# Laravel's stderr log line for a failed request, e.g. "local.ERROR: SQLSTATE[42S22]: …".
APP_ERROR = re.compile(r"\.(?:ERROR|CRITICAL|ALERT|EMERGENCY): (?P<message>.*)")
LOG_CONTEXT = re.compile(r'\s*\{"(?:exception|userId)".*$')
TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# The sample's queued job: the page's form posts a greeting, which a worker stores.
CSRF_FIELD = re.compile(r'name="_token" value="([^"]+)"')
JOB_FORM_PATH = "/greetings"
JOB_TIMEOUT_S = 30.0
JOB_POLL_INTERVAL_S = 0.5


class PreviousVersionUnavailable(ConfigError):
    """No previous release to compare with, or it cannot be built from its git ref."""


class IncompatibleSchema(HarnessError):
    """The previous release fails its smoke checks against the schema the new migrations left."""

    def __init__(self, result: CompatibilityResult) -> None:
        super().__init__(result.failure_message())
        self.result = result


# -- the previous release's git ref ----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Release:
    """A git ref as given (a tag, ``HEAD~1``, a sha) and the commit it names."""

    ref: str
    sha: str

    def describe(self) -> str:
        short = self.sha[:SHORT_SHA]
        return short if self.sha.startswith(self.ref) else f"{self.ref}, {short}"


def _git(project_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=project_root, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise HarnessError(
            "git is not installed; the previous version is built from a git ref"
        ) from None


def default_previous_ref(project_root: Path) -> str:
    """The last tag reachable from HEAD, else ``HEAD~1``; an error when neither exists. A
    tag on HEAD itself names the release being built (a tag push), not the previous one."""
    own_tags = _git(project_root, "tag", "--points-at", "HEAD").stdout.split()
    described = _git(
        project_root, "describe", "--tags", "--abbrev=0", *(f"--exclude={tag}" for tag in own_tags)
    )
    if described.returncode == 0:
        return described.stdout.strip()
    if _git(project_root, "rev-parse", "--verify", "--quiet", "HEAD~1^{commit}").returncode == 0:
        return "HEAD~1"
    raise PreviousVersionUnavailable(_why_no_previous_version(project_root))


def _why_no_previous_version(project_root: Path) -> str:
    if _git(project_root, "rev-parse", "--git-dir").returncode != 0:
        return (
            f"{project_root} is not a git checkout, so there is no previous release to build; "
            "run from a clone or skip the check"
        )
    shallow = _git(project_root, "rev-parse", "--is-shallow-repository").stdout.strip()
    if shallow == "true":
        return (
            "no tag is reachable from HEAD and HEAD~1 is not in this shallow clone; fetch more "
            "history (git fetch --tags --unshallow, or fetch-depth: 0 in CI) or pass --previous REF"
        )
    return "no tag is reachable from HEAD and HEAD has no parent commit; pass --previous REF"


def resolve_release(project_root: Path, ref: str) -> Release:
    """The commit ``ref`` names, or an error that names the ref."""
    resolved = _git(project_root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if resolved.returncode != 0:
        raise PreviousVersionUnavailable(
            f"git ref {ref!r} names no commit in {project_root}; pass --previous with a tag, "
            "branch or sha that exists here (a shallow clone may need git fetch --tags)"
        )
    return Release(ref=ref, sha=resolved.stdout.strip())


def export_resources(project_root: Path, *, release: Release, destination: Path) -> Path:
    """Write ``resources/`` as committed at ``release`` under ``destination``; return it."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", release.sha, "--", RESOURCES_DIR],
        cwd=project_root,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise PreviousVersionUnavailable(
            f"the previous version ({release.describe()}) has no {RESOURCES_DIR}/ directory, so "
            "its images cannot be built; pass --previous with a release that has one"
        )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    return destination / RESOURCES_DIR


# -- the previous release's images -----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PreviousVersion:
    release: Release
    # current image (an asset's local tag) → the same asset built from the previous release
    images: Mapping[str, str]


def previous_image_tag(*, release: Release, asset: DockerImageAsset) -> str:
    """Cached by commit and build recipe: one release can hold several images."""
    recipe = "-".join(part for part in (asset.dockerfile, asset.build_target) if part)
    tag = f"{release.sha}-{TAG_UNSAFE.sub('-', recipe)}"
    if asset.build_args:
        args = "\0".join(f"{k}={v}" for k, v in sorted(asset.build_args.items()))
        tag += "-" + hashlib.sha256(args.encode()).hexdigest()[:8]
    return f"{PREVIOUS_IMAGE_REPOSITORY}:{tag[:128]}"


def worker_services(tasks: AppTasks) -> tuple[ServiceSpec, ...]:
    """The services with no load balancer that run the app image: its queue workers."""
    return tuple(
        service
        for service in tasks.services
        if service.load_balancer is None
        and any(container.image == tasks.app_image for container in service.task.containers)
    )


def front_service(tasks: AppTasks) -> ServiceSpec:
    """The service the smoke checks reach: the first one behind a load balancer."""
    for service in tasks.services:
        if service.load_balancer is not None:
            return service
    raise ConfigError(
        f"no service of {tasks.env} is behind a load balancer, so the previous release has no"
        " page to check"
    )


def build_previous_images(
    client: docker.DockerClient,
    tasks: AppTasks,
    *,
    project_root: Path,
    release: Release,
    certificates: ExtraCertificates,
) -> PreviousVersion:
    """Build the image assets of the migration and every service from ``release``'s
    ``resources/`` with the current assets' Dockerfile, target and build args; images already
    built for it are reused."""
    assets = {asset.local_image: asset for asset in tasks.image_assets}
    tags = {image: previous_image_tag(release=release, asset=a) for image, a in assets.items()}
    if all(image_exists(client, tag) for tag in tags.values()):
        note(f"the previous version's images ({release.describe()}) are cached")
        return PreviousVersion(release=release, images=tags)
    # The app image (the migration's) first, so its missing Dockerfile is the one named.
    order = sorted(assets, key=lambda image: image != tasks.app_image)
    with tempfile.TemporaryDirectory(prefix="parity-previous-") as scratch:
        context = export_resources(project_root, release=release, destination=Path(scratch))
        for image in order:
            asset = assets[image]
            if not (context / asset.dockerfile).is_file():
                raise PreviousVersionUnavailable(
                    f"the previous version ({release.describe()}) has no "
                    f"{RESOURCES_DIR}/{asset.dockerfile}, which the current "
                    f"{asset.display_name or asset.asset_hash} image is built from; pass "
                    "--previous with a release that builds it"
                )
            ensure_image(
                client,
                ImageBuild(
                    tag=tags[image],
                    context=context,
                    dockerfile=asset.dockerfile,
                    target=asset.build_target,
                    build_args=asset.build_args,
                ),
                certificates=certificates,
            )
    return PreviousVersion(release=release, images=tags)


def with_previous_images(tasks: AppTasks, images: Mapping[str, str]) -> AppTasks:
    """The same tasks running the previous release's builds of their image assets: its
    migrations (on the migration task) and its services."""

    def swapped(task: TaskDefinition) -> TaskDefinition:
        containers = tuple(
            dataclasses.replace(c, image=images.get(c.image, c.image)) for c in task.containers
        )
        return dataclasses.replace(task, containers=containers)

    return dataclasses.replace(
        tasks,
        migration=swapped(tasks.migration),
        services=tuple(
            dataclasses.replace(service, task=swapped(service.task)) for service in tasks.services
        ),
    )


# -- smoke checks and the result -------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """One smoke check; ``f"{name} {detail}"`` reads as a sentence."""

    name: str
    passed: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.name} {self.detail}"


@dataclass(frozen=True, kw_only=True)
class CompatibilityResult:
    release: Release
    checks: tuple[CheckResult, ...]
    duration_s: float
    # False when the previous task never turned healthy, so no request was made.
    served: bool = True
    # The app container's last error log line, when a check failed and it logged one.
    app_error: str | None = None

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if not check.passed)

    def failure_message(self) -> str:
        failed = "; ".join(str(check) for check in self.failures)
        logged = f" (app log: {self.app_error})" if self.app_error else ""
        hint = EXPAND_CONTRACT_HINT if self.served else NEVER_SERVED_HINT
        return (
            f"the previous version ({self.release.describe()}) fails against the new schema: "
            f"{failed}{logged} — {hint}"
        )


def judge_page(status: int, body: str) -> CheckResult:
    """GET /: 200 and at least one greeting with text (a renamed column renders empty)."""
    name = "GET /"
    if status != 200:
        return CheckResult(name=name, passed=False, detail=f"returned {status}")
    texts = [html.unescape(MARKUP.sub("", item)).strip() for item in GREETING_ITEM.findall(body)]
    shown = [text for text in texts if text]
    if not texts:
        return CheckResult(name=name, passed=False, detail="returned 200 but shows no greeting")
    if not shown:
        return CheckResult(
            name=name,
            passed=False,
            detail=f"returned 200 but none of its {len(texts)} greeting(s) has text",
        )
    return CheckResult(name=name, passed=True, detail=f"returned 200 with {len(shown)} greeting(s)")


def judge_health(status: int) -> CheckResult:
    return CheckResult(name="GET /healthz", passed=status == 200, detail=f"returned {status}")


def smoke_checks(base_url: str) -> tuple[CheckResult, ...]:
    """The previous version's smoke checks through its published loopback port."""
    return (check_page(base_url), check_health(base_url))


def check_page(base_url: str) -> CheckResult:
    try:
        response = requests.get(base_url + "/", timeout=REQUEST_TIMEOUT_S)
    except requests.RequestException as error:
        return unanswered("GET /", error)
    return judge_page(response.status_code, response.text)


def check_health(base_url: str) -> CheckResult:
    try:
        response = requests.get(base_url + "/healthz", timeout=REQUEST_TIMEOUT_S)
    except requests.RequestException as error:
        return unanswered("GET /healthz", error)
    return judge_health(response.status_code)


def check_queued_job(base_url: str, *, timeout_s: float = JOB_TIMEOUT_S) -> CheckResult:
    """POST a greeting through the form (with its CSRF token), then GET / until it shows: the
    job went through the queue and a worker stored it."""
    name = "a queued job"
    message = f"queued for the previous worker {random_tokens.token_hex(3)}"
    browser = requests.Session()
    try:
        token = CSRF_FIELD.search(browser.get(base_url + "/", timeout=REQUEST_TIMEOUT_S).text)
        if token is None:
            return CheckResult(name=name, passed=False, detail="found no form token on GET /")
        posted = browser.post(
            base_url + JOB_FORM_PATH,
            data={"_token": token[1], "message": message},
            timeout=REQUEST_TIMEOUT_S,
            allow_redirects=False,
        )
        if posted.status_code >= 400:
            return CheckResult(
                name=name, passed=False, detail=f"was refused: POST returned {posted.status_code}"
            )
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if html.escape(message) in browser.get(base_url + "/", timeout=REQUEST_TIMEOUT_S).text:
                return CheckResult(
                    name=name,
                    passed=True,
                    detail=f"was stored by the worker in {time.monotonic() - started:.1f}s",
                )
            time.sleep(JOB_POLL_INTERVAL_S)
    except requests.RequestException as error:
        return unanswered(name, error)
    return CheckResult(
        name=name, passed=False, detail=f"was not stored by a worker within {timeout_s:.0f}s"
    )


def unanswered(name: str, error: requests.RequestException) -> CheckResult:
    return CheckResult(name=name, passed=False, detail=f"got no answer ({type(error).__name__})")


def last_app_error(log: str) -> str | None:
    """The last error Laravel logged, without its stack trace, shortened."""
    errors = [match["message"] for match in map(APP_ERROR.search, log.splitlines()) if match]
    if not errors:
        return None
    message = LOG_CONTEXT.sub("", errors[-1]).strip().rstrip('"')
    if len(message) > LOG_EXCERPT_CHARS:
        message = message[: LOG_EXCERPT_CHARS - 1] + "…"
    return message


def report(result: CompatibilityResult) -> None:
    for check in result.checks:
        mark = "[green]✓[/]" if check.passed else "[red]✗[/]"
        console.print(f"{mark} previous version ({result.release.describe()}): {check}")


# -- the check -------------------------------------------------------------------------


def check_previous_version(
    context: LocalContext,
    tasks: AppTasks,
    secrets: ResolvedSecrets,
    *,
    previous: PreviousVersion,
    task_prefix: str,
    migration_timeout_s: float = 300.0,
    healthy_timeout_s: float = 120.0,
) -> CompatibilityResult:
    """Migrate the context's schema (fresh, or at the previous release's) with the current
    migration task, then serve it with the previous release's images and run the smoke
    checks; every task is removed.

    Raises IncompatibleSchema when a check fails, MigrationFailed when the new migration does.
    """
    started = time.monotonic()
    run_migration(
        context,
        tasks,
        secrets,
        task_name=f"{task_prefix}-migration-{random_tokens.token_hex(2)}",
        timeout_s=migration_timeout_s,
    )
    served = serve_previous_release(
        context,
        tasks,
        secrets,
        previous=previous,
        task_name=f"{task_prefix}-previous-{random_tokens.token_hex(2)}",
        healthy_timeout_s=healthy_timeout_s,
    )
    result = CompatibilityResult(
        release=previous.release,
        checks=served.checks,
        duration_s=time.monotonic() - started,
        served=served.served,
        app_error=served.app_error,
    )
    report(result)
    if not result.passed:
        raise IncompatibleSchema(result)
    return result


@dataclass(frozen=True, kw_only=True)
class ServedChecks:
    checks: tuple[CheckResult, ...]
    served: bool
    app_error: str | None = None


def serve_previous_release(
    context: LocalContext,
    tasks: AppTasks,
    secrets: ResolvedSecrets,
    *,
    previous: PreviousVersion,
    task_name: str,
    healthy_timeout_s: float,
) -> ServedChecks:
    """The front service with the previous release's images, its smoke checks through its
    published loopback port, then the task removed."""
    previous_tasks = with_previous_images(tasks, previous.images)
    front = front_service(previous_tasks)
    assert front.load_balancer is not None
    port = front.load_balancer.port
    try:
        service = start_service_task(
            local_task(
                context,
                previous_tasks,
                front.task,
                secrets,
                task_name=task_name,
                host_ports={port: None},
            ),
            key=front.key,
            healthy_timeout_s=healthy_timeout_s,
        )
    except (NotReady, TaskFailed, TaskTimeout) as error:
        never = CheckResult(name="its service task", passed=False, detail=f"never served: {error}")
        return ServedChecks(checks=(never,), served=False)
    workers: list[tuple[LocalTask, ServiceSpec]] = []
    try:
        base_url = f"http://127.0.0.1:{service.host_port(port)}"
        checks = smoke_checks(base_url)
        for worker in worker_services(previous_tasks):
            started = start_previous_worker(
                context, previous_tasks, secrets, worker, task_name=f"{task_name}-{worker.key}"
            )
            if isinstance(started, CheckResult):
                checks += (started,)
            else:
                workers.append((started, worker))
        if workers:
            checks += (check_queued_job(base_url),)
        failed = not all(check.passed for check in checks)
        # The front's output, then the workers': the last error logged names the cause.
        logs = [
            app_logs(running, previous_tasks, spec)
            for running, spec in [(service, front), *workers]
        ]
        app_error = last_app_error("\n".join(logs)) if failed else None
        return ServedChecks(checks=checks, served=True, app_error=app_error)
    finally:
        for running in (service, *(task for task, _ in workers)):
            running.stop(reason="compatibility check finished")
            running.remove()


def start_previous_worker(
    context: LocalContext,
    tasks: AppTasks,
    secrets: ResolvedSecrets,
    worker: ServiceSpec,
    *,
    task_name: str,
    healthy_timeout_s: float = 120.0,
) -> LocalTask | CheckResult:
    """One task of the previous release's worker service, healthy; or the check it failed."""
    try:
        return start_service_task(
            local_task(context, tasks, worker.task, secrets, task_name=task_name),
            key=worker.key,
            healthy_timeout_s=healthy_timeout_s,
        )
    except (NotReady, TaskFailed, TaskTimeout) as error:
        return CheckResult(
            name=f"its {worker.key} task", passed=False, detail=f"never ran: {error}"
        )


def app_logs(running: LocalTask, tasks: AppTasks, service: ServiceSpec) -> str:
    """The output of the service's app containers (those running the migration's image)."""
    names = [c.name for c in service.task.containers if c.image == tasks.app_image]
    return "\n".join(running.logs(name, tail=LOG_TAIL_LINES) for name in names)


@dataclass(frozen=True, kw_only=True)
class ReleaseComparison:
    """A fresh local run of the current release, and the previous release's images."""

    run: LocalRun
    previous: PreviousVersion

    def check_previous_release(self, *, migration_timeout_s: float = 300.0) -> CompatibilityResult:
        """``check_previous_version`` on this run's database."""
        return check_previous_version(
            self.run.context,
            self.run.tasks,
            self.run.secrets,
            previous=self.previous,
            task_prefix=self.run.context.network,
            migration_timeout_s=migration_timeout_s,
        )


@contextmanager
def compare_with_previous_release(
    project_root: Path,
    *,
    settings: HarnessSettings,
    scope: Scope,
    previous_ref: str | None = None,
    emulator: EmulatorKind = EmulatorKind.MOTO,
) -> Iterator[ReleaseComparison]:
    """Synth if stale, build the current and the previous images, then a fresh MySQL and the
    emulator in ``scope``. Everything it starts is removed afterwards (and leftovers of an
    interrupted run in the same scope before it starts)."""
    release = resolve_release(project_root, previous_ref or default_previous_ref(project_root))
    built = build_app(project_root, settings)
    previous = build_previous_images(
        built.client,
        built.tasks,
        project_root=project_root,
        release=release,
        certificates=built.certificates,
    )
    run_id = run_id_for(project_root)
    # What an interrupted run of this checkout left (this run's names would collide). A new
    # DB container each run: the migrations start from an empty schema.
    remove_labelled(built.client, scope=scope, run_id=run_id)
    try:
        run = bring_up(
            built,
            project_root=project_root,
            settings=settings,
            scope=scope,
            emulator=emulator,
            emulator_port=None,
        )
        try:
            yield ReleaseComparison(run=run, previous=previous)
        finally:
            run.emulator.stop()
    finally:
        remove_labelled(built.client, scope=scope, run_id=run_id)


def run_previous_version_check(
    project_root: Path,
    *,
    settings: HarnessSettings,
    previous_ref: str | None = None,
    emulator: EmulatorKind = EmulatorKind.MOTO,
    migration_timeout_s: float = 300.0,
) -> CompatibilityResult:
    """The whole check for a checkout: ``check_previous_version`` on a fresh run."""
    with compare_with_previous_release(
        project_root,
        settings=settings,
        scope=Scope.COMPAT,
        previous_ref=previous_ref,
        emulator=emulator,
    ) as compared:
        return compared.check_previous_release(migration_timeout_s=migration_timeout_s)
