"""Dev mode ``--hot``: Vite's dev server beside the service tasks (a named local override).

It runs from the assets stage of the app image's own Dockerfile (its node and the app's locked
node_modules), with the repository's scripts and styles bind-mounted, as a one-container task
whose holder publishes its port on loopback. Every container running the app image gets the hot
file naming it (fargate-parity.toml's ``[dev.hot]`` says where), so the page loads its modules
from the dev server, and Vite swaps an edited module into the open page without a reload.
"""

from __future__ import annotations

from pathlib import Path

from parity.config.harness import HotConfig
from parity.console import step
from parity.engine.images import ensure_image
from parity.engine.ports import claim_port
from parity.runtime.bringup import LocalRun, remove_task
from parity.runtime.localrun import placement
from parity.runtime.overrides import (
    HOT_FILE,
    VITE_CONTAINER,
    hot_url,
    vite_bind_mounts,
    vite_image,
    vite_task_definition,
)
from parity.runtime.task import LocalTask

READY_TIMEOUT_S = 60.0


def start_vite_server(
    run: LocalRun, hot: HotConfig, *, project_root: Path, port: int | None
) -> LocalTask:
    """Build the assets stage (cached), write the hot file, start the dev server and wait
    until it serves its client. ``port`` None takes [dev.hot]'s, 0 a free loopback port."""
    context = run.context
    ensure_image(context.client, vite_image(run.tasks, hot), certificates=run.certificates)
    task_name = f"{context.network}-{VITE_CONTAINER}"
    # A previous dev run's server would hold the port.
    remove_task(context.client, task_name, stop_timeout_s=0)
    chosen = claim_port(hot.port if port is None else port, purpose="Vite's dev server")
    write_hot_file(project_root / HOT_FILE, hot_url(chosen))
    task = LocalTask(
        context.client,
        vite_task_definition(run.tasks, hot, port=chosen),
        placement(
            context,
            run.tasks,
            task_name,
            host_ports={chosen: chosen},
            bind_mounts=vite_bind_mounts(project_root, hot),
        ),
        secrets={},
    )
    with step(f"Vite dev server on {hot_url(chosen)}"):
        task.start()
        try:
            task.wait_until_healthy(READY_TIMEOUT_S)
        except BaseException:
            task.remove()
            raise
    return task


def write_hot_file(path: Path, url: str) -> None:
    """The hot file: the dev server's URL (no secret; readable by the app's user)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(url)
    path.chmod(0o644)
