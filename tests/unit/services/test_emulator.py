from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from parity.config.settings import EmulatorKind
from parity.engine.labels import RUN_LABEL, SCOPE_LABEL
from parity.errors import ConfigError, HarnessError
from parity.services.emulator import Emulator, start_emulator
from parity.services.localstack import launcher


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("moto", EmulatorKind.MOTO),
        (" LocalStack ", EmulatorKind.LOCALSTACK),
        ("external", EmulatorKind.EXTERNAL),
    ],
)
def test_the_emulator_is_chosen_by_a_plain_value(text: str, kind: EmulatorKind) -> None:
    assert EmulatorKind.parse(text) is kind


def test_an_unknown_emulator_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="choose one of: moto, localstack, external"):
        EmulatorKind.parse("minio")


def test_stop_stops_what_was_started_once_and_attached_ones_never() -> None:
    stops: list[str] = []
    started = Emulator(
        EmulatorKind.LOCALSTACK, "http://127.0.0.1:1", "us-east-1", lambda: stops.append("x")
    )
    started.stop()
    started.stop()
    assert stops == ["x"]
    Emulator(EmulatorKind.EXTERNAL, "http://127.0.0.1:1", "us-east-1").stop()


def test_moto_on_a_free_port_serves_and_stops() -> None:
    emulator = start_emulator(EmulatorKind.MOTO, region="eu-west-1", port=None)
    try:
        assert emulator.endpoint_url.startswith("http://127.0.0.1:")
        assert emulator.client("ssm").describe_parameters()["Parameters"] == []
    finally:
        emulator.stop()


@dataclass
class FakeRunning:
    endpoint_url: str
    stopped: bool = False

    def stop(self) -> None:
        self.stopped = True


def test_localstack_is_started_with_run_labels_and_stopped_through_the_emulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []
    running = FakeRunning("http://127.0.0.1:4571")

    def fake_start(*, port: int | None, labels: Mapping[str, str]) -> FakeRunning:
        calls.append({"port": port, "labels": dict(labels)})
        return running

    monkeypatch.setattr(launcher, "start_localstack", fake_start)
    emulator = start_emulator(EmulatorKind.LOCALSTACK, region="us-east-1", port=0)
    assert emulator.endpoint_url == "http://127.0.0.1:4571"
    assert calls[0]["port"] == 0
    assert calls[0]["labels"][SCOPE_LABEL] == "emulator"
    assert calls[0]["labels"][RUN_LABEL]
    emulator.stop()
    assert running.stopped

    given = {SCOPE_LABEL: "dev", RUN_LABEL: "abc"}
    start_emulator(EmulatorKind.LOCALSTACK, region="us-east-1", labels=given)
    assert calls[1] == {"port": 4566, "labels": given}


def test_two_runs_default_emulators_listen_side_by_side() -> None:
    # Two clones' `invoke dev` at once: each embedded emulator takes a free loopback port.
    from parity.commands.dev import DevOptions

    port = DevOptions().emulator_port
    first = start_emulator(EmulatorKind.MOTO, region="eu-west-1", port=port)
    try:
        second = start_emulator(EmulatorKind.MOTO, region="eu-west-1", port=port)
        try:
            assert first.endpoint_url != second.endpoint_url
            assert first.endpoint_url.startswith("http://127.0.0.1:")
        finally:
            second.stop()
    finally:
        first.stop()


def test_an_emulator_without_sts_is_one_line_naming_the_role() -> None:
    unreachable = Emulator(EmulatorKind.EXTERNAL, "http://127.0.0.1:9", "us-east-1")
    with pytest.raises(HarnessError, match="hands out no credentials for arn:aws:iam::1:role/R"):
        unreachable.assume_role("arn:aws:iam::1:role/R", session="test")
