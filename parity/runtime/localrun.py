"""Run the app's task definitions locally: backing services, the migration gate, the service.

Everything here is labelled with a scope (``dev`` or ``test``) and a run id, so
``invoke down`` (or a test session) removes exactly what it started. The named local
overrides it applies are defined in ``parity.runtime.overrides`` and shown by ``invoke parity``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import docker
from docker.errors import NotFound
from docker.models.containers import Container
from rich.text import Text

from parity.assembly.apptasks import AppTasks
from parity.assembly.caches import RedisCache
from parity.assembly.secretref import AwsSecretResolver, SecretResolver
from parity.assembly.taskdef import TaskDefinition
from parity.config.settings import ExtraCertificates
from parity.console import console, step
from parity.engine.images import ImageBuild, ensure_image
from parity.engine.labels import Scope, run_labels
from parity.errors import ConfigError, MigrationFailed, NotReady
from parity.runtime.devsecrets import (
    DevSecrets,
    DevValueResolver,
    demand_of,
    load_or_create,
    resolve_task_secrets,
    seed,
)
from parity.runtime.overrides import environment_overrides, fargate_environment
from parity.runtime.standins import create_in_emulator, with_attachments
from parity.runtime.task import BindMount, LocalTask, LogSink, Placement, TaskOutcome
from parity.runtime.taskendpoints import TaskEndpoints
from parity.secretvalue import SecretValue
from parity.services.database import READY_TIMEOUT_S as DB_READY_TIMEOUT_S
from parity.services.database import (
    DatabaseSettings,
    await_database,
    ensure_data_volume,
    launch_database,
    resolve_image,
    wait_for_login,
)
from parity.services.emulator import Emulator
from parity.services.redis import READY_TIMEOUT_S as REDIS_READY_TIMEOUT_S
from parity.services.redis import (
    RedisSettings,
    answers_ping,
    await_redis,
    ensure_redis_image,
    launch_redis,
)

MIGRATION_LOG_TAIL = 30
MIGRATION_LOG_PREFIX = "migration"


@dataclass(frozen=True, kw_only=True)
class LocalContext:
    """The backing services one local run uses."""

    client: docker.DockerClient
    scope: Scope
    run_id: str
    network: str
    db_host: str
    emulator: Emulator
    secrets_file: Path
    # The named volume the DB keeps its data in across runs (None: the container's own).
    db_volume: str | None = None
    # The image of each task's metadata and credentials endpoints; None: tasks get none.
    endpoints_image: str | None = None

    @property
    def labels(self) -> dict[str, str]:
        return run_labels(scope=self.scope, run_id=self.run_id)


def run_id_for(project_root: Path) -> str:
    """A stable id per checkout, so two clones on one machine do not collide."""
    return hashlib.sha256(str(project_root.resolve()).encode()).hexdigest()[:8]


def data_volume_for(run_id: str) -> str:
    """The checkout's DB data volume: ``invoke down`` keeps it, ``down --volumes`` removes it."""
    return f"parity-{Scope.DATA}-{run_id}-mysql"


def ensure_network(client: docker.DockerClient, name: str, labels: dict[str, str]) -> str:
    if not client.networks.list(names=[name]):
        client.networks.create(name, driver="bridge", labels=labels)
    return name


TaskSecrets = Mapping[str, Mapping[str, SecretValue]]  # container → env name → value
K = TypeVar("K")
V = TypeVar("V")


class Deferred(Mapping[K, V]):
    """A mapping computed on first use (then kept): a task is provisioned while its secret
    values are still being resolved, and reads them only when its containers start."""

    def __init__(self, compute: Callable[[], Mapping[K, V]]) -> None:
        self._compute = compute
        self._values: Mapping[K, V] | None = None

    def _resolved(self) -> Mapping[K, V]:
        if self._values is None:
            self._values = self._compute()
        return self._values

    def __getitem__(self, key: K) -> V:
        return self._resolved()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._resolved())

    def __len__(self) -> int:
        return len(self._resolved())


@dataclass(frozen=True)
class ResolvedSecrets:
    """Every task definition's secret values, by logical id, fetched before any start."""

    by_task: Mapping[str, TaskSecrets]
    # Each Redis cache's AUTH password (by logical id); None where it requires none.
    caches: Mapping[str, SecretValue | None] = field(default_factory=dict)

    @classmethod
    def resolving(cls, pending: Future[ResolvedSecrets]) -> ResolvedSecrets:
        """The secrets ``pending`` resolves, each read waiting for it."""
        return cls(
            by_task=Deferred(lambda: pending.result().by_task),
            caches=Deferred(lambda: pending.result().caches),
        )

    def of(self, task: TaskDefinition) -> TaskSecrets:
        """The task's values, looked up when first read."""
        return Deferred(lambda: self.by_task[task.logical_id])


def dev_values(
    context: LocalContext, tasks: AppTasks, extra_tasks: tuple[TaskDefinition, ...] = ()
) -> DevSecrets:
    """The dev value of every secret the tasks (and ``extra_tasks``) and the caches read,
    generated where missing."""
    definitions = (*tasks.task_definitions, *extra_tasks)
    auth_tokens = [cache.auth_token for cache in tasks.caches if cache.auth_token is not None]
    return load_or_create(
        context.secrets_file,
        demand_of(definitions, extra=auth_tokens),
        stack_secrets=tasks.resources.secrets,
    )


def seed_and_resolve(
    context: LocalContext,
    tasks: AppTasks,
    extra_tasks: tuple[TaskDefinition, ...] = (),
    values: DevSecrets | None = None,
) -> ResolvedSecrets:
    """Seed the dev values and create the stacks' resources in the emulator, then resolve
    every secret, before any start."""
    values = values or dev_values(context, tasks, extra_tasks)

    # Everything lives in the app's account of the emulator, where the task roles act too.
    def client(service: str) -> Any:
        return context.emulator.account_client(service, tasks.account)

    seed(
        with_attachments(values, tasks.resources),
        secretsmanager=client("secretsmanager"),
        ssm=client("ssm"),
    )
    create_in_emulator(tasks.resources, client, region=context.emulator.region)
    resolver = AwsSecretResolver(
        client_factory=lambda service, *, region_name=None: client(service),
        # The emulator's account is not the app's: secrets were seeded, and are found, by name.
        by_name=True,
    )
    return resolve_all(tasks, resolver, (*tasks.task_definitions, *extra_tasks))


def provisioned_secrets(tasks: AppTasks, values: DevSecrets) -> ResolvedSecrets:
    """The migration task's and the caches' values straight from the dev values: what the
    local MySQL and Redis are created with (``DevValueResolver``)."""
    return resolve_all(
        tasks, DevValueResolver(with_attachments(values, tasks.resources)), (tasks.migration,)
    )


def resolve_all(
    tasks: AppTasks, resolver: SecretResolver, definitions: tuple[TaskDefinition, ...]
) -> ResolvedSecrets:
    return ResolvedSecrets(
        by_task={task.logical_id: resolve_task_secrets(task, resolver) for task in definitions},
        caches={
            cache.logical_id: None if cache.auth_token is None else resolver.fetch(cache.auth_token)
            for cache in tasks.caches
        },
    )


def database_settings(tasks: AppTasks, secrets: TaskSecrets, image: str) -> DatabaseSettings:
    """The local MySQL's credentials: the ones the migration container reads, per setting
    from the env name fargate-parity.toml's [database.env] gives, else from the secret whose
    JSON key [database.secret_keys] gives (an RDS-generated secret's ``username``, say)."""
    container = tasks.watched_container
    spec = tasks.migration.container(container)
    revealed = {name: value.reveal() for name, value in secrets[container].items()}
    known = {**spec.environment, **revealed}
    by_key = {
        ref.json_key: revealed[name]
        for name, ref in spec.secrets.items()
        if ref.json_key is not None and name in revealed
    }
    names, keys = tasks.database.env, tasks.database.secret_keys

    def setting(name: str) -> str | None:
        value = known.get(names[name])
        return value if value is not None else by_key.get(keys[name])

    wanted = ("database", "user", "password")
    missing = [f"{names[s]} (or a secret's {keys[s]!r} key)" for s in wanted if setting(s) is None]
    if missing:
        raise ConfigError(
            f"container {container} reads no {', '.join(missing)}; the local MySQL takes its"
            " database name and credentials from them (fargate-parity.toml [database.env] and"
            " [database.secret_keys] name them)"
        )
    database, user, password = (str(setting(name)) for name in wanted)
    return DatabaseSettings(
        image=image,
        database=database,
        user=user,
        password=password,
        root_password=password + "-root",
    )


@dataclass(frozen=True)
class StartingService:
    """A backing service's container, started (or reused); ``ready()`` waits until it
    answers, and raises NotReady when it does not."""

    container: Container
    ready: Callable[[], None]


def ensure_database(
    context: LocalContext,
    settings: DatabaseSettings,
    *,
    host_port: int | None,
    aliases: tuple[str, ...] = (),
) -> StartingService:
    """Reuse this run's DB container when it is up and known by every alias; otherwise
    start it."""
    with contextlib.suppress(NotFound):
        existing = context.client.containers.get(context.db_host)
        networks = existing.attrs["NetworkSettings"]["Networks"]
        known = set(networks.get(context.network, {}).get("Aliases") or ())
        if existing.status == "running" and known >= set(aliases):
            return StartingService(
                existing, lambda: wait_for_login(existing, settings, timeout_s=30)
            )
        existing.remove(force=True, v=True)
    settings = dataclasses.replace(settings, host_port=host_port)
    data_volume = None
    if context.db_volume is not None:
        data_volume = ensure_data_volume(
            context.client,
            context.db_volume,
            run_labels(scope=Scope.DATA, run_id=context.run_id),
        )
    container = launch_database(
        context.client,
        settings,
        name=context.db_host,
        network=context.network,
        labels=context.labels,
        data_volume=data_volume,
        aliases=aliases,
    )

    def ready() -> None:
        try:
            await_database(container, settings, timeout_s=DB_READY_TIMEOUT_S)
        except NotReady as error:
            if data_volume is None:
                raise
            # The data outlives the credentials file: a new .local/secrets.json cannot log in.
            raise NotReady(
                f"{error}; if .local/secrets.json changed since its data volume {data_volume} "
                "was made, restore the old file, or `invoke down --volumes` to start afresh "
                "(the data is lost)"
            ) from None

    return StartingService(container, ready)


def ensure_app_database(
    context: LocalContext,
    tasks: AppTasks,
    secrets: ResolvedSecrets,
    *,
    requested_image: str,
    certificates: ExtraCertificates,
    host_port: int | None,
) -> StartingService:
    """The local MySQL the app's tasks expect: the requested image (or the MariaDB
    stand-in), with the database and credentials the migration container will use."""
    image = resolve_image(context.client, requested_image, certificates=certificates)
    return ensure_database(
        context,
        database_settings(tasks, secrets.of(tasks.migration), image),
        host_port=host_port,
        aliases=tuple(database.local_host for database in tasks.resources.databases),
    )


def ensure_app_caches(
    context: LocalContext,
    tasks: AppTasks,
    secrets: ResolvedSecrets,
    *,
    certificates: ExtraCertificates,
) -> list[StartingService]:
    """A local Redis for each Redis cache of the assembly, on its port, with its password."""
    if not tasks.caches:
        return []
    image = ensure_redis_image(context.client, certificates=certificates)
    return [
        ensure_cache(
            context,
            cache,
            RedisSettings(image=image, port=cache.port, password=secrets.caches[cache.logical_id]),
        )
        for cache in tasks.caches
    ]


def ensure_cache(
    context: LocalContext, cache: RedisCache, settings: RedisSettings
) -> StartingService:
    """Reuse this run's Redis when it runs this image and answers with this password;
    otherwise start it afresh."""
    name = f"{context.network}-{cache.local_host}"
    with contextlib.suppress(NotFound):
        existing = context.client.containers.get(name)
        if (
            existing.status == "running"
            and settings.image in existing.image.tags
            and answers_ping(existing, settings)
        ):
            return StartingService(existing, lambda: None)
        existing.remove(force=True, v=True)
    container = launch_redis(
        context.client,
        settings,
        name=name,
        network=context.network,
        aliases=[cache.local_host],
        labels=context.labels,
    )
    return StartingService(
        container, lambda: await_redis(container, settings, timeout_s=REDIS_READY_TIMEOUT_S)
    )


def placement(
    context: LocalContext,
    tasks: AppTasks,
    task_name: str,
    *,
    host_ports: Mapping[int, int | None] | None = None,
    bind_mounts: Mapping[str, tuple[BindMount, ...]] | None = None,
    added_environment: Mapping[str, Mapping[str, str]] | None = None,
) -> Placement:
    endpoints = None
    if context.endpoints_image is not None:
        endpoints = TaskEndpoints(
            context.client,
            image=context.endpoints_image,
            emulator=context.emulator,
            # Beside the dev secrets, in the gitignored .local/.
            state_root=context.secrets_file.parent / "tasks",
            cluster=context.network,
            account=tasks.account,
            region=tasks.region,
        )
    return Placement(
        task_name=task_name,
        network=context.network,
        labels=context.labels,
        host_ports=dict(host_ports or {}),
        environment_overrides=environment_overrides(tasks, db_host=context.db_host),
        bind_mounts=dict(bind_mounts or {}),
        added_environment=dict(added_environment or {}),
        platform_environment=fargate_environment(tasks.region),
        sidecar=endpoints,
    )


@dataclass
class LogPrinter:
    """Prints container output prefixed by the container's name, one colour each."""

    prefix_width: int = 22
    colours: dict[str, str] = field(default_factory=dict)

    PALETTE = ("cyan", "magenta", "yellow", "green", "blue")

    def __call__(self, container: str, line: str) -> None:
        colour = self.colours.setdefault(container, self.PALETTE[len(self.colours) % 5])
        # One print per line: tasks log from threads of their own, and two prints interleave.
        prefix = (f"{container:>{self.prefix_width}} | ", colour)
        console.print(Text.assemble(prefix, line), highlight=False)

    def for_task(self, task: str) -> LogSink:
        """A sink that prefixes each line with ``task/container`` (``webservice/nginx``)."""
        return lambda container, line: self(f"{task}/{container}", line)


def local_task(
    context: LocalContext,
    tasks: AppTasks,
    task: TaskDefinition,
    secrets: ResolvedSecrets,
    *,
    task_name: str,
    host_ports: Mapping[int, int | None] | None = None,
    bind_mounts: Mapping[str, tuple[BindMount, ...]] | None = None,
    added_environment: Mapping[str, Mapping[str, str]] | None = None,
) -> LocalTask:
    """A task of ``task`` placed in the run (its network, endpoints and overrides), not
    provisioned yet."""
    return LocalTask(
        context.client,
        task,
        placement(
            context,
            tasks,
            task_name,
            host_ports=host_ports,
            bind_mounts=bind_mounts,
            added_environment=added_environment,
        ),
        secrets=secrets.of(task),
    )


def run_to_completion(
    local: LocalTask,
    *,
    watched: str,
    timeout_s: float | None,
    what: str,
    tail_on_failure: bool = False,
    log_sink: LogSink | None = None,
    log_prefix: str | None = None,
) -> TaskOutcome:
    """Run a one-off task (provisioned or not) until it stops, its logs streamed live (to
    ``log_sink``, else the terminal); the task is removed afterwards. ``watched`` is the
    container whose exit code the caller judges; with ``tail_on_failure`` its last lines are
    shown again when it did not exit 0. The terminal's lines are prefixed
    ``log_prefix/container`` (default: the task's family)."""
    task = local.task
    with step(f"{what} ({watched})"):
        try:
            local.start()
            local.follow_logs(
                log_sink or LogPrinter().for_task(log_prefix or task.family or task.logical_id)
            )
            outcome = local.wait_until_stopped(timeout_s)
            local.join_logs()
            if tail_on_failure and outcome.exit_code(watched) != 0:
                console.print(local.logs(watched, tail=MIGRATION_LOG_TAIL), markup=False)
            return outcome
        finally:
            local.stop(reason=f"{what} finished")
            local.remove()


def run_migration(
    context: LocalContext,
    tasks: AppTasks,
    secrets: ResolvedSecrets,
    *,
    task_name: str,
    timeout_s: float,
    what: str = "migration task",
    log_sink: LogSink | None = None,
) -> TaskOutcome:
    """Run the migration task to completion; raise MigrationFailed unless the watched
    container exited 0. Its logs stream live (to ``log_sink``, else the terminal); ``what``
    names the run in its step."""
    return run_migration_task(
        local_task(context, tasks, tasks.migration, secrets, task_name=task_name),
        watched=tasks.watched_container,
        timeout_s=timeout_s,
        what=what,
        log_sink=log_sink,
    )


def run_migration_task(
    local: LocalTask,
    *,
    watched: str,
    timeout_s: float,
    what: str = "migration task",
    log_sink: LogSink | None = None,
) -> TaskOutcome:
    """``run_migration`` of a migration task made (and perhaps provisioned) beforehand."""
    outcome = run_to_completion(
        local,
        watched=watched,
        timeout_s=timeout_s,
        what=what,
        tail_on_failure=True,
        log_sink=log_sink,
        log_prefix=MIGRATION_LOG_PREFIX,
    )
    exit_code = outcome.exit_code(watched)
    if exit_code != 0:
        raise MigrationFailed(
            f"migration failed: {watched} exited with {exit_code} "
            f"({outcome.stop_reason}); no service was started"
        )
    return outcome


def start_service_task(task: LocalTask, *, key: str, healthy_timeout_s: float = 120.0) -> LocalTask:
    """Start a task of service ``key`` (provisioned or not) and wait until it is healthy; on
    failure nothing of it is left."""
    with step(f"{key}: start a task and turn healthy"):
        task.start()
        try:
            task.wait_until_healthy(healthy_timeout_s)
        except BaseException:
            task.stop(reason="not healthy in time")
            task.remove()
            raise
    return task


def build_app_images(
    client: docker.DockerClient,
    tasks: AppTasks,
    *,
    certificates: ExtraCertificates,
    rebuild: bool = False,
) -> tuple[str, ...]:
    """Build every image asset the tasks run (cached by asset hash); return the tags."""
    return tuple(
        ensure_image(
            client,
            ImageBuild(
                tag=asset.local_image,
                context=asset.directory,
                dockerfile=asset.dockerfile,
                target=asset.build_target,
                build_args=asset.build_args,
            ),
            certificates=certificates,
            rebuild=rebuild,
        )
        for asset in tasks.image_assets
    )
