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


@task
def test(c: Context, unit: bool = False) -> None:
    """Run the whole test suite (unit and integration); --unit skips the Docker tests."""
    from parity.suite import run_pytest

    with harness_errors():
        run_pytest(
            project_root=PROJECT_ROOT,
            marker="not integration" if unit else None,
            junit_xml=REPORTS / "junit.xml",
        )


@task(name="test-integration")
def test_integration(c: Context) -> None:
    """Run the integration tests (real containers) and write reports/junit-integration.xml."""
    from parity.suite import run_pytest

    with harness_errors():
        run_pytest(
            project_root=PROJECT_ROOT,
            marker="integration",
            junit_xml=REPORTS / "junit-integration.xml",
        )


@task
def engine(c: Context) -> None:
    """Make sure a Docker engine answers (installs and starts one on a bare Debian host)."""
    from parity.baseimage import ensure_base_image
    from parity.engine import ensure_engine

    with harness_errors():
        client = ensure_engine()
        ensure_base_image(client)
        console.print(f"Docker engine {client.version()['Version']} is ready")


@task
def synth(c: Context, env: str = "") -> None:
    """Synthesize the CDK app into cdk.out (every environment, or only --env)."""
    from parity import synth as cdk

    with harness_errors():
        result = cdk.synth(project_root=PROJECT_ROOT, env=env or None)
        console.print(f"synthesized {env or 'every environment'} in {result.duration_s:.1f}s")


@task
def diff(c: Context, env: str) -> None:
    """Show `cdk diff` for an environment's stacks (uses AWS_ENDPOINT_URL when set)."""
    from parity import synth as cdk

    with harness_errors():
        result = cdk.diff(project_root=PROJECT_ROOT, env=env)
        console.print(result.output, markup=False, highlight=False)


@task(
    help={
        "port": "loopback port for nginx (default 8080)",
        "db-port": "also publish MySQL on this loopback port",
        "detach": "return once the service is healthy",
        "source-mounts": "dev mode: bind-mount the PHP source, edits show without a rebuild",
        "emulator": "moto (embedded, default) or external (AWS_ENDPOINT_URL / LOCALSTACK_HOST)",
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
    from parity.dev import DevOptions
    from parity.dev import dev as run_dev
    from parity.emulator import EmulatorKind
    from parity.settings import HarnessSettings

    with harness_errors():
        options = DevOptions(
            port=port,
            db_port=db_port or None,
            detach=detach,
            source_mounts=source_mounts,
            emulator=EmulatorKind.parse(emulator),
        )
        run_dev(PROJECT_ROOT, options, HarnessSettings.from_environ())


@task
def down(c: Context) -> None:
    """Remove every container, network and volume dev runs of this checkout started."""
    from parity.dev import down as remove_dev

    with harness_errors():
        console.print(f"removed {remove_dev(PROJECT_ROOT)} resources")


@task(help={"container": "only this container (laravel, nginx, holder, …)"})
def logs(c: Context, container: str = "", tail: int = 200) -> None:
    """Show the dev containers' logs, prefixed by container name."""
    from parity.dev import logs as show_logs

    with harness_errors():
        show_logs(PROJECT_ROOT, container or None, tail=tail)


@task(
    help={
        "env": "local, qa or prod",
        "confirm": "required for prod, after reviewing the diff",
        "timeout": "seconds the migration may run before it is stopped",
        "deploy-id": "reuse a deploy id to retry idempotently (same RunTask client token)",
        "port": "--env local only: loopback port of the local load balancer",
        "emulator": "--env local only: moto (embedded) or external",
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
    from parity import synth as cdk
    from parity.checks import check_environment_templates
    from parity.deploy.backends import diff_for, open_backend
    from parity.deploy.flow import DeployOptions, PreDeploySteps, new_deploy_id
    from parity.deploy.flow import deploy as run_deploy
    from parity.emulator import EmulatorKind
    from parity.settings import HarnessSettings

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
            settings=HarnessSettings.from_environ(),
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
    from parity.deploy.backends import open_backend
    from parity.deploy.flow import DeployOptions, new_deploy_id
    from parity.deploy.flow import migrate as run_migrate
    from parity.settings import HarnessSettings

    with harness_errors():
        options = DeployOptions(
            environment=env,
            deploy_id=deploy_id or new_deploy_id(),
            confirm=confirm,
            migration_timeout_s=float(timeout),
        )
        with open_backend(
            env, project_root=PROJECT_ROOT, settings=HarnessSettings.from_environ()
        ) as backend:
            result = run_migrate(options, backend=backend, project_root=PROJECT_ROOT)
        console.print(f"migration gate passed in {result.duration_s:.1f}s")


namespace = Collection(
    test, test_integration, engine, synth, diff, dev, down, logs, deploy, migrate
)
