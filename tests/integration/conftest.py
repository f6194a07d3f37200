"""Session-wide Docker resources for the integration tests.

Everything a test starts carries the session's labels; the session removes it at the
end, and removes leftovers of an interrupted earlier session at the start.
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
from collections.abc import Iterator

import docker
import pytest
from playwright.sync_api import BrowserContext, Page

# testcontainers' reaper (Ryuk) is an image no registry serves here; the session removes what it
# started by label instead. Read when testcontainers is first imported.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HealthcheckWaitStrategy

from parity.config.settings import ExtraCertificates, HarnessSettings
from parity.engine.baseimage import ensure_base_image
from parity.engine.daemon import ensure_engine
from parity.engine.labels import Scope, remove_labelled, run_labels
from parity.runtime.localrun import run_id_for
from parity.services.database import DatabaseSettings, resolve_image
from parity.verify.browser import chromium
from tests.integration.support import (
    PROJECT_ROOT,
    RESOURCES,
    ProjectCopy,
    SessionDatabase,
    copy_project,
)

SCOPE = Scope.TEST
# Healthy once the app user can log in to its database over TCP, in mysql:8.0 and the stand-in.
LOGIN_CHECK = {
    "test": [
        "CMD-SHELL",
        'mysql --protocol=TCP -h127.0.0.1 -u"$MYSQL_USER" -p"$MYSQL_PASSWORD"'
        ' -e "SELECT 1" "$MYSQL_DATABASE"',
    ],
    "interval": 1_000_000_000,
    "timeout": 5_000_000_000,
    "retries": 120,
}
SCREENSHOTS = PROJECT_ROOT / "reports" / "screenshots"
NOT_IN_FILE_NAMES = re.compile(r"[^\w.-]+")
CHECKOUT = run_id_for(PROJECT_ROOT)


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    client = ensure_engine()
    ensure_base_image(client)
    return client


@pytest.fixture(scope="session")
def run_id(docker_client: docker.DockerClient) -> Iterator[str]:
    """A fresh id per session; leftovers of an interrupted session of this clone go first."""
    remove_labelled(docker_client, scope=SCOPE, checkout=CHECKOUT)
    identifier = uuid.uuid4().hex[:10]
    yield identifier
    remove_labelled(docker_client, scope=SCOPE, run_id=identifier)


@pytest.fixture(scope="session")
def labels(run_id: str) -> dict[str, str]:
    return run_labels(scope=SCOPE, run_id=run_id, checkout=CHECKOUT)


@pytest.fixture(scope="session")
def harness_settings() -> HarnessSettings:
    return HarnessSettings.from_environ(certs_dir=RESOURCES / "certs")


@pytest.fixture(scope="session")
def certificates(harness_settings: HarnessSettings) -> ExtraCertificates:
    return harness_settings.certificates()


@pytest.fixture(scope="session")
def network(docker_client: docker.DockerClient, labels: dict[str, str], run_id: str) -> str:
    name = f"parity-test-{run_id}"
    docker_client.networks.create(name, driver="bridge", labels=labels)
    return name


@pytest.fixture(scope="session")
def database(
    docker_client: docker.DockerClient,
    harness_settings: HarnessSettings,
    certificates: ExtraCertificates,
    network: str,
    labels: dict[str, str],
    run_id: str,
) -> SessionDatabase:
    image = resolve_image(docker_client, harness_settings.db_image, certificates=certificates)
    settings = DatabaseSettings(
        image=image,
        database="laravel",
        user="laravel",
        password=secrets.token_urlsafe(16),
        root_password=secrets.token_urlsafe(16),
    )
    host = f"db-{run_id}"
    # The tests' own DB through testcontainers (the harness starts its own with docker-py).
    database = (
        DockerContainer(image, name=host)
        # with_kwargs replaces what it held: the labels (which the session's clean-up finds
        # it by) and the health check go in the same call.
        .with_kwargs(network=network, labels=labels, healthcheck=LOGIN_CHECK)
        .with_envs(
            MYSQL_DATABASE=settings.database,
            MYSQL_USER=settings.user,
            MYSQL_PASSWORD=settings.password,
            MYSQL_ROOT_PASSWORD=settings.root_password,
        )
        .waiting_for(HealthcheckWaitStrategy().with_startup_timeout(120))
        .start()
    )
    return SessionDatabase(container=database.get_wrapped_container(), settings=settings, host=host)


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> ProjectCopy:
    return copy_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="session")
def browser() -> Iterator[BrowserContext]:
    """Debian's chromium (installed where missing) with a fresh profile, one per session."""
    with chromium() as context:
        yield context


@pytest.fixture
def page(browser: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A new tab. What it shows at the end goes to reports/screenshots/, beside the JUnit XML,
    named after the test's id."""
    tab = browser.new_page()
    yield tab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(
        path=SCREENSHOTS / f"{NOT_IN_FILE_NAMES.sub('_', request.node.nodeid)}.png", full_page=True
    )
    tab.close()
