"""A Unix-socket relay to the AWS emulator, so containers reach it without a network port.

The emulator listens on the host's loopback, which no container can reach. Binding it to the
Docker bridge instead would open it to every container on the host, so the harness serves a
Unix socket in a private directory, bind-mounted into each task's endpoint sidecar; the
sidecar listens on the task's own 127.0.0.1 and forwards there. Host ports stay on loopback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import socketserver
import tempfile
import threading
from pathlib import Path

SOCKET_NAME = "emulator.sock"
CHUNK = 65536
# How often a serving thread looks for a shutdown request: socketserver's 0.5 s default is
# half a second added to every stop.
SHUTDOWN_POLL_S = 0.02


def serve_in_thread(server: socketserver.BaseServer, *, name: str) -> threading.Thread:
    """``server.serve_forever`` in a daemon thread that a ``shutdown()`` ends within
    SHUTDOWN_POLL_S."""
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": SHUTDOWN_POLL_S},
        daemon=True,
        name=name,
    )
    thread.start()
    return thread


class _Forward(socketserver.BaseRequestHandler):
    server: _RelayServer

    def handle(self) -> None:
        try:
            upstream = socket.create_connection(self.server.target, timeout=30)
        except OSError:
            return
        with upstream:
            upstream.settimeout(None)
            back = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
            back.start()
            _pump(self.request, upstream)
            back.join()


class _RelayServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, target: tuple[str, int]) -> None:
        self.target = target
        super().__init__(path, _Forward)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(CHUNK):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


class EmulatorRelay:
    """Serves ``directory/emulator.sock``, each connection forwarded to ``host:port``."""

    def __init__(self, host: str, port: int, *, directory: Path | None = None) -> None:
        # Short and private: a socket path must fit in 108 bytes.
        self.directory = directory or Path(tempfile.mkdtemp(prefix="parity-relay-"))
        self.directory.chmod(0o755)  # the sidecar's nginx workers must reach the socket
        path = self.directory / SOCKET_NAME
        self._server = _RelayServer(str(path), (host, port))
        os.chmod(path, 0o666)  # noqa: S103  (as open as the emulator's loopback port already is)
        self._thread = serve_in_thread(self._server, name="emulator-relay")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self.directory, ignore_errors=True)
