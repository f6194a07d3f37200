"""Create the stand-ins of the resources a stack creates in the AWS emulator, under the names
and in the account ``parity.assembly.standins`` resolved the containers' references to.

A secret attached to an RDS cluster gets the keys RDS writes into it (host, port, dbname,
engine), pointing at the local MySQL; they are added when the secret is seeded, not kept in the
dev values file, so a changed stand-in never leaves a stale host behind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from parity.assembly.standins import (
    BUCKET,
    PARAMETER,
    QUEUE,
    TABLE,
    TOPIC,
    EmulatorResource,
    StackResources,
)
from parity.errors import ConfigError, HarnessError
from parity.runtime.devsecrets import DevSecrets

ServiceClient = Callable[[str], Any]
# What an emulator answers when the resource is already there, from an earlier run.
_ALREADY_THERE = {"BucketAlreadyOwnedByYou", "ResourceInUseException", "QueueAlreadyExists"}


def with_attachments(values: DevSecrets, resources: StackResources) -> DevSecrets:
    """The dev values with each attached secret's database keys added, as RDS adds them."""
    managed = dict(values.secrets_manager)
    for secret in resources.secrets:
        if secret.target is None:
            continue
        document = managed.get(secret.name)
        if not isinstance(document, dict):
            raise ConfigError(
                f"{secret.stack} {secret.logical_id} is attached to an RDS database, so its value"
                " must be a JSON object (GenerateSecretString with SecretStringTemplate and"
                " GenerateStringKey)"
            )
        managed[secret.name] = {**document, **secret.target.keys()}
    return DevSecrets(secrets_manager=managed, ssm=values.ssm)


def create_in_emulator(resources: StackResources, client: ServiceClient, *, region: str) -> None:
    """Create every parameter, queue, bucket, topic and table (idempotent: a rerun keeps them)."""
    creators: dict[str, Callable[[Any, EmulatorResource], None]] = {
        PARAMETER: _parameter,
        QUEUE: _queue,
        BUCKET: lambda s3, item: _bucket(s3, item, region=region),
        TOPIC: _topic,
        TABLE: _table,
    }
    services = {PARAMETER: "ssm", QUEUE: "sqs", BUCKET: "s3", TOPIC: "sns", TABLE: "dynamodb"}
    clients: dict[str, Any] = {}
    for item in resources.resources:
        service = services[item.resource_type]
        if service not in clients:
            clients[service] = client(service)
        try:
            creators[item.resource_type](clients[service], item)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "ClientError")
            if code in _ALREADY_THERE:
                continue
            raise HarnessError(
                f"the AWS emulator could not create {item.resource_type} {item.name} "
                f"({item.stack} {item.logical_id}): {code}"
            ) from None


def _parameter(ssm: Any, item: EmulatorResource) -> None:
    ssm.put_parameter(
        Name=item.name,
        Value=item.properties["Value"],
        Type=item.properties["Type"],
        Overwrite=True,
    )


def _queue(sqs: Any, item: EmulatorResource) -> None:
    sqs.create_queue(QueueName=item.name, Attributes=dict(item.properties["Attributes"]))


def _bucket(s3: Any, item: EmulatorResource, *, region: str) -> None:
    if region == "us-east-1":
        s3.create_bucket(Bucket=item.name)
    else:
        s3.create_bucket(Bucket=item.name, CreateBucketConfiguration={"LocationConstraint": region})


def _topic(sns: Any, item: EmulatorResource) -> None:
    sns.create_topic(Name=item.name, Attributes=dict(item.properties["Attributes"]))


def _table(dynamodb: Any, item: EmulatorResource) -> None:
    dynamodb.create_table(
        TableName=item.name,
        KeySchema=item.properties["KeySchema"],
        AttributeDefinitions=item.properties["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
