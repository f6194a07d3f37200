"""Time to the first 200 through nginx from `invoke dev --detach`: cold, warm, hot, and the
hand-started floor, measured interleaved in one run.

* warm: images cached, nothing running and no data kept (`invoke down --volumes` first), as
  the by-hand baseline starts;
* restart: after `invoke down`, which keeps the database's data volume: MySQL starts on its
  data and the gate finds no migration pending;
* hot: MySQL still up from the previous run (ensure_database reuses it), only the service
  task removed; the embedded emulator restarts in-process every run (about a second);
* cold: no app image layer in the build cache. Each cold run works in a copy whose two
  Dockerfiles get a LABEL right after every FROM, so both images build from
  ``debian:bookworm-slim`` (the base image and the MariaDB image stay cached). That is what
  removing ``fargate-parity/asset:*`` is meant to achieve, without untagging images other
  runs on this engine use (and removing the tags alone would leave their layers cached
  under the test images' tags);
* baseline: ``bench.baseline``, plain docker CLI calls.
"""

from __future__ import annotations

from bench.baseline import BASELINE_SCOPE, HandStartedApp, start_by_hand
from bench.context import BenchContext, nonce
from bench.devloop import remove_service_tasks, timed_dev_to_first_200
from bench.measure import Figure, free_loopback_port, median_figure, ratio_figure
from bench.project import remove_cache_busted
from parity.commands.dev import down
from parity.console import note
from parity.engine.labels import remove_labelled


def measure_startup(bench: BenchContext) -> list[Figure]:
    runs = bench.options.runs
    project = bench.primed_copy("startup")
    app = HandStartedApp.from_tasks(
        project.app_tasks(), db_image=bench.db_image(), redis_image=bench.redis_image()
    )
    warm: list[float] = []
    restart: list[float] = []
    restart_steps: list[dict[str, float]] = []
    hot: list[float] = []
    floor: list[float] = []
    floor_stages: list[dict[str, float]] = []
    warm_steps: list[dict[str, float]] = []
    hot_steps: list[dict[str, float]] = []
    try:
        for run in range(1, runs + 1):
            note(f"start-up run {run}/{runs}: warm, hot, restart on the kept data, then by hand")
            down(project.root, volumes=True)
            port = free_loopback_port()
            seconds, steps = timed_dev_to_first_200(project, port=port)
            warm.append(seconds)
            warm_steps.append(steps)
            remove_service_tasks(bench.client, project.root)
            seconds, steps = timed_dev_to_first_200(project, port=port)
            hot.append(seconds)
            hot_steps.append(steps)
            down(project.root)
            seconds, steps = timed_dev_to_first_200(project, port=port)
            restart.append(seconds)
            restart_steps.append(steps)
            down(project.root, volumes=True)
            run_id = f"{bench.session_id}-{run}"
            try:
                seconds, stages = start_by_hand(app, port=free_loopback_port(), run_id=run_id)
                floor.append(seconds)
                floor_stages.append(stages)
            finally:
                remove_labelled(bench.client, scope=BASELINE_SCOPE, run_id=run_id)
    finally:
        down(project.root, volumes=True)
    warm_figure = median_figure(
        "dev_warm_first_200_s",
        "dev --detach to first 200, warm (images cached, nothing running, empty database)",
        warm,
        phases=warm_steps,
    )
    floor_figure = median_figure(
        "baseline_first_200_s",
        "baseline: same images by hand with docker CLI, to first 200",
        floor,
        phases=floor_stages,
        note=f"median of {len(floor)}; DB and Redis, migration, holder + laravel + nginx, workers, "
        "no health waits",
    )
    figures = [
        warm_figure,
        median_figure(
            "dev_hot_first_200_s",
            "dev --detach to first 200, hot (MySQL already up)",
            hot,
            phases=hot_steps,
        ),
        median_figure(
            "dev_restart_persisted_db_first_200_s",
            "dev --detach to first 200 after `invoke down`, on the kept database (no migration "
            "pending)",
            restart,
            phases=restart_steps,
        ),
        floor_figure,
        ratio_figure(
            "dev_warm_over_baseline",
            "harness overhead: warm dev / baseline",
            warm_figure,
            floor_figure,
        ),
    ]
    if bench.options.cold_runs:
        figures.append(measure_cold(bench))
    return figures


def measure_cold(bench: BenchContext) -> Figure:
    cold: list[float] = []
    cold_steps: list[dict[str, float]] = []
    for run in range(1, bench.options.cold_runs + 1):
        note(f"cold start-up run {run}/{bench.options.cold_runs}: both images from the base image")
        project = bench.new_copy("cold")
        cache_bust = f"{bench.session_id}-{nonce()}"
        project.bust_build_cache(cache_bust)
        try:
            seconds, steps = timed_dev_to_first_200(project, port=free_loopback_port())
            cold.append(seconds)
            cold_steps.append(steps)
        finally:
            down(project.root, volumes=True)
            remove_cache_busted(bench.client, cache_bust)
    return median_figure(
        "dev_cold_first_200_s",
        "dev --detach to first 200, cold (no app image layer cached; synth included)",
        cold,
        phases=cold_steps,
        note=f"median of {len(cold)}; base and MariaDB images cached, apt/npm from the network",
    )
