"""``invoke dev --hot`` in a real browser: the page, served through nginx, loads its modules
from Vite's dev server, and edits to app.js and app.css show in the open page without a
reload."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from playwright.sync_api import Page, expect

from parity.commands.dev import DevOptions, DevSession, down, start_dev
from parity.config.settings import HarnessSettings
from parity.engine.labels import RUN_LABEL, SCOPE_LABEL
from parity.runtime.overrides import HOT_FILE
from parity.verify.browser import document_id, open_with_hot_updates
from tests.integration.support import OK_COLOUR, STATUS, ProjectCopy

pytestmark = pytest.mark.integration

APP_JS = Path("resources/laravel/resources/js/app.js")
APP_CSS = Path("resources/laravel/resources/css/app.css")
BUILD_MARKER = re.compile(r"export const BUILD_MARKER = '([^']*)';")
OK_RULE = re.compile(r"--ok: [^;]+;")
# Well above HMR's own fraction of a second on a busy 2-core machine.
VISIBLE_TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def session(project_copy: ProjectCopy, docker_client: docker.DockerClient) -> Iterator[DevSession]:
    down(project_copy.root)
    options = DevOptions(
        port=0,
        detach=True,
        hot=True,
        vite_port=0,
        emulator=HarnessSettings.from_environ().emulator,
        emulator_port=0,
    )
    started = start_dev(project_copy.root, options, HarnessSettings.from_environ())
    yield started
    started.run.emulator.stop()
    down(project_copy.root, volumes=True)


@pytest.fixture
def hot_url(session: DevSession, project_copy: ProjectCopy) -> str:
    """The dev server's URL, as Laravel's public/hot file holds it."""
    return (project_copy.root / HOT_FILE).read_text()


def edit(project: ProjectCopy, relative: Path, change: Callable[[str], str]) -> None:
    path = project.root / relative
    path.write_text(change(path.read_text()))


def current_marker(project: ProjectCopy) -> str:
    found = BUILD_MARKER.search((project.root / APP_JS).read_text())
    assert found
    return found[1]


def open_page(page: Page, session: DevSession, project: ProjectCopy) -> None:
    open_with_hot_updates(page, session.url)
    running = f"JavaScript is running ({current_marker(project)})"
    expect(page.locator(STATUS)).to_contain_text(running)


def test_the_page_through_nginx_loads_its_modules_from_the_dev_server(
    session: DevSession, project_copy: ProjectCopy, hot_url: str, page: Page
) -> None:
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    open_page(page, session, project_copy)
    expect(page.locator(STATUS)).to_have_css("color", OK_COLOUR)
    assert page.url == session.url
    scripts = page.eval_on_selector_all("script[type=module]", "tags => tags.map(t => t.src)")
    styles = page.eval_on_selector_all("link[rel=stylesheet]", "tags => tags.map(t => t.href)")
    assert hot_url.startswith("http://127.0.0.1:")
    assert scripts == [f"{hot_url}/@vite/client", f"{hot_url}/resources/js/app.js"]
    assert styles == [f"{hot_url}/resources/css/app.css"]
    assert failed == []


def test_an_app_js_edit_changes_the_open_page_without_a_reload(
    session: DevSession, project_copy: ProjectCopy, page: Page
) -> None:
    open_page(page, session, project_copy)
    document = document_id(page)
    marked = "export const BUILD_MARKER = 'hot-edit';"
    edit(project_copy, APP_JS, lambda text: BUILD_MARKER.sub(marked, text))
    expect(page.locator(STATUS)).to_contain_text(
        "JavaScript is running (hot-edit)", timeout=VISIBLE_TIMEOUT_MS
    )
    assert document_id(page) == document, "the page was reloaded"


def test_an_app_css_edit_restyles_the_open_page_without_a_reload(
    session: DevSession, project_copy: ProjectCopy, page: Page
) -> None:
    open_page(page, session, project_copy)
    document = document_id(page)
    edit(project_copy, APP_CSS, lambda text: OK_RULE.sub("--ok: #123456;", text, count=1))
    expect(page.locator(STATUS)).to_have_css("color", "rgb(18, 52, 86)", timeout=VISIBLE_TIMEOUT_MS)
    assert document_id(page) == document, "the page was reloaded"


def test_the_dev_server_is_published_on_loopback_and_removed_with_the_run(
    session: DevSession, hot_url: str, docker_client: docker.DockerClient
) -> None:
    assert session.vite is not None
    holder = docker_client.containers.get(session.vite.holder_id)
    bindings = [binding for found in holder.ports.values() for binding in found or []]
    assert [(b["HostIp"], b["HostPort"]) for b in bindings] == [
        ("127.0.0.1", hot_url.rsplit(":", 1)[1])
    ]
    context = session.run.context
    for container_id in [session.vite.holder_id, *session.vite.container_ids.values()]:
        labels = docker_client.containers.get(container_id).labels
        assert labels[SCOPE_LABEL] == context.scope
        assert labels[RUN_LABEL] == context.run_id
