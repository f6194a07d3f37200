"""Reading ``migrate --pretend`` output, and where in a migration each statement comes from."""

from __future__ import annotations

from dataclasses import replace

import pytest

from parity.assembly.taskdef import ContainerSpec
from parity.config.harness import MigrationsCheckConfig
from parity.errors import ConfigError
from parity.verify.migrations.pretend import (
    MigrationFile,
    PendingStatement,
    parse_pretend_output,
    pending_statements,
    pretend_tasks,
    statement_lines,
)
from tests.unit.verify.tasks import app_tasks

CHECK = MigrationsCheckConfig(
    pretend_arguments=("--pretend",), migrations_dir="db", repository_table="migrations"
)

ADD_LOCALE = """<?php

use Illuminate\\Database\\Migrations\\Migration;
use Illuminate\\Database\\Schema\\Blueprint;
use Illuminate\\Support\\Facades\\DB;
use Illuminate\\Support\\Facades\\Schema;

return new class extends Migration
{
    public function up()
    {
        // 'locale' goes first; a comment naming it is not where it comes from
        Schema::table('greetings', function (Blueprint $table) {
            $table->string('locale', 8)->nullable();
            $table->string('code')->unique();
        });

        DB::statement('ALTER TABLE greetings
            ADD COLUMN x int NULL');
    }

    public function down()
    {
        Schema::table('greetings', function (Blueprint $table) {
            $table->dropColumn('locale');
        });
    }
};
"""
NAMED = (
    "<?php\nclass CreateTagsTable extends Migration\n{\n    public function up()\n    {\n"
    "        Schema::create('tags', function (Blueprint $table) {\n            $table->id();\n"
    "        });\n    }\n}\n"
)
FILES = [
    MigrationFile(file_name="2030_01_01_000000_add_locale.php", source=ADD_LOCALE),
    MigrationFile(file_name="2030_01_02_000000_create_tags_table.php", source=NAMED),
]
# Laravel 8.83, as the sample app prints it (a DB::statement keeps its line breaks).
LARAVEL_8_OUTPUT = [
    "2030_01_01_000000_add_locale: alter table `greetings` add `locale` varchar(8) null, "
    "add `code` varchar(255) not null",
    "2030_01_01_000000_add_locale: alter table `greetings` add unique "
    "`greetings_code_unique`(`code`)",
    "2030_01_01_000000_add_locale: ALTER TABLE greetings",
    "            ADD COLUMN x int NULL",
    "CreateTagsTable: create table `tags` (`id` bigint unsigned not null auto_increment "
    "primary key)",
]
# Laravel 9 and later: the migration's name, then one bullet per statement.
LARAVEL_10_OUTPUT = [
    "",
    "   INFO  Running migrations.",
    "",
    "  2030_01_01_000000_add_locale ...................................................... ",
    "  ⇂ alter table `greetings` add `locale` varchar(8) null, add `code` varchar(255) not null",
    "  ⇂ alter table `greetings` add unique `greetings_code_unique`(`code`)",
    "  ⇂ ALTER TABLE greetings",
    "            ADD COLUMN x int NULL",
    "  CreateTagsTable ........................................................... ",
    "  ⇂ create table `tags` (`id` bigint unsigned not null auto_increment primary key)",
    "",
]


@pytest.mark.parametrize("output", [LARAVEL_8_OUTPUT, LARAVEL_10_OUTPUT], ids=["8", "10"])
def test_each_statement_is_read_with_its_migration(output: list[str]) -> None:
    names = {name for file in FILES for name in file.names}
    assert parse_pretend_output(output, names=names) == [
        (
            "2030_01_01_000000_add_locale",
            "alter table `greetings` add `locale` varchar(8) null, add `code` varchar(255) "
            "not null",
        ),
        (
            "2030_01_01_000000_add_locale",
            "alter table `greetings` add unique `greetings_code_unique`(`code`)",
        ),
        (
            "2030_01_01_000000_add_locale",
            "ALTER TABLE greetings\n            ADD COLUMN x int NULL",
        ),
        (
            "CreateTagsTable",
            "create table `tags` (`id` bigint unsigned not null auto_increment primary key)",
        ),
    ]


def test_statements_name_their_file_and_the_line_of_up_that_asks_for_them() -> None:
    assert pending_statements(LARAVEL_8_OUTPUT, FILES) == [
        PendingStatement(
            migration="2030_01_01_000000_add_locale.php",
            line=14,
            sql="alter table `greetings` add `locale` varchar(8) null, add `code` varchar(255) "
            "not null",
        ),
        PendingStatement(
            migration="2030_01_01_000000_add_locale.php",
            line=15,
            sql="alter table `greetings` add unique `greetings_code_unique`(`code`)",
        ),
        PendingStatement(
            migration="2030_01_01_000000_add_locale.php",
            line=18,
            sql="ALTER TABLE greetings\n            ADD COLUMN x int NULL",
        ),
        PendingStatement(
            migration="2030_01_02_000000_create_tags_table.php",
            line=6,
            sql="create table `tags` (`id` bigint unsigned not null auto_increment primary key)",
        ),
    ]


def test_a_statement_found_nowhere_points_at_up() -> None:
    assert statement_lines(["alter table `other` add `thing` int null"], ADD_LOCALE) == [10]


def test_an_anonymous_migration_is_named_by_its_file_a_named_one_by_its_class_too() -> None:
    assert FILES[0].names == {"2030_01_01_000000_add_locale"}
    assert FILES[1].names == {"2030_01_02_000000_create_tags_table", "CreateTagsTable"}


def test_pretending_adds_the_configured_arguments_to_the_migration_container_only() -> None:
    tasks = app_tasks()
    migrate = ContainerSpec(
        name="migrate",
        image=tasks.migration.container("migrate").image,
        command=("php", "artisan", "migrate", "--force"),
    )
    tasks = replace(tasks, migration=replace(tasks.migration, containers=(migrate,)))
    pretending = pretend_tasks(tasks, CHECK)
    assert pretending.migration.container("migrate").command == (
        "php",
        "artisan",
        "migrate",
        "--force",
        "--pretend",
    )
    assert pretending.services == tasks.services


def test_a_migration_container_without_a_command_is_named() -> None:
    with pytest.raises(ConfigError, match=r"migrate runs its image's CMD, .*pretend_arguments"):
        pretend_tasks(app_tasks(), CHECK)
