"""Loopback port checks, so a taken port fails with one clear line before anything starts."""

from __future__ import annotations

import socket

from parity.errors import PortInUse


def ensure_port_free(port: int, *, purpose: str, host: str = "127.0.0.1") -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise PortInUse(
                f"port {port} on {host} is already in use, so {purpose} cannot listen there; "
                "stop whatever holds it or choose another port"
            ) from error
