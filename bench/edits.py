"""Edit-to-visible in dev mode (`invoke dev --detach --source-mounts`).

* PHP: a Blade view and a controller edited in the copy; the time from the file being saved
  until the change shows in the HTTP response. The image ships with
  ``opcache.validate_timestamps = ${PHP_OPCACHE_VALIDATE_TIMESTAMPS}`` (off when unset: code
  is immutable in prod); dev mode sets ``PHP_OPCACHE_VALIDATE_TIMESTAMPS=1`` in the
  source-mounted containers (a listed local override), so opcache re-reads an edited file.
* assets: ``resources/js/app.js`` edited in the copy, then `invoke dev --detach` again (synth,
  image rebuild, migration, new service task) until the new bundle is served.
* assets in hot mode (`invoke dev --detach --hot`): the page open in chromium, from saving
  ``app.js`` (or ``app.css``) until the open page shows the edit. Vite's dev server swaps the
  module in place; a reload of the page fails the section.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import requests

from bench.context import BenchContext, nonce
from bench.devloop import (
    FIRST_200_TIMEOUT_S,
    dev_detach,
    dev_url,
    image_renames,
    with_unaccounted,
)
from bench.measure import (
    BenchError,
    Figure,
    Stopwatch,
    free_loopback_port,
    median_figure,
    poll_http,
    rename_steps,
    wait_for_200,
)
from bench.project import ProjectCopy
from parity.commands.dev import down
from parity.console import note
from parity.verify.browser import chromium, document_id, open_with_hot_updates

VIEW = "resources/laravel/resources/views/welcome.blade.php"
CONTROLLER = "resources/laravel/app/Http/Controllers/GreetingController.php"
ASSET_ENTRY = "resources/laravel/resources/js/app.js"
STYLE_SHEET = "resources/laravel/resources/css/app.css"
VISIBLE_TIMEOUT_S = 10.0
ASSET_TIMEOUT_S = 600.0
# opcache and Blade compare mtimes in whole seconds: edits of one file are spaced further.
EDIT_SPACING_S = 1.2
BENCH_HEADER = "X-Bench-Edit"
VIEW_MARKER = re.compile(r'<p id="bench-edit">[^<]*</p>')
HEADER_CALL = re.compile(r"->header\('" + BENCH_HEADER + r"', '[^']*'\)")
BUILD_MARKER = re.compile(r"export const BUILD_MARKER = '[^']*';")
ASSET_LINK = re.compile(r'src="(/build/assets/[^"]+\.js)"')
OK_RULE = re.compile(r"--ok: [^;]+;")
HOT_VISIBLE_TIMEOUT_MS = 10_000
# What app.js and app.css change on the page: its build stamp, and the status line's colour.
BUILD_SHOWN = "marker => document.documentElement.dataset.build === marker"
STATUS_COLOURED = (
    "colour => getComputedStyle(document.getElementById('js-status')).color === colour"
)


def edit_view(project: ProjectCopy, marker: str) -> Path:
    paragraph = f'<p id="bench-edit">{marker}</p>'

    def change(text: str) -> str:
        if VIEW_MARKER.search(text):
            return VIEW_MARKER.sub(paragraph, text)
        return text.replace('<p id="js-status"', f'{paragraph}\n        <p id="js-status"', 1)

    return project.edit(VIEW, change)


def edit_controller(project: ProjectCopy, marker: str) -> Path:
    call = f"->header('{BENCH_HEADER}', '{marker}')"

    def change(text: str) -> str:
        if HEADER_CALL.search(text):
            return HEADER_CALL.sub(lambda _: call, text)
        text = text.replace("return view('welcome', [", "return response()->view('welcome', [", 1)
        return text.replace("        ]);", f"        ]){call};", 1)

    return project.edit(CONTROLLER, change)


def edit_asset(project: ProjectCopy, marker: str) -> Path:
    return project.edit(
        ASSET_ENTRY, lambda text: BUILD_MARKER.sub(f"export const BUILD_MARKER = '{marker}';", text)
    )


def edit_style(project: ProjectCopy, red: int) -> str:
    """Colour the status line ``rgb(red, 0, 0)``; returns that computed colour."""
    project.edit(STYLE_SHEET, lambda text: OK_RULE.sub(f"--ok: #{red:02x}0000;", text, count=1))
    return f"rgb({red}, 0, 0)"


def body_shows(marker: str) -> Callable[[requests.Response], bool]:
    return lambda response: marker in response.text


def header_shows(marker: str) -> Callable[[requests.Response], bool]:
    return lambda response: response.headers.get(BENCH_HEADER) == marker


def time_until_visible(
    url: str, accept: Callable[[requests.Response], bool], *, timeout_s: float
) -> float | None:
    """Seconds until a response shows the edit; None when it did not within ``timeout_s``."""
    clock = Stopwatch()
    try:
        poll_http(url, accept, timeout_s=timeout_s, what="PHP edit")
    except BenchError:
        return None
    return clock.elapsed()


def php_edit_round(
    project: ProjectCopy, url: str, *, label: str, runs: int, timeout_s: float
) -> tuple[list[float | None], list[float | None]]:
    """``runs`` view edits and ``runs`` controller edits, each timed until visible."""
    views: list[float | None] = []
    controllers: list[float | None] = []
    for run in range(runs):
        marker = f"{label}-{run}-{nonce()}"
        time.sleep(EDIT_SPACING_S)
        edit_view(project, marker)
        views.append(time_until_visible(url, body_shows(marker), timeout_s=timeout_s))
        edit_controller(project, marker)
        controllers.append(time_until_visible(url, header_shows(marker), timeout_s=timeout_s))
    return views, controllers


def measure_edits(bench: BenchContext) -> list[Figure]:
    project = bench.primed_copy("edits")
    port = free_loopback_port()
    url = dev_url(port)
    try:
        dev_detach(project, port=port, source_mounts=True)
        wait_for_200(url, timeout_s=FIRST_200_TIMEOUT_S)
        views, controllers = php_edit_round(
            project, url, label="edit", runs=bench.options.edit_runs, timeout_s=VISIBLE_TIMEOUT_S
        )
        asset_runs, asset_steps = measure_asset_edits(bench, project, port=port)
    finally:
        down(project.root, volumes=True)
        bench.ledger.remove_created()
    return [
        visible_figure(
            "php_view_edit_visible_s",
            "PHP edit (Blade view) to visible, dev mode (--source-mounts)",
            views,
        ),
        visible_figure(
            "php_controller_edit_visible_s",
            "PHP edit (controller) to visible, dev mode (--source-mounts)",
            controllers,
        ),
        median_figure(
            "asset_edit_visible_s",
            "asset edit (app.js) to visible: synth, rebuild, restart",
            asset_runs,
            phases=asset_steps,
        ),
    ]


def visible_figure(
    key: str, label: str, samples: list[float | None], *, timeout_s: float = VISIBLE_TIMEOUT_S
) -> Figure:
    seen = [sample for sample in samples if sample is not None]
    missed = len(samples) - len(seen)
    if not seen:
        return Figure(
            key=key,
            label=label,
            value=None,
            unit="s",
            note=f"never visible: {missed} of {len(samples)} edits not shown in {timeout_s:.0f}s",
        )
    figure = median_figure(key, label, seen)
    if missed:
        return Figure(
            key=figure.key,
            label=figure.label,
            value=figure.value,
            unit=figure.unit,
            runs=figure.runs,
            note=f"{figure.note}; {missed} more not visible within {timeout_s:.0f}s",
        )
    return figure


def measure_asset_edits(
    bench: BenchContext, project: ProjectCopy, *, port: int
) -> tuple[list[float], list[dict[str, float]]]:
    url = dev_url(port)
    seconds: list[float] = []
    steps_per_run: list[dict[str, float]] = []
    for run in range(1, bench.options.asset_edit_runs + 1):
        note(f"asset edit {run}/{bench.options.asset_edit_runs}: app.js, then dev --detach again")
        marker = f"fargate-parity-bench-{nonce()}"
        clock = Stopwatch()
        edit_asset(project, marker)
        restart = dev_detach(project, port=port, source_mounts=True)
        bench.ledger.track(project.image_tags())
        poll_http(url, bundle_shows(url, marker), timeout_s=ASSET_TIMEOUT_S, what="asset edit")
        seconds.append(clock.elapsed())
        renamed = rename_steps(restart.steps, image_renames(project))
        steps_per_run.append(with_unaccounted(renamed, seconds[-1]))
    return seconds, steps_per_run


def bundle_shows(url: str, marker: str) -> Callable[[requests.Response], bool]:
    """The page links a JS bundle, served through nginx, that carries ``marker``."""

    def shows(page: requests.Response) -> bool:
        link = ASSET_LINK.search(page.text)
        if page.status_code != 200 or link is None:
            return False
        bundle = requests.get(url.rstrip("/") + link[1], timeout=5)
        return bundle.status_code == 200 and marker in bundle.text

    return shows


def measure_hot_edits(bench: BenchContext) -> list[Figure]:
    project = bench.primed_copy("hot")
    port = free_loopback_port()
    url = dev_url(port)
    try:
        dev_detach(project, port=port, vite_port=free_loopback_port())
        wait_for_200(url, timeout_s=FIRST_200_TIMEOUT_S)
        scripts, styles = hot_edit_rounds(project, url, runs=bench.options.edit_runs)
    finally:
        down(project.root, volumes=True)
        bench.ledger.remove_created()
    return [
        median_figure(
            "asset_edit_visible_hot_s",
            "asset edit (app.js) to visible in the open page, --hot (HMR, no reload)",
            scripts,
        ),
        median_figure(
            "style_edit_visible_hot_s",
            "style edit (app.css) to visible in the open page, --hot (HMR, no reload)",
            styles,
        ),
    ]


def hot_edit_rounds(
    project: ProjectCopy, url: str, *, runs: int
) -> tuple[list[float], list[float]]:
    """``runs`` app.js and ``runs`` app.css edits, each timed until the open page shows it."""
    scripts: list[float] = []
    styles: list[float] = []
    with chromium() as browser:
        page = browser.new_page()
        open_with_hot_updates(page, url)
        page.wait_for_function("() => Boolean(document.documentElement.dataset.build)")
        document = document_id(page)
        for run in range(runs):
            marker = f"fargate-parity-hot-{run}-{nonce()}"
            clock = Stopwatch()
            edit_asset(project, marker)
            page.wait_for_function(BUILD_SHOWN, arg=marker, timeout=HOT_VISIBLE_TIMEOUT_MS)
            scripts.append(clock.elapsed())
            clock = Stopwatch()
            colour = edit_style(project, red=run + 1)
            page.wait_for_function(STATUS_COLOURED, arg=colour, timeout=HOT_VISIBLE_TIMEOUT_MS)
            styles.append(clock.elapsed())
        if document_id(page) != document:
            raise BenchError("the page was reloaded during the hot edits; HMR swaps in place")
    return scripts, styles
