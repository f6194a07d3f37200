"""Terminal output: one shared rich console on stderr and a timed step helper."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

console = Console(stderr=True, highlight=False)


@contextmanager
def step(description: str) -> Iterator[None]:
    """Show a spinner while the block runs, then print how long it took."""
    started = time.monotonic()
    with console.status(f"{description}…"):
        try:
            yield
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
