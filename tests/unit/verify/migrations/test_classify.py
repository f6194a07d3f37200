"""Classifying SQL strings as Laravel (and Doctrine, for ->change()) print them: no Docker."""

from __future__ import annotations

import pytest

from parity.verify.migrations.classify import (
    Classification,
    StatementKind,
    classify_all,
    schema_from_ddl,
    split_statements,
)

# SHOW CREATE TABLE as the MariaDB stand-in prints it for the previous release's tables.
PREVIOUS_SCHEMA = schema_from_ddl(
    [
        """CREATE TABLE `profiles` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `code` varchar(255) NOT NULL,
  `bio` varchar(255) NOT NULL,
  `legacy` varchar(255) DEFAULT NULL,
  `status` varchar(255) NOT NULL DEFAULT 'active',
  `views` int(11) NOT NULL DEFAULT 0,
  `price` decimal(8,2) NOT NULL,
  `kind` enum('a','b') NOT NULL,
  `born_on` date DEFAULT NULL,
  `created_at` timestamp NULL DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"""
    ]
)


def classify(*statements: str) -> list[Classification]:
    return classify_all(statements, PREVIOUS_SCHEMA)


def reasons(statement: str) -> list[str]:
    return [breakage.reason for breakage in classify(statement)[-1].breakages]


@pytest.mark.parametrize(
    "statement",
    [
        "alter table `profiles` add `locale` varchar(8) null",
        "alter table `profiles` add `state` varchar(255) not null default 'new'",
        "alter table `profiles` add index `profiles_name_index`(`name`)",
        "alter table `profiles` add `rank` bigint unsigned not null auto_increment primary key",
        "ALTER TABLE profiles CHANGE bio bio TEXT CHARACTER SET utf8mb4 NOT NULL "
        "COLLATE `utf8mb4_unicode_ci`",
        "ALTER TABLE profiles MODIFY views BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE profiles MODIFY price DECIMAL(10, 2) NOT NULL",
        "ALTER TABLE profiles MODIFY kind ENUM('a', 'b', 'c') NOT NULL",
        "ALTER TABLE profiles MODIFY born_on DATETIME NULL",
        "ALTER TABLE profiles ALTER status SET DEFAULT 'on'",
        "alter table `profiles` drop index `profiles_name_index`",
    ],
)
def test_expanding_changes_do_not_break_the_running_release(statement: str) -> None:
    assert reasons(statement) == []


def test_each_change_of_an_existing_table_is_asked_of_the_server() -> None:
    (classified,) = classify("alter table `profiles` add `locale` varchar(8) null")
    assert classified.kind is StatementKind.ALTER_TABLE
    assert classified.table == "profiles"
    assert classified.asks_server


def test_a_dropped_column_breaks_the_running_release() -> None:
    assert reasons("alter table `profiles` drop `legacy`") == [
        "drops profiles.legacy, which the running release still reads and writes"
    ]


def test_a_dropped_table_breaks_it() -> None:
    (dropped,) = classify("drop table `profiles`")
    assert dropped.kind is StatementKind.DROP_TABLE
    assert [b.reason for b in dropped.breakages] == [
        "drops table profiles, which the running release still uses"
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE profiles RENAME COLUMN name TO full_name",
        "ALTER TABLE profiles CHANGE name full_name VARCHAR(255) NOT NULL",
    ],
)
def test_a_renamed_column_breaks_it_and_the_fix_is_expand_then_contract(statement: str) -> None:
    (renamed,) = classify(statement)
    (breakage,) = renamed.breakages
    assert (
        breakage.reason == "renames profiles.name to full_name: the running release still uses name"
    )
    assert breakage.fix == (
        "add full_name and write both columns now (backfill full_name); read full_name in the "
        "next release and drop name in the one after"
    )


@pytest.mark.parametrize(
    "statement",
    [
        "rename table `profiles` to `people`",
        "alter table `profiles` rename to `people`",
    ],
)
def test_a_renamed_table_breaks_it(statement: str) -> None:
    assert reasons(statement) == [
        "renames table profiles to people: the running release still uses profiles"
    ]


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        (
            "ALTER TABLE profiles CHANGE code code VARCHAR(8) CHARACTER SET utf8mb4 NOT NULL "
            "COLLATE `utf8mb4_unicode_ci`",
            "narrows profiles.code from VARCHAR(255) to VARCHAR(8)",
        ),
        (
            "ALTER TABLE profiles MODIFY views SMALLINT NOT NULL DEFAULT 0",
            "narrows profiles.views from INT(11) to SMALLINT",
        ),
        (
            "ALTER TABLE profiles MODIFY views INT UNSIGNED NOT NULL DEFAULT 0",
            "narrows profiles.views from INT(11) to INT UNSIGNED",
        ),
        (
            "ALTER TABLE profiles MODIFY price DECIMAL(8, 1) NOT NULL",
            "narrows profiles.price from DECIMAL(8, 2) to DECIMAL(8, 1)",
        ),
        (
            "ALTER TABLE profiles MODIFY kind ENUM('a') NOT NULL",
            "narrows profiles.kind from ENUM('a', 'b') to ENUM('a')",
        ),
        (
            "ALTER TABLE profiles MODIFY created_at DATE NULL",
            "narrows profiles.created_at from TIMESTAMP to DATE",
        ),
        (
            "ALTER TABLE profiles MODIFY code INT NOT NULL",
            "changes the kind of profiles.code from VARCHAR(255) to INT",
        ),
    ],
)
def test_a_narrowing_or_another_kind_of_type_breaks_it(statement: str, reason: str) -> None:
    assert reasons(statement) == [f"{reason}: values the running release writes may not fit"]


def test_not_null_on_an_existing_nullable_column_breaks_it() -> None:
    assert reasons("ALTER TABLE profiles MODIFY legacy VARCHAR(255) NOT NULL") == [
        "makes profiles.legacy NOT NULL: the running release may write NULL or leave it out"
    ]


def test_a_new_not_null_column_without_a_default_breaks_it() -> None:
    assert reasons("alter table `profiles` add `owner` varchar(255) not null") == [
        "adds profiles.owner NOT NULL with no default: the running release's inserts leave it "
        "out and fail"
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE profiles ALTER status DROP DEFAULT",
        # MODIFY restates the whole column: leaving DEFAULT out drops it.
        "ALTER TABLE profiles MODIFY status VARCHAR(255) NOT NULL",
    ],
)
def test_a_dropped_default_breaks_it(statement: str) -> None:
    assert reasons(statement) == [
        "drops the default of profiles.status: the running release's inserts that leave it out fail"
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "alter table `profiles` add unique `profiles_code_unique`(`code`)",
        "create unique index `profiles_code_unique` on `profiles` (`code`)",
    ],
)
def test_a_unique_index_on_existing_rows_breaks_it(statement: str) -> None:
    assert reasons(statement) == [
        "adds a UNIQUE index on profiles (code): existing rows, or the running release's "
        "writes, may hold duplicates"
    ]


def test_a_table_these_migrations_create_is_free_to_change() -> None:
    classified = classify(
        "create table `tags` (`id` bigint unsigned not null auto_increment primary key, "
        "`name` varchar(255) not null)",
        "alter table `tags` add `slug` varchar(255) not null",
        "alter table `tags` add unique `tags_slug_unique`(`slug`)",
        "alter table `tags` drop `name`",
    )
    assert [c.kind for c in classified] == [
        StatementKind.CREATE_TABLE,
        *[StatementKind.ALTER_TABLE] * 3,
    ]
    assert [c.breakages for c in classified] == [(), (), (), ()]
    assert not any(c.asks_server for c in classified)


def test_each_statement_meets_the_schema_the_ones_before_it_left() -> None:
    _rename, second = classify(
        "ALTER TABLE profiles CHANGE name full_name VARCHAR(255) NOT NULL",
        "ALTER TABLE profiles MODIFY full_name VARCHAR(20) NOT NULL",
    )
    assert [b.reason for b in second.breakages] == [
        "narrows profiles.full_name from VARCHAR(255) to VARCHAR(20): values the running "
        "release writes may not fit"
    ]


def test_data_changes_are_safe_and_name_their_table() -> None:
    (insert,) = classify("insert into `profiles` (`name`, `code`) values (?, ?)")
    assert (insert.kind, insert.table, insert.breakages) == (StatementKind.DATA, "profiles", ())


def test_what_sqlglot_cannot_parse_is_not_passed_as_safe() -> None:
    (unknown,) = classify("frobnicate the profiles")
    assert unknown.kind is StatementKind.NOT_PARSED
    assert [b.reason for b in unknown.breakages] == [
        "sqlglot could not parse it, so it was not judged"
    ]


def test_a_multi_statement_string_is_split_at_its_semicolons_only() -> None:
    assert split_statements("create table a (x text);\n insert into a values ('a;b'); ") == [
        "create table a (x text)",
        "insert into a values ('a;b')",
    ]
