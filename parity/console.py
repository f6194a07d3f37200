"""Terminal output: one shared rich console on stderr and a timed step helper."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from rich.console import Console


class PipeSafeStderr:
    """sys.stderr (looked up on each write, so test capture still works) that drops output
    once its reader is gone: ``invoke dev --detach 2>&1 | head -1`` must not turn a closed
    pipe into a failed run and its clean-up."""

    def __init__(self) -> None:
        self.reader_gone = False

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                self.stream.write(text)
            except BrokenPipeError:
                self.reader_gone = True
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self.reader_gone = True

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"


console = Console(file=PipeSafeStderr(), highlight=False)  # type: ignore[arg-type]


@contextmanager
def step(description: str) -> Iterator[Callable[[str], None]]:
    """Show a spinner while the block runs, then print how long it took. The block may call
    what it yields with a progress detail, shown after the description."""
    started = time.monotonic()
    with console.status(f"{description}…") as status:

        def progress(detail: str) -> None:
            status.update(f"{description}… {detail}")

        try:
            yield progress
        except BaseException:
            console.print(f"[red]✗[/] {description} ({time.monotonic() - started:.1f}s)")
            raise
    console.print(f"[green]✓[/] {description} ({time.monotonic() - started:.1f}s)")


def note(message: str) -> None:
    """Print an informational line (what is being done, and why)."""
    console.print(f"[cyan]→[/] {message}")


def first_line(text: str, limit: int = 160) -> str:
    """The first line of a tool's message, shortened to fit one line of output."""
    line = text.strip().splitlines()[0] if text.strip() else "no details"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def last_line(path: Path) -> str:
    """The last line of a log file ("" when it is missing or empty): usually the error."""
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""
