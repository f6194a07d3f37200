"""The migrations check with real containers: the previous release's schema on the local MySQL,
``migrate --pretend`` in the new release's migration container, the server's own answers.

One fixture release holds every fixture migration (each changes a column of its own), so one
check judges them all. The agreement tests run the deploy's release checks (the static check
and the previous-release run in one bring-up) on the previous-version tests' releases.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from parity.config.harness import load_config
from parity.config.settings import EmulatorKind, HarnessSettings
from parity.deploy.backends import DeployRequest, release_checks
from parity.engine.labels import RUN_LABEL, SCOPE_LABEL, Scope, remove_labelled
from parity.runtime.localrun import run_id_for
from parity.verify.migrations.check import ReleaseChecks, run_migrations_check
from parity.verify.migrations.policy import UnsafeMigrations
from parity.verify.migrations.report import Verdict
from parity.verify.migrations.server import Algorithm
from tests.integration.support import MIGRATIONS, PROJECT_ROOT, copy_project
from tests.integration.verify.conftest import (
    COPY_GITIGNORE,
    FIXTURES,
    RELEASE_TAG,
    ReleasedProject,
    git,
)

pytestmark = pytest.mark.integration

SAFE, BREAKING, LOCKING = Verdict.SAFE, Verdict.BREAKING, Verdict.LOCKING
# fixture migration → (its one statement's verdicts, the algorithm the server accepted)
EXPECTED = {
    "2030_01_01_000000_add_locale_to_greetings.php": ((SAFE,), Algorithm.INSTANT),
    "2030_01_02_000000_add_status_to_profiles.php": ((SAFE,), Algorithm.INSTANT),
    "2030_01_01_000000_rename_greetings_message.php": ((BREAKING,), Algorithm.INSTANT),
    "2030_01_02_000000_drop_legacy_from_profiles.php": ((BREAKING,), Algorithm.INSTANT),
    "2030_01_02_000000_add_owner_to_profiles.php": ((BREAKING,), Algorithm.INSTANT),
    "2030_01_02_000000_narrow_profiles_code.php": ((BREAKING, LOCKING), Algorithm.COPY),
    "2030_01_02_000000_add_name_index_to_profiles.php": ((SAFE,), Algorithm.INPLACE),
    "2030_01_02_000000_change_profiles_bio_to_text.php": ((LOCKING,), Algorithm.COPY),
}
PREVIOUS_FIXTURES = FIXTURES / "previous"
ADDITIVE = "2030_01_01_000000_add_locale_to_greetings.php"
RENAMES_A_READ_COLUMN = "2030_01_01_000000_rename_greetings_message.php"


@pytest.fixture(scope="module")
def fixture_release(docker_client: docker.DockerClient) -> Iterator[Path]:
    """A project copy whose previous release (its tag) adds a ``profiles`` table, and whose
    new version adds every fixture migration."""
    root = Path(tempfile.gettempdir()) / f"fargate-parity-migrations-{run_id_for(PROJECT_ROOT)}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    copy_project(root)
    (root / ".gitignore").write_text(COPY_GITIGNORE)
    for previous in PREVIOUS_FIXTURES.glob("*.php"):
        shutil.copy2(previous, root / MIGRATIONS / previous.name)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--message", "the previous release")
    git(root, "tag", RELEASE_TAG)
    for fixture in EXPECTED:
        shutil.copy2(FIXTURES / fixture, root / MIGRATIONS / fixture)
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--message", "every fixture migration")
    yield root
    remove_labelled(docker_client, scope=Scope.MIGRATIONS, run_id=run_id_for(root))
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def fixture_checks(
    fixture_release: Path, harness_settings: HarnessSettings, emulator_kind: EmulatorKind
) -> ReleaseChecks:
    return run_migrations_check(
        fixture_release,
        settings=harness_settings,
        config=load_config(fixture_release).migrations_check("local"),
        emulator=emulator_kind,
    )


def assert_nothing_left(client: docker.DockerClient, project_root: Path) -> None:
    labels = [f"{SCOPE_LABEL}={Scope.MIGRATIONS}", f"{RUN_LABEL}={run_id_for(project_root)}"]
    left = [
        *[c.name for c in client.containers.list(all=True, filters={"label": labels})],
        *[n.name for n in client.networks.list(filters={"label": labels})],
        *[v.name for v in client.volumes.list(filters={"label": labels})],
    ]
    assert left == [], f"the check left these behind: {left}"


@pytest.mark.parametrize("migration", EXPECTED)
def test_each_fixture_migration_gets_its_expected_verdict_and_algorithm(
    fixture_checks: ReleaseChecks, migration: str
) -> None:
    verdicts, algorithm = EXPECTED[migration]
    (statement,) = fixture_checks.migrations.of(migration)
    assert statement.verdicts == verdicts, statement.reasons
    assert statement.answer is not None
    assert statement.answer.algorithm is algorithm, statement.answer.refusals


def test_every_pending_migration_is_checked_and_the_server_is_named(
    fixture_checks: ReleaseChecks,
) -> None:
    report = fixture_checks.migrations
    assert report.pending == tuple(sorted(EXPECTED))
    assert report.previous_release.startswith(f"{RELEASE_TAG}, ")
    assert report.server.version, "SELECT VERSION() answered"
    if report.server.is_stand_in:
        assert "the stand-in for mysql:8.0" in report.server_notes()[0]


def test_a_statement_names_the_line_of_the_builder_call_it_comes_from(
    fixture_checks: ReleaseChecks,
) -> None:
    (narrowing,) = fixture_checks.migrations.of("2030_01_02_000000_narrow_profiles_code.php")
    source = (FIXTURES / narrowing.migration).read_text().splitlines()
    assert narrowing.line is not None
    assert source[narrowing.line - 1].strip() == "$table->string('code', 8)->change();"
    assert narrowing.sql.startswith("ALTER TABLE profiles CHANGE code code VARCHAR(8)")


def test_the_junit_file_fails_exactly_the_breaking_migrations(
    fixture_checks: ReleaseChecks, fixture_release: Path
) -> None:
    junit = fixture_release / "reports" / "junit-migrations-local.xml"
    suite = ElementTree.parse(junit).getroot()  # noqa: S314 (the check's own report)
    failing = sorted(c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None)
    assert failing == sorted(m for m, (verdicts, _) in EXPECTED.items() if BREAKING in verdicts)
    written = json.loads((fixture_release / "reports" / "migrations-local.json").read_text())
    assert len(written["statements"]) == len(EXPECTED)


def test_the_check_removes_what_it_started(
    fixture_checks: ReleaseChecks, fixture_release: Path, docker_client: docker.DockerClient
) -> None:
    assert_nothing_left(docker_client, fixture_release)


# -- the two checks agree where both apply ------------------------------------------------


def deploy_request(emulator: EmulatorKind, *, allow_breaking: str = "") -> DeployRequest:
    return DeployRequest(
        environment="local", emulator=emulator.value, allow_breaking=allow_breaking
    )


def test_an_additive_migration_passes_both_checks(
    released_project: ReleasedProject,
    harness_settings: HarnessSettings,
    emulator_kind: EmulatorKind,
) -> None:
    released_project.release_with(ADDITIVE)
    checks = run_migrations_check(
        released_project.root,
        settings=harness_settings,
        config=load_config(released_project.root).migrations_check("local"),
        emulator=emulator_kind,
        with_previous_release_run=True,
    )
    assert checks.migrations.breaking == ()
    assert checks.previous_release is not None
    assert checks.previous_release.passed, checks.previous_release.failure_message()


def test_a_rename_fails_both_checks_and_the_deploy_refuses_it(
    released_project: ReleasedProject, emulator_kind: EmulatorKind
) -> None:
    released_project.release_with(RENAMES_A_READ_COLUMN)
    with pytest.raises(UnsafeMigrations) as refused:
        release_checks(released_project.root, deploy_request(emulator_kind), deploy_id="local-t1")
    message = str(refused.value)
    assert f"{RENAMES_A_READ_COLUMN}:15 renames greetings.message to body" in message, (
        "the static check fails it"
    )
    assert "none of its 1 greeting(s) has text" in message, "the previous-release run fails it"


def test_a_deploy_allowed_to_break_goes_ahead_and_records_why(
    released_project: ReleasedProject,
    emulator_kind: EmulatorKind,
    docker_client: docker.DockerClient,
) -> None:
    released_project.release_with(RENAMES_A_READ_COLUMN)
    request = deploy_request(emulator_kind, allow_breaking="the old release is drained first")
    release_checks(released_project.root, request, deploy_id="local-t2")
    written = json.loads((released_project.root / "reports" / "migrations-local.json").read_text())
    assert written["allowed_breaking"] == {
        "deploy_id": "local-t2",
        "reason": "the old release is drained first",
    }
    assert_nothing_left(docker_client, released_project.root)
