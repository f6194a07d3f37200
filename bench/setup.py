"""Set-up time: `scripts/bootstrap` in a fresh clone of the checkout, as a new developer runs it.

The clone has no ``.venv``, no ``node_modules`` and no pinned uv of its own (``.cache/`` is
per checkout), so the script installs uv from PyPI (hash-pinned), syncs exactly ``uv.lock``
and runs ``npm ci``. The user-wide package caches (``~/.cache/uv``, ``~/.npm``) are as this
machine has them: warm after the first clone, as on a developer's laptop.
"""

from __future__ import annotations

import shutil
import subprocess

from bench.context import BenchContext, nonce
from bench.measure import BenchError, Figure, Stopwatch
from parity.console import note

BOOTSTRAP_TIMEOUT_S = 1800
# What bootstrap reads, copied over the clone so uncommitted dependency edits count.
BOOTSTRAP_INPUTS = ("pyproject.toml", "uv.lock", "package.json", "package-lock.json")
OUTPUT_TAIL_LINES = 5


def measure_setup(bench: BenchContext) -> list[Figure]:
    clone = bench.workspace / f"bootstrap-{nonce()}"
    subprocess.run(
        ["git", "clone", "--quiet", "--local", str(bench.project_root), str(clone)], check=True
    )
    for name in BOOTSTRAP_INPUTS:
        shutil.copy2(bench.project_root / name, clone / name)
    shutil.copy2(bench.project_root / "scripts" / "bootstrap", clone / "scripts" / "bootstrap")
    note(f"scripts/bootstrap in a fresh clone ({clone})")
    clock = Stopwatch()
    result = subprocess.run(
        [str(clone / "scripts" / "bootstrap")],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=BOOTSTRAP_TIMEOUT_S,
        check=False,
    )
    seconds = clock.elapsed()
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-OUTPUT_TAIL_LINES:])
        raise BenchError(f"scripts/bootstrap failed (exit {result.returncode}): {tail}")
    return [
        Figure(
            key="bootstrap_fresh_s",
            label="scripts/bootstrap in a fresh clone (uv sync of uv.lock, npm ci)",
            value=round(seconds, 1),
            unit="s",
            runs=(round(seconds, 1),),
            note="1 run; user-wide uv and npm caches as this machine has them",
        )
    ]
