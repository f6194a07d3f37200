"""``invoke run-task TASK [-- COMMAND…]``: any task definition of the environment, run once.

Like ``ecspresso run`` or ``copilot task run``: the task is chosen by family, logical id or the
name of one of its containers; it runs with its own env and secrets, its logs stream live, and
the command exits with the watched container's code (the chosen container, else the migration's
watched one, else the task's first essential container). ``COMMAND`` replaces that container's
command. Locally it runs on the dev run's network and MySQL (started when missing).
"""

from __future__ import annotations

import dataclasses
import secrets as random_tokens
from dataclasses import dataclass
from pathlib import Path

from parity.assembly.apptasks import AppTasks
from parity.assembly.taskdef import TaskDefinition
from parity.config.settings import LOCAL_ENVIRONMENT, HarnessSettings
from parity.console import note
from parity.engine.labels import Scope
from parity.errors import ConfigError
from parity.runtime.bringup import bring_up, build_app
from parity.runtime.localrun import run_to_completion

ONE_OFF_TASK = "run"


@dataclass(frozen=True, kw_only=True)
class RunTaskRequest:
    selector: str
    environment: str = LOCAL_ENVIRONMENT
    command: tuple[str, ...] = ()
    emulator: str = ""
    timeout_s: float | None = None


def watched_container(tasks: AppTasks, task: TaskDefinition, selector: str) -> str:
    """Whose exit code the run reports."""
    names = [container.name for container in task.containers]
    if selector in names:
        return selector
    if task.logical_id == tasks.migration.logical_id:
        return tasks.watched_container
    return next(container.name for container in task.containers if container.essential)


def with_command(task: TaskDefinition, container: str, command: tuple[str, ...]) -> TaskDefinition:
    """The task with ``container``'s command replaced (ECS's containerOverrides.command)."""
    if not command:
        return task
    containers = tuple(
        dataclasses.replace(spec, command=command) if spec.name == container else spec
        for spec in task.containers
    )
    return dataclasses.replace(task, containers=containers)


def run_task(project_root: Path, request: RunTaskRequest) -> int:
    """Run the task once; its watched container's exit code (None, if it never ran, is 1)."""
    if request.environment != LOCAL_ENVIRONMENT:
        raise ConfigError(
            f"run-task runs locally (--env {LOCAL_ENVIRONMENT}); through ECS, use"
            " `invoke migrate --env ENV` for the migration task"
        )
    settings = HarnessSettings.for_project(project_root)
    built = build_app(project_root, settings)
    stack, task = built.tasks.load_task(request.selector)
    watched = watched_container(built.tasks, task, request.selector)
    task = with_command(task, watched, request.command)
    note(f"running {task.family or task.logical_id} of {stack} once; {watched}'s exit code counts")
    run = bring_up(
        built,
        project_root=project_root,
        settings=settings,
        scope=Scope.DEV,
        emulator=settings.emulator_for(request.emulator),
        emulator_port=None,
        extra_tasks=(task,),
    )
    try:
        outcome = run_to_completion(
            run.context,
            run.tasks,
            task,
            run.secrets,
            watched=watched,
            task_name=run.task_name(ONE_OFF_TASK, random_tokens.token_hex(2)),
            timeout_s=request.timeout_s,
            what=f"task {task.family or task.logical_id}",
        )
    finally:
        run.emulator.stop()
    code = outcome.exit_code(watched)
    return 1 if code is None else code
