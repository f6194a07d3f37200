from __future__ import annotations

import re
from pathlib import Path

import pytest

from parity.config.settings import (
    DEFAULT_DB_IMAGE,
    EmulatorKind,
    HarnessSettings,
    LockingAction,
    MigrationPolicy,
)
from parity.errors import ConfigError


def test_defaults() -> None:
    settings = HarnessSettings.from_environ({})
    assert settings.db_image == DEFAULT_DB_IMAGE
    assert settings.host_ca
    assert settings.extra_ca_files == ()


def test_values_from_the_environment(tmp_path: Path) -> None:
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    first.write_text("A")
    second.write_text("B")
    settings = HarnessSettings.from_environ(
        {
            "PARITY_DB_IMAGE": "fargate-parity/mariadb:bookworm",
            "PARITY_HOST_CA": "off",
            "PARITY_EXTRA_CA": f"{first}:{second}",
        }
    )
    assert settings.db_image == "fargate-parity/mariadb:bookworm"
    assert not settings.host_ca
    assert settings.certificates().bundles == {"extra-a.crt": "A", "extra-b.crt": "B"}


def test_a_missing_extra_ca_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"PARITY_EXTRA_CA names .*nope\.pem"):
        HarnessSettings.from_environ({"PARITY_EXTRA_CA": str(tmp_path / "nope.pem")})


def test_the_emulator_is_chosen_by_name_and_a_wrong_name_lists_the_choices() -> None:
    assert HarnessSettings.from_environ({"PARITY_EMULATOR": "localstack"}).emulator.value == (
        "localstack"
    )
    with pytest.raises(ConfigError, match="choose one of: moto, localstack, external"):
        HarnessSettings.from_environ({"PARITY_EMULATOR": "aws"})


def test_ca_files_dropped_into_the_certs_folder_join_the_build(tmp_path: Path) -> None:
    (tmp_path / "corp.crt").write_text("CORP")
    (tmp_path / "README.md").write_text("docs")
    (tmp_path / "host-ca-bundle.crt").write_text("a copy made by hand")
    settings = HarnessSettings.from_environ({"PARITY_HOST_CA": "0"}, certs_dir=tmp_path)
    assert settings.certificates().bundles == {"extra-corp.crt": "CORP"}


def test_parity_emulator_selects_the_emulator_when_no_flag_is_given() -> None:
    settings = HarnessSettings.from_environ({"PARITY_EMULATOR": "localstack"})
    assert settings.emulator_for(None) is EmulatorKind.LOCALSTACK
    assert settings.emulator_for("") is EmulatorKind.LOCALSTACK


def test_an_explicit_emulator_flag_wins_over_parity_emulator() -> None:
    settings = HarnessSettings.from_environ({"PARITY_EMULATOR": "localstack"})
    assert settings.emulator_for("moto") is EmulatorKind.MOTO


def test_without_flag_or_variable_the_embedded_emulator_runs() -> None:
    assert HarnessSettings.from_environ({}).emulator_for(None) is EmulatorKind.MOTO


def test_the_migration_policy_warns_about_locks_over_100000_rows_by_default() -> None:
    policy = HarnessSettings.from_environ({}).migration_policy
    assert policy == MigrationPolicy(lock_row_limit=100_000, on_locking=LockingAction.WARN)


def test_the_migration_policy_and_the_targets_row_counts_come_from_the_environment(
    tmp_path: Path,
) -> None:
    rows = tmp_path / "rows.json"
    rows.write_text('{"greetings": 2500000, "profiles": 12}')
    policy = HarnessSettings.from_environ(
        {"PARITY_LOCK_ROWS": "5000", "PARITY_ON_LOCKING": "Refuse", "PARITY_TABLE_ROWS": str(rows)}
    ).migration_policy
    assert policy.lock_row_limit == 5000
    assert policy.on_locking is LockingAction.REFUSE
    assert policy.table_rows == {"greetings": 2_500_000, "profiles": 12}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PARITY_LOCK_ROWS": "many"}, "PARITY_LOCK_ROWS is 'many'; set it to a number of rows"),
        ({"PARITY_ON_LOCKING": "shout"}, "PARITY_ON_LOCKING is 'shout'; set it to warn or refuse"),
        ({"PARITY_TABLE_ROWS": "/nonexistent/rows.json"}, "not a readable JSON file"),
    ],
)
def test_a_wrong_migration_policy_setting_is_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        HarnessSettings.from_environ(environ)


def test_row_counts_must_be_numbers(tmp_path: Path) -> None:
    rows = tmp_path / "rows.json"
    rows.write_text('{"greetings": "lots"}')
    with pytest.raises(ConfigError, match="one object of table names to row counts"):
        HarnessSettings.from_environ({"PARITY_TABLE_ROWS": str(rows)})
