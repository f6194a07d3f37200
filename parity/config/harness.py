"""The harness config: ``fargate-parity.toml`` at the project root.

It tells the harness how to read *this* project's CDK app, in any CDK language: where its
``cdk.json`` is, which stacks make up each environment, which task is the migration and whose
exit code counts, which env names carry the database settings, and the local overrides the
user declares. Everything the library knows about an app comes from here; nothing about the
sample app is written in the library. Every error names the file and the key.

```toml
[app]
cdk_json = "cdk.json"                  # the CDK app; its "app" command may be any language
synth_inputs = ["cdk.json", "lib"]     # what makes cdk.out stale; default: cdk.json's folder

[environments.local]
context = { env = "local" }            # passed to `cdk synth` as --context KEY=VALUE
stacks = ["MyApp-Local-*"]             # glob patterns; default: every stack of the synth

[environments.local.migration]
stack = "MyApp-Local-Migration"
output = "MigrationTaskArn"            # or logical_id = "…", or family = "…"
watched_container = "migrate"          # or watched_container_output = "GateContainer"

[environments.local.database]          # each setting: an env name of the migration container,
image = "mysql:8.0"                    #   else a JSON key of one of its secrets
env = { user = "APP_DB_USER" }         # defaults: Laravel's DB_* names
secret_keys = { user = "username" }    # defaults: the keys RDS writes (username, password, …)

[environments.local.services]
max_tasks = 3                          # cap on desiredCount locally
ports = { storefront = 8081 }          # a load-balanced service's loopback port, by service
                                       #   (its logical id, or that without CDK's hash)

[environments.local.migrations_check]  # invoke migrations-check; none: the check is not run
pretend_arguments = ["--dry-run"]      # added to the migration container's command: print
                                       #   each pending migration's SQL, run nothing
migrations_dir = "migrations"          # in the app image; relative: to the working directory
files = "*.php"                        # the migration files in it (default: every file)
repository_table = "schema_history"    # the table that records which migrations ran

[dev]                                  # invoke dev --source-mounts
source_mounts = [{ host = "src", container = "/app/src" }]
environment = { RELOAD = "1" }

[dev.hot]                              # invoke dev --hot: Vite's dev server
stage = "assets"                       # the app image's Dockerfile stage that builds the assets
workdir = "/build"                     # Vite's folder in that stage
source_mounts = [{ host = "web/js", container = "/build/js" }]
port = 5173                            # on loopback (`--vite-port` overrides it)
url_variable = "ASSETS_DEV_URL"        # the browser-facing URL, for the Vite config
hot_file = "/srv/public/hot"           # in the app image: holds that URL while hot
environment = { NODE_ENV = "development" }   # optional: Vite's own env

[[dev.commands]]                       # invoke manage -- ARGS: argv + ARGS in the dev run
name = "manage"
argv = ["python", "manage.py"]
container = "web"                      # default: the migration's watched container
help = "Django's manage.py"            # optional: the task's --help line

[[environments.local.overrides]]
env = "FEATURE_FLAG"                   # or ref = "Stack:LogicalId", get_att = "Stack:Id.Attr",
value = "on"                           #    import_value = "ExportName"
reason = "no flag service locally"
```
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from parity.errors import ConfigError

CONFIG_FILE = "fargate-parity.toml"
DEFAULT_MAX_TASKS = 3
# The env names Laravel reads its DB settings from, the defaults of [database].
LARAVEL_DB_ENV = {
    "host": "DB_HOST",
    "port": "DB_PORT",
    "database": "DB_DATABASE",
    "user": "DB_USERNAME",
    "password": "DB_PASSWORD",
}
# The keys RDS writes into a generated secret (and a SecretTargetAttachment adds).
RDS_SECRET_KEYS = {
    "host": "host",
    "port": "port",
    "database": "dbname",
    "user": "username",
    "password": "password",
}
_ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMMAND_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_MIGRATION_SELECTORS = ("output", "logical_id", "family")
_OVERRIDE_KINDS = ("env", "ref", "get_att", "import_value")
MIGRATIONS_CHECK_KEY = "migrations_check"


@dataclass(frozen=True, kw_only=True)
class RunOutputs:
    """The migration stack's outputs that ECS's RunTask and the log stream need (qa, prod)."""

    cluster_output: str
    subnets_output: str
    security_groups_output: str
    assign_public_ip_output: str
    log_group_output: str
    log_stream_prefix_output: str


@dataclass(frozen=True, kw_only=True)
class MigrationSelector:
    """Which task definition is the migration, and whose exit code decides the gate."""

    stack: str
    output: str | None = None
    logical_id: str | None = None
    family: str | None = None
    watched_container: str | None = None
    watched_container_output: str | None = None
    # Only for deploys through ECS.
    run: RunOutputs | None = None


@dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    """The local MySQL: its image (None: the harness's default) and where the app reads its
    settings: per setting, an env name of the migration container, else the JSON key of a
    secret it reads (an RDS-generated secret holds them all)."""

    image: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(LARAVEL_DB_ENV))
    secret_keys: Mapping[str, str] = field(default_factory=lambda: dict(RDS_SECRET_KEYS))


@dataclass(frozen=True, kw_only=True)
class MigrationsCheckConfig:
    """How the migrations check gets the pending migrations' SQL from the app's own migration
    container, and where it finds the migration files to name the line each statement comes
    from. The output it reads is Laravel's ``migrate --pretend``."""

    # Added to the migration container's command: print each pending migration's SQL, run none.
    pretend_arguments: tuple[str, ...]
    # Where the migration files are in the app image; relative: to the container's working dir.
    migrations_dir: str
    # Which files of migrations_dir are migrations (a glob on the file name).
    files: str = "*"
    # The table that records the migrations that ran, by file name without its suffix.
    repository_table: str


@dataclass(frozen=True, kw_only=True)
class UserOverride:
    """A local value the user declares for a Ref, GetAtt, ImportValue or env var."""

    kind: str  # one of _OVERRIDE_KINDS
    target: str
    value: str
    reason: str
    # Ref and GetAtt: the stack whose template holds the expression.
    stack: str | None = None


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    name: str
    context: Mapping[str, str]
    stack_patterns: tuple[str, ...]
    migration: MigrationSelector
    database: DatabaseConfig
    max_tasks: int
    overrides: tuple[UserOverride, ...]
    # Service (logical id or its short key) → its local load balancer's loopback port.
    service_ports: Mapping[str, int] = field(default_factory=dict)
    # None: the migrations check is not available in this environment.
    migrations_check: MigrationsCheckConfig | None = None

    def selects(self, stack_name: str) -> bool:
        """Whether the stack belongs to this environment (no patterns: every stack does)."""
        return not self.stack_patterns or any(
            fnmatch.fnmatchcase(stack_name, pattern) for pattern in self.stack_patterns
        )


@dataclass(frozen=True, kw_only=True)
class SourceMount:
    host: str  # relative to the project root
    container: str


@dataclass(frozen=True, kw_only=True)
class HotConfig:
    """``invoke dev --hot``: Vite's dev server, run from a stage of the app image's Dockerfile
    with the scripts and styles mounted; every container running the app image gets the hot
    file, which holds the server's URL, so the page loads its modules from there."""

    stage: str  # the Dockerfile stage that builds the assets (node and the node_modules)
    workdir: str  # where Vite runs in that stage
    source_mounts: tuple[SourceMount, ...]
    port: int  # its loopback port, unless `--vite-port` says otherwise
    url_variable: str  # the env the Vite config reads the browser-facing URL from
    hot_file: str  # absolute, in the app image
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class DevCommand:
    """``[[dev.commands]]``: a shortcut task (``invoke NAME -- ARGS``) that runs ``argv`` and
    ARGS in a container of the dev run, such as ``php artisan`` for a Laravel app."""

    name: str  # the invoke task's name
    argv: tuple[str, ...]
    # The container it runs in; None: the migration task's watched container (its image runs
    # in the dev run's service, where the command then runs).
    container: str | None = None
    help: str = ""


@dataclass(frozen=True, kw_only=True)
class DevConfig:
    """``invoke dev --source-mounts``: the app's source mounted over the image's copy, into
    every container that runs the app image, with the env those containers then need; and
    ``--hot``'s Vite dev server, where the app has one."""

    source_mounts: tuple[SourceMount, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    hot: HotConfig | None = None
    commands: tuple[DevCommand, ...] = ()

    def require_hot(self) -> HotConfig:
        """[dev.hot], or one line saying that ``--hot`` needs it."""
        if self.hot is None:
            raise ConfigError(
                f"{CONFIG_FILE} has no [dev.hot], so this app has no hot mode; describe its "
                "Vite dev server there to use --hot (see README: the harness config)"
            )
        return self.hot


@dataclass(frozen=True, kw_only=True)
class HarnessConfig:
    source: Path
    cdk_json: Path
    environments: Mapping[str, EnvironmentConfig]
    dev: DevConfig = field(default_factory=DevConfig)
    # Paths (relative to the project root) whose change makes cdk.out stale.
    synth_inputs: tuple[str, ...] = (".",)

    @property
    def cdk_dir(self) -> Path:
        """Where the CDK CLI runs: the folder of cdk.json."""
        return self.cdk_json.parent

    def environment(self, name: str) -> EnvironmentConfig:
        if not name:
            valid = ", ".join(sorted(self.environments)) or "none"
            raise ConfigError(f"no environment given; pass --env with one of: {valid}")
        try:
            return self.environments[name]
        except KeyError:
            valid = ", ".join(sorted(self.environments)) or "none"
            raise ConfigError(
                f"unknown environment {name!r}; {self.source.name} defines: {valid}"
            ) from None

    def migrations_check(self, name: str) -> MigrationsCheckConfig:
        """The environment's migrations check, or an error naming the table it needs."""
        check = self.environment(name).migrations_check
        if check is None:
            raise ConfigError(
                f"{self.source.name}: environments.{name}.{MIGRATIONS_CHECK_KEY} is missing; the"
                " migrations check runs only where it says how to print the pending migrations'"
                " SQL (see README: the harness config)"
            )
        return check


def load_config(project_root: Path) -> HarnessConfig:
    """Read and validate ``fargate-parity.toml``; every error names the file and the key."""
    path = project_root / CONFIG_FILE
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{path} is missing; describe the CDK app there (see README: the harness config)"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML ({error})") from None
    return parse_config(raw, source=path)


def parse_config(raw: Mapping[str, Any], *, source: Path) -> HarnessConfig:
    reader = _Table(source, "", raw)
    reader.only("app", "environments", "dev")
    app = reader.table("app")
    app.only("cdk_json", "synth_inputs")
    cdk_json = source.parent / app.text("cdk_json", default="cdk.json")
    if not cdk_json.is_file():
        raise app.error("cdk_json", f"names {cdk_json}, which does not exist")
    # Default: everything git tracks beside cdk.json (ignored files never count).
    cdk_dir = cdk_json.parent.relative_to(source.parent).as_posix()
    synth_inputs = app.texts("synth_inputs") or (cdk_dir,)
    environments = reader.table("environments")
    if not environments.values:
        raise reader.error("environments", "defines no environment; add [environments.local]")
    parsed = {
        name: _environment(name, environments.table(name)) for name in sorted(environments.values)
    }
    return HarnessConfig(
        source=source,
        cdk_json=cdk_json,
        environments=parsed,
        synth_inputs=synth_inputs,
        dev=_dev(reader.table("dev")),
    )


def _dev(table: _Table) -> DevConfig:
    table.only("source_mounts", "environment", "hot", "commands")
    return DevConfig(
        source_mounts=_source_mounts(table),
        environment=table.strings("environment"),
        hot=_hot(table.table("hot")) if "hot" in table.values else None,
        commands=_commands(table),
    )


def _commands(table: _Table) -> tuple[DevCommand, ...]:
    commands: dict[str, DevCommand] = {}
    for item in table.tables("commands"):
        item.only(*(f.name for f in fields(DevCommand)))
        name = item.text("name")
        if not _COMMAND_NAME.match(name):
            raise item.error("name", f"is {name!r}; use lower-case letters, digits and '-'")
        if name in commands:
            raise item.error("name", f"is {name!r}, which an earlier [[dev.commands]] declares")
        argv = item.texts("argv")
        if not argv:
            raise item.error("argv", "is missing; give the command as a list of words")
        commands[name] = DevCommand(
            name=name,
            argv=argv,
            container=item.optional_text("container"),
            help=item.text("help", default=f"run {' '.join(argv)} ARGS in the dev run"),
        )
    return tuple(commands.values())


def _hot(table: _Table) -> HotConfig:
    table.only(*(f.name for f in fields(HotConfig)))
    mounts = _source_mounts(table)
    if not mounts:
        raise table.error("source_mounts", "is missing; mount the scripts and styles Vite serves")
    port = table.port("port")
    url_variable = table.text("url_variable")
    if not _ENV_NAME.match(url_variable):
        raise table.error("url_variable", f"is {url_variable!r}; give an env name")
    return HotConfig(
        stage=table.text("stage"),
        workdir=table.absolute_path("workdir"),
        source_mounts=mounts,
        port=port,
        url_variable=url_variable,
        hot_file=table.absolute_path("hot_file"),
        environment=table.strings("environment"),
    )


def _source_mounts(table: _Table) -> tuple[SourceMount, ...]:
    mounts = []
    for item in table.tables("source_mounts"):
        item.only("host", "container")
        mounts.append(
            SourceMount(host=item.text("host"), container=item.absolute_path("container"))
        )
    return tuple(mounts)


def _environment(name: str, table: _Table) -> EnvironmentConfig:
    if not _ENVIRONMENT_NAME.match(name):
        raise table.error("", "names an environment; use lower-case letters and digits only")
    table.only(
        "context", "stacks", "migration", "database", "services", "overrides", MIGRATIONS_CHECK_KEY
    )
    services = table.table("services")
    services.only("max_tasks", "ports")
    max_tasks = services.integer("max_tasks", default=DEFAULT_MAX_TASKS)
    if max_tasks < 1:
        raise services.error("max_tasks", f"is {max_tasks}; give at least 1")
    ports = services.table("ports")
    service_ports = {name: ports.port(name) for name in ports.values}
    taken = [
        port for port in service_ports.values() if list(service_ports.values()).count(port) > 1
    ]
    if taken:
        raise services.error("ports", f"gives port {taken[0]} to two services; give each its own")
    return EnvironmentConfig(
        name=name,
        context=table.strings("context"),
        stack_patterns=table.texts("stacks"),
        migration=_migration(table.table("migration", required=True)),
        database=_database(table.table("database")),
        max_tasks=max_tasks,
        service_ports=service_ports,
        overrides=tuple(_override(item) for item in table.tables("overrides")),
        migrations_check=(
            _migrations_check(table.table(MIGRATIONS_CHECK_KEY))
            if MIGRATIONS_CHECK_KEY in table.values
            else None
        ),
    )


def _migration(table: _Table) -> MigrationSelector:
    table.only(
        "stack", *_MIGRATION_SELECTORS, "watched_container", "watched_container_output", "run"
    )
    chosen = [key for key in _MIGRATION_SELECTORS if key in table.values]
    if len(chosen) != 1:
        raise table.error(
            "", f"names the migration task by exactly one of {', '.join(_MIGRATION_SELECTORS)}"
        )
    watched = [
        key for key in ("watched_container", "watched_container_output") if key in table.values
    ]
    if len(watched) != 1:
        raise table.error(
            "", "names whose exit code counts by one of watched_container, watched_container_output"
        )
    return MigrationSelector(
        stack=table.text("stack"),
        output=table.optional_text("output"),
        logical_id=table.optional_text("logical_id"),
        family=table.optional_text("family"),
        watched_container=table.optional_text("watched_container"),
        watched_container_output=table.optional_text("watched_container_output"),
        run=_run_outputs(table.table("run")) if "run" in table.values else None,
    )


def _run_outputs(table: _Table) -> RunOutputs:
    keys = [f.name for f in fields(RunOutputs)]
    table.only(*keys)
    return RunOutputs(**{key: table.text(key) for key in keys})


def _database(table: _Table) -> DatabaseConfig:
    table.only("image", "env", "secret_keys")
    return DatabaseConfig(
        image=table.optional_text("image"),
        env=_settings_names(table.table("env"), LARAVEL_DB_ENV),
        secret_keys=_settings_names(table.table("secret_keys"), RDS_SECRET_KEYS),
    )


def _settings_names(table: _Table, defaults: Mapping[str, str]) -> dict[str, str]:
    """One name per DB setting (host, port, database, user, password), defaults filled in."""
    table.only(*defaults)
    return {setting: table.text(setting, default=default) for setting, default in defaults.items()}


def _migrations_check(table: _Table) -> MigrationsCheckConfig:
    table.only("pretend_arguments", "migrations_dir", "files", "repository_table")
    arguments = table.texts("pretend_arguments")
    if not arguments:
        raise table.error("pretend_arguments", "is missing; give the arguments that print the SQL")
    return MigrationsCheckConfig(
        pretend_arguments=arguments,
        migrations_dir=table.text("migrations_dir"),
        files=table.text("files", default="*"),
        repository_table=table.text("repository_table"),
    )


def _override(table: _Table) -> UserOverride:
    table.only(*_OVERRIDE_KINDS, "value", "reason")
    kinds = [kind for kind in _OVERRIDE_KINDS if kind in table.values]
    if len(kinds) != 1:
        raise table.error("", f"overrides exactly one of {', '.join(_OVERRIDE_KINDS)}")
    kind = kinds[0]
    target = table.text(kind)
    stack = None
    if kind in ("ref", "get_att"):
        stack, _, target = target.partition(":")
        if not stack or not target or (kind == "get_att" and "." not in target):
            shape = "Stack:LogicalId" if kind == "ref" else "Stack:LogicalId.Attribute"
            raise table.error(kind, f"is {table.values[kind]!r}; write it as {shape}")
    reason = table.text("reason")
    if not reason.strip():
        raise table.error("reason", "is empty; say why the local value differs")
    return UserOverride(
        kind=kind, target=target, value=table.text("value"), reason=reason, stack=stack
    )


@dataclass(frozen=True)
class _Table:
    """Typed reads of one TOML table, with errors naming the file and the dotted key."""

    source: Path
    path: str
    values: Mapping[str, Any]

    def error(self, key: str, problem: str) -> ConfigError:
        where = ".".join(part for part in (self.path, key) if part) or "the file"
        return ConfigError(f"{self.source.name}: {where}: {problem}")

    def only(self, *keys: str) -> None:
        unknown = sorted(set(self.values) - set(keys))
        if unknown:
            raise self.error(unknown[0], f"is not a known key (known: {', '.join(keys)})")

    def table(self, key: str, *, required: bool = False) -> _Table:
        value = self.values.get(key)
        if value is None:
            if required:
                raise self.error(key, "is missing")
            value = {}
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table, not {value!r}")
        return _Table(self.source, ".".join(p for p in (self.path, key) if p), value)

    def tables(self, key: str) -> list[_Table]:
        value = self.values.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(key, "must be an array of tables ([[...]])")
        return [
            _Table(self.source, f"{self.path}.{key}[{i}]", item) for i, item in enumerate(value)
        ]

    def optional_text(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self.error(key, f"must be a non-empty string, not {value!r}")
        return value

    def text(self, key: str, *, default: str | None = None) -> str:
        value = self.optional_text(key)
        if value is None:
            if default is None:
                raise self.error(key, "is missing")
            return default
        return value

    def absolute_path(self, key: str) -> str:
        path = self.text(key)
        if not path.startswith("/"):
            raise self.error(key, f"is {path!r}; give an absolute path")
        return path

    def strings(self, key: str) -> dict[str, str]:
        """A table of string values, such as an environment."""
        table = self.table(key)
        return {name: table.text(name) for name in table.values}

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.values.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise self.error(key, f"must be a list of non-empty strings, not {value!r}")
        return tuple(value)

    def port(self, key: str) -> int:
        port = self.integer(key)
        if not 0 < port < 65536:
            raise self.error(key, f"is {port}; give a TCP port (1 to 65535)")
        return port

    def integer(self, key: str, *, default: int | None = None) -> int:
        value = self.values.get(key, default)
        if value is None:
            raise self.error(key, "is missing")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be a whole number, not {value!r}")
        return value
