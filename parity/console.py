"""Terminal output: one shared rich console on stderr and a timed step helper."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

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
