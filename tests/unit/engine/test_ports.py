from __future__ import annotations

import socket

import pytest

from parity.engine.ports import claim_port
from parity.errors import PortInUse


def test_a_taken_loopback_port_is_reported_with_its_number() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {port} on 127.0.0.1 is already in use"):
            claim_port(port, purpose="nginx")


def test_a_free_port_passes() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    claim_port(port, purpose="nginx")


def test_a_port_of_zero_or_none_claims_a_free_one() -> None:
    assert claim_port(None, purpose="nginx") > 0
    assert claim_port(0, purpose="nginx") > 0


def test_a_port_something_listens_on_is_refused_with_one_line() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {taken} on 127.0.0.1 is already in use"):
            claim_port(taken, purpose="nginx")


def test_a_port_with_only_time_wait_connections_left_counts_as_free() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first, so its end waits in TIME_WAIT
        client.close()
    assert claim_port(port, purpose="nginx") == port
