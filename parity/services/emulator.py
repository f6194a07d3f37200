"""The AWS emulator the local runtime resolves secrets against.

- ``moto`` (the embedded default): moto's server, started in this process on loopback (no
  container, a fraction of a second).
- ``localstack``: LocalStack, started by the harness, in a container where its image can
  be had, else on the host (see ``parity.services.localstack``).
- ``external``: an emulator that already runs, used through localstack-client's endpoint
  conventions: ``AWS_ENDPOINT_URL``, else ``LOCALSTACK_HOST`` (default ``localhost:4566``).
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from parity.config.settings import EmulatorKind
from parity.console import note
from parity.engine.labels import Scope, run_labels
from parity.engine.ports import LOOPBACK_ADDRESS, claim_port
from parity.errors import HarnessError
from parity.services.relay import EmulatorRelay, serve_in_thread

DEFAULT_PORT = 4566
# Emulators accept any credentials; real ones must never reach them.
EMULATOR_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
# The role the harness assumes to act in an app's account (moto and LocalStack switch to the
# account of the role a session assumed; the role need not exist).
HARNESS_ROLE = "fargate-parity-local"
# STS's longest session: a dev run's credentials outlive it.
SESSION_SECONDS = 43200


@dataclass
class Emulator:
    """A running emulator: its endpoint and how to stop it (a no-op for external ones)."""

    kind: EmulatorKind
    endpoint_url: str
    region: str
    # Stops what start_emulator started; None for an emulator the harness only attached to.
    _stop: Callable[[], None] | None = None
    # One client per service: making a boto3 client loads its service model (tenths of a
    # second each), and a run makes hundreds of calls. boto3 clients are thread-safe.
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _clients_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _accounts: dict[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    _relay: EmulatorRelay | None = field(default=None, repr=False)
    # An emulator process's (parity.services.motoprocess): its relay's directory, a wait until
    # it listens (done before its first client), and whether it outlives the run.
    _relay_directory: Path | None = field(default=None, repr=False)
    _until_listening: Callable[[], None] | None = field(default=None, repr=False)
    _outlives_run: bool = False

    def relay_directory(self) -> Path:
        """A directory holding a Unix socket that reaches this emulator (started on first
        use, stopped with the emulator): what containers reach it through."""
        if self._relay_directory is not None:
            return self._relay_directory
        if self._relay is None:
            parsed = urlparse(self.endpoint_url)
            self._relay = EmulatorRelay(parsed.hostname or LOOPBACK_ADDRESS, parsed.port or 80)
        return self._relay.directory

    def client(self, service: str) -> Any:
        # boto3 is imported here, not at the top: `invoke` imports this module for every task,
        # and bring_up makes the first client in its seeding thread, beside MySQL's start.
        import boto3

        with self._clients_lock:
            if self._until_listening is not None:
                self._until_listening()
                self._until_listening = None
            if service not in self._clients:
                self._clients[service] = boto3.client(
                    service,
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    **EMULATOR_CREDENTIALS,
                )
            return self._clients[service]

    def assume_role(self, role_arn: str, *, session: str) -> Mapping[str, Any]:
        """STS credentials for ``role_arn`` from the emulator: they act in the role's account."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client("sts").assume_role(
                RoleArn=role_arn, RoleSessionName=session[:64], DurationSeconds=SESSION_SECONDS
            )
        except (BotoCoreError, ClientError) as error:
            raise HarnessError(
                f"the AWS emulator at {self.endpoint_url} hands out no credentials for {role_arn}"
                f" ({type(error).__name__}); the stand-ins and task roles need its STS"
            ) from None
        credentials: Mapping[str, Any] = response["Credentials"]
        return credentials

    def account_client(self, service: str, account: str) -> Any:
        """A client that acts in ``account`` of the emulator (the harness's role there)."""
        import boto3

        if account not in self._accounts:
            credentials = self.assume_role(
                f"arn:aws:iam::{account}:role/{HARNESS_ROLE}", session=HARNESS_ROLE
            )
            self._accounts[account] = {
                "aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"],
            }
        with self._clients_lock:
            key = f"{service}@{account}"
            if key not in self._clients:
                self._clients[key] = boto3.client(
                    service,
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    **self._accounts[account],
                )
            return self._clients[key]

    def detach(self) -> None:
        """This process is done with the emulator: one that outlives the run keeps running
        (``invoke down`` stops it); any other is stopped."""
        if self._outlives_run:
            self._stop = None
        self.stop()

    def stop(self) -> None:
        """Stop the emulator if the harness started it; calling it again does nothing."""
        stop, self._stop = self._stop, None
        relay, self._relay = self._relay, None
        if relay is not None:
            relay.stop()
        if stop is not None:
            stop()


def start_emulator(
    kind: EmulatorKind,
    *,
    region: str,
    port: int | None = DEFAULT_PORT,
    labels: Mapping[str, str] | None = None,
    process_state: Path | None = None,
    outlives_run: bool = False,
) -> Emulator:
    """Start moto or LocalStack on 127.0.0.1:``port`` (0 or None: a free port), or attach.

    ``labels`` go on a LocalStack container; without them it gets its own run labels. With
    ``process_state`` (a directory), moto runs in a process of its own that keeps its log
    there and, with ``outlives_run``, its record (``parity.services.motoprocess``).
    """
    if kind is EmulatorKind.EXTERNAL:
        return attach_external(region=region)
    if kind is EmulatorKind.LOCALSTACK:
        return start_localstack_emulator(region=region, port=port, labels=labels)
    if process_state is not None:
        from parity.services.motoprocess import start_moto_process

        return start_moto_process(
            region=region, port=port, state_dir=process_state, outlives_run=outlives_run
        )
    return start_moto(region=region, port=port)


def start_moto(*, region: str, port: int | None) -> Emulator:
    """moto's WSGI app on a werkzeug server of this process, in a thread of its own."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    if port:
        claim_port(port, purpose="the embedded AWS emulator (moto)")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access line per call otherwise
    server = make_server(
        LOOPBACK_ADDRESS,
        port or 0,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    thread = serve_in_thread(server, name="moto")

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return Emulator(EmulatorKind.MOTO, f"http://{LOOPBACK_ADDRESS}:{server.port}", region, stop)


def start_localstack_emulator(
    *, region: str, port: int | None, labels: Mapping[str, str] | None
) -> Emulator:
    from parity.services.localstack.launcher import start_localstack

    running = start_localstack(
        port=port,
        labels=labels or run_labels(scope=Scope.EMULATOR, run_id=secrets.token_hex(5)),
    )
    return Emulator(EmulatorKind.LOCALSTACK, running.endpoint_url, region, running.stop)


def attach_external(*, region: str) -> Emulator:
    from localstack_client.config import get_service_endpoint

    endpoint = get_service_endpoint("secretsmanager") or f"http://localhost:{DEFAULT_PORT}"
    parsed = urlparse(endpoint)
    host, port = parsed.hostname or "localhost", parsed.port or DEFAULT_PORT
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        raise HarnessError(
            f"no AWS emulator answers at {endpoint}; start it (e.g. LocalStack), or set "
            "PARITY_EMULATOR=moto for the embedded one"
        ) from None
    note(f"using the AWS emulator at {endpoint}")
    return Emulator(EmulatorKind.EXTERNAL, endpoint, region)
