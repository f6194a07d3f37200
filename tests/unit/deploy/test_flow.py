"""The deploy flow against a recording backend: order, the gate, timeouts, refusals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from parity.assembly.apptasks import DeployStacks
from parity.deploy.flow import (
    DeployOptions,
    PreDeploySteps,
    client_token,
    deploy,
    gate_failure,
    migrate,
    new_deploy_id,
)
from parity.deploy.lock import deploy_lock
from parity.errors import ConfigError, DeployLocked, HarnessError, MigrationFailed
from parity.verify.migrations.policy import UnsafeMigrations

from .fakes import TASK_DEFINITION_ARN, RecordingBackend, outcome

DEPLOY_ID = "gh-4242-1"
PASSED = outcome(migrate=0)
# The steps of a deploy before it touches any stack, in order.
BEFORE_ANY_STACK = [("ensure_idle",), ("synth",), ("check",), ("release_checks",), ("diff",)]


def pre_deploy(
    calls: list[tuple[str, ...]],
    environment: str,
    *,
    release_checks: Callable[[], object] | None = None,
) -> PreDeploySteps:
    def diff() -> str:
        calls.append(("diff",))
        return "Stack Laravel-Qa-Service\n[~] AWS::ECS::TaskDefinition WebTask"

    return PreDeploySteps(
        synth=lambda: calls.append(("synth",)),
        stacks=lambda: DeployStacks(
            migration=f"Laravel-{environment.title()}-Migration",
            services=(
                f"Laravel-{environment.title()}-Service",
                f"Laravel-{environment.title()}-Worker",
            ),
            others=(f"Laravel-{environment.title()}-Scheduler",),
        ),
        check=lambda: calls.append(("check",)),
        release_checks=release_checks or (lambda: calls.append(("release_checks",))),
        diff=diff,
    )


def run_deploy(
    backend: RecordingBackend,
    project_root: Path,
    *,
    environment: str = "qa",
    confirm: bool = False,
) -> None:
    options = DeployOptions(
        environment=environment,
        deploy_id=DEPLOY_ID,
        confirm=confirm,
        migration_timeout_s=600,
        service_timeout_s=900,
    )
    deploy(
        options,
        backend=backend,
        pre_deploy=pre_deploy(backend.calls, environment),
        project_root=project_root,
    )


def test_success_runs_every_step_in_order(project_root: Path) -> None:
    backend = RecordingBackend(outcome=PASSED)

    run_deploy(backend, project_root)

    token = client_token(environment="qa", task_definition=TASK_DEFINITION_ARN, deploy_id=DEPLOY_ID)
    assert backend.calls == [
        *BEFORE_ANY_STACK,
        ("deploy_stack", "Laravel-Qa-Migration"),
        ("migration_task",),
        ("start_migration", token),
        ("wait_for_migration", "600"),
        ("deploy_stack", "Laravel-Qa-Service"),
        ("deploy_stack", "Laravel-Qa-Worker"),
        ("wait_for_services", "Laravel-Qa-Service", "900"),
        ("wait_for_services", "Laravel-Qa-Worker", "900"),
        ("deploy_stack", "Laravel-Qa-Scheduler"),
    ]


def test_every_step_says_what_it_does_and_how_long_it_took(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_deploy(RecordingBackend(outcome=PASSED), project_root)

    printed = capsys.readouterr().err
    for description in (
        "synthesizing the CDK app",
        "deploying Laravel-Qa-Migration",
        "running migration task",
        "deploying Laravel-Qa-Service",
        "waiting until the services of Laravel-Qa-Service are stable",
    ):
        assert f"{description}" in printed
    assert printed.count("s)\n") >= 8  # each step ends with its duration, "(0.0s)"
    assert "migrate │ Migrating: 2026_11_01_000000_create_orders_table" in printed
    assert "migration gate passed: migrate exited 0" in printed


def test_sidecar_exit_137_does_not_fail_the_gate(project_root: Path) -> None:
    backend = RecordingBackend(outcome=outcome(migrate=0, **{"log-router": 137}))

    run_deploy(backend, project_root)

    assert ("deploy_stack", "Laravel-Qa-Service") in backend.calls


@pytest.mark.parametrize(
    ("exits", "expected"),
    [
        ({"migrate": 1, "log-router": 137}, "migrate exited 1"),
        ({"migrate": None}, "migrate never exited with a code"),
        ({"log-router": 0}, "the task has no container 'migrate'"),
    ],
)
def test_failed_gate_never_deploys_the_service(
    project_root: Path,
    capsys: pytest.CaptureFixture[str],
    exits: dict[str, int | None],
    expected: str,
) -> None:
    backend = RecordingBackend(
        outcome=outcome(**exits),
        log_lines=["Migrating: 2026_11_01_000000_create_orders_table", "SQLSTATE[42S01]: exists"],
    )

    with pytest.raises(MigrationFailed, match=expected) as raised:
        run_deploy(backend, project_root)

    assert [call for call in backend.calls if call[0] == "deploy_stack"] == [
        ("deploy_stack", "Laravel-Qa-Migration")
    ]
    assert not [call for call in backend.calls if call[0] == "wait_for_services"]
    assert "\n" not in str(raised.value)
    assert "the service was left untouched" in str(raised.value)
    printed = capsys.readouterr().err
    assert "last 2 log lines of migration task" in printed
    assert "migrate │ SQLSTATE[42S01]: exists" in printed
    assert "stop reason: EssentialContainerExited: Essential container in task exited" in printed


def test_timeout_stops_the_task_and_fails(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = RecordingBackend(outcome=None)  # still running at the deadline

    with pytest.raises(MigrationFailed, match=r"did not finish within 600s; task \w+ was stopped"):
        run_deploy(backend, project_root)

    stops = [call for call in backend.calls if call[0] == "stop_migration"]
    assert stops == [
        ("stop_migration", f"migration task timed out after 600s (deploy {DEPLOY_ID})")
    ]
    assert ("deploy_stack", "Laravel-Qa-Service") not in backend.calls
    assert "stop reason: migration task timed out after 600s" in capsys.readouterr().err


def test_a_timed_out_migration_says_how_it_really_ended_and_what_it_recorded(
    project_root: Path,
) -> None:
    # As PHP's sleep() returns on SIGTERM: the migration goes on, finishes and records itself.
    backend = RecordingBackend(
        outcome=None, outcome_after_stop=outcome(migrate=0), recorded=("2026_slow",)
    )

    with pytest.raises(MigrationFailed) as raised:
        run_deploy(backend, project_root)

    message = str(raised.value)
    assert "was stopped: migrate then exited 0;" in message
    assert "the migrations table gained 2026_slow (the stop did not undo them)" in message
    assert ("wait_for_migration", "150.0") in backend.calls


def test_a_timed_out_migration_on_a_database_out_of_reach_says_so(project_root: Path) -> None:
    backend = RecordingBackend(outcome=None, outcome_after_stop=outcome(migrate=137))

    with pytest.raises(MigrationFailed) as raised:
        run_deploy(backend, project_root)

    assert "migrate then exited 137; whether it recorded migrations cannot be read" in str(
        raised.value
    )


def test_prod_without_confirm_shows_the_diff_and_changes_nothing(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = RecordingBackend(outcome=PASSED)

    with pytest.raises(ConfigError, match="deploying on prod needs an explicit --confirm"):
        run_deploy(backend, project_root, environment="prod")

    assert backend.calls == BEFORE_ANY_STACK
    assert "[~] AWS::ECS::TaskDefinition WebTask" in capsys.readouterr().err


def test_unsafe_migrations_stop_the_deploy_before_any_stack(project_root: Path) -> None:
    backend = RecordingBackend(outcome=PASSED)

    def refuse() -> None:
        raise UnsafeMigrations("the pending migrations break the running release: …")

    with pytest.raises(UnsafeMigrations):
        deploy(
            DeployOptions(environment="qa", deploy_id=DEPLOY_ID),
            backend=backend,
            pre_deploy=pre_deploy(backend.calls, "qa", release_checks=refuse),
            project_root=project_root,
        )

    assert [call for call in backend.calls if call[0] == "deploy_stack"] == []
    assert ("diff",) not in backend.calls


def test_prod_with_confirm_deploys(project_root: Path) -> None:
    backend = RecordingBackend(outcome=PASSED)

    run_deploy(backend, project_root, environment="prod", confirm=True)

    assert ("deploy_stack", "Laravel-Prod-Service") in backend.calls


def test_migrate_on_prod_needs_confirm_too(project_root: Path) -> None:
    backend = RecordingBackend(outcome=PASSED)
    options = DeployOptions(environment="prod", deploy_id=DEPLOY_ID)

    with pytest.raises(ConfigError, match="running migrations on prod needs an explicit --confirm"):
        migrate(options, backend=backend, project_root=project_root)

    assert backend.calls == []


def test_migrate_runs_only_the_gate(project_root: Path) -> None:
    backend = RecordingBackend(outcome=PASSED)

    result = migrate(
        DeployOptions(environment="qa", deploy_id=DEPLOY_ID),
        backend=backend,
        project_root=project_root,
    )

    assert [call[0] for call in backend.calls] == [
        "ensure_idle",
        "migration_task",
        "start_migration",
        "wait_for_migration",
    ]
    assert result.run.task.watched_container == "migrate"


def test_unknown_environment_lists_the_valid_ones(project_root: Path) -> None:
    backend = RecordingBackend(outcome=PASSED)

    with pytest.raises(
        ConfigError,
        match=r"unknown environment 'staging'; fargate-parity.toml defines: local, prod, qa",
    ):
        run_deploy(backend, project_root, environment="staging")

    assert backend.calls == []


def test_a_running_deploy_of_the_same_environment_is_refused(project_root: Path) -> None:
    backend = RecordingBackend(outcome=PASSED)

    with (
        deploy_lock("qa", lock_dir=project_root / ".cache"),
        pytest.raises(DeployLocked, match="a deploy of qa is already running"),
    ):
        run_deploy(backend, project_root)

    assert backend.calls == []
    run_deploy(backend, project_root, environment="local")  # other environments are not held up


def test_backend_refusal_stops_before_synth(project_root: Path) -> None:
    class BusyBackend(RecordingBackend):
        def ensure_idle(self) -> None:
            raise DeployLocked("stack Laravel-Qa-Service is UPDATE_IN_PROGRESS")

    backend = BusyBackend(outcome=PASSED)

    with pytest.raises(DeployLocked):
        run_deploy(backend, project_root)

    assert backend.calls == []


def test_the_lock_is_released_after_a_failed_deploy(project_root: Path) -> None:
    with pytest.raises(HarnessError):
        run_deploy(RecordingBackend(outcome=outcome(migrate=1)), project_root)

    run_deploy(RecordingBackend(outcome=PASSED), project_root)


def test_client_token_is_stable_per_deploy_and_task_definition() -> None:
    token = client_token(environment="qa", task_definition=TASK_DEFINITION_ARN, deploy_id="d1")

    assert token == client_token(
        environment="qa", task_definition=TASK_DEFINITION_ARN, deploy_id="d1"
    )
    assert len(token) <= 64
    assert token.isascii()
    others = {
        client_token(environment="prod", task_definition=TASK_DEFINITION_ARN, deploy_id="d1"),
        client_token(environment="qa", task_definition=TASK_DEFINITION_ARN + "x", deploy_id="d1"),
        client_token(environment="qa", task_definition=TASK_DEFINITION_ARN, deploy_id="d2"),
    }
    assert token not in others
    assert len(others) == 3


def test_deploy_id_follows_the_github_run_attempt() -> None:
    assert new_deploy_id({"GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "2"}) == "gh-4242-2"
    local = new_deploy_id({})
    assert local.startswith("local-")
    assert local != new_deploy_id({})


def test_gate_counts_only_the_watched_container() -> None:
    assert gate_failure(outcome(migrate=0, sidecar=137), watched_container="migrate") is None
    assert gate_failure(outcome(migrate=0, sidecar=1), watched_container="migrate") is None
    assert gate_failure(outcome(migrate=137, sidecar=0), watched_container="migrate") == (
        "migrate exited 137"
    )
