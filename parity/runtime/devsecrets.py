"""Dev values for the secrets the task definitions reference, and seeding them.

The first local run generates a value for every Secrets Manager secret (and each JSON
key the task definitions read from it) and every SSM parameter, and keeps them in a
gitignored file readable only by its owner. Each run seeds them into the AWS emulator;
containers then resolve them from there, as the ECS agent resolves them from AWS.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from parity.assembly.secretref import (
    SecretRef,
    SecretResolver,
    SecretService,
    SecretUnavailable,
    resolve_secrets,
)
from parity.assembly.standins import PasswordRule, StackSecret
from parity.assembly.taskdef import TaskDefinition
from parity.errors import ConfigError
from parity.secretvalue import SecretValue

ALPHABET = string.ascii_letters + string.digits
# Laravel reads a 32-character APP_KEY as a raw AES-256 key, so one length fits all.
GENERATED_LENGTH = 32
# Values a dev database accepts as a user name (MySQL caps it at 32 characters).
USERNAME_KEYS = frozenset({"username", "user"})


@dataclass(frozen=True)
class SecretDemand:
    """Which secrets the tasks read: Secrets Manager names with JSON keys, SSM names."""

    secrets_manager: Mapping[str, frozenset[str | None]] = field(default_factory=dict)
    ssm: frozenset[str] = frozenset()


def demand_of(tasks: Iterable[TaskDefinition], *, extra: Iterable[SecretRef] = ()) -> SecretDemand:
    """What the tasks' containers read, and ``extra`` (the Redis caches' AUTH tokens)."""
    managed: dict[str, set[str | None]] = {}
    parameters: set[str] = set()
    refs = [ref for task in tasks for c in task.containers for ref in c.secrets.values()]
    for ref in [*refs, *extra]:
        if ref.service is SecretService.SSM:
            parameters.add(ref.name)
        else:
            managed.setdefault(ref.name, set()).add(ref.json_key)
    return SecretDemand(
        secrets_manager={name: frozenset(keys) for name, keys in managed.items()},
        ssm=frozenset(parameters),
    )


def generate_password(rule: PasswordRule) -> str:
    """A password as Secrets Manager's GenerateSecretString makes one: ``rule.length``
    characters of its alphabet, with at least one of each character class it includes."""
    alphabet = rule.alphabet
    classes = [
        group
        for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
        if any(c in alphabet for c in group)
    ]
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(rule.length))
        if rule.length < len(classes) or all(any(c in g for c in password) for g in classes):
            return password


def stack_secret_value(secret: StackSecret) -> str | dict[str, Any]:
    """The dev value of a secret the stack creates: its SecretString, or what its
    GenerateSecretString would make (the template with the generated key added)."""
    if secret.secret_string is not None:
        return secret.secret_string
    password = generate_password(secret.rule)
    if secret.template is None or secret.generate_key is None:
        return password
    return {**secret.template, secret.generate_key: password}


def generate(key: str | None = None) -> str:
    if key in USERNAME_KEYS:
        return "app_" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
    return "".join(secrets.choice(ALPHABET) for _ in range(GENERATED_LENGTH))


@dataclass(frozen=True)
class DevSecrets:
    """The dev values: secret name → string or JSON object; parameter name → string."""

    secrets_manager: Mapping[str, str | Mapping[str, Any]]
    ssm: Mapping[str, str]

    def to_json(self) -> str:
        return json.dumps(
            {"secretsmanager": self.secrets_manager, "ssm": self.ssm}, indent=2, sort_keys=True
        )


def read_dev_secrets(path: Path) -> DevSecrets:
    """The dev values file as it is (empty when missing), checked: a ConfigError names the
    file and the key that holds something else than a string (or, in Secrets Manager, an
    object of strings). Nothing is written."""
    if not path.exists():
        return DevSecrets(secrets_manager={}, ssm={})
    try:
        stored: Any = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{path} is not valid JSON (line {error.lineno}); fix it or delete it to "
            "regenerate dev secret values"
        ) from None
    if not isinstance(stored, dict):
        raise_bad_value(path, "the top level", "an object with secretsmanager and ssm")
    managed = stored.get("secretsmanager", {})
    parameters = stored.get("ssm", {})
    for section, value in (("secretsmanager", managed), ("ssm", parameters)):
        if not isinstance(value, dict):
            raise_bad_value(path, section, "an object of names to values")
    for name, value in managed.items():
        if isinstance(value, dict):
            for key, leaf in value.items():
                if not isinstance(leaf, str):
                    raise_bad_value(path, f"secretsmanager.{name}.{key}", "a string")
        elif not isinstance(value, str):
            raise_bad_value(path, f"secretsmanager.{name}", "a string or an object of strings")
    for name, value in parameters.items():
        if not isinstance(value, str):
            raise_bad_value(path, f"ssm.{name}", "a string")
    return DevSecrets(secrets_manager=managed, ssm=parameters)


def raise_bad_value(path: Path, key: str, expected: str) -> NoReturn:
    raise ConfigError(
        f"{path}: {key} must be {expected}; fix it or delete the file to regenerate dev "
        "secret values"
    )


def load_or_create(
    path: Path, demand: SecretDemand, *, stack_secrets: Iterable[StackSecret] = ()
) -> DevSecrets:
    """Read the dev values file, add what the demand needs and it lacks, write it 0600.

    A secret the stack creates gets the value its template describes, never one per key the
    containers read: a key it does not hold is missing there as it would be in AWS."""
    stored = read_dev_secrets(path)
    managed: dict[str, Any] = dict(stored.secrets_manager)
    parameters: dict[str, str] = dict(stored.ssm)
    created = {secret.name for secret in stack_secrets}
    for secret in stack_secrets:
        managed.setdefault(secret.name, stack_secret_value(secret))
    for name, keys in sorted(demand.secrets_manager.items()):
        if name in created:
            continue
        json_keys = sorted(key for key in keys if key is not None)
        if not json_keys:
            managed.setdefault(name, generate())
            continue
        document = managed.get(name)
        document = dict(document) if isinstance(document, dict) else {}
        for key in json_keys:
            document.setdefault(key, generate(key))
        managed[name] = document
    for name in sorted(demand.ssm):
        parameters.setdefault(name, generate())
    values = DevSecrets(secrets_manager=managed, ssm=parameters)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(values.to_json() + "\n")
    path.chmod(0o600)
    return values


def stored_values(path: Path) -> tuple[SecretValue, ...]:
    """Every dev value in the file (none if it does not exist), to redact output with; the
    file is only read."""
    values = read_dev_secrets(path)
    leaves: list[str] = list(values.ssm.values())
    for value in values.secrets_manager.values():
        leaves.extend([value] if isinstance(value, str) else map(str, value.values()))
    return tuple(SecretValue(leaf) for leaf in leaves)


def seed(values: DevSecrets, *, secretsmanager: Any, ssm: Any) -> None:
    """Create or update every dev value in the emulator's Secrets Manager and SSM."""
    for name, value in values.secrets_manager.items():
        text = value if isinstance(value, str) else json.dumps(value)
        try:
            secretsmanager.create_secret(Name=name, SecretString=text)
        except secretsmanager.exceptions.ResourceExistsException:
            secretsmanager.put_secret_value(SecretId=name, SecretString=text)
    for name, value in values.ssm.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


@dataclass(frozen=True)
class DevValueResolver:
    """Resolves a reference straight from the dev values, for what the harness provisions
    itself: the local MySQL's and Redis' credentials, which RDS and ElastiCache own in AWS.
    So those can start while the emulator is seeded; tasks resolve through the emulator."""

    values: DevSecrets

    def fetch(self, ref: SecretRef) -> SecretValue:
        if ref.service is SecretService.SSM:
            if ref.name not in self.values.ssm:
                raise SecretUnavailable("no dev value for the parameter")
            return SecretValue(self.values.ssm[ref.name])
        stored = self.values.secrets_manager.get(ref.name)
        if stored is None:
            raise SecretUnavailable("no dev value for the secret")
        if ref.json_key is None:
            return SecretValue(stored if isinstance(stored, str) else json.dumps(stored))
        document = json.loads(stored) if isinstance(stored, str) else stored
        if not isinstance(document, Mapping) or ref.json_key not in document:
            raise SecretUnavailable(f"the dev value has no JSON key {ref.json_key!r}")
        return SecretValue(str(document[ref.json_key]))


def resolve_task_secrets(
    task: TaskDefinition, resolver: SecretResolver
) -> dict[str, dict[str, SecretValue]]:
    """Every container's secret values, fetched before any container starts."""
    return {c.name: resolve_secrets(c.name, c.secrets, resolver) for c in task.containers}
