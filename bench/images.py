"""Laravel image rebuilds (no change vs a PHP-only change) and image sizes.

Rebuilds use the copy's ``resources/`` with the same Dockerfile, target, build args and extra
CAs as the CDK asset (the asset directory in cdk.out is a staged copy of it), through the
engine's build API, counting the steps the build cache answered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.context import BenchContext, nonce
from bench.edits import CONTROLLER
from bench.measure import BenchError, Figure, Stopwatch, median_figure, ratio_figure
from bench.project import ProjectCopy
from parity.console import note
from parity.engine.images import ImageBuild, build_image, context_archive, image_exists
from parity.engine.labels import MANAGED_LABEL

NAIVE_DIR = Path(__file__).parent / "naive"
NAIVE_DOCKERFILE = "Dockerfile-nginx-naive"
NAIVE_TAG = "fargate-parity-bench/nginx-naive:latest"
REBUILD_REPOSITORY = "fargate-parity-bench/laravel-rebuild"
STEP_LINE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
CONTENT_STEPS = {"RUN", "COPY", "ADD"}  # the rest only set image metadata
MB = 1_000_000  # as `docker images` counts


@dataclass(frozen=True)
class BuildTiming:
    seconds: float
    steps: int
    rebuilt: tuple[str, ...]  # the instructions the cache did not answer


def timed_build(bench: BenchContext, build: ImageBuild) -> BuildTiming:
    """Build like ``parity.engine.images.build_image`` and note which steps ran for real."""
    archive = context_archive(build.context, build.dockerfile, bench.settings.certificates())
    clock = Stopwatch()
    try:
        stream = bench.client.api.build(
            fileobj=archive,
            custom_context=True,
            dockerfile=build.dockerfile,
            target=build.target,
            buildargs=dict(build.build_args),
            tag=build.tag,
            labels={MANAGED_LABEL: "true"},  # as parity.engine.images.build_image: same cache
            rm=True,
            forcerm=True,
            decode=True,
        )
        steps, rebuilt = cache_misses(stream)
    finally:
        archive.close()
    seconds = clock.elapsed()
    bench.ledger.track([build.tag])
    return BuildTiming(seconds=seconds, steps=steps, rebuilt=tuple(rebuilt))


def cache_misses(stream: Iterator[dict[str, Any]]) -> tuple[int, list[str]]:
    """(number of steps, the RUN/COPY/... steps that were not ``Using cache``)."""
    total = 0
    current: str | None = None
    cached = False
    rebuilt: list[str] = []

    def close_step() -> None:
        if current is not None and not cached and not current.upper().startswith("FROM"):
            rebuilt.append(current)

    for chunk in stream:
        if "error" in chunk:
            raise BenchError(f"rebuild failed at {current}: {chunk['error'].strip()}")
        text = str(chunk.get("stream", "")).strip()
        match = STEP_LINE.match(text)
        if match:
            close_step()
            total, current, cached = int(match[2]), match[3], False
        elif "Using cache" in text:
            cached = True
    close_step()
    return total, rebuilt


def laravel_build(project: ProjectCopy, tag: str) -> ImageBuild:
    """The Laravel asset's build inputs, pointed at the copy's resources/."""
    tasks = project.app_tasks()
    laravel_tag, _ = project.image_tags()
    asset = next(a for a in tasks.image_assets if a.local_image == laravel_tag)
    return ImageBuild(
        tag=tag,
        context=project.root / "resources",
        dockerfile=asset.dockerfile,
        target=asset.build_target,
        build_args=asset.build_args,
    )


def measure_rebuilds(bench: BenchContext) -> list[Figure]:
    project = bench.primed_copy("rebuild")
    session = f"{bench.session_id}-{nonce()}"
    timed_build(bench, laravel_build(project, f"{REBUILD_REPOSITORY}:{session}-prime"))
    unchanged: list[float] = []
    php_change: list[float] = []
    rebuilt_steps: tuple[str, ...] = ()
    total_steps = 0
    try:
        for run in range(1, bench.options.runs + 1):
            note(f"rebuild run {run}/{bench.options.runs}: no change, then a PHP-only change")
            tag = f"{REBUILD_REPOSITORY}:{session}-{run}"
            same = timed_build(bench, laravel_build(project, tag))
            if same.rebuilt:
                raise BenchError(f"a no-change rebuild re-ran {', '.join(same.rebuilt)}")
            unchanged.append(same.seconds)
            project.edit(CONTROLLER, lambda text: text + f"\n// bench rebuild {nonce()}\n")
            changed = timed_build(bench, laravel_build(project, f"{tag}-php"))
            php_change.append(changed.seconds)
            rebuilt_steps, total_steps = changed.rebuilt, changed.steps
    finally:
        bench.ledger.remove_created()
    dependency_steps = [s for s in rebuilt_steps if "apt-get" in s or "npm ci" in s]
    if dependency_steps:
        raise BenchError(f"a PHP-only change re-ran dependency steps: {dependency_steps}")
    no_change = median_figure(
        "laravel_rebuild_no_change_s", "Laravel image rebuild, no change (all cached)", unchanged
    )
    php = median_figure(
        "laravel_rebuild_php_change_s",
        "Laravel image rebuild after a PHP-only change",
        php_change,
        note=f"median of {len(php_change)}; {len(rebuilt_steps)} of {total_steps} steps re-ran, "
        "apt and npm layers cached; content steps re-run: "
        + "; ".join(short(s) for s in rebuilt_steps if s.split()[0].upper() in CONTENT_STEPS),
    )
    return [
        no_change,
        php,
        ratio_figure(
            "laravel_rebuild_php_over_no_change",
            "PHP-change rebuild / no-change rebuild",
            php,
            no_change,
        ),
    ]


def short(instruction: str, width: int = 40) -> str:
    return instruction if len(instruction) <= width else instruction[: width - 1] + "…"


def image_megabytes(bench: BenchContext, tag: str) -> float:
    return round(float(bench.client.images.get(tag).attrs["Size"]) / MB, 1)


def measure_sizes(bench: BenchContext) -> list[Figure]:
    project = bench.primed_copy("sizes")
    laravel_tag, nginx_tag = project.image_tags()
    naive_note = "cached from an earlier run"
    if not image_exists(bench.client, NAIVE_TAG):
        note(f"building {NAIVE_TAG} once (hundreds of Debian packages, about 3 minutes)")
        clock = Stopwatch()
        build_image(
            bench.client,
            ImageBuild(tag=NAIVE_TAG, context=NAIVE_DIR, dockerfile=NAIVE_DOCKERFILE),
            certificates=bench.settings.certificates(),
        )
        naive_note = f"built in this run in {clock.elapsed():.0f}s"
    nginx = Figure(
        key="nginx_image_mb",
        label="nginx image (nginx-light, assets via volumesFrom)",
        value=image_megabytes(bench, nginx_tag),
        unit="MB",
        note="docker image size, base included",
    )
    laravel = Figure(
        key="laravel_image_mb",
        label="Laravel image (php-fpm, Debian's Laravel, built assets)",
        value=image_megabytes(bench, laravel_tag),
        unit="MB",
        note="docker image size, base included",
    )
    naive = Figure(
        key="naive_nginx_image_mb",
        label="naive nginx image (nginx + PHP + composer + node/npm)",
        value=image_megabytes(bench, NAIVE_TAG),
        unit="MB",
        note=f"bench/naive/Dockerfile-nginx-naive; {naive_note}",
    )
    return [
        nginx,
        laravel,
        naive,
        ratio_figure("naive_over_nginx_image", "naive nginx image / nginx image", naive, nginx),
    ]
