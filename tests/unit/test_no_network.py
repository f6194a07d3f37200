"""The suite cannot leave the machine: pytest-socket, and the AWS environment of the root
conftest."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import boto3
import pytest
from pytest_socket import SocketConnectBlockedError

EC2_METADATA = ("169.254.169.254", 80)


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_a_connect_beyond_loopback_is_refused_before_it_leaves() -> None:
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(EC2_METADATA, timeout=1)


def test_loopback_is_reachable() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        socket.create_connection(server.getsockname(), timeout=1).close()


def test_botocore_finds_no_credentials_and_never_asks_the_metadata_address() -> None:
    assert os.environ["AWS_EC2_METADATA_DISABLED"] == "true"
    assert Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).read_text() == ""
    assert Path(os.environ["AWS_CONFIG_FILE"]).read_text() == ""
    assert "AWS_ACCESS_KEY_ID" not in os.environ
    assert boto3.Session().get_credentials() is None
