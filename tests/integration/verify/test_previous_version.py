"""The previous release against the new schema, with real containers (expand/contract).

The released project's previous release is its tag; each new version adds one fixture
migration, and the previous release's images are built from the tag with git.
"""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from parity.config.settings import EmulatorKind, HarnessSettings
from parity.engine.labels import RUN_LABEL, SCOPE_LABEL, Scope
from parity.runtime.localrun import run_id_for
from parity.verify.previous import IncompatibleSchema, run_previous_version_check
from tests.integration.support import PROJECT_ROOT
from tests.integration.verify.conftest import RELEASE_TAG, ReleasedProject

pytestmark = pytest.mark.integration

ADDITIVE = "2030_01_01_000000_add_locale_to_greetings.php"
RENAMES_A_READ_COLUMN = "2030_01_01_000000_rename_greetings_message.php"


def assert_nothing_left(client: docker.DockerClient, project_root: Path) -> None:
    labels = [f"{SCOPE_LABEL}={Scope.COMPAT}", f"{RUN_LABEL}={run_id_for(project_root)}"]
    left = [
        *[c.name for c in client.containers.list(all=True, filters={"label": labels})],
        *[n.name for n in client.networks.list(filters={"label": labels})],
        *[v.name for v in client.volumes.list(filters={"label": labels})],
    ]
    assert left == [], f"the check left these behind: {left}"


def test_this_checkouts_previous_release_serves_against_its_schema(
    docker_client: docker.DockerClient,
    harness_settings: HarnessSettings,
    previous_ref: str | None,
    emulator_kind: EmulatorKind,
) -> None:
    """The check CI runs before a deploy: PARITY_PREVIOUS_REF, else the last tag or HEAD~1."""
    result = run_previous_version_check(
        PROJECT_ROOT, settings=harness_settings, previous_ref=previous_ref, emulator=emulator_kind
    )
    assert result.passed, result.failure_message()
    # The previous release's worker ran too, and took a job against the new schema.
    assert "a queued job" in [check.name for check in result.checks]
    assert_nothing_left(docker_client, PROJECT_ROOT)


def test_an_additive_migration_keeps_the_previous_release_serving(
    released_project: ReleasedProject,
    docker_client: docker.DockerClient,
    harness_settings: HarnessSettings,
    emulator_kind: EmulatorKind,
) -> None:
    released_project.release_with(ADDITIVE)
    result = run_previous_version_check(
        released_project.root, settings=harness_settings, emulator=emulator_kind
    )
    assert result.release.ref == RELEASE_TAG
    assert [(c.name, c.passed) for c in result.checks] == [
        ("GET /", True),
        ("GET /healthz", True),
        ("a queued job", True),  # the previous worker stored it in the new schema
    ]
    assert_nothing_left(docker_client, released_project.root)


def test_renaming_a_column_the_previous_release_reads_fails_the_check(
    released_project: ReleasedProject,
    docker_client: docker.DockerClient,
    harness_settings: HarnessSettings,
    emulator_kind: EmulatorKind,
) -> None:
    released_project.release_with(RENAMES_A_READ_COLUMN)
    with pytest.raises(IncompatibleSchema) as raised:
        run_previous_version_check(
            released_project.root, settings=harness_settings, emulator=emulator_kind
        )
    message = str(raised.value)
    assert message.startswith(f"the previous version ({RELEASE_TAG}, ")
    assert "GET / returned 200 but none of its 1 greeting(s) has text" in message
    assert "split it into expand (now) and contract (next release)" in message
    assert "\n" not in message
    failed = [check.name for check in raised.value.result.failures]
    # The previous worker writes the renamed column too; GET /healthz still passes.
    assert failed == ["GET /", "a queued job"]
    assert_nothing_left(docker_client, released_project.root)
