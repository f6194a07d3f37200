from __future__ import annotations

from pathlib import Path

import pytest

from parity.config.settings import DEFAULT_DB_IMAGE, EmulatorKind, HarnessSettings
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
