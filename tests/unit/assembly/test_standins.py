"""Resources a stack creates: the stand-in of each type, what a container's reference resolves
to, and the errors for what has no stand-in."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parity.assembly.intrinsics import Resolver, StackScope
from parity.assembly.standins import (
    ATTACHMENT,
    BUCKET,
    DB_CLUSTER,
    PARAMETER,
    QUEUE,
    ROLE,
    SECRET,
    TABLE,
    TOPIC,
    StackResources,
    stack_resources,
)
from parity.errors import ConfigError, UnresolvableField

ACCOUNT, REGION = "111111111111", "eu-central-1"


def scope(resources: dict[str, Any]) -> StackScope:
    return StackScope(
        name="Shop", template={"Resources": resources}, account=ACCOUNT, region=REGION
    )


def read(resources: dict[str, Any]) -> StackResources:
    return stack_resources(Resolver.create([scope(resources)]), ["Shop"])


def resolve(resources: dict[str, Any], expression: Any) -> Any:
    """``expression`` as a container in the stack reads it, with the stand-ins applied."""
    found = read(resources)
    resolver = Resolver.create([scope(resources)], overrides=found.overrides)
    return resolver.resolve(expression, stack="Shop", path="Task.Environment")


GENERATED = {
    "Type": SECRET,
    "Properties": {
        "GenerateSecretString": {
            "SecretStringTemplate": json.dumps({"username": "shop_admin"}),
            "GenerateStringKey": "password",
            "PasswordLength": 30,
            "ExcludeCharacters": " %+~`#$&*()|[]{}:;<>?!'/@\"\\",
        }
    },
}
CLUSTER = {
    "Type": DB_CLUSTER,
    "Properties": {"Engine": "aurora-mysql", "DatabaseName": "shop", "Port": 3307},
}
ATTACHED = {
    "Type": ATTACHMENT,
    "Properties": {
        "SecretId": {"Ref": "DbSecret"},
        "TargetId": {"Ref": "Cluster"},
        "TargetType": DB_CLUSTER,
    },
}


def test_a_generated_secret_follows_its_template_and_rules() -> None:
    (secret,) = read({"DbSecret": GENERATED}).secrets
    assert secret.name == "Shop/DbSecret"
    assert secret.arn == f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:Shop/DbSecret"
    assert secret.template == {"username": "shop_admin"}
    assert secret.generate_key == "password"
    assert secret.rule.length == 30
    assert not set(secret.rule.alphabet) & set(" %+~`#$&*()|[]{}:;<>?!'/@\"\\")
    assert secret.target is None


def test_a_secret_ref_is_its_arn_and_a_name_property_is_kept() -> None:
    named = {"Type": SECRET, "Properties": {"Name": "shop/api-key", "SecretString": "k"}}
    arn = resolve({"ApiKey": named}, {"Ref": "ApiKey"})
    assert arn == f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shop/api-key"
    (secret,) = read({"ApiKey": named}).secrets
    assert secret.secret_string == "k"


def test_an_attachment_adds_the_local_mysql_as_rds_writes_it() -> None:
    resources = {"DbSecret": GENERATED, "Cluster": CLUSTER, "Attachment": ATTACHED}
    found = read(resources)
    (secret,) = found.secrets
    (database,) = found.databases
    assert secret.target is not None
    assert secret.target.keys() == {
        "host": database.local_host,
        "port": 3306,  # the local MySQL's, whatever the cluster declares
        "dbname": "shop",
        "engine": "mysql",
    }
    # The attachment's Ref is the secret's ARN, as CloudFormation's is.
    value_from = {"Fn::Join": ["", [{"Ref": "Attachment"}, ":host::"]]}
    assert resolve(resources, value_from) == f"{secret.arn}:host::"


def test_the_rds_endpoint_is_the_local_mysql() -> None:
    resources = {"Cluster": CLUSTER}
    (database,) = read(resources).databases
    address = resolve(resources, {"Fn::GetAtt": ["Cluster", "Endpoint.Address"]})
    assert address == database.local_host == "rds-cluster"
    assert resolve(resources, {"Fn::GetAtt": ["Cluster", "Endpoint.Port"]}) == "3306"
    assert resolve(resources, {"Fn::GetAtt": ["Cluster", "ReadEndpoint.Address"]}) == address


@pytest.mark.parametrize(
    ("resource", "expression", "expected"),
    [
        (
            {"Type": PARAMETER, "Properties": {"Name": "/shop/greeting", "Value": "hi"}},
            {"Ref": "It"},
            "/shop/greeting",
        ),
        (
            {"Type": PARAMETER, "Properties": {"Name": "/shop/greeting", "Value": "hi"}},
            {"Fn::GetAtt": ["It", "Value"]},
            "hi",
        ),
        (
            {"Type": QUEUE, "Properties": {}},
            {"Ref": "It"},
            f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/Shop-It",
        ),
        (
            {"Type": QUEUE, "Properties": {"FifoQueue": True}},
            {"Fn::GetAtt": ["It", "QueueName"]},
            "Shop-It.fifo",
        ),
        (
            {"Type": QUEUE, "Properties": {"QueueName": "orders"}},
            {"Fn::GetAtt": ["It", "Arn"]},
            f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders",
        ),
        ({"Type": BUCKET, "Properties": {}}, {"Ref": "It"}, "shop-it"),
        (
            {"Type": BUCKET, "Properties": {"BucketName": "receipts"}},
            {"Fn::GetAtt": ["It", "RegionalDomainName"]},
            f"receipts.s3.{REGION}.amazonaws.com",
        ),
        (
            {"Type": TOPIC, "Properties": {"TopicName": "events"}},
            {"Ref": "It"},
            f"arn:aws:sns:{REGION}:{ACCOUNT}:events",
        ),
        (
            {
                "Type": TABLE,
                "Properties": {
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                },
            },
            {"Fn::GetAtt": ["It", "Arn"]},
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Shop-It",
        ),
        (
            {"Type": ROLE, "Properties": {"Path": "/app/"}},
            {"Fn::GetAtt": ["It", "Arn"]},
            f"arn:aws:iam::{ACCOUNT}:role/app/Shop-It",
        ),
    ],
)
def test_each_emulated_resource_resolves_to_what_aws_would_name_it(
    resource: dict[str, Any], expression: Any, expected: str
) -> None:
    assert resolve({"It": resource}, expression) == expected


def test_emulated_resources_carry_what_creating_them_takes() -> None:
    queue = {"Type": QUEUE, "Properties": {"VisibilityTimeout": 30, "FifoQueue": True}}
    parameter = {"Type": PARAMETER, "Properties": {"Value": "v", "Type": "StringList"}}
    found = read({"Queue": queue, "Param": parameter})
    (created_queue,) = found.of_type(QUEUE)
    assert created_queue.properties == {
        "Attributes": {"VisibilityTimeout": "30", "FifoQueue": "true"}
    }
    (created_parameter,) = found.of_type(PARAMETER)
    assert created_parameter.name == "CFN-Shop-Param"
    assert created_parameter.properties == {"Value": "v", "Type": "StringList"}


def test_every_stand_in_is_listed_once_with_its_type() -> None:
    resources = {"DbSecret": GENERATED, "Cluster": CLUSTER, "Attachment": ATTACHED}
    listed = {(s.resource_type, s.logical_id) for s in read(resources).stand_ins}
    assert listed == {(SECRET, "DbSecret"), (DB_CLUSTER, "Cluster"), (ATTACHMENT, "Attachment")}


def test_a_reference_to_a_type_without_a_stand_in_names_field_type_and_config_key() -> None:
    resources = {"Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {}}}
    with pytest.raises(UnresolvableField) as caught:
        resolve(resources, {"Fn::GetAtt": ["Stream", "Arn"]})
    message = str(caught.value)
    assert message.startswith("Shop Task.Environment: cannot resolve")
    assert "(resource type AWS::Kinesis::Stream)" in message
    assert '[[environments.ENV.overrides]] get_att = "Shop:Stream.Arn"' in message


@pytest.mark.parametrize(
    ("resources", "complaint"),
    [
        ({"S": {"Type": SECRET, "Properties": {}}}, "neither SecretString nor"),
        (
            {
                "S": {
                    "Type": SECRET,
                    "Properties": {"GenerateSecretString": {"GenerateStringKey": "password"}},
                }
            },
            "sets only one of SecretStringTemplate and GenerateStringKey",
        ),
        (
            {
                "S": {
                    "Type": SECRET,
                    "Properties": {
                        "GenerateSecretString": {
                            "SecretStringTemplate": "[1]",
                            "GenerateStringKey": "password",
                        }
                    },
                }
            },
            "SecretStringTemplate is not a JSON object",
        ),
        (
            {
                "S": {
                    "Type": SECRET,
                    "Properties": {"GenerateSecretString": {"PasswordLength": "long"}},
                }
            },
            "PasswordLength is 'long'",
        ),
        (
            {
                "S": {
                    "Type": SECRET,
                    "Properties": {
                        "GenerateSecretString": {
                            "ExcludeLowercase": True,
                            "ExcludeUppercase": True,
                            "ExcludeNumbers": True,
                            "ExcludePunctuation": True,
                        }
                    },
                }
            },
            "excludes every character",
        ),
        ({"Db": {"Type": DB_CLUSTER, "Properties": {"Engine": "postgres"}}}, "Engine is postgres"),
        (
            {
                "S": GENERATED,
                "A": {
                    "Type": ATTACHMENT,
                    "Properties": {"SecretId": "arn:aws:secretsmanager:x", "TargetId": "db"},
                },
            },
            "attaches only a secret of the same stack",
        ),
        (
            {
                "S": GENERATED,
                "A": {
                    "Type": ATTACHMENT,
                    "Properties": {
                        "SecretId": {"Ref": "S"},
                        "TargetId": {"Ref": "Docs"},
                        "TargetType": "AWS::DocDB::DBCluster",
                    },
                },
            },
            "only to an RDS cluster or instance",
        ),
        ({"P": {"Type": PARAMETER, "Properties": {"Name": "/p"}}}, "Shop P.Value is not set"),
        ({"T": {"Type": TABLE, "Properties": {}}}, "needs KeySchema and AttributeDefinitions"),
    ],
)
def test_what_a_stand_in_cannot_be_made_from_is_one_line_naming_it(
    resources: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        read(resources)
    assert complaint in str(caught.value)
