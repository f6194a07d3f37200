"""Resources a stack creates that its containers reference, and the local stand-in of each.

A secret, a parameter, a queue or a bucket created in the same stack only has a name, an ARN
or a URL once deployed, so a container that reads one (``Ref``, ``Fn::GetAtt``, directly or
through another stack's export) gets a named local override instead: the value AWS would give
it, computed from the stack's account, region and partition and the resource's own properties,
and the resource itself is created under that name in the AWS emulator
(``parity.runtime.standins``). The emulator then answers for exactly the names and ARNs the
containers hold.

- ``AWS::SecretsManager::Secret``: a dev value that follows ``GenerateSecretString``, or its
  ``SecretString``; ``Ref`` is its (partial) ARN.
- ``AWS::SecretsManager::SecretTargetAttachment``: its secret, with the keys RDS writes
  (``host``, ``port``, ``dbname``, ``engine``) pointing at the local MySQL.
- ``AWS::RDS::DBCluster`` / ``DBInstance``: ``Endpoint.Address`` / ``Endpoint.Port`` are the
  local MySQL (a network alias of it on the run's network).
- ``AWS::SSM::Parameter``, ``AWS::SQS::Queue``, ``AWS::S3::Bucket``, ``AWS::SNS::Topic``,
  ``AWS::DynamoDB::Table``: created in the emulator from their properties.
- ``AWS::IAM::Role``: its ARN, which the local credentials endpoint assumes in the emulator.

Any other resource type a container references stays an error naming the field, the type and
the fargate-parity.toml key that overrides it (``parity.assembly.intrinsics``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from parity.assembly.intrinsics import LocalOverride, Resolver, StackScope
from parity.errors import ConfigError

SECRET = "AWS::SecretsManager::Secret"  # noqa: S105  (a type name, no value)
ATTACHMENT = "AWS::SecretsManager::SecretTargetAttachment"
DB_CLUSTER = "AWS::RDS::DBCluster"
DB_INSTANCE = "AWS::RDS::DBInstance"
PARAMETER = "AWS::SSM::Parameter"
QUEUE = "AWS::SQS::Queue"
BUCKET = "AWS::S3::Bucket"
TOPIC = "AWS::SNS::Topic"
TABLE = "AWS::DynamoDB::Table"
ROLE = "AWS::IAM::Role"
# The local MySQL listens on MySQL's port on the run's network, whatever the cluster declares.
LOCAL_DB_PORT = 3306
# Secrets Manager's GenerateSecretString defaults.
DEFAULT_PASSWORD_LENGTH = 32
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
DB_ENGINES = {"aurora-mysql": "mysql", "aurora": "mysql", "mysql": "mysql", "mariadb": "mariadb"}
EMULATOR_REASON = "created in the AWS emulator"
MYSQL_REASON = "the local MySQL stands in for RDS"


@dataclass(frozen=True, kw_only=True)
class PasswordRule:
    """``GenerateSecretString``'s rules for the generated part."""

    length: int = DEFAULT_PASSWORD_LENGTH
    exclude_characters: str = ""
    exclude_lowercase: bool = False
    exclude_uppercase: bool = False
    exclude_numbers: bool = False
    exclude_punctuation: bool = False
    include_space: bool = False

    @property
    def alphabet(self) -> str:
        classes = [
            ("abcdefghijklmnopqrstuvwxyz", self.exclude_lowercase),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", self.exclude_uppercase),
            ("0123456789", self.exclude_numbers),
            (PUNCTUATION, self.exclude_punctuation),
            (" ", not self.include_space),
        ]
        allowed = "".join(chars for chars, excluded in classes if not excluded)
        return "".join(c for c in allowed if c not in self.exclude_characters)


@dataclass(frozen=True, kw_only=True)
class DatabaseTarget:
    """What a SecretTargetAttachment adds to its secret: where the database is."""

    host: str
    port: int
    dbname: str | None
    engine: str

    def keys(self) -> dict[str, str | int]:
        keys: dict[str, str | int] = {"host": self.host, "port": self.port, "engine": self.engine}
        if self.dbname is not None:
            keys["dbname"] = self.dbname
        return keys


@dataclass(frozen=True, kw_only=True)
class StackSecret:
    """A Secrets Manager secret the stack creates."""

    stack: str
    logical_id: str
    name: str
    arn: str
    # The literal SecretString, when the template gives one.
    secret_string: str | None = None
    # GenerateSecretString: the JSON template and the key the generated password goes under
    # (None: the whole secret is the generated string).
    template: Mapping[str, Any] | None = None
    generate_key: str | None = None
    rule: PasswordRule = field(default_factory=PasswordRule)
    # Set by a SecretTargetAttachment to an RDS cluster or instance.
    target: DatabaseTarget | None = None


@dataclass(frozen=True, kw_only=True)
class StackDatabase:
    """An RDS cluster or instance: the local MySQL under its endpoint names."""

    stack: str
    logical_id: str
    resource_type: str
    engine: str
    database_name: str | None

    @property
    def local_host(self) -> str:
        """A network alias of the local MySQL: what the endpoint attributes resolve to."""
        return f"rds-{self.logical_id.lower()}"


@dataclass(frozen=True, kw_only=True)
class EmulatorResource:
    """A parameter, queue, bucket, topic or table, created in the emulator under ``name``."""

    stack: str
    logical_id: str
    resource_type: str
    name: str
    arn: str
    # What creating it takes beyond the name: a parameter's value and type, a queue's
    # attributes, a table's keys.
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class StandIn:
    """One stand-in, as ``invoke parity`` lists it."""

    stack: str
    logical_id: str
    resource_type: str
    local: str
    overrides: tuple[LocalOverride, ...]


@dataclass(frozen=True, kw_only=True)
class StackResources:
    """Every stand-in of an environment's stacks."""

    secrets: tuple[StackSecret, ...] = ()
    databases: tuple[StackDatabase, ...] = ()
    resources: tuple[EmulatorResource, ...] = ()
    roles: Mapping[str, str] = field(default_factory=dict)  # role ARN → stack/logical id
    stand_ins: tuple[StandIn, ...] = ()

    @property
    def overrides(self) -> tuple[LocalOverride, ...]:
        return tuple(o for stand_in in self.stand_ins for o in stand_in.overrides)

    def of_type(self, resource_type: str) -> tuple[EmulatorResource, ...]:
        return tuple(r for r in self.resources if r.resource_type == resource_type)


def stack_resources(resolver: Resolver, stacks: Iterable[str]) -> StackResources:
    """The stand-ins of every supported resource of ``stacks``."""
    secrets: list[StackSecret] = []
    databases: list[StackDatabase] = []
    resources: list[EmulatorResource] = []
    roles: dict[str, str] = {}
    stand_ins: list[StandIn] = []
    for scope in (resolver.scope(name) for name in stacks):
        reader = _Reader(resolver, scope)
        in_stack: dict[str, StackDatabase] = {}
        for logical_id, resource in reader.resources(DB_CLUSTER, DB_INSTANCE):
            database = reader.database(logical_id, resource)
            in_stack[logical_id] = database
            databases.append(database)
            stand_ins.append(_database_stand_in(database))
        attachments = {
            reader.secret_of(logical_id, resource): (logical_id, resource)
            for logical_id, resource in reader.resources(ATTACHMENT)
        }
        for logical_id, resource in reader.resources(SECRET):
            attachment = attachments.get(logical_id)
            target = None
            if attachment is not None:
                target = reader.target(*attachment, in_stack)
            secret = reader.secret(logical_id, resource, target)
            secrets.append(secret)
            stand_ins.append(_secret_stand_in(secret))
            if attachment is not None:
                stand_ins.append(
                    StandIn(
                        stack=scope.name,
                        logical_id=attachment[0],
                        resource_type=ATTACHMENT,
                        local=f"host, port, dbname, engine of {secret.name}: the local MySQL",
                        overrides=(_ref(scope, attachment[0], secret.arn),),
                    )
                )
        for resource_type, read in reader.emulated.items():
            for logical_id, resource in reader.resources(resource_type):
                item, overrides = read(logical_id, resource)
                resources.append(item)
                stand_ins.append(
                    StandIn(
                        stack=scope.name,
                        logical_id=logical_id,
                        resource_type=resource_type,
                        local=f"{item.name} in the AWS emulator",
                        overrides=overrides,
                    )
                )
        for logical_id, resource in reader.resources(ROLE):
            name, arn = reader.role(logical_id, resource)
            roles[arn] = f"{scope.name}/{logical_id}"
            stand_ins.append(
                StandIn(
                    stack=scope.name,
                    logical_id=logical_id,
                    resource_type=ROLE,
                    local="its ARN, assumed in the AWS emulator by the credentials endpoint",
                    overrides=(
                        _ref(scope, logical_id, name),
                        _get_att(scope, logical_id, "Arn", arn),
                    ),
                )
            )
    return StackResources(
        secrets=tuple(secrets),
        databases=tuple(databases),
        resources=tuple(resources),
        roles=roles,
        stand_ins=tuple(stand_ins),
    )


def _ref(scope: StackScope, logical_id: str, value: Any) -> LocalOverride:
    return LocalOverride.ref(
        stack=scope.name, target=logical_id, value=value, reason=EMULATOR_REASON
    )


def _get_att(
    scope: StackScope, logical_id: str, attribute: str, value: Any, reason: str = EMULATOR_REASON
) -> LocalOverride:
    return LocalOverride.get_att(
        stack=scope.name, logical_id=logical_id, attribute=attribute, value=value, reason=reason
    )


def _secret_stand_in(secret: StackSecret) -> StandIn:
    if secret.secret_string is not None:
        local = f"{secret.name} in the AWS emulator, its SecretString"
    else:
        local = f"{secret.name} in the AWS emulator, a dev value following GenerateSecretString"
    scope_overrides = (
        LocalOverride.ref(
            stack=secret.stack, target=secret.logical_id, value=secret.arn, reason=EMULATOR_REASON
        ),
        LocalOverride.get_att(
            stack=secret.stack,
            logical_id=secret.logical_id,
            attribute="Id",
            value=secret.arn,
            reason=EMULATOR_REASON,
        ),
    )
    return StandIn(
        stack=secret.stack,
        logical_id=secret.logical_id,
        resource_type=SECRET,
        local=local,
        overrides=scope_overrides,
    )


def _database_stand_in(database: StackDatabase) -> StandIn:
    endpoints = ["Endpoint"] + (["ReadEndpoint"] if database.resource_type == DB_CLUSTER else [])
    overrides = [
        LocalOverride.get_att(
            stack=database.stack,
            logical_id=database.logical_id,
            attribute=f"{endpoint}.{part}",
            value=value,
            reason=MYSQL_REASON,
        )
        for endpoint in endpoints
        for part, value in (("Address", database.local_host), ("Port", str(LOCAL_DB_PORT)))
    ]
    return StandIn(
        stack=database.stack,
        logical_id=database.logical_id,
        resource_type=database.resource_type,
        local=f"the local MySQL as {database.local_host}:{LOCAL_DB_PORT}",
        overrides=tuple(overrides),
    )


@dataclass(frozen=True)
class _Reader:
    """Reads one stack's resources; only the properties a stand-in needs are resolved."""

    resolver: Resolver
    scope: StackScope

    @property
    def emulated(self) -> dict[str, Any]:
        return {
            PARAMETER: self.parameter,
            QUEUE: self.queue,
            BUCKET: self.bucket,
            TOPIC: self.topic,
            TABLE: self.table,
        }

    def resources(self, *types: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for logical_id, resource in self.scope.template.get("Resources", {}).items():
            if resource.get("Type") in types:
                yield logical_id, resource

    def property(self, logical_id: str, resource: Mapping[str, Any], name: str) -> Any:
        properties = resource.get("Properties", {})
        if name not in properties:
            return None
        return self.resolver.resolve(
            properties[name], stack=self.scope.name, path=f"{logical_id}.{name}"
        )

    def text(self, logical_id: str, resource: Mapping[str, Any], name: str) -> str | None:
        value = self.property(logical_id, resource, name)
        if value is None:
            return None
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ConfigError(f"{self.where(logical_id)}.{name} is {value!r}, not a string")
        return str(value)

    def where(self, logical_id: str) -> str:
        return f"{self.scope.name} {logical_id}"

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        scope = self.scope
        return (
            f"arn:{scope.partition}:{service}:{scope.region if region else ''}:{scope.account}"
            f":{resource}"
        )

    def generated_name(self, logical_id: str, *, limit: int, separator: str = "-") -> str:
        """The physical name CloudFormation would generate, without its random suffix."""
        return f"{self.scope.name}{separator}{logical_id}"[:limit]

    def fifo_name(
        self,
        logical_id: str,
        resource: Mapping[str, Any],
        *,
        name_key: str,
        fifo_key: str,
        limit: int,
    ) -> tuple[str, bool]:
        """A queue's or topic's name (given, or generated ending in ".fifo" for a FIFO one,
        within ``limit``), and whether it is FIFO."""
        fifo = self.property(logical_id, resource, fifo_key) in (True, "true")
        name = self.text(logical_id, resource, name_key)
        if name is None:
            suffix = ".fifo" if fifo else ""
            name = self.generated_name(logical_id, limit=limit - len(suffix)) + suffix
        return name, fifo

    # -- secrets -------------------------------------------------------------------------

    def secret(
        self, logical_id: str, resource: Mapping[str, Any], target: DatabaseTarget | None
    ) -> StackSecret:
        # "/" cannot be part of a name CloudFormation writes, and never ends in the
        # "-XXXXXX" an ARN's random suffix looks like.
        name = self.text(logical_id, resource, "Name") or self.generated_name(
            logical_id, limit=512, separator="/"
        )
        arn = self.arn("secretsmanager", f"secret:{name}")
        literal = self.text(logical_id, resource, "SecretString")
        generate = self.property(logical_id, resource, "GenerateSecretString")
        if literal is not None or generate is None:
            if literal is None:
                raise ConfigError(
                    f"{self.where(logical_id)} has neither SecretString nor"
                    " GenerateSecretString; the local stand-in takes its value from one of them"
                )
            return StackSecret(
                stack=self.scope.name,
                logical_id=logical_id,
                name=name,
                arn=arn,
                secret_string=literal,
                target=target,
            )
        path = f"{self.where(logical_id)}.GenerateSecretString"
        if not isinstance(generate, dict):
            raise ConfigError(f"{path} is {generate!r}, not an object")
        template_text = generate.get("SecretStringTemplate")
        key = generate.get("GenerateStringKey")
        if (template_text is None) != (key is None):
            raise ConfigError(
                f"{path} sets only one of SecretStringTemplate and GenerateStringKey; both or"
                " neither, as Secrets Manager requires"
            )
        template = None
        if template_text is not None:
            try:
                template = json.loads(str(template_text))
            except json.JSONDecodeError:
                template = None
            if not isinstance(template, dict):
                raise ConfigError(f"{path}.SecretStringTemplate is not a JSON object")
        return StackSecret(
            stack=self.scope.name,
            logical_id=logical_id,
            name=name,
            arn=arn,
            template=template,
            generate_key=None if key is None else str(key),
            rule=_password_rule(generate, path),
            target=target,
        )

    def secret_of(self, logical_id: str, resource: Mapping[str, Any]) -> str:
        """The logical id of the secret an attachment attaches to (a Ref in the stack)."""
        secret_id = resource.get("Properties", {}).get("SecretId")
        if isinstance(secret_id, dict) and list(secret_id) == ["Ref"]:
            return str(secret_id["Ref"])
        raise ConfigError(
            f"{self.where(logical_id)}.SecretId is {json.dumps(secret_id)}; the local stand-in"
            " attaches only a secret of the same stack, given by Ref"
        )

    def target(
        self,
        logical_id: str,
        resource: Mapping[str, Any],
        databases: Mapping[str, StackDatabase],
    ) -> DatabaseTarget:
        properties = resource.get("Properties", {})
        target_id = properties.get("TargetId")
        target_type = properties.get("TargetType")
        name = target_id.get("Ref") if isinstance(target_id, dict) else None
        database = databases.get(str(name))
        if database is None or target_type not in (DB_CLUSTER, DB_INSTANCE):
            raise ConfigError(
                f"{self.where(logical_id)}.TargetId is {json.dumps(target_id)} ({target_type});"
                " the local stand-in attaches a secret only to an RDS cluster or instance of the"
                " same stack"
            )
        return DatabaseTarget(
            host=database.local_host,
            port=LOCAL_DB_PORT,
            dbname=database.database_name,
            engine=DB_ENGINES.get(database.engine, database.engine),
        )

    def database(self, logical_id: str, resource: Mapping[str, Any]) -> StackDatabase:
        engine = (self.text(logical_id, resource, "Engine") or "").lower()
        if engine not in DB_ENGINES:
            raise ConfigError(
                f"{self.where(logical_id)}.Engine is {engine or 'not set'}; the local MySQL stands"
                f" in only for {', '.join(sorted(DB_ENGINES))}"
            )
        name_property = "DatabaseName" if resource["Type"] == DB_CLUSTER else "DBName"
        return StackDatabase(
            stack=self.scope.name,
            logical_id=logical_id,
            resource_type=str(resource["Type"]),
            engine=engine,
            database_name=self.text(logical_id, resource, name_property),
        )

    # -- emulated resources --------------------------------------------------------------

    def parameter(
        self, logical_id: str, resource: Mapping[str, Any]
    ) -> tuple[EmulatorResource, tuple[LocalOverride, ...]]:
        name = self.text(logical_id, resource, "Name") or (
            f"CFN-{self.generated_name(logical_id, limit=1000)}"
        )
        value = self.text(logical_id, resource, "Value")
        if value is None:
            raise ConfigError(f"{self.where(logical_id)}.Value is not set")
        kind = self.text(logical_id, resource, "Type") or "String"
        path = name if name.startswith("/") else f"/{name}"
        item = EmulatorResource(
            stack=self.scope.name,
            logical_id=logical_id,
            resource_type=PARAMETER,
            name=name,
            arn=self.arn("ssm", f"parameter{path}"),
            properties={"Value": value, "Type": kind},
        )
        scope = self.scope
        return item, (
            _ref(scope, logical_id, name),
            _get_att(scope, logical_id, "Value", value),
            _get_att(scope, logical_id, "Type", kind),
        )

    def queue(
        self, logical_id: str, resource: Mapping[str, Any]
    ) -> tuple[EmulatorResource, tuple[LocalOverride, ...]]:
        name, _ = self.fifo_name(
            logical_id, resource, name_key="QueueName", fifo_key="FifoQueue", limit=80
        )
        attributes = {
            key: str(value).lower() if isinstance(value, bool) else str(value)
            for key in (
                "VisibilityTimeout",
                "MessageRetentionPeriod",
                "DelaySeconds",
                "ReceiveMessageWaitTimeSeconds",
                "MaximumMessageSize",
                "FifoQueue",
                "ContentBasedDeduplication",
            )
            if (value := self.property(logical_id, resource, key)) is not None
        }
        scope = self.scope
        url = f"https://sqs.{scope.region}.{scope.url_suffix}/{scope.account}/{name}"
        item = EmulatorResource(
            stack=scope.name,
            logical_id=logical_id,
            resource_type=QUEUE,
            name=name,
            arn=self.arn("sqs", name),
            properties={"Attributes": attributes},
        )
        return item, (
            _ref(scope, logical_id, url),
            _get_att(scope, logical_id, "QueueUrl", url),
            _get_att(scope, logical_id, "Arn", item.arn),
            _get_att(scope, logical_id, "QueueName", name),
        )

    def bucket(
        self, logical_id: str, resource: Mapping[str, Any]
    ) -> tuple[EmulatorResource, tuple[LocalOverride, ...]]:
        name = self.text(logical_id, resource, "BucketName")
        if name is None:
            name = self.generated_name(logical_id, limit=63).lower().strip("-")
        scope = self.scope
        suffix = scope.url_suffix
        item = EmulatorResource(
            stack=scope.name,
            logical_id=logical_id,
            resource_type=BUCKET,
            name=name,
            arn=f"arn:{scope.partition}:s3:::{name}",
        )
        return item, (
            _ref(scope, logical_id, name),
            _get_att(scope, logical_id, "Arn", item.arn),
            _get_att(scope, logical_id, "DomainName", f"{name}.s3.{suffix}"),
            _get_att(scope, logical_id, "RegionalDomainName", f"{name}.s3.{scope.region}.{suffix}"),
        )

    def topic(
        self, logical_id: str, resource: Mapping[str, Any]
    ) -> tuple[EmulatorResource, tuple[LocalOverride, ...]]:
        name, fifo = self.fifo_name(
            logical_id, resource, name_key="TopicName", fifo_key="FifoTopic", limit=256
        )
        scope = self.scope
        item = EmulatorResource(
            stack=scope.name,
            logical_id=logical_id,
            resource_type=TOPIC,
            name=name,
            arn=self.arn("sns", name),
            properties={"Attributes": {"FifoTopic": "true"} if fifo else {}},
        )
        return item, (
            _ref(scope, logical_id, item.arn),
            _get_att(scope, logical_id, "TopicArn", item.arn),
            _get_att(scope, logical_id, "TopicName", name),
        )

    def table(
        self, logical_id: str, resource: Mapping[str, Any]
    ) -> tuple[EmulatorResource, tuple[LocalOverride, ...]]:
        name = self.text(logical_id, resource, "TableName") or self.generated_name(
            logical_id, limit=255
        )
        keys = self.property(logical_id, resource, "KeySchema")
        definitions = self.property(logical_id, resource, "AttributeDefinitions")
        if not keys or not definitions:
            raise ConfigError(
                f"{self.where(logical_id)} needs KeySchema and AttributeDefinitions for its"
                " table in the AWS emulator"
            )
        scope = self.scope
        item = EmulatorResource(
            stack=scope.name,
            logical_id=logical_id,
            resource_type=TABLE,
            name=name,
            arn=self.arn("dynamodb", f"table/{name}"),
            properties={"KeySchema": keys, "AttributeDefinitions": definitions},
        )
        return item, (
            _ref(scope, logical_id, name),
            _get_att(scope, logical_id, "Arn", item.arn),
        )

    def role(self, logical_id: str, resource: Mapping[str, Any]) -> tuple[str, str]:
        name = self.text(logical_id, resource, "RoleName") or self.generated_name(
            logical_id, limit=64
        )
        path = self.text(logical_id, resource, "Path") or "/"
        return name, self.arn("iam", f"role{path}{name}", region=False)


def _password_rule(generate: Mapping[str, Any], path: str) -> PasswordRule:
    def flag(key: str) -> bool:
        return generate.get(key) in (True, "true")

    length = generate.get("PasswordLength", DEFAULT_PASSWORD_LENGTH)
    if isinstance(length, str) and length.isdigit():
        length = int(length)
    if not isinstance(length, int) or isinstance(length, bool) or not 1 <= length <= 4096:
        raise ConfigError(f"{path}.PasswordLength is {length!r}, not a number from 1 to 4096")
    rule = PasswordRule(
        length=length,
        exclude_characters=str(generate.get("ExcludeCharacters", "")),
        exclude_lowercase=flag("ExcludeLowercase"),
        exclude_uppercase=flag("ExcludeUppercase"),
        exclude_numbers=flag("ExcludeNumbers"),
        exclude_punctuation=flag("ExcludePunctuation"),
        include_space=flag("IncludeSpace"),
    )
    if not rule.alphabet:
        raise ConfigError(f"{path} excludes every character; nothing is left to generate from")
    return rule
