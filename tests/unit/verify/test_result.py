"""The smoke checks' judgement and the one-line failure message."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from parity.errors import HarnessError
from parity.verify.previous import (
    CheckResult,
    CompatibilityResult,
    IncompatibleSchema,
    Release,
    judge_health,
    judge_page,
    last_app_error,
    smoke_checks,
)

RELEASE = Release(ref="v1.0.0", sha="0123456789abcdef0123456789abcdef01234567")
PAGE = """<ul id="greetings" data-count="{count}">
    {items}
</ul>"""


def page(*items: str) -> str:
    return PAGE.format(count=len(items), items="\n    ".join(items))


def test_a_page_with_a_greeting_passes() -> None:
    body = page('<li class="greeting" data-id="1">Hello &amp; welcome</li>')
    assert judge_page(200, body) == CheckResult(
        name="GET /", passed=True, detail="returned 200 with 1 greeting(s)"
    )


def test_greetings_without_text_fail_as_a_renamed_column_renders_them() -> None:
    body = page('<li class="greeting" data-id="1"></li>', '<li class="greeting" data-id="2"> </li>')
    result = judge_page(200, body)
    assert not result.passed
    assert str(result) == "GET / returned 200 but none of its 2 greeting(s) has text"


def test_the_empty_table_placeholder_is_no_greeting() -> None:
    body = page('<li class="greeting greeting--empty">No greetings yet.</li>')
    assert str(judge_page(200, body)) == "GET / returned 200 but shows no greeting"


def test_an_error_status_fails_the_page() -> None:
    result = judge_page(500, "<h1>Server Error</h1>")
    assert (result.passed, str(result)) == (False, "GET / returned 500")


def test_healthz_passes_only_on_200() -> None:
    assert judge_health(200).passed
    assert str(judge_health(503)) == "GET /healthz returned 503"
    assert not judge_health(503).passed


def test_the_failure_message_is_one_line_naming_the_release_the_checks_and_the_fix() -> None:
    result = CompatibilityResult(
        release=RELEASE,
        checks=(judge_page(500, ""), judge_health(200)),
        duration_s=12.5,
        app_error="SQLSTATE[42S22]: Column not found: 1054 Unknown column 'message'",
    )
    error = IncompatibleSchema(result)
    assert isinstance(error, HarnessError)
    assert error.result is result
    assert str(error) == (
        "the previous version (v1.0.0, 0123456789ab) fails against the new schema: "
        "GET / returned 500 (app log: SQLSTATE[42S22]: Column not found: 1054 Unknown column "
        "'message') — a migration dropped or renamed something it reads; split it into expand "
        "(now) and contract (next release)"
    )
    assert [check.name for check in result.failures] == ["GET /"]
    assert not result.passed


def test_a_task_that_never_served_gets_no_schema_hint() -> None:
    result = CompatibilityResult(
        release=RELEASE,
        checks=(
            CheckResult(
                name="its service task",
                passed=False,
                detail="never served: task x was not healthy within 120s (waiting on nginx)",
            ),
        ),
        duration_s=120.0,
        served=False,
    )
    message = result.failure_message()
    assert "its service task never served: task x was not healthy within 120s" in message
    assert "expand" not in message
    assert message.endswith(
        "could not start with the current task definition; see the output above"
    )


def test_the_last_laravel_error_is_extracted_without_its_trace() -> None:
    log = "\n".join(
        [
            "[26-Nov-2026 10:00:00] NOTICE: ready to handle connections",
            '[2026-11-26 10:00:01] local.ERROR: first error {"exception":"[object] (...)"}',
            "[2026-11-26 10:00:02] local.ERROR: SQLSTATE[42S02]: Base table or view not found: "
            "1146 Table 'laravel.greetings' doesn't exist (SQL: select * from `greetings` order "
            'by `id` asc) {"exception":"[object] (Illuminate\\\\Database\\\\QueryException)"}',
            "[stacktrace]",
            "#0 /usr/share/php/Illuminate/Database/Connection.php(685): ...",
        ]
    )
    assert last_app_error(log) == (
        "SQLSTATE[42S02]: Base table or view not found: 1146 Table 'laravel.greetings' doesn't "
        "exist (SQL: select * from `greetings` order by `id` asc)"
    )
    assert last_app_error("[26-Nov-2026 10:00:00] NOTICE: ready to handle connections") is None


def test_a_long_error_is_shortened() -> None:
    excerpt = last_app_error("[x] local.ERROR: " + "y" * 500)
    assert excerpt is not None
    assert len(excerpt) == 200
    assert excerpt.endswith("…")


class OldRelease(BaseHTTPRequestHandler):
    """Serves a page with one greeting and a healthz that reports a pending migration."""

    def do_GET(self) -> None:
        status, body = (
            (200, page('<li class="greeting" data-id="1">Hi</li>'))
            if self.path == "/"
            else (503, '{"status":"unhealthy"}')
        )
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def old_release_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), OldRelease)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_smoke_checks_request_both_paths(old_release_url: str) -> None:
    checks = smoke_checks(old_release_url)
    assert [(c.name, c.passed, c.detail) for c in checks] == [
        ("GET /", True, "returned 200 with 1 greeting(s)"),
        ("GET /healthz", False, "returned 503"),
    ]


def test_a_port_nobody_answers_fails_both_checks(old_release_url: str) -> None:
    closed = old_release_url.rsplit(":", 1)[0] + ":1"
    checks = smoke_checks(closed)
    assert [str(c) for c in checks] == [
        "GET / got no answer (ConnectionError)",
        "GET /healthz got no answer (ConnectionError)",
    ]
