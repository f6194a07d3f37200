from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from parity.assembly.secretref import AwsSecretResolver, SecretUnavailable, parse_value_from
from parity.assembly.taskdef import ContainerSpec, TaskDefinition
from parity.config.settings import EmulatorKind
from parity.errors import ConfigError
from parity.runtime.devsecrets import (
    DevValueResolver,
    SecretDemand,
    demand_of,
    load_or_create,
    read_dev_secrets,
    seed,
    stored_values,
)
from parity.secretvalue import SecretValue
from parity.services.emulator import Emulator, start_emulator

AURORA = "arn:aws:secretsmanager:us-east-1:000000000000:secret:laravel/local/aurora"
APP_KEY = "arn:aws:secretsmanager:us-east-1:000000000000:secret:laravel/local/app-key"
MAIL = "arn:aws:ssm:us-east-1:000000000000:parameter/laravel/local/mail-password"


def task() -> TaskDefinition:
    container = ContainerSpec(
        name="migrate",
        image="app:1",
        secrets={
            "DB_USERNAME": parse_value_from(f"{AURORA}:username::"),
            "DB_PASSWORD": parse_value_from(f"{AURORA}:password::"),
            "APP_KEY": parse_value_from(APP_KEY),
            "MAIL_PASSWORD": parse_value_from(MAIL),
        },
    )
    return TaskDefinition(
        logical_id="Task",
        family="migrate",
        network_mode="awsvpc",
        cpu_units=256,
        memory_mib=512,
        containers=(container,),
    )


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    running = start_emulator(EmulatorKind.MOTO, region="us-east-1", port=0)
    yield running
    running.stop()


def test_the_demand_lists_each_secret_with_its_json_keys() -> None:
    demand = demand_of([task()])
    assert demand.secrets_manager == {
        "laravel/local/aurora": frozenset({"username", "password"}),
        "laravel/local/app-key": frozenset({None}),
    }
    assert demand.ssm == frozenset({"/laravel/local/mail-password"})


def test_values_are_generated_once_kept_after_and_private(tmp_path: Path) -> None:
    path = tmp_path / ".local" / "secrets.json"
    first = load_or_create(path, demand_of([task()]))
    second = load_or_create(path, demand_of([task()]))
    assert first == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    aurora = first.secrets_manager["laravel/local/aurora"]
    assert isinstance(aurora, dict)
    assert aurora["username"].startswith("app_")
    assert len(aurora["password"]) == 32
    assert len(str(first.secrets_manager["laravel/local/app-key"])) == 32


def test_a_value_edited_by_hand_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"secretsmanager": {"laravel/local/app-key": "mine"}, "ssm": {}}))
    values = load_or_create(path, demand_of([task()]))
    assert values.secrets_manager["laravel/local/app-key"] == "mine"


def test_stored_values_cover_every_leaf(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    values = load_or_create(path, demand_of([task()]))
    leaves = {v.reveal() for v in stored_values(path)}
    assert values.ssm["/laravel/local/mail-password"] in leaves
    assert len(leaves) == 4
    assert stored_values(tmp_path / "absent.json") == ()


def test_seeded_values_resolve_the_way_ecs_resolves_them(
    tmp_path: Path, emulator: Emulator
) -> None:
    values = load_or_create(tmp_path / "s.json", demand_of([task()]))
    seed(values, secretsmanager=emulator.client("secretsmanager"), ssm=emulator.client("ssm"))
    seed(values, secretsmanager=emulator.client("secretsmanager"), ssm=emulator.client("ssm"))
    resolver = AwsSecretResolver(
        client_factory=lambda service, *, region_name=None: emulator.client(service)
    )
    secrets = task().containers[0].secrets
    aurora = values.secrets_manager["laravel/local/aurora"]
    assert isinstance(aurora, dict)
    assert resolver.fetch(secrets["DB_PASSWORD"]) == SecretValue(aurora["password"])
    assert resolver.fetch(secrets["MAIL_PASSWORD"]) == SecretValue(
        values.ssm["/laravel/local/mail-password"]
    )


def test_the_dev_values_resolve_to_what_the_seeded_emulator_answers(
    tmp_path: Path, emulator: Emulator
) -> None:
    """The local MySQL is created from the dev values while the emulator is seeded; the
    migration container then reads the same credentials through the emulator."""
    values = load_or_create(tmp_path / "s.json", demand_of([task()]))
    seed(values, secretsmanager=emulator.client("secretsmanager"), ssm=emulator.client("ssm"))
    through_emulator = AwsSecretResolver(
        client_factory=lambda service, *, region_name=None: emulator.client(service), by_name=True
    )
    local = DevValueResolver(values)
    for ref in task().containers[0].secrets.values():
        assert local.fetch(ref) == through_emulator.fetch(ref), ref.value_from
    whole = parse_value_from(AURORA)
    assert json.loads(local.fetch(whole).reveal()) == values.secrets_manager["laravel/local/aurora"]
    with pytest.raises(SecretUnavailable, match="no JSON key 'port'"):
        local.fetch(parse_value_from(f"{AURORA}:port::"))
    with pytest.raises(SecretUnavailable, match="no dev value"):
        local.fetch(parse_value_from(MAIL + "-other"))


def test_a_corrupt_values_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("{nope")
    with pytest.raises(ConfigError, match=r"secrets\.json is not valid JSON"):
        load_or_create(path, SecretDemand())


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ("[1, 2]", "the top level"),
        ('{"secretsmanager": [], "ssm": {}}', "secretsmanager"),
        ('{"secretsmanager": {"a": 5}, "ssm": {}}', "secretsmanager.a"),
        ('{"secretsmanager": {"a": {"password": 7}}, "ssm": {}}', "secretsmanager.a.password"),
        ('{"secretsmanager": {}, "ssm": {"p": null}}', "ssm.p"),
        ("42", "the top level"),
    ],
)
def test_a_secrets_file_of_the_wrong_shape_is_one_line_naming_file_and_key(
    tmp_path: Path, content: str, key: str
) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(content)
    for read in (read_dev_secrets, lambda p: load_or_create(p, demand_of([task()]))):
        with pytest.raises(ConfigError) as failure:
            read(path)
        message = str(failure.value)
        assert message.startswith(f"{path}: {key} must be ")
        assert "\n" not in message
    assert path.read_text() == content


def test_reading_the_values_for_redaction_leaves_the_file_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    content = '{"secretsmanager": {"a": "x1"}, "ssm": {"p": "y2"}}'
    path.write_text(content)
    path.chmod(0o644)
    before = path.stat().st_mtime_ns
    assert sorted(v.reveal() for v in stored_values(path)) == ["x1", "y2"]
    assert path.read_text() == content
    assert path.stat().st_mtime_ns == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
