"""Loopback ports: a taken port fails with one clear line before anything starts."""

from __future__ import annotations

import socket

from parity.errors import PortInUse

# Dev and test ports bind here, never on 0.0.0.0: a dev database open to the LAN is a hole.
LOOPBACK_ADDRESS = "127.0.0.1"


def claim_port(port: int | None, *, purpose: str, host: str = LOOPBACK_ADDRESS) -> int:
    """``port`` when nothing listens on ``host`` there (None or 0: a free port), else PortInUse.

    The port is free when this returns; whoever listens on it next must do so at once.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As servers bind: TIME_WAIT leftovers of a stopped server do not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port or 0))
        except OSError as error:
            raise PortInUse(
                f"port {port} on {host} is already in use, so {purpose} cannot listen there; "
                "stop whatever holds it or choose another port"
            ) from error
        bound: int = probe.getsockname()[1]
        return bound
