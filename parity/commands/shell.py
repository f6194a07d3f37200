"""``invoke exec CONTAINER -- CMD``, ``invoke shell [CONTAINER]`` and the app's own shortcuts
(``[[dev.commands]]`` in fargate-parity.toml, such as ``invoke artisan -- ARGS``).

The command runs in the dev run's container of that name when one runs; a container of the
migration task (its watched container, by default) is found in the running service that runs
its image. When none runs, a one-off task from the task definition holding the container (for
the app's image: the migration task definition) starts with that container idle, the command
runs in it, and the task is removed. Either way the command gets the task's env (the
container's own config) and secrets (resolved from the emulator, handed over as ``-e NAME``
values, see ``parity.engine.execute``), a TTY when stdin is one, and its exit code passes
through.
"""

from __future__ import annotations

import dataclasses
import secrets as random_tokens
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.models.containers import Container

from parity.assembly.apptasks import AppTasks
from parity.assembly.taskdef import TaskDefinition
from parity.config.harness import DevCommand, load_config
from parity.config.settings import HarnessSettings
from parity.console import note
from parity.engine.execute import run_in_container
from parity.engine.labels import CONTAINER_LABEL, RUN_LABEL, SCOPE_LABEL, TASK_LABEL, Scope
from parity.errors import ConfigError
from parity.runtime.bringup import (
    SERVICE_TASK,
    BuiltApp,
    bring_up,
    build_app,
    existing_app,
    local_context,
)
from parity.runtime.localrun import placement, run_id_for, seed_and_resolve
from parity.runtime.task import LocalTask
from parity.secretvalue import SecretValue
from parity.services.emulator import start_emulator

ONE_OFF_TASK = "exec"
# A login shell where the image has one, else POSIX sh.
SHELL = ("sh", "-c", "if command -v bash >/dev/null; then exec bash; else exec sh; fi")
# What the idle container of a one-off task runs while commands run beside it.
IDLE = ("sleep", "infinity")


@dataclass(frozen=True)
class Target:
    """Where a command runs: a task definition's container."""

    task: TaskDefinition
    container: str


def declared_commands(project_root: Path) -> tuple[DevCommand, ...]:
    """fargate-parity.toml's ``[[dev.commands]]``."""
    return load_config(project_root).dev.commands


def run_declared(project_root: Path, name: str, arguments: tuple[str, ...]) -> int:
    """``invoke NAME -- ARGS``: the declared argv and ARGS; the command's exit code."""
    commands = {command.name: command for command in declared_commands(project_root)}
    if name not in commands:
        raise ConfigError(f"fargate-parity.toml declares no [[dev.commands]] named {name!r}")
    command = commands[name]
    return exec_command(project_root, command.container, (*command.argv, *arguments))


def exec_command(project_root: Path, container: str | None, command: tuple[str, ...]) -> int:
    """Run ``command`` in ``container`` (None: the migration's watched container)."""
    if not command:
        raise ConfigError("give the command after `--`, e.g. `invoke exec CONTAINER -- ls`")
    settings = HarnessSettings.for_project(project_root)
    app = existing_app(project_root, settings)
    target = find_target(app.tasks, container)
    running = running_container(app.client, project_root, app.tasks, target)
    if running is not None:
        task = running_task(app.tasks, running) or target.task
        name = running.labels.get(CONTAINER_LABEL, target.container)
        return run_in_container(
            str(running.name), command, environment=task_secrets(project_root, app, task, name)
        )
    return run_one_off(project_root, settings, target, command)


def shell(project_root: Path, container: str | None) -> int:
    """An interactive shell in ``container`` (None: the migration's watched container)."""
    return exec_command(project_root, container, SHELL)


def find_target(tasks: AppTasks, container: str | None) -> Target:
    """The task definition and container ``container`` names (None: the migration's watched
    container); a container running the app's image counts as the migration's."""
    if container is None or container == tasks.watched_container:
        return Target(tasks.migration, tasks.watched_container)
    for task in tasks.task_definitions:
        for spec in task.containers:
            if spec.name == container:
                if spec.image == tasks.app_image and task is not tasks.migration:
                    return Target(tasks.migration, tasks.watched_container)
                return Target(task, container)
    known = sorted({c.name for task in tasks.task_definitions for c in task.containers})
    raise ConfigError(
        f"no container {container!r} in the app's tasks (containers: {', '.join(known)})"
    )


def running_container(
    client: docker.DockerClient, project_root: Path, tasks: AppTasks, target: Target
) -> Container | None:
    """A running dev service container for ``target``: of its name, else (for the app's image)
    any service container that runs that image."""
    wanted = [target.container]
    image = target.task.container(target.container).image
    if image == tasks.app_image:
        wanted += [
            spec.name
            for service in tasks.services
            for spec in service.task.containers
            if spec.image == image and spec.name not in wanted
        ]
    prefix = f"parity-{Scope.DEV}-{run_id_for(project_root)}-{SERVICE_TASK}-"
    found = client.containers.list(
        filters={
            "label": [f"{SCOPE_LABEL}={Scope.DEV}", f"{RUN_LABEL}={run_id_for(project_root)}"],
            "status": "running",
        }
    )
    services = [c for c in found if c.labels.get(TASK_LABEL, "").startswith(prefix)]
    for name in wanted:
        matches = sorted(
            (c for c in services if c.labels.get(CONTAINER_LABEL) == name), key=lambda c: c.name
        )
        if matches:
            return matches[0]
    return None


def running_task(tasks: AppTasks, container: Container) -> TaskDefinition | None:
    """The service task definition a running service container belongs to."""
    task_name = container.labels.get(TASK_LABEL, "")
    for service in tasks.services:
        if f"-{SERVICE_TASK}-{service.key}-" in task_name:
            return service.task
    return None


def task_secrets(
    project_root: Path, app: BuiltApp, task: TaskDefinition, container: str
) -> Mapping[str, SecretValue]:
    """The container's secret values, resolved from the emulator the way a start resolves
    them (the embedded one is started for it, and stopped)."""
    settings = HarnessSettings.for_project(project_root)
    emulator = start_emulator(settings.emulator, region=app.tasks.region, port=None)
    try:
        context = local_context(app.client, project_root, emulator, scope=Scope.DEV)
        resolved = seed_and_resolve(context, app.tasks, (task,))
    finally:
        emulator.stop()
    by_task = resolved.by_task.get(task.logical_id)
    return {} if by_task is None else by_task.get(container, {})


def idle(task: TaskDefinition, container: str) -> TaskDefinition:
    """The task with ``container`` idling instead of running its command."""
    containers = tuple(
        dataclasses.replace(spec, entry_point=IDLE[:1], command=IDLE[1:], health_check=None)
        if spec.name == container
        else spec
        for spec in task.containers
    )
    return dataclasses.replace(task, containers=containers)


def run_one_off(
    project_root: Path, settings: HarnessSettings, target: Target, command: tuple[str, ...]
) -> int:
    """Start ``target``'s task once (the container idle) on the dev run's backing services,
    run ``command`` in it, remove the task."""
    note(
        f"no dev task runs {target.container}; running in a one-off task of "
        f"{target.task.family or target.task.logical_id}"
    )
    built = build_app(project_root, settings)
    task = idle(target.task, target.container)
    run = bring_up(
        built,
        project_root=project_root,
        settings=settings,
        scope=Scope.DEV,
        emulator=settings.emulator,
        emulator_port=None,
        extra_tasks=(task,),
    )
    secrets = run.secrets.by_task.get(task.logical_id, {})
    local = LocalTask(
        run.client,
        task,
        placement(run.context, run.tasks, run.task_name(ONE_OFF_TASK, random_tokens.token_hex(2))),
        secrets=secrets,
    )
    try:
        local.start()
        return run_in_container(
            f"{local.name}-{target.container}",
            command,
            environment=secrets.get(target.container, {}),
        )
    finally:
        local.remove()
        # Only now: the task's credentials endpoint and AWS_ENDPOINT_URL lead to it.
        run.emulator.stop()
