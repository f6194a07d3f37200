"""The terminal's log lines: each one prefixed by its task and container."""

from __future__ import annotations

import pytest

from parity.runtime.localrun import LogPrinter


def test_a_task_sink_prefixes_lines_with_task_and_container(
    capsys: pytest.CaptureFixture[str],
) -> None:
    printer = LogPrinter()
    printer.for_task("webservice")("nginx", "GET / 200")
    printer.for_task("schedulerule")("scheduler", "heartbeat scheduler at 12:00")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].endswith("webservice/nginx | GET / 200")
    assert lines[1].endswith("schedulerule/scheduler | heartbeat scheduler at 12:00")
    # One column: the prefixes line up.
    assert lines[0].index("|") == lines[1].index("|")
