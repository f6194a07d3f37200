"""LocalStack's versions, images, offline settings and timeouts; where its files are cached."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

LOCALSTACK_VERSION = "4.8.1"
HOST_REQUIREMENTS = (
    f"localstack-core[runtime]=={LOCALSTACK_VERSION}",
    # The newest releases 4.8.1 still works with (later ones changed APIs it uses).
    "cbor2<6",
    "cryptography<45",
    "pyopenssl<25",
    "service-identity",
    # psutil 7.2 dropped psutil._common.snicaddr, which LocalStack's DNS module imports.
    "psutil<7.2",
)
FREE_IMAGE = "localstack/localstack:4.14.0"
LICENSED_IMAGE = "localstack/localstack:latest"
AUTH_TOKEN_VARIABLE = "LOCALSTACK_AUTH_TOKEN"  # noqa: S105 (the variable's name, not a token)
CONTAINER_PORT = 4566
REQUIRED_SERVICES = ("secretsmanager", "ssm")
READY_STATES = frozenset({"available", "running"})
# Keep LocalStack off the internet and off the host's network configuration.
OFFLINE_SETTINGS = {
    "DISABLE_EVENTS": "1",  # no usage analytics sent to LocalStack's API
    "SKIP_SSL_CERT_DOWNLOAD": "1",  # no download of the localhost.localstack.cloud certificate
    "DNS_ADDRESS": "0",  # no DNS server (as root it would bind port 53 on every interface)
}
HOST_READY_TIMEOUT_S = 90.0
CONTAINER_READY_TIMEOUT_S = 180.0
STOP_GRACE_S = 15.0  # it shuts down in about 3 s
LOG_TAIL_LINES = 20


def cache_root(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_CACHE_HOME/fargate-parity``, i.e. ``~/.cache/fargate-parity`` by default."""
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fargate-parity"
