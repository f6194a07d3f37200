from __future__ import annotations

import io
import sys

import pytest

from parity.console import PipeSafeStderr


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_reader_drops_output_instead_of_failing_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = PipeSafeStderr()
    monkeypatch.setattr(sys, "stderr", ClosedPipe())
    assert stream.write("ready: http://127.0.0.1:8080/\n") == 30
    stream.flush()
    assert stream.reader_gone
    assert stream.write("more\n") == 5


def test_output_reaches_stderr_while_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    stream = PipeSafeStderr()
    stream.write("line\n")
    stream.flush()
    assert captured.getvalue() == "line\n"
    assert not stream.reader_gone
