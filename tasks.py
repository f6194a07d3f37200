"""Developer tasks: ``invoke --list``. Each task is a thin call into the ``parity`` package."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from invoke import Collection, Context, Exit, task

from parity.console import console
from parity.errors import HarnessError, ImageBuildFailed

PROJECT_ROOT = Path(__file__).resolve().parent
REPORTS = PROJECT_ROOT / "reports"
CERTS_DIR = PROJECT_ROOT / "resources" / "certs"


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
    """Run the whole suite: unit and integration tests on the embedded emulator, then the
    emulator-dependent integration tests again on LocalStack."""
    from parity.commands.suite import SuiteRun, run_pytest
    from parity.config.settings import EmulatorKind

    with harness_errors():
        if unit:
            run = SuiteRun(marker="not integration", junit_xml=REPORTS / "junit-unit.xml")
            run_pytest(run, project_root=PROJECT_ROOT)
            return
        run_pytest(
            SuiteRun(marker=None, junit_xml=REPORTS / "junit.xml", title="unit + integration"),
            project_root=PROJECT_ROOT,
        )
        run_pytest(
            SuiteRun(
                marker="integration and emulator",
                junit_xml=REPORTS / "junit-localstack.xml",
                emulator=EmulatorKind.LOCALSTACK,
                title="integration on LocalStack",
            ),
            project_root=PROJECT_ROOT,
        )


@task(
    name="test-integration",
    help={
        "emulator": "moto (embedded, default), localstack, or external (AWS_ENDPOINT_URL)",
        "previous": "git ref of the previous release for the expand/contract check "
        "(default: the last tag, else HEAD~1)",
    },
)
def test_integration(c: Context, emulator: str = "moto", previous: str = "") -> None:
    """Prove ordering, parity and rollback safety with real containers; writes JUnit XML."""
    from parity.commands.suite import SuiteRun, run_pytest
    from parity.config.settings import EmulatorKind

    with harness_errors():
        kind = EmulatorKind.parse(emulator)
        run = SuiteRun(
            marker="integration",
            junit_xml=REPORTS / f"junit-integration-{kind.value}.xml",
            emulator=kind,
            previous_ref=previous or None,
            title=f"integration on {kind.value}",
        )
        run_pytest(run, project_root=PROJECT_ROOT)


@task
def engine(c: Context) -> None:
    """Make sure a Docker engine answers (installs and starts one on a bare Debian host)."""
    from parity.engine.baseimage import ensure_base_image
    from parity.engine.daemon import ensure_engine

    with harness_errors():
        client = ensure_engine()
        ensure_base_image(client)
        console.print(f"Docker engine {client.version()['Version']} is ready")


@task
def synth(c: Context, env: str = "") -> None:
    """Synthesize the CDK app into cdk.out (every environment, or only --env)."""
    from parity.assembly import synth as cdk

    with harness_errors():
        result = cdk.synth(project_root=PROJECT_ROOT, env=env or None)
        console.print(f"synthesized {env or 'every environment'} in {result.duration_s:.1f}s")


@task
def diff(c: Context, env: str) -> None:
    """Show `cdk diff` for an environment's stacks (uses AWS_ENDPOINT_URL when set)."""
    from parity.assembly import synth as cdk

    with harness_errors():
        result = cdk.diff(project_root=PROJECT_ROOT, env=env)
        console.print(result.output, markup=False, highlight=False)


@task(
    help={
        "port": "loopback port for nginx (default 8080)",
        "db-port": "also publish MySQL on this loopback port",
        "detach": "return once the service is healthy",
        "source-mounts": "dev mode: bind-mount the PHP source, edits show without a rebuild",
        "emulator": "moto (embedded, default), localstack, or external (AWS_ENDPOINT_URL)",
    }
)
def dev(
    c: Context,
    port: int = 8080,
    db_port: int = 0,
    detach: bool = False,
    source_mounts: bool = False,
    emulator: str = "moto",
) -> None:
    """Run the app locally: synth, build, MySQL + AWS emulator, migration gate, service."""
    from parity.commands.dev import DevOptions
    from parity.commands.dev import dev as run_dev
    from parity.config.settings import EmulatorKind, HarnessSettings

    with harness_errors():
        options = DevOptions(
            port=port,
            db_port=db_port or None,
            detach=detach,
            source_mounts=source_mounts,
            emulator=EmulatorKind.parse(emulator),
        )
        run_dev(PROJECT_ROOT, options, HarnessSettings.from_environ(certs_dir=CERTS_DIR))


@task
def down(c: Context) -> None:
    """Remove every container, network and volume dev runs of this checkout started."""
    from parity.commands.dev import down as remove_dev

    with harness_errors():
        console.print(f"removed {remove_dev(PROJECT_ROOT)} resources")


@task(help={"container": "only this container (laravel, nginx, holder, …)"})
def logs(c: Context, container: str = "", tail: int = 200) -> None:
    """Show the dev containers' logs, prefixed by container name."""
    from parity.commands.dev import logs as show_logs

    with harness_errors():
        show_logs(PROJECT_ROOT, container or None, tail=tail)


@task(
    help={
        "env": "local, qa or prod",
        "confirm": "required for prod, after reviewing the diff",
        "timeout": "seconds the migration may run before it is stopped",
        "deploy-id": "reuse a deploy id to retry idempotently (same RunTask client token)",
        "port": "--env local only: loopback port of the local load balancer",
        "emulator": "--env local only: moto (embedded), localstack or external",
    }
)
def deploy(
    c: Context,
    env: str,
    confirm: bool = False,
    timeout: int = 1800,
    deploy_id: str = "",
    port: int = 8080,
    emulator: str = "moto",
) -> None:
    """Synth and check, deploy the migration stack, gate on the migration, deploy the service."""
    from parity.assembly import synth as cdk
    from parity.assembly.checks import check_environment_templates
    from parity.config.settings import EmulatorKind, HarnessSettings
    from parity.deploy.backends import diff_for, open_backend
    from parity.deploy.flow import DeployOptions, PreDeploySteps, new_deploy_id
    from parity.deploy.flow import deploy as run_deploy

    with harness_errors():
        options = DeployOptions(
            environment=env,
            deploy_id=deploy_id or new_deploy_id(),
            confirm=confirm,
            migration_timeout_s=float(timeout),
        )
        steps = PreDeploySteps(
            synth=lambda: cdk.synth(project_root=PROJECT_ROOT, env=env),
            check=lambda: check_environment_templates(cdk.assembly_dir(PROJECT_ROOT), env),
            diff=lambda: diff_for(env, project_root=PROJECT_ROOT),
        )
        with open_backend(
            env,
            project_root=PROJECT_ROOT,
            settings=HarnessSettings.from_environ(certs_dir=CERTS_DIR),
            local_port=port,
            emulator=EmulatorKind.parse(emulator),
        ) as backend:
            report = run_deploy(
                options, backend=backend, project_root=PROJECT_ROOT, pre_deploy=steps
            )
        console.print(f"deployed {env} in {report.duration_s:.1f}s (deploy id {report.deploy_id})")


@task(
    help={
        "env": "local, qa or prod",
        "confirm": "required for prod",
        "timeout": "seconds the migration may run before it is stopped",
        "deploy-id": "reuse a deploy id to retry idempotently",
    }
)
def migrate(
    c: Context, env: str, confirm: bool = False, timeout: int = 1800, deploy_id: str = ""
) -> None:
    """Run only the migration gate against what is deployed in ENV."""
    from parity.config.settings import HarnessSettings
    from parity.deploy.backends import open_backend
    from parity.deploy.flow import DeployOptions, new_deploy_id
    from parity.deploy.flow import migrate as run_migrate

    with harness_errors():
        options = DeployOptions(
            environment=env,
            deploy_id=deploy_id or new_deploy_id(),
            confirm=confirm,
            migration_timeout_s=float(timeout),
        )
        with open_backend(
            env,
            project_root=PROJECT_ROOT,
            settings=HarnessSettings.from_environ(certs_dir=CERTS_DIR),
        ) as backend:
            result = run_migrate(options, backend=backend, project_root=PROJECT_ROOT)
        console.print(f"migration gate passed in {result.duration_s:.1f}s")


@task(
    name="parity",
    help={
        "env": "the deployed environment to compare with (default prod)",
        "port": "the loopback port `invoke dev --port` publishes (default 8080)",
        "source-mounts": "include the dev-mode source bind mounts (`invoke dev --source-mounts`)",
    },
)
def show_parity(
    c: Context, env: str = "prod", port: int = 8080, source_mounts: bool = False
) -> None:
    """List every named local override next to the value ENV's deployed task definition has."""
    from parity.commands.report import parity_report, parity_table
    from parity.config.settings import HarnessSettings

    with harness_errors():
        rows = parity_report(
            PROJECT_ROOT,
            env=env,
            host_port=port,
            source_mounts=source_mounts,
            db_image=HarnessSettings.from_environ(certs_dir=CERTS_DIR).db_image,
        )
        console.print(parity_table(rows, env=env))


@task
def compose(c: Context) -> None:
    """Export compose/docker-compose.yml from the local task definitions, and its env files."""
    from parity.commands.compose import export_compose

    with harness_errors():
        export = export_compose(PROJECT_ROOT)
        console.print(
            f"wrote {export.compose_file} and {len(export.env_files)} env files (gitignored)"
        )


@task(
    help={
        "runs": "runs per figure (warm/hot/baseline start-ups, rebuilds, local deploys)",
        "cold-runs": "cold start-ups (each builds both app images from the base image)",
        "edit-runs": "PHP edits timed in dev mode",
        "asset-edit-runs": "asset edits (synth, rebuild, restart each)",
        "skip-suite": "do not time `invoke test-integration`",
        "cold-suite": "also time `invoke test-integration` with no app image layer cached",
        "only": "comma-separated sections: startup, edits, rebuild, sizes, deploy, suite",
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
    from parity.config.settings import HarnessSettings

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
        run_bench(PROJECT_ROOT, options, HarnessSettings.from_environ(certs_dir=CERTS_DIR))


namespace = Collection(
    test,
    test_integration,
    engine,
    synth,
    diff,
    dev,
    down,
    logs,
    deploy,
    migrate,
    show_parity,
    compose,
    bench,
)
