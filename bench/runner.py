"""`invoke bench`: run every section, print the table, write bench.json and bench.md.

A section that fails is reported and the others still run; the command then fails. Whatever
a section started is removed when it ends (containers, networks and volumes by label, images
it built by tag), and the scratch copies are deleted.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.context import BenchContext, BenchOptions, nonce
from bench.deploys import measure_deploys
from bench.edits import measure_edits, measure_hot_edits
from bench.images import measure_rebuilds, measure_sizes
from bench.measure import Figure, Stopwatch
from bench.project import ImageLedger
from bench.report import (
    JSON_RESULTS,
    MARKDOWN_RESULTS,
    Results,
    print_table,
    this_machine,
    today,
    with_earlier_figures,
    write_results,
)
from bench.setup import measure_setup
from bench.soak import measure_soak
from bench.startup import measure_startup
from bench.suite import measure_suite
from parity.config.settings import HarnessSettings
from parity.console import console, note
from parity.engine.baseimage import ensure_base_image
from parity.engine.daemon import ensure_engine
from parity.errors import HarnessError

Section = Callable[[BenchContext], list[Figure]]
SECTIONS: dict[str, Section] = {
    "startup": measure_startup,
    "edits": measure_edits,
    "hot": measure_hot_edits,
    "rebuild": measure_rebuilds,
    "sizes": measure_sizes,
    "deploy": measure_deploys,
    "suite": measure_suite,
    "setup": measure_setup,
    "soak": measure_soak,
}


def selected_sections(names: tuple[str, ...]) -> dict[str, Section]:
    unknown = sorted(set(names) - set(SECTIONS))
    if unknown:
        raise HarnessError(
            f"unknown bench section {', '.join(unknown)}; choose from {', '.join(SECTIONS)}"
        )
    return {name: run for name, run in SECTIONS.items() if not names or name in names}


def run_bench(project_root: Path, options: BenchOptions) -> Results:
    settings = HarnessSettings.for_project(project_root)
    sections = selected_sections(options.sections)
    client = ensure_engine()
    ensure_base_image(client)
    workspace = Path(tempfile.mkdtemp(prefix="fargate-parity-bench-"))
    workspace.chmod(0o755)
    bench = BenchContext(
        project_root=project_root,
        workspace=workspace,
        options=options,
        client=client,
        settings=settings,
        ledger=ImageLedger.snapshot(client),
        session_id=nonce(),
    )
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    date = today()
    try:
        for name, measure in sections.items():
            clock = Stopwatch()
            console.rule(f"bench: {name}")
            try:
                figures += measure(bench)
            except Exception as error:  # one section failing must not lose the others
                errors[name] = f"{type(error).__name__}: {error}"
                console.print(f"[red]✗[/] bench section {name}: {errors[name]}")
            finally:
                bench.ledger.remove_created()
            note(f"bench section {name} took {clock.elapsed():.0f}s")
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    results = Results(
        date=date,
        machine=this_machine(client),
        options=dataclasses.asdict(options),
        figures=with_earlier_figures(figures),
        errors=errors,
    )
    print_table(results)
    write_results(results)
    written = [path.relative_to(project_root) for path in (JSON_RESULTS, MARKDOWN_RESULTS)]
    note(f"wrote {written[0]} and {written[1]}")
    if errors:
        raise HarnessError(f"{len(errors)} bench section(s) failed: {', '.join(errors)}")
    return results
