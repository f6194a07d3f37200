"""A real browser for the checks that judge the page: Debian's chromium, driven by Playwright.

Playwright's own browser download fails where only the package registries answer, so it
drives the system's chromium. Where none is installed, on a Debian host as root, Debian's
``chromium`` is installed with apt-get, as the Docker engine is. Each browser gets a fresh
profile, so no cache, cookie or service worker carries over from an earlier check.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, sync_playwright

from parity.engine.daemon import apt_install, can_manage_engine
from parity.errors import ConfigError

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_PACKAGE = "chromium"
# Headless without a sandbox (root) or a GPU, and nothing that reaches out on its own
# (updates, sync, field trials, QUIC probes) from a machine that reaches no other host.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# What Vite's client logs once its WebSocket to the dev server is open: only from then on are
# edits pushed to the page.
VITE_CONNECTED = "[vite] connected."
# Set on the document's window once; a reload or a navigation starts without it.
DOCUMENT_ID_SCRIPT = "() => (window.__parityDocumentId ??= Math.random().toString(36).slice(2))"


def ensure_chromium(executable: Path = CHROMIUM) -> Path:
    """Debian's chromium, installed with apt-get where it is missing and we may."""
    if executable.is_file():
        return executable
    if not can_manage_engine():
        raise ConfigError(
            f"no browser at {executable}; install Debian's chromium "
            f"(`apt-get install {CHROMIUM_PACKAGE}`) and re-run"
        )
    apt_install([CHROMIUM_PACKAGE], reason=f"the browser checks need {executable}")
    if not executable.is_file():
        raise ConfigError(
            f"apt-get installed {CHROMIUM_PACKAGE}, but {executable} is still missing; "
            "install a chromium there by hand"
        )
    return executable


@contextmanager
def chromium() -> Iterator[BrowserContext]:
    """A headless chromium with a throwaway profile, closed (and the profile removed) after."""
    executable = ensure_chromium()
    with (
        tempfile.TemporaryDirectory(prefix="parity-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=list(CHROMIUM_FLAGS)
        )
        try:
            yield browser
        finally:
            browser.close()


def document_id(page: Page) -> str:
    """An id of the document ``page`` shows: the same until the page is loaded again."""
    return str(page.evaluate(DOCUMENT_ID_SCRIPT))


def open_with_hot_updates(page: Page, url: str) -> None:
    """Load ``url`` and wait until the page's Vite client is connected to its dev server."""
    with page.expect_console_message(lambda message: message.text == VITE_CONNECTED):
        page.goto(url)
