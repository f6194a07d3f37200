"""Developer tasks: ``invoke --list``. Each task is a thin call into ``parity``'s top layer
(``parity.commands``, ``parity.deploy``); see ARCHITECTURE.md."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from invoke import Collection, Context, Exit, Program, Task, task

from parity.commands.dev import DEFAULT_EMULATOR_PORT, DEFAULT_HTTP_PORT
from parity.console import console
from parity.errors import HarnessError, ImageBuildFailed

HARNESS_CHECKOUT = Path(__file__).resolve().parent
EMULATOR_HELP = (
    "moto (embedded), localstack, or external (AWS_ENDPOINT_URL); "
    "default: PARITY_EMULATOR, else moto"
)


def words_after_dashes() -> tuple[str, ...]:
    """The words after ``--`` as the shell split them (invoke's remainder joins them)."""
    return tuple(sys.argv[sys.argv.index("--") + 1 :]) if "--" in sys.argv else ()


def project() -> Path:
    """The app the task acts on: PARITY_PROJECT, else this checkout."""
    from parity.commands.project import project_root

    return project_root(HARNESS_CHECKOUT)


@contextmanager
def harness_errors() -> Iterator[None]:
    """The one place a HarnessError becomes a one-line exit."""
    try:
        yield
    except ImageBuildFailed as error:
        if error.output:
            console.print(error.output, markup=False, highlight=False)
        raise Exit(f"error: {error}", code=1) from None
    except HarnessError as error:
        raise Exit(f"error: {error}", code=1) from None


@task(help={"unit": "only the unit tests (no Docker)"})
def test(c: Context, unit: bool = False) -> None:
    """Run the whole suite: unit and integration tests on the chosen emulator, then the
    emulator-dependent integration tests again on LocalStack."""
    from parity.commands.suite import run_suite

    with harness_errors():
        run_suite(HARNESS_CHECKOUT, unit_only=unit)


@task(
    name="test-integration",
    help={
        "emulator": EMULATOR_HELP,
        "previous": "git ref of the previous release for the expand/contract check "
        "(default: the last tag, else HEAD~1)",
    },
)
def test_integration(c: Context, emulator: str = "", previous: str = "") -> None:
    """Prove ordering, parity and rollback safety with real containers; writes JUnit XML."""
    from parity.commands.suite import run_integration

    with harness_errors():
        run_integration(HARNESS_CHECKOUT, emulator=emulator or None, previous_ref=previous or None)


@task(
    name="migrations-check",
    help={
        "env": "the environment the migrations go to, named in the report (default local)",
        "previous": "git ref of the running release (default: the last tag, else HEAD~1)",
        "emulator": EMULATOR_HELP,
    },
)
def migrations_check(
    c: Context, env: str = "local", previous: str = "", emulator: str = ""
) -> None:
    """Judge each pending migration's SQL: does it break the running release, and does the
    server lock the table for it? Writes reports/migrations-ENV.json and a JUnit file. Needs
    the environment's migrations_check in fargate-parity.toml."""
    from parity.commands.migrations import migrations_check as check

    with harness_errors():
        report = check(
            project(), environment=env, previous_ref=previous or None, emulator=emulator or None
        )
        console.print(report.headline(), markup=False, highlight=False)


@task
def engine(c: Context) -> None:
    """Make sure a Docker engine answers (installs and starts one on a bare Debian host)."""
    from parity.commands.cdk import prepare_engine

    with harness_errors():
        console.print(f"Docker engine {prepare_engine()} is ready")


@task(help={"env": "only this environment (default: every one)"})
def synth(c: Context, env: str = "") -> None:
    """Synthesize the CDK app into its cloud assembly (cdk.json's output)."""
    from parity.commands import cdk

    with harness_errors():
        cdk.synth(project(), env or None)


@task(help={"env": "the environment (local, qa or prod)"})
def diff(c: Context, env: str = "") -> None:
    """Show `cdk diff` for an environment's stacks (uses AWS_ENDPOINT_URL when set)."""
    from parity.commands import cdk

    with harness_errors():
        console.print(cdk.diff(project(), env), markup=False, highlight=False)


PORT_HELP = "0 picks a free one"


@task(
    help={
        "port": f"loopback port for nginx (default {DEFAULT_HTTP_PORT}; {PORT_HELP})",
        "db-port": f"also publish MySQL on this loopback port ({PORT_HELP})",
        "detach": "return once the services are healthy (the scheduler runs only attached)",
        "source-mounts": "dev mode: bind-mount the PHP source, edits show without a rebuild",
        "hot": "dev mode with Vite's dev server: JS and CSS edits show in the open page without "
        "a reload (implies --source-mounts)",
        "vite-port": "loopback port of Vite's dev server with --hot "
        f"(default: fargate-parity.toml's dev.hot.port; {PORT_HELP})",
        "emulator": EMULATOR_HELP,
        "emulator-port": "loopback port of the AWS emulator (default: a free one per run)",
    }
)
def dev(
    c: Context,
    port: str = str(DEFAULT_HTTP_PORT),
    db_port: str = "",
    detach: bool = False,
    source_mounts: bool = False,
    hot: bool = False,
    vite_port: str = "",
    emulator: str = "",
    emulator_port: str = str(DEFAULT_EMULATOR_PORT),
) -> None:
    """Run the app locally: synth, build, MySQL + AWS emulator, migration gate, services,
    then the scheduled tasks on their schedules (attached runs only)."""
    from parity.commands.dev import DevOptions
    from parity.commands.dev import dev as run_dev

    with harness_errors():
        options = DevOptions.from_flags(
            port=port,
            db_port=db_port,
            detach=detach,
            source_mounts=source_mounts,
            hot=hot,
            vite_port=vite_port,
            emulator=emulator,
            emulator_port=emulator_port,
        )
        run_dev(project(), options)


@task(help={"volumes": "also remove the local database's data volume (its data is lost)"})
def down(c: Context, volumes: bool = False) -> None:
    """Remove every container, network and volume dev runs of this checkout started; the local
    database's data stays for the next `invoke dev` unless --volumes."""
    from parity.commands.dev import down as remove_dev

    with harness_errors():
        console.print(f"removed {remove_dev(project(), volumes=volumes)} resources")


@task(help={"container": "only this container (laravel, nginx, holder, …)"})
def logs(c: Context, container: str = "", tail: int = 200) -> None:
    """Show the dev containers' logs, prefixed by container name."""
    from parity.commands.dev import logs as show_logs

    with harness_errors():
        show_logs(project(), container or None, tail=tail)


def exit_with(code: int) -> None:
    """A command's non-zero exit code becomes the task's."""
    if code != 0:
        raise Exit(code=code)


@task(name="exec", help={"container": "the container: laravel, nginx, worker, migrate, …"})
def exec_in(c: Context, container: str) -> None:
    """`invoke exec CONTAINER -- CMD…`: run CMD in the dev run's CONTAINER (a one-off task
    when none runs), with the task's env and secrets; its exit code passes through."""
    from parity.commands.shell import exec_command

    with harness_errors():
        code = exec_command(project(), container, words_after_dashes())
    exit_with(code)


@task(
    positional=["container"],
    help={"container": "the container (default: the migration's, e.g. laravel)"},
)
def shell(c: Context, container: str = "") -> None:
    """An interactive shell in the dev run's CONTAINER (a one-off task when none runs)."""
    from parity.commands.shell import shell as open_shell

    with harness_errors():
        code = open_shell(project(), container or None)
    exit_with(code)


@task(positional=["name"], help={"name": "the snapshot's name (default: the current UTC time)"})
def db_snapshot(c: Context, name: str = "") -> None:
    """Dump the local database into .local/snapshots/NAME.sql.gz (not while a migration runs)."""
    from parity.commands.db import snapshot

    with harness_errors():
        console.print(f"snapshot {snapshot(project(), name or None).name}")


@task(help={"name": "a snapshot's name (`invoke db.list`)"})
def db_restore(c: Context, name: str) -> None:
    """Replace the local database with snapshot NAME: its schema, data and migrations. The next
    `invoke dev` runs the migrations the snapshot lacks."""
    from parity.commands.db import restore

    with harness_errors():
        console.print(f"restored {restore(project(), name).name}")


@task
def db_list(c: Context) -> None:
    """The local database's snapshots, oldest first."""
    from parity.commands.db import list_snapshots

    with harness_errors():
        for item in list_snapshots(project()):
            console.print(
                f"{item.name:<32} {item.taken_at:%Y-%m-%d %H:%M:%S} UTC "
                f"{item.size_bytes / 1024:>8.0f} KiB",
                markup=False,
            )


@task(name="import", help={"file": "a .sql or .sql.gz file"})
def db_import(c: Context, file: str) -> None:
    """Load FILE into the local database (not while a migration runs)."""
    from parity.commands.db import import_dump

    with harness_errors():
        import_dump(project(), Path(file))


@task(
    name="export",
    positional=["file"],
    help={"file": "where to write (.sql, or .sql.gz to gzip; default: .local/exports/)"},
)
def db_export(c: Context, file: str = "") -> None:
    """Dump the local database into FILE."""
    from parity.commands.db import export_dump

    with harness_errors():
        console.print(f"exported {export_dump(project(), Path(file) if file else None)}")


@task(name="shell")
def db_shell(c: Context) -> None:
    """The mysql client on the local database, as the app's user."""
    from parity.commands.db import shell as mysql_shell

    with harness_errors():
        code = mysql_shell(project())
    exit_with(code)


def declared_command(name: str, help_line: str) -> Task[..., None]:
    """One task for a fargate-parity.toml [[dev.commands]] entry: `invoke NAME -- ARGS`."""

    def run(c: Context) -> None:
        from parity.commands.shell import run_declared

        with harness_errors():
            code = run_declared(project(), name, words_after_dashes())
        exit_with(code)

    run.__doc__ = f"{help_line} (fargate-parity.toml [[dev.commands]])"
    return Task(run, name=name)


DEPLOY_HELP = {
    "env": "local, qa or prod",
    "confirm": "required for prod, after reviewing the diff",
    "timeout": "seconds the migration may run before it is stopped",
    "deploy-id": "reuse a deploy id to retry idempotently (same RunTask client token)",
    "port": "--env local only: loopback port of the local load balancer",
    "emulator": f"--env local only: {EMULATOR_HELP}",
}
RELEASE_CHECK_HELP = {
    "previous": "git ref of the running release for the release checks "
    "(default: the last tag, else HEAD~1)",
    "allow-breaking": "deploy although pending migrations break the running release; "
    "the reason is logged with the deploy id",
}


@task(help={**DEPLOY_HELP, **RELEASE_CHECK_HELP})
def deploy(
    c: Context,
    env: str = "",
    confirm: bool = False,
    timeout: int = 1800,
    deploy_id: str = "",
    port: str = str(DEFAULT_HTTP_PORT),
    emulator: str = "",
    previous: str = "",
    allow_breaking: str = "",
) -> None:
    """Synth and check, the release checks (migrations and the previous release), deploy the
    migration stack, gate on the migration, deploy every service stack."""
    from parity.deploy.backends import DeployRequest, parse_port
    from parity.deploy.backends import deploy as run_deploy

    with harness_errors():
        report = run_deploy(
            project(),
            DeployRequest(
                environment=env,
                confirm=confirm,
                timeout_s=float(timeout),
                deploy_id=deploy_id,
                local_port=parse_port(port, flag="--port"),
                emulator=emulator,
                previous_ref=previous,
                allow_breaking=allow_breaking,
            ),
        )
        console.print(f"deployed {env} in {report.duration_s:.1f}s (deploy id {report.deploy_id})")


@task(help=DEPLOY_HELP)
def migrate(
    c: Context,
    env: str = "",
    confirm: bool = False,
    timeout: int = 1800,
    deploy_id: str = "",
    port: str = str(DEFAULT_HTTP_PORT),
    emulator: str = "",
) -> None:
    """Run only the migration gate against what is deployed in ENV."""
    from parity.deploy.backends import DeployRequest, parse_port
    from parity.deploy.backends import migrate as run_migrate

    with harness_errors():
        result = run_migrate(
            project(),
            DeployRequest(
                environment=env,
                confirm=confirm,
                timeout_s=float(timeout),
                deploy_id=deploy_id,
                local_port=parse_port(port, flag="--port"),
                emulator=emulator,
            ),
        )
        console.print(f"migration gate passed in {result.duration_s:.1f}s")


HELP_FLAGS = ("-h", "--help")


@task(
    name="run-task",
    help={
        "name": "the task definition: its family, logical id or one of its containers",
        "env": "the environment: local runs it on Docker, qa and prod through ECS RunTask",
        "emulator": EMULATOR_HELP,
        "confirm": "required on prod: you reviewed the command",
        "timeout": "seconds before the task is stopped (default 1800)",
    },
)
def run_task(
    c: Context,
    name: str,
    env: str = "local",
    emulator: str = "",
    confirm: bool = False,
    timeout: int = 1800,
) -> None:
    """Run any task definition of the app once, with its own env and secrets, stream its logs
    and exit with its watched container's code; `invoke run-task NAME -- COMMAND…` replaces that
    container's command (on qa/prod: RunTask's command override, on the deployed revision)."""
    from parity.deploy.runtask import RunTaskRequest
    from parity.deploy.runtask import run_task as run_once

    if name in HELP_FLAGS:
        # NAME is positional, so invoke hands it `--help` instead of showing the help.
        Program(namespace=namespace, binary="inv[oke]").run(["invoke", "--help", "run-task"])
        return
    with harness_errors():
        request = RunTaskRequest(
            selector=name,
            environment=env,
            command=words_after_dashes(),
            emulator=emulator,
            confirm=confirm,
            timeout_s=float(timeout),
        )
        code = run_once(project(), request)
    if code != 0:
        raise Exit(f"the task exited with {code}", code=code)


@task(
    name="parity",
    help={
        "env": "the deployed environment to compare with (default prod)",
        "port": f"the loopback port `invoke dev --port` publishes (default {DEFAULT_HTTP_PORT})",
        "source-mounts": "include the dev-mode source bind mounts (`invoke dev --source-mounts`)",
        "hot": "include those and Vite's dev server (`invoke dev --hot`)",
    },
)
def show_parity(
    c: Context,
    env: str = "prod",
    port: str = str(DEFAULT_HTTP_PORT),
    source_mounts: bool = False,
    hot: bool = False,
) -> None:
    """List every named local override next to the value ENV's deployed task definition has."""
    from parity.commands.report import show_parity as show
    from parity.deploy.backends import parse_port

    with harness_errors():
        host_port = parse_port(port, flag="--port")
        show(project(), env=env, host_port=host_port, source_mounts=source_mounts, hot=hot)


@task
def compose(c: Context) -> None:
    """Export compose/docker-compose.yml from the local task definitions, and its env files."""
    from parity.commands.compose import export_compose

    with harness_errors():
        export = export_compose(project())
        console.print(
            f"wrote {export.compose_file} and {len(export.env_files)} env files (gitignored)"
        )


@task(
    help={
        "previous": "git ref of the previous release whose images are kept "
        "(default: the last tag, else HEAD~1)"
    }
)
def prune(c: Context, previous: str = "") -> None:
    """Remove the app's old image tags and the harness's dangling layers; keep the current
    and the previous release's images, and every image a container uses."""
    from parity.commands.prune import prune as remove_old_images

    with harness_errors():
        report = remove_old_images(project(), previous_ref=previous or None)
        console.print(report.headline(), markup=False, highlight=False)


@task(
    help={
        "runs": "runs per figure (warm/hot/baseline start-ups, rebuilds, local deploys)",
        "cold-runs": "cold start-ups (each builds both app images from the base image)",
        "edit-runs": "PHP edits timed in dev mode, and asset edits with --hot",
        "asset-edit-runs": "asset edits (synth, rebuild, restart each)",
        "skip-suite": "do not time `invoke test-integration`",
        "cold-suite": "also time `invoke test-integration` with no app image layer cached",
        "only": "comma-separated sections: startup, edits, hot, rebuild, sizes, deploy, suite, "
        "setup, soak",
        "soak": "the soak's durations in seconds, comma-separated (e.g. 60,300)",
    }
)
def bench(
    c: Context,
    runs: int = 3,
    cold_runs: int = 1,
    edit_runs: int = 5,
    asset_edit_runs: int = 2,
    skip_suite: bool = False,
    cold_suite: bool = False,
    only: str = "",
    soak: str = "60",
) -> None:
    """Measure dev start-up, edits, rebuilds, image sizes, gate latency, deploys and the suite;
    print the table and write bench/results/bench.json and bench.md."""
    from bench.context import BenchOptions
    from bench.runner import run_bench

    with harness_errors():
        options = BenchOptions(
            runs=runs,
            cold_runs=cold_runs,
            edit_runs=edit_runs,
            asset_edit_runs=asset_edit_runs,
            suite=not skip_suite,
            cold_suite=cold_suite,
            sections=tuple(name.strip() for name in only.split(",") if name.strip()),
            soak_seconds=tuple(float(value) for value in soak.split(",") if value.strip()),
        )
        run_bench(HARNESS_CHECKOUT, options)


namespace = Collection(
    test,
    test_integration,
    migrations_check,
    engine,
    synth,
    diff,
    dev,
    down,
    logs,
    deploy,
    migrate,
    run_task,
    show_parity,
    compose,
    prune,
    bench,
    exec_in,
    shell,
    Collection(
        "db",
        snapshot=db_snapshot,
        restore=db_restore,
        list=db_list,
        shell=db_shell,
        **{"import": db_import, "export": db_export},
    ),
)


def add_declared_commands(collection: Collection) -> None:
    """The app's shortcuts; a broken config adds none (the other tasks report it)."""
    from parity.commands.shell import declared_commands

    try:
        commands = declared_commands(project())
    except HarnessError:
        return
    for command in commands:
        if command.name in collection.task_names:
            console.print(
                f"fargate-parity.toml: [[dev.commands]] {command.name!r} is a built-in task; "
                "rename it",
                markup=False,
            )
            continue
        collection.add_task(declared_command(command.name, command.help))


add_declared_commands(namespace)
