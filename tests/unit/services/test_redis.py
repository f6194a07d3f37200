"""The Redis stand-in's image tag and its PING, without Docker (tests/integration/services runs
the real container)."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from parity.secretvalue import SecretValue
from parity.services.redis import REDIS_CONTEXT, _command, ping, redis_image_tag


def test_the_tag_follows_the_stand_ins_files(tmp_path: Path) -> None:
    context = tmp_path / "redis"
    shutil.copytree(REDIS_CONTEXT, context)
    assert redis_image_tag(context) == redis_image_tag()
    assert redis_image_tag().startswith("fargate-parity/redis:bookworm-")
    (context / "redis.conf").write_text("maxmemory 64mb\n")
    assert redis_image_tag(context) != redis_image_tag()
    shutil.copytree(REDIS_CONTEXT, context, dirs_exist_ok=True)
    (context / "extra.conf").write_text("")
    assert redis_image_tag(context) != redis_image_tag()


def test_commands_are_resp_arrays_of_bulk_strings() -> None:
    assert _command("PING") == b"*1\r\n$4\r\nPING\r\n"
    assert _command("AUTH", "pä") == b"*2\r\n$4\r\nAUTH\r\n$3\r\np\xc3\xa4\r\n"


def test_nothing_listening_is_a_reason_not_an_exception() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    # Bound but not listening: refused.
    answer = ping(port=port, password=SecretValue("dev-password"))
    assert answer is not None
    assert "refused" in answer.lower()
    assert "dev-password" not in answer
