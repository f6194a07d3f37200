"""Both emulators, really started: seed the local environment's secrets, resolve them the way
the ECS agent does (by the ARN forms in cdk/environments/local.toml), stop cleanly.

On a host without a registry LocalStack runs in host mode: the first run installs
localstack-core into the user cache (minutes), later runs reuse it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from parity.assembly.secretref import AwsSecretResolver, parse_value_from
from parity.config.settings import EmulatorKind
from parity.engine.labels import Scope, run_labels
from parity.runtime.devsecrets import DevSecrets, seed
from parity.runtime.localrun import run_id_for
from parity.services.emulator import Emulator, start_emulator
from parity.services.localstack.host import is_host_localstack, start_host_process
from parity.services.localstack.install import HostInstall, ensure_host_install
from parity.services.localstack.readiness import health_fetcher, wait_until_ready
from parity.services.localstack.settings import HOST_READY_TIMEOUT_S
from tests.integration.support import PROJECT_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

LOCAL = tomllib.loads((PROJECT_ROOT / "cdk" / "environments" / "local.toml").read_text())
DB_SECRET_NAME = LOCAL["db_secret_arn"].split(":secret:", 1)[1]
APP_KEY_SECRET_NAME = LOCAL["app_key_secret_arn"].split(":secret:", 1)[1]
MAIL_PARAMETER = LOCAL["mail_password_parameter_name"]
MAIL_PARAMETER_ARN = f"arn:aws:ssm:{LOCAL['region']}:{LOCAL['account']}:parameter{MAIL_PARAMETER}"

DEV_VALUES = DevSecrets(
    secrets_manager={
        DB_SECRET_NAME: {"username": "app_local", "password": "db-Pa55word"},
        APP_KEY_SECRET_NAME: "base64:0123456789abcdefghijklmnopqrstuv",
    },
    ssm={MAIL_PARAMETER: "mail-Pa55word"},
)


@pytest.fixture(
    scope="module",
    params=[EmulatorKind.MOTO, EmulatorKind.LOCALSTACK],
    ids=lambda kind: kind.value,
)
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    labels = run_labels(
        scope=Scope.TEST, run_id=uuid.uuid4().hex[:10], checkout=run_id_for(PROJECT_ROOT)
    )
    started = start_emulator(request.param, region=LOCAL["region"], port=None, labels=labels)
    try:
        yield started
    finally:
        started.stop()


def resolve(emulator: Emulator, value_from: str) -> str:
    resolver = AwsSecretResolver(
        client_factory=lambda service, *, region_name=None: emulator.client(service)
    )
    return resolver.fetch(parse_value_from(value_from)).reveal()


def test_seeded_secrets_resolve_by_the_local_environments_arns(emulator: Emulator) -> None:
    seed(
        DEV_VALUES,
        secretsmanager=emulator.client("secretsmanager"),
        ssm=emulator.client("ssm"),
    )
    assert resolve(emulator, f"{LOCAL['db_secret_arn']}:password::") == "db-Pa55word"
    assert resolve(emulator, f"{LOCAL['db_secret_arn']}:username::") == "app_local"
    assert resolve(emulator, LOCAL["app_key_secret_arn"]) == (
        "base64:0123456789abcdefghijklmnopqrstuv"
    )
    assert resolve(emulator, MAIL_PARAMETER_ARN) == "mail-Pa55word"
    assert resolve(emulator, MAIL_PARAMETER) == "mail-Pa55word"


def test_seeding_again_updates_the_values(emulator: Emulator) -> None:
    changed = DevSecrets(
        secrets_manager={DB_SECRET_NAME: {"username": "app_local", "password": "rotated"}},
        ssm={MAIL_PARAMETER: "rotated-mail"},
    )
    seed(changed, secretsmanager=emulator.client("secretsmanager"), ssm=emulator.client("ssm"))
    assert resolve(emulator, f"{LOCAL['db_secret_arn']}:password::") == "rotated"
    assert resolve(emulator, MAIL_PARAMETER_ARN) == "rotated-mail"


@pytest.mark.parametrize(
    "kind", [EmulatorKind.MOTO, EmulatorKind.LOCALSTACK], ids=lambda kind: kind.value
)
def test_stop_releases_the_endpoint(kind: EmulatorKind) -> None:
    emulator = start_emulator(kind, region=LOCAL["region"], port=None)
    emulator.client("ssm").describe_parameters()
    emulator.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(emulator.endpoint_url, timeout=2)  # noqa: S310 (loopback http)


KILLED_HARNESS = """
import json, os
from parity.services.localstack.host import start_host_process
from parity.services.localstack.install import HostInstall
from parity.services.localstack.readiness import health_fetcher, wait_until_ready
process, port = start_host_process(HostInstall.default(), port=None)
wait_until_ready(process, health_fetcher(f"http://127.0.0.1:{port}"), timeout_s=90)
print(json.dumps({"port": port, "pid": process.process.pid}), flush=True)
os.kill(os.getpid(), 9)
"""


def test_a_localstack_left_by_a_killed_harness_is_stopped_by_the_next_start() -> None:
    install = HostInstall.default()
    ensure_host_install(install)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_HARNESS],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    orphan: dict[str, Any] = json.loads(killed.stdout.strip().splitlines()[-1])
    assert is_host_localstack(orphan["pid"])

    # The same port: it can only be had once the orphan is gone.
    process, port = start_host_process(install, port=orphan["port"])
    try:
        wait_until_ready(
            process, health_fetcher(f"http://127.0.0.1:{port}"), timeout_s=HOST_READY_TIMEOUT_S
        )
        assert not is_host_localstack(orphan["pid"])
        assert process.process.pid != orphan["pid"]
        assert os.getpid() == json.loads(process.run.owner.read_text())["owner"]
    finally:
        process.stop()
    assert not process.run.state.exists()
    assert not is_host_localstack(process.process.pid)
