"""Loopback port checks, so a taken port fails with one clear line before anything starts."""

from __future__ import annotations

import socket

from parity.errors import PortInUse

# Dev and test ports bind here, never on 0.0.0.0: a dev database open to the LAN is a hole.
LOOPBACK_ADDRESS = "127.0.0.1"


def ensure_port_free(port: int, *, purpose: str, host: str = LOOPBACK_ADDRESS) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As servers bind: TIME_WAIT leftovers of a stopped server do not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise PortInUse(
                f"port {port} on {host} is already in use, so {purpose} cannot listen there; "
                "stop whatever holds it or choose another port"
            ) from error
