"""The stand-ins of what a stack creates, made in the emulator: generated secret values, the
keys an RDS attachment adds, and the queue, bucket, parameter, topic and table, in the app's
account, where the task roles' credentials act too."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from parity.assembly.intrinsics import Resolver, StackScope
from parity.assembly.secretref import AwsSecretResolver, parse_value_from
from parity.assembly.standins import PasswordRule, StackResources, stack_resources
from parity.config.settings import EmulatorKind
from parity.errors import ConfigError
from parity.runtime.devsecrets import (
    SecretDemand,
    generate_password,
    load_or_create,
    seed,
    stack_secret_value,
)
from parity.runtime.standins import create_in_emulator, with_attachments
from parity.services.emulator import Emulator, start_emulator

from ..assembly.test_standins import ACCOUNT, ATTACHED, CLUSTER, GENERATED, REGION

TABLE = {
    "Type": "AWS::DynamoDB::Table",
    "Properties": {
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
    },
}
RESOURCES: dict[str, Any] = {
    "DbSecret": GENERATED,
    "Cluster": CLUSTER,
    "Attachment": ATTACHED,
    "Orders": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
    "Receipts": {"Type": "AWS::S3::Bucket", "Properties": {}},
    "Greeting": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/g", "Value": "hi"}},
    "Events": {"Type": "AWS::SNS::Topic", "Properties": {}},
    "Carts": TABLE,
}


def resources() -> StackResources:
    scope = StackScope(
        name="Shop", template={"Resources": RESOURCES}, account=ACCOUNT, region=REGION
    )
    return stack_resources(Resolver.create([scope]), ["Shop"])


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    running = start_emulator(EmulatorKind.MOTO, region=REGION, port=None)
    yield running
    running.stop()


def test_a_password_follows_the_rules_and_holds_each_included_class() -> None:
    rule = PasswordRule(length=30, exclude_characters="abc", exclude_punctuation=True)
    for _ in range(20):
        password = generate_password(rule)
        assert len(password) == 30
        assert not set(password) & set("abc" + string.punctuation)
        assert set(password) & set(string.digits)
        assert set(password) & set(string.ascii_uppercase)


def test_a_generated_secret_is_its_template_plus_the_generated_key() -> None:
    (secret,) = resources().secrets
    value = stack_secret_value(secret)
    assert isinstance(value, dict)
    assert value["username"] == "shop_admin"
    assert len(value["password"]) == 30


def test_the_dev_value_is_kept_and_no_key_is_invented(tmp_path: Path) -> None:
    (secret,) = resources().secrets
    # A container reads "host" (the attachment adds it) and "apikey" (nobody writes it).
    demand = SecretDemand(secrets_manager={secret.name: frozenset({"host", "apikey"})})
    first = load_or_create(tmp_path / "s.json", demand, stack_secrets=[secret])
    again = load_or_create(tmp_path / "s.json", demand, stack_secrets=[secret])
    assert first == again
    assert set(first.secrets_manager[secret.name]) == {"username", "password"}


def test_an_attached_secret_gets_the_local_mysql_keys(tmp_path: Path) -> None:
    found = resources()
    (secret,) = found.secrets
    values = with_attachments(
        load_or_create(tmp_path / "s.json", SecretDemand(), stack_secrets=[secret]), found
    )
    document = values.secrets_manager[secret.name]
    assert isinstance(document, dict)
    assert {k: document[k] for k in ("host", "port", "dbname", "engine")} == {
        "host": "rds-cluster",
        "port": 3306,
        "dbname": "shop",
        "engine": "mysql",
    }


def test_an_attached_secret_must_be_a_json_object(tmp_path: Path) -> None:
    found = resources()
    (secret,) = found.secrets
    values = load_or_create(tmp_path / "s.json", SecretDemand())
    plain = type(values)(secrets_manager={secret.name: "just-a-string"}, ssm={})
    with pytest.raises(ConfigError, match="must be a JSON object"):
        with_attachments(plain, found)


def test_the_stand_ins_answer_in_the_apps_account_under_the_resolved_names(
    tmp_path: Path, emulator: Emulator
) -> None:
    found = resources()

    def client(service: str) -> Any:
        return emulator.account_client(service, ACCOUNT)

    values = with_attachments(
        load_or_create(tmp_path / "s.json", SecretDemand(), stack_secrets=found.secrets), found
    )
    seed(values, secretsmanager=client("secretsmanager"), ssm=client("ssm"))
    create_in_emulator(found, client, region=REGION)
    create_in_emulator(found, client, region=REGION)  # a rerun keeps them
    # ECS's valueFrom for a key of the attached secret resolves, as the agent resolves it.
    (secret,) = found.secrets
    resolver = AwsSecretResolver(
        client_factory=lambda service, *, region_name=None: client(service), by_name=True
    )
    assert resolver.fetch(parse_value_from(f"{secret.arn}:host::")).reveal() == "rds-cluster"
    # The credentials a task role gets act in the same account, so an app finds them there.
    role = emulator.assume_role(f"arn:aws:iam::{ACCOUNT}:role/Task", session="test")

    def as_task(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=emulator.endpoint_url,
            region_name=REGION,
            aws_access_key_id=role["AccessKeyId"],
            aws_secret_access_key=role["SecretAccessKey"],
            aws_session_token=role["SessionToken"],
        )

    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/Shop-Orders"
    as_task("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"order": 1}))
    assert as_task("sqs").receive_message(QueueUrl=url)["Messages"][0]["Body"] == '{"order": 1}'
    as_task("s3").put_object(Bucket="shop-receipts", Key="r", Body=b"x")
    assert as_task("ssm").get_parameter(Name="/g")["Parameter"]["Value"] == "hi"
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:Shop-Events"
    assert as_task("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["TopicArn"] == topic
    assert as_task("dynamodb").describe_table(TableName="Shop-Carts")["Table"]["TableName"]
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:Shop/DbSecret"
    stored = json.loads(as_task("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    assert stored["dbname"] == "shop"
