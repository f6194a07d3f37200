"""The previous release's queued-job check, against a small app on loopback."""

from __future__ import annotations

import html
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from parity.verify.previous import check_queued_job

TOKEN = "t0k3n"


class FakeApp(ThreadingHTTPServer):
    """The form page, and a "worker" that stores a posted greeting after two page loads."""

    def __init__(self, *, stores: bool, form: bool = True) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.stores = stores
        self.form = form
        self.queued: list[str] = []
        self.stored: list[str] = []
        self.loads = 0


class Handler(BaseHTTPRequestHandler):
    server: FakeApp

    def do_GET(self) -> None:
        app = self.server
        app.loads += 1
        if app.stores and app.queued and app.loads > 2:
            app.stored += app.queued
            app.queued.clear()
        form = f'<input type="hidden" name="_token" value="{TOKEN}">' if app.form else ""
        items = "".join(f'<li class="greeting">{html.escape(m)}</li>' for m in app.stored)
        self._answer(200, f"<form>{form}</form><ul>{items}</ul>")

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        fields = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if fields.get("_token") != [TOKEN]:
            self._answer(419, "")
            return
        self.server.queued.append(fields["message"][0])
        self.send_response(302)
        self.send_header("Location", "/")
        self.end_headers()

    def _answer(self, status: int, body: str) -> None:
        encoded = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serving(app: FakeApp) -> Iterator[str]:
    thread = threading.Thread(target=app.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{app.server_address[1]}"
    app.shutdown()
    app.server_close()


@pytest.fixture
def working() -> Iterator[str]:
    yield from serving(FakeApp(stores=True))


@pytest.fixture
def stalled() -> Iterator[str]:
    yield from serving(FakeApp(stores=False))


@pytest.fixture
def formless() -> Iterator[str]:
    yield from serving(FakeApp(stores=True, form=False))


def test_a_job_the_worker_stores_passes(working: str) -> None:
    result = check_queued_job(working, timeout_s=10)
    assert result.passed, result.detail
    assert result.detail.startswith("was stored by the worker in ")


def test_a_job_no_worker_stores_fails_after_the_timeout(stalled: str) -> None:
    result = check_queued_job(stalled, timeout_s=1)
    assert not result.passed
    assert str(result) == "a queued job was not stored by a worker within 1s"


def test_a_page_without_the_form_token_fails_naming_it(formless: str) -> None:
    result = check_queued_job(formless, timeout_s=1)
    assert (result.passed, result.detail) == (False, "found no form token on GET /")
