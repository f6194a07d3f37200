"""Where the workflows and the test fixtures are."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS_DIR = PROJECT_ROOT / ".github" / "workflows"
FIXTURES = Path(__file__).with_name("fixtures")
EXPECTED_WORKFLOWS = ("ci.yml", "deploy_prod.yml", "deploy_qa.yml")


def workflow_files() -> list[Path]:
    """Every workflow GitHub would run (it reads both extensions)."""
    return sorted([*WORKFLOWS_DIR.glob("*.yml"), *WORKFLOWS_DIR.glob("*.yaml")])
