"""``invoke run-task TASK [-- COMMAND…]``: any task definition of the environment, run once.

Like ``ecspresso run`` or ``copilot task run``: the task is chosen by family, logical id or the
name of one of its containers; it runs with its own env and secrets, its logs stream live, and
the command exits with the watched container's code (the chosen container, else the migration's
watched one, else the task's first essential container). ``COMMAND`` replaces that container's
command. Locally it runs on the dev run's network and MySQL (started when missing). On qa and
prod it goes through ECS like the migration: RunTask of the deployed revision, in the migration's
cluster and network, with a containerOverrides command, its logs streamed from CloudWatch; prod
needs ``--confirm``.
"""

from __future__ import annotations

import dataclasses
import secrets as random_tokens
from dataclasses import dataclass
from pathlib import Path

from parity.assembly.apptasks import environment_task_choice
from parity.assembly.synth import assembly_dir, synth, synth_is_stale
from parity.assembly.taskdef import TaskDefinition
from parity.config.settings import LOCAL_ENVIRONMENT, HarnessSettings
from parity.console import note, step
from parity.deploy.flow import (
    DEFAULT_MIGRATION_TIMEOUT_S,
    DeployOptions,
    new_deploy_id,
    require_confirmation,
    run_task_once,
)
from parity.engine.labels import Scope
from parity.runtime.bringup import bring_up, build_app
from parity.runtime.localrun import local_task, run_to_completion

ONE_OFF_TASK = "run"


@dataclass(frozen=True, kw_only=True)
class RunTaskRequest:
    selector: str
    environment: str = LOCAL_ENVIRONMENT
    command: tuple[str, ...] = ()
    emulator: str = ""
    timeout_s: float | None = None
    # Through ECS on a protected environment (prod): the user reviewed what runs.
    confirm: bool = False


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
        return run_task_on_ecs(project_root, request)
    settings = HarnessSettings.for_project(project_root)
    built = build_app(project_root, settings)
    stack, task = built.tasks.load_task(request.selector)
    choice = built.tasks.choose(request.selector)
    watched = choice.watched_container(request.selector) or built.tasks.watched_container
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
            local_task(
                run.context,
                run.tasks,
                task,
                run.secrets,
                task_name=run.task_name(ONE_OFF_TASK, random_tokens.token_hex(2)),
            ),
            watched=watched,
            timeout_s=request.timeout_s,
            what=f"task {task.family or task.logical_id}",
        )
    finally:
        run.emulator.stop()
    code = outcome.exit_code(watched)
    return 1 if code is None else code


def run_task_on_ecs(project_root: Path, request: RunTaskRequest) -> int:
    """RunTask of the deployed revision of the chosen task definition, streamed and judged
    like the migration gate; the watched container's exit code (1 when it never exited)."""
    from parity.deploy.ecs import ecs_backend

    env = request.environment
    options = DeployOptions(
        environment=env,
        deploy_id=new_deploy_id(),
        confirm=request.confirm,
        migration_timeout_s=request.timeout_s or DEFAULT_MIGRATION_TIMEOUT_S,
    )
    what = " ".join(("running", request.selector, *request.command))
    require_confirmation(options, action=what, review="the command")
    if synth_is_stale(project_root, env=env):
        with step(f"synthesizing the CDK app for {env}"):
            synth(project_root=project_root, env=env)
    directory = assembly_dir(project_root)
    choice = environment_task_choice(project_root, env, directory, request.selector)
    backend = ecs_backend(project_root=project_root, environment=env)
    watched = choice.watched_container(request.selector)
    if watched is None:
        watched = backend.migration_task().watched_container
    task = backend.one_off_task(
        stack=choice.stack,
        logical_id=choice.logical_id,
        watched_container=watched,
        command=request.command,
    )
    finished = run_task_once(backend, options, task, what=f"task {choice.logical_id}")
    code = finished.exit_code()
    if code != 0 and finished.outcome is not None:
        finished.print_failure()
    return 1 if code is None else code
