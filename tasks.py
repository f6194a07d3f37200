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


namespace = Collection(test, test_integration, engine)
