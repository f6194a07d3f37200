"""Finding the browser: Debian's chromium, installed with apt-get only where that is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.errors import ConfigError
from parity.verify import browser


def test_a_chromium_that_is_there_is_used_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    executable = tmp_path / "chromium"
    executable.write_text("")
    monkeypatch.setattr(browser, "apt_install", pytest.fail)
    assert browser.ensure_chromium(executable) == executable


def test_a_missing_chromium_is_installed_from_debian_where_apt_get_may_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    executable = tmp_path / "chromium"
    installed: list[list[str]] = []

    def apt_install(packages: list[str], *, reason: str) -> None:
        installed.append(packages)
        executable.write_text("")

    monkeypatch.setattr(browser, "can_manage_engine", lambda: True)
    monkeypatch.setattr(browser, "apt_install", apt_install)
    assert browser.ensure_chromium(executable) == executable
    assert installed == [["chromium"]]


def test_a_missing_chromium_elsewhere_is_one_line_saying_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browser, "can_manage_engine", lambda: False)
    with pytest.raises(ConfigError, match=r"\(`apt-get install chromium`\) and re-run"):
        browser.ensure_chromium(tmp_path / "chromium")


def test_an_install_that_leaves_no_chromium_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browser, "can_manage_engine", lambda: True)
    monkeypatch.setattr(browser, "apt_install", lambda packages, *, reason: None)
    with pytest.raises(ConfigError, match="is still missing"):
        browser.ensure_chromium(tmp_path / "chromium")
