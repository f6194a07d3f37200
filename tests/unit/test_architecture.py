"""The layer contract of ARCHITECTURE.md: import-linter over parity, and tasks.py's imports."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTRACT = PROJECT_ROOT / ".importlinter"
# tasks.py may call only the top layer, and use the base's errors and console.
LINT_IMPORTS = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True))"
)
TASKS_MAY_IMPORT = ("parity.commands", "parity.deploy", "parity.errors", "parity.console", "bench")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the parity package under ``root`` (a fresh process, no cache)."""
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, str(CONTRACT)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_layers_point_one_way() -> None:
    result = lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


def test_a_wrong_way_import_fails_naming_both_modules(tmp_path: Path) -> None:
    shutil.copytree(PROJECT_ROOT / "parity", tmp_path / "parity")
    settings = tmp_path / "parity" / "config" / "settings.py"
    settings.write_text(settings.read_text() + "\nimport parity.commands.dev  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "parity.config.settings -> parity.commands.dev" in result.stdout


def test_tasks_py_imports_only_the_top_layer_and_the_base() -> None:
    tree = ast.parse((PROJECT_ROOT / "tasks.py").read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    ours = sorted(name for name in imported if name.split(".")[0] in {"parity", "bench"})
    assert ours, "tasks.py calls nothing of parity"
    wrong = [name for name in ours if not name.startswith(TASKS_MAY_IMPORT)]
    assert wrong == []
