from __future__ import annotations

import pytest

from parity.config.flags import FREE_PORT, parse_optional_port, parse_port
from parity.errors import ConfigError


@pytest.mark.parametrize("text", ["70000", "-1", "abc", "", "80.5", "65536"])
def test_a_value_that_is_no_port_is_one_line_naming_the_flag(text: str) -> None:
    with pytest.raises(ConfigError) as failure:
        parse_port(text, flag="--port")
    message = str(failure.value)
    assert message.startswith(f"--port {text!r} is not a port")
    assert "0 for a free one" in message
    assert "\n" not in message


def test_ports_and_zero_for_a_free_one_parse() -> None:
    assert parse_port("8080", flag="--port") == 8080
    assert parse_port(" 65535 ", flag="--port") == 65535
    assert parse_port("0", flag="--port") == FREE_PORT


def test_an_empty_optional_port_is_none() -> None:
    assert parse_optional_port("", flag="--db-port") is None
    assert parse_optional_port("3307", flag="--db-port") == 3307
    with pytest.raises(ConfigError, match="--db-port 'x' is not a port"):
        parse_optional_port("x", flag="--db-port")
