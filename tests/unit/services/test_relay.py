"""The Unix-socket relay: what a container's sidecar sends reaches the emulator on loopback."""

from __future__ import annotations

import socket
import stat
import threading
from collections.abc import Iterator

import pytest

from parity.services.relay import SOCKET_NAME, EmulatorRelay


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A loopback TCP server that answers each connection with what it received, upper-cased."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                data = b""
                while chunk := connection.recv(4096):
                    data += chunk
                connection.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def test_a_connection_through_the_socket_reaches_the_loopback_port(echo_port: int) -> None:
    relay = EmulatorRelay("127.0.0.1", echo_port)
    try:
        path = relay.directory / SOCKET_NAME
        assert stat.S_ISSOCK(path.stat().st_mode)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            client.connect(str(path))
            client.sendall(b"get /v1 " * 10000)
            client.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
        assert answer == b"GET /V1 " * 10000
    finally:
        relay.stop()
    assert not relay.directory.exists()
