"""Command-line values the tasks take as text, parsed once here so bad input is one line.

A port flag takes ``1``-``65535``, or ``0``: a free loopback port, chosen when the run starts
(and printed with its URL). Anything else (``70000``, ``-1``, ``abc``) is a ConfigError that
names the flag, before anything starts.
"""

from __future__ import annotations

from parity.errors import ConfigError

HIGHEST_PORT = 65535
# The port flags' value for "choose a free one".
FREE_PORT = 0


def parse_port(text: str | int, *, flag: str) -> int:
    """``text`` as a port number: 1-65535, or FREE_PORT (0) for a free one."""
    value = str(text).strip()
    if not value.isdigit() or int(value) > HIGHEST_PORT:
        raise ConfigError(
            f"{flag} {value!r} is not a port: give a number from 1 to {HIGHEST_PORT}, "
            f"or {FREE_PORT} for a free one"
        )
    return int(value)


def parse_optional_port(text: str | int, *, flag: str) -> int | None:
    """Like parse_port, for a flag whose empty value means "do not publish" (None)."""
    return None if str(text).strip() == "" else parse_port(text, flag=flag)
