"""Which project the tasks act on."""

from __future__ import annotations

from pathlib import Path

from parity.config.settings import selected_project


def project_root(harness_checkout: Path) -> Path:
    """``PARITY_PROJECT`` when set (another app's folder), else the harness's own checkout."""
    return selected_project(harness_checkout)
