"""``invoke migrations-check`` on an app whose config gives it no migrations check."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.commands.migrations import migrations_check
from parity.errors import ConfigError

SHOP = Path(__file__).resolve().parents[2] / "integration" / "commands" / "fixtures" / "shop"


def test_an_app_without_a_migrations_check_table_is_told_so_in_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        migrations_check(SHOP)
    message = str(caught.value)
    assert message.startswith("fargate-parity.toml: environments.local.migrations_check is missing")
    assert "\n" not in message
