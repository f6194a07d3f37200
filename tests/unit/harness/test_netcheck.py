from __future__ import annotations

import socket

import pytest

from parity.engine.ports import ensure_port_free
from parity.errors import PortInUse


def test_a_taken_loopback_port_is_reported_with_its_number() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {port} on 127.0.0.1 is already in use"):
            ensure_port_free(port, purpose="nginx")


def test_a_free_port_passes() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ensure_port_free(port, purpose="nginx")
