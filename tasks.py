"""Developer tasks: ``invoke --list``. Each task is a thin call into ``parity``'s top layer
(``parity.commands``, ``parity.deploy``); see ARCHITECTURE.md."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from invoke import Collection, Context, Exit, task

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


@task
def diff(c: Context, env: str) -> None:
    """Show `cdk diff` for an environment's stacks (uses AWS_ENDPOINT_URL when set)."""
    from parity.commands import cdk

    with harness_errors():
        console.print(cdk.diff(project(), env), markup=False, highlight=False)


@task(
    help={
        "port": f"loopback port for nginx (default {DEFAULT_HTTP_PORT})",
        "db-port": "also publish MySQL on this loopback port",
        "detach": "return once the services are healthy (the scheduler runs only attached)",
        "source-mounts": "dev mode: bind-mount the PHP source, edits show without a rebuild",
        "hot": "dev mode with Vite's dev server: JS and CSS edits show in the open page without "
        "a reload (implies --source-mounts)",
        "vite-port": "loopback port of Vite's dev server with --hot "
        "(default: fargate-parity.toml's dev.hot.port)",
        "emulator": EMULATOR_HELP,
        "emulator-port": f"loopback port of the AWS emulator (default {DEFAULT_EMULATOR_PORT})",
    }
)
def dev(
    c: Context,
    port: int = DEFAULT_HTTP_PORT,
    db_port: int = 0,
    detach: bool = False,
    source_mounts: bool = False,
    hot: bool = False,
    vite_port: int = 0,
    emulator: str = "",
    emulator_port: int = DEFAULT_EMULATOR_PORT,
) -> None:
    """Run the app locally: synth, build, MySQL + AWS emulator, migration gate, services,
    then the scheduled tasks on their schedules (attached runs only)."""
    from parity.commands.dev import DevOptions, emulator_choice
    from parity.commands.dev import dev as run_dev

    with harness_errors():
        options = DevOptions(
            port=port,
            db_port=db_port or None,
            detach=detach,
            source_mounts=source_mounts,
            hot=hot,
            vite_port=vite_port or None,
            emulator=emulator_choice(emulator),
            emulator_port=emulator_port,
        )
        run_dev(project(), options)


@task
def down(c: Context) -> None:
    """Remove every container, network and volume dev runs of this checkout started."""
    from parity.commands.dev import down as remove_dev

    with harness_errors():
        console.print(f"removed {remove_dev(project())} resources")


@task(help={"container": "only this container (laravel, nginx, holder, …)"})
def logs(c: Context, container: str = "", tail: int = 200) -> None:
    """Show the dev containers' logs, prefixed by container name."""
    from parity.commands.dev import logs as show_logs

    with harness_errors():
        show_logs(project(), container or None, tail=tail)


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
    env: str,
    confirm: bool = False,
    timeout: int = 1800,
    deploy_id: str = "",
    port: int = DEFAULT_HTTP_PORT,
    emulator: str = "",
    previous: str = "",
    allow_breaking: str = "",
) -> None:
    """Synth and check, the release checks (migrations and the previous release), deploy the
    migration stack, gate on the migration, deploy every service stack."""
    from parity.deploy.backends import DeployRequest
    from parity.deploy.backends import deploy as run_deploy

    with harness_errors():
        report = run_deploy(
            project(),
            DeployRequest(
                environment=env,
                confirm=confirm,
                timeout_s=float(timeout),
                deploy_id=deploy_id,
                local_port=port,
                emulator=emulator,
                previous_ref=previous,
                allow_breaking=allow_breaking,
            ),
        )
        console.print(f"deployed {env} in {report.duration_s:.1f}s (deploy id {report.deploy_id})")


@task(help=DEPLOY_HELP)
def migrate(
    c: Context,
    env: str,
    confirm: bool = False,
    timeout: int = 1800,
    deploy_id: str = "",
    port: int = DEFAULT_HTTP_PORT,
    emulator: str = "",
) -> None:
    """Run only the migration gate against what is deployed in ENV."""
    from parity.deploy.backends import DeployRequest
    from parity.deploy.backends import migrate as run_migrate

    with harness_errors():
        result = run_migrate(
            project(),
            DeployRequest(
                environment=env,
                confirm=confirm,
                timeout_s=float(timeout),
                deploy_id=deploy_id,
                local_port=port,
                emulator=emulator,
            ),
        )
        console.print(f"migration gate passed in {result.duration_s:.1f}s")


@task(
    name="run-task",
    help={
        "name": "the task definition: its family, logical id or one of its containers",
        "env": "the environment (runs locally: local)",
        "emulator": EMULATOR_HELP,
    },
)
def run_task(c: Context, name: str, env: str = "local", emulator: str = "") -> None:
    """Run any task definition of the app once, with its own env and secrets, and exit with its
    watched container's code; `invoke run-task NAME -- COMMAND…` replaces that container's
    command."""
    from parity.deploy.runtask import RunTaskRequest
    from parity.deploy.runtask import run_task as run_once

    with harness_errors():
        request = RunTaskRequest(
            selector=name,
            environment=env,
            command=words_after_dashes(),
            emulator=emulator,
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
    port: int = DEFAULT_HTTP_PORT,
    source_mounts: bool = False,
    hot: bool = False,
) -> None:
    """List every named local override next to the value ENV's deployed task definition has."""
    from parity.commands.report import show_parity as show

    with harness_errors():
        show(project(), env=env, host_port=port, source_mounts=source_mounts, hot=hot)


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
        "runs": "runs per figure (warm/hot/baseline start-ups, rebuilds, local deploys)",
        "cold-runs": "cold start-ups (each builds both app images from the base image)",
        "edit-runs": "PHP edits timed in dev mode, and asset edits with --hot",
        "asset-edit-runs": "asset edits (synth, rebuild, restart each)",
        "skip-suite": "do not time `invoke test-integration`",
        "cold-suite": "also time `invoke test-integration` with no app image layer cached",
        "only": "comma-separated sections: startup, edits, hot, rebuild, sizes, deploy, suite",
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
    bench,
)
