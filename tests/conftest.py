"""The whole suite's environment: no test reaches beyond loopback, and none can pick up real
AWS credentials.

pytest-socket (configured in pyproject.toml: ``--allow-hosts=127.0.0.1,::1`` and the Docker
socket) refuses any other connect. Here botocore's credential chain is cut off before it could
ask the EC2 metadata address (169.254.169.254) or read a developer's ~/.aws: the metadata
lookup is disabled, the shared files are empty ones, and credential variables are removed.
The subprocesses tests start (``python -m invoke …``) inherit all of it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def pytest_configure(config: pytest.Config) -> None:
    empty = Path(tempfile.mkdtemp(prefix="parity-tests-aws-"))
    for name in ("credentials", "config"):
        (empty / name).write_text("")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(empty / "credentials")
    os.environ["AWS_CONFIG_FILE"] = str(empty / "config")
    for name in CREDENTIAL_VARIABLES:
        os.environ.pop(name, None)
