"""fargate-parity.toml: what it describes, and per mistake one line naming the file and key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from parity.config.harness import (
    DEFAULT_MAX_TASKS,
    LARAVEL_DB_ENV,
    RDS_SECRET_KEYS,
    load_config,
    parse_config,
)
from parity.config.settings import PROJECT_VARIABLE, selected_project
from parity.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[3]
MINIMAL = """
[environments.local.migration]
stack = "Shop-Local-Db"
family = "shop-migrate"
watched_container = "migrate"
"""
MIGRATIONS_CHECK = """
[environments.local.migrations_check]
pretend_arguments = ["--dry-run"]
migrations_dir = "migrations"
repository_table = "schema_history"
"""


def parse(text: str, root: Path) -> object:
    (root / "cdk.json").write_text('{"app": "node app.js"}')
    return parse_config(tomllib.loads(text), source=root / "fargate-parity.toml")


def test_a_minimal_config_takes_the_defaults(tmp_path: Path) -> None:
    config = parse(MINIMAL, tmp_path)
    local = config.environment("local")  # type: ignore[attr-defined]
    assert config.cdk_json == tmp_path / "cdk.json"  # type: ignore[attr-defined]
    assert config.synth_inputs == (".",)  # type: ignore[attr-defined]
    assert local.stack_patterns == ()
    assert local.selects("Anything-At-All")
    assert local.migration.family == "shop-migrate"
    assert dict(local.database.env) == LARAVEL_DB_ENV
    assert dict(local.database.secret_keys) == RDS_SECRET_KEYS
    assert local.max_tasks == DEFAULT_MAX_TASKS
    assert local.service_ports == {}
    assert local.overrides == ()


def test_the_sample_app_is_described_by_its_config() -> None:
    config = load_config(PROJECT_ROOT)
    assert set(config.environments) == {"local", "qa", "prod"}
    local = config.environment("local")
    assert local.selects("Laravel-Local-Service")
    assert not local.selects("Laravel-Local-CiAccess")
    assert local.migration.watched_container_output == "WatchedContainer"
    assert config.environment("prod").migration.run is not None
    assert config.dev.environment == {"PHP_OPCACHE_VALIDATE_TIMESTAMPS": "1"}
    hot = config.dev.require_hot()
    assert (hot.stage, hot.workdir, hot.port) == ("assets", "/app", 5173)
    assert hot.hot_file == "/application/public/hot"
    for name in ("local", "qa", "prod"):
        check = config.migrations_check(name)
        assert check.pretend_arguments == ("--pretend",)
        assert (check.migrations_dir, check.files) == ("database/migrations", "*.php")


def test_stack_patterns_are_globs(tmp_path: Path) -> None:
    config = parse(
        'stacks = ["Shop-Local-*"]\n'.join(["[environments.local]\n", MINIMAL]), tmp_path
    )
    local = config.environment("local")  # type: ignore[attr-defined]
    assert local.selects("Shop-Local-Web")
    assert not local.selects("Shop-Prod-Web")


def test_declared_overrides_are_parsed_by_kind(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """
[[environments.local.overrides]]
env = "FLAGS_URL"
value = "http://127.0.0.1:9"
reason = "no flag service locally"
[[environments.local.overrides]]
get_att = "Shop-Local-Db:Cluster.Endpoint.Address"
value = "db"
reason = "the local MySQL"
"""
    )
    overrides = parse(text, tmp_path).environment("local").overrides  # type: ignore[attr-defined]
    assert [(o.kind, o.stack, o.target) for o in overrides] == [
        ("env", None, "FLAGS_URL"),
        ("get_att", "Shop-Local-Db", "Cluster.Endpoint.Address"),
    ]


HOT = """
[dev.hot]
stage = "assets"
workdir = "/build"
source_mounts = [{ host = "web/js", container = "/build/js" }]
port = 5173
url_variable = "VITE_DEV_SERVER_URL"
hot_file = "/srv/public/hot"
"""


def test_dev_hot_describes_the_vite_dev_server(tmp_path: Path) -> None:
    text = HOT + 'environment = { CHOKIDAR_USEPOLLING = "1" }\n' + MINIMAL
    hot = parse(text, tmp_path).dev.require_hot()  # type: ignore[attr-defined]
    assert (hot.stage, hot.workdir, hot.port) == ("assets", "/build", 5173)
    assert [(m.host, m.container) for m in hot.source_mounts] == [("web/js", "/build/js")]
    assert (hot.url_variable, hot.hot_file) == ("VITE_DEV_SERVER_URL", "/srv/public/hot")
    assert hot.environment == {"CHOKIDAR_USEPOLLING": "1"}
    assert parse(HOT + MINIMAL, tmp_path).dev.hot.environment == {}  # type: ignore[attr-defined]


def test_without_dev_hot_there_is_no_hot_mode_in_one_line(tmp_path: Path) -> None:
    dev = parse(MINIMAL, tmp_path).dev  # type: ignore[attr-defined]
    assert dev.hot is None
    with pytest.raises(ConfigError, match=r"fargate-parity\.toml has no \[dev\.hot\]") as caught:
        dev.require_hot()
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HOT.replace('stage = "assets"\n', ""), r"dev\.hot\.stage: is missing"),
        (HOT.replace("port = 5173\n", ""), r"dev\.hot\.port: is missing"),
        (HOT.replace("port = 5173", "port = '5173'"), r"dev\.hot\.port: must be a whole number"),
        (HOT.replace("port = 5173", "port = 70000"), r"dev\.hot\.port: is 70000; give a TCP port"),
        (HOT.replace('"/build"', '"build"'), r"dev\.hot\.workdir: is 'build'; give an absolute"),
        (HOT.replace('"/srv/public/hot"', '"hot"'), r"dev\.hot\.hot_file: is 'hot'; give an abs"),
        (
            HOT.replace('"VITE_DEV_SERVER_URL"', '"VITE URL"'),
            r"dev\.hot\.url_variable: is 'VITE URL'; give an env name",
        ),
        (
            HOT.replace('[{ host = "web/js", container = "/build/js" }]', "[]"),
            r"dev\.hot\.source_mounts: is missing",
        ),
        (
            HOT.replace('container = "/build/js"', 'container = "js"'),
            r"dev\.hot\.source_mounts\[0\]\.container: is 'js'; give an absolute path",
        ),
        (HOT + "command = 'vite'\n", r"dev\.hot\.command: is not a known key"),
        (HOT + "environment = { POLL = 1 }\n", r"dev\.hot\.environment\.POLL: must be a non-empty"),
        ("[dev]\nhot = 'vite'\n", r"dev\.hot: must be a table"),
    ],
)
def test_each_dev_hot_mistake_is_one_line_naming_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse(text + MINIMAL, tmp_path)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("fargate-parity.toml: ")


COMMAND = """
[[dev.commands]]
name = "manage"
argv = ["python", "manage.py"]
"""


def test_dev_commands_are_shortcuts_into_a_container(tmp_path: Path) -> None:
    text = COMMAND + '[[dev.commands]]\nname = "psql"\nargv = ["psql"]\ncontainer = "db"\n'
    commands = parse(text + MINIMAL, tmp_path).dev.commands  # type: ignore[attr-defined]
    assert [(c.name, c.argv, c.container) for c in commands] == [
        ("manage", ("python", "manage.py"), None),
        ("psql", ("psql",), "db"),
    ]
    assert commands[0].help == "run python manage.py ARGS in the dev run"
    assert parse(MINIMAL, tmp_path).dev.commands == ()  # type: ignore[attr-defined]


def test_the_sample_app_declares_artisan() -> None:
    (artisan,) = load_config(PROJECT_ROOT).dev.commands
    assert (artisan.name, artisan.argv, artisan.container) == ("artisan", ("php", "artisan"), None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (COMMAND.replace('"manage"', '"Manage It"'), r"dev\.commands\[0\]\.name: is 'Manage It'"),
        (COMMAND.replace('["python", "manage.py"]', "[]"), r"dev\.commands\[0\]\.argv: is missing"),
        (COMMAND.replace('["python", "manage.py"]', '"manage"'), r"commands\[0\]\.argv: must be a"),
        (COMMAND + "shell = true\n", r"dev\.commands\[0\]\.shell: is not a known key"),
        (COMMAND + COMMAND, r"dev\.commands\[1\]\.name: is 'manage', which an earlier"),
        ("[dev]\ncommands = 'manage'\n", r"dev\.commands: must be an array of tables"),
    ],
)
def test_each_dev_commands_mistake_is_one_line_naming_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse(text + MINIMAL, tmp_path)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("fargate-parity.toml: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"fargate-parity\.toml: environments: defines no environment"),
        ("[app]\nlanguage = 'ts'\n" + MINIMAL, r"app\.language: is not a known key"),
        (
            "[app]\ncdk_json = 'infra/cdk.json'\n" + MINIMAL,
            r"app\.cdk_json: names .* does not exist",
        ),
        (MINIMAL.replace("local", "Local"), r"environments\.Local: names an environment"),
        ("[environments.local]\nstacks = ['x']\n", r"environments\.local\.migration: is missing"),
        (MINIMAL.replace('family = "shop-migrate"\n', ""), r"by exactly one of output"),
        (MINIMAL + 'output = "Task"\n', r"by exactly one of output, logical_id, family"),
        (MINIMAL.replace('watched_container = "migrate"\n', ""), r"one of watched_container"),
        (MINIMAL.replace('stack = "Shop-Local-Db"', "stack = 3"), r"migration\.stack: must be a"),
        (
            MINIMAL + "[environments.local.services]\nmax_tasks = 0\n",
            r"services\.max_tasks: is 0; give at least 1",
        ),
        (
            MINIMAL + "[environments.local.database.env]\nhostname = 'X'\n",
            r"database\.env\.hostname: is not a known key",
        ),
        (
            MINIMAL + "[environments.local.services.ports]\nweb = 70000\n",
            r"services\.ports\.web: is 70000; give a TCP port",
        ),
        (
            MINIMAL + "[environments.local.services.ports]\nweb = 8081\nadmin = 8081\n",
            r"services\.ports: gives port 8081 to two services",
        ),
        (
            MINIMAL + "[environments.local.database.secret_keys]\nuser = ''\n",
            r"database\.secret_keys\.user: must be a non-empty string",
        ),
        (
            MINIMAL + "[[environments.local.overrides]]\nref = 'NoStack'\nvalue='1'\nreason='r'\n",
            r"overrides\[0\]\.ref: is 'NoStack'; write it as Stack:LogicalId",
        ),
        (
            MINIMAL + "[[environments.local.overrides]]\nenv = 'A'\nvalue='1'\nreason=' '\n",
            r"overrides\[0\]\.reason: is empty",
        ),
        (
            MINIMAL
            + "[[environments.local.overrides]]\nenv='A'\nref='S:B'\nvalue='1'\nreason='r'\n",
            r"overrides\[0\]: overrides exactly one of env, ref",
        ),
        ("[dev]\nsource_mounts = [{ host = 'src', container = 'app' }]\n" + MINIMAL, r"absolute"),
        (
            MINIMAL + MIGRATIONS_CHECK + "path = 'x'\n",
            r"environments\.local\.migrations_check\.path: is not a known key",
        ),
        (
            MINIMAL + MIGRATIONS_CHECK.replace('["--dry-run"]', "[]"),
            r"migrations_check\.pretend_arguments: is missing",
        ),
        (
            MINIMAL + MIGRATIONS_CHECK.replace('["--dry-run"]', '"--dry-run"'),
            r"migrations_check\.pretend_arguments: must be a list of non-empty strings",
        ),
        (
            MINIMAL + MIGRATIONS_CHECK.replace('migrations_dir = "migrations"\n', ""),
            r"migrations_check\.migrations_dir: is missing",
        ),
        (
            MINIMAL + MIGRATIONS_CHECK.replace('repository_table = "schema_history"\n', ""),
            r"migrations_check\.repository_table: is missing",
        ),
    ],
)
def test_each_mistake_is_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse(text, tmp_path)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("fargate-parity.toml: ")


def test_the_migrations_check_takes_every_file_by_default(tmp_path: Path) -> None:
    check = parse(MINIMAL + MIGRATIONS_CHECK, tmp_path).migrations_check("local")  # type: ignore[attr-defined]
    assert check.pretend_arguments == ("--dry-run",)
    assert (check.migrations_dir, check.files, check.repository_table) == (
        "migrations",
        "*",
        "schema_history",
    )


def test_without_its_table_the_migrations_check_is_one_line_naming_it(tmp_path: Path) -> None:
    config = parse(MINIMAL, tmp_path)
    assert config.environment("local").migrations_check is None  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as caught:
        config.migrations_check("local")  # type: ignore[attr-defined]
    message = str(caught.value)
    assert message.startswith("fargate-parity.toml: environments.local.migrations_check is missing")
    assert "\n" not in message


def test_a_missing_or_broken_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"fargate-parity\.toml is missing"):
        load_config(tmp_path)
    (tmp_path / "fargate-parity.toml").write_text("[environments\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(tmp_path)


def test_an_unknown_environment_lists_the_defined_ones(tmp_path: Path) -> None:
    config = parse(MINIMAL, tmp_path)
    with pytest.raises(ConfigError, match=r"unknown environment 'qa'; .* defines: local"):
        config.environment("qa")  # type: ignore[attr-defined]


def test_parity_project_points_the_tasks_at_another_app(tmp_path: Path) -> None:
    assert selected_project(PROJECT_ROOT, {}) == PROJECT_ROOT
    (tmp_path / "fargate-parity.toml").write_text(MINIMAL)
    assert selected_project(PROJECT_ROOT, {PROJECT_VARIABLE: str(tmp_path)}) == tmp_path
    with pytest.raises(ConfigError, match=r"holds no fargate-parity\.toml"):
        selected_project(PROJECT_ROOT, {PROJECT_VARIABLE: str(tmp_path / "nowhere")})


# What the sample app is: the library must not know it.
SAMPLE_NAMES = (
    "Laravel-",
    "TaskDefinitionArn",
    "WatchedContainer",
    "ClusterName",
    "ServiceName",
    "SubnetIds",
    "LogStreamPrefix",
    "DB_HOST",
    "DB_DATABASE",
    "DB_USERNAME",
    "DB_PASSWORD",
    "PHP_OPCACHE",
    "resources/laravel",
    "VITE_DEV_SERVER_URL",
    "CHOKIDAR",
    "/application",
    "database/migrations",
)
# The one place Laravel's DB_* names live: the defaults of [database.env].
DEFAULTS_MODULE = PROJECT_ROOT / "parity" / "config" / "harness.py"
# CloudFormation's own property names that a sample output happens to share: an ECS target's
# EcsParameters.TaskDefinitionArn.
CLOUDFORMATION_PROPERTIES = {
    PROJECT_ROOT / "parity" / "assembly" / "rules.py": {"TaskDefinitionArn"}
}


def test_no_name_of_the_sample_app_is_written_in_the_library() -> None:
    found = [
        f"{path.relative_to(PROJECT_ROOT)}: {name}"
        for path in sorted((PROJECT_ROOT / "parity").rglob("*.py"))
        for name in SAMPLE_NAMES
        if name in path.read_text()
        and not (path == DEFAULTS_MODULE and name.startswith("DB_"))
        and name not in CLOUDFORMATION_PROPERTIES.get(path, set())
    ]
    assert found == []
