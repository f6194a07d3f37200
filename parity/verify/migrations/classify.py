"""Classify the SQL a pending migration runs, with sqlglot's MySQL dialect.

Two questions per statement. Does it break the release that still runs during and after the
deploy (the old code reads and writes the old schema)? And does it change a table that already
holds rows, so that MySQL may lock or copy it? Only the server can answer the second one
(``server.py``); the classifier says which statements to ask about.

A change is judged against the schema the previous release left (``SHOW CREATE TABLE``), kept
in step statement by statement: a narrowing needs the old type, a rename the old name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import sqlglot
from sqlglot import TokenType, exp
from sqlglot.errors import ParseError

DIALECT = "mysql"
T = exp.DType

# sqlglot logs a warning when it falls back to a bare Command; such statements are reported as
# not understood, so the warning would only repeat them on the terminal.
logging.getLogger("sqlglot").setLevel(logging.ERROR)
# One "a TO b" pair of RENAME TABLE a TO b, c TO d.
RENAME_PAIR = re.compile(r"`?(?P<old>[\w$]+)`?\s+TO\s+`?(?P<new>[\w$]+)`?", re.IGNORECASE)


class StatementKind(StrEnum):
    ALTER_TABLE = "alter table"
    CREATE_TABLE = "create table"
    CREATE_INDEX = "create index"
    DROP_TABLE = "drop table"
    RENAME_TABLE = "rename table"
    DATA = "data change"
    OTHER = "other"
    NOT_PARSED = "not parsed"


@dataclass(frozen=True, kw_only=True)
class Breakage:
    """Why a statement breaks the running release, and the expand/contract way instead."""

    reason: str
    fix: str


@dataclass(frozen=True, kw_only=True)
class Classification:
    sql: str
    kind: StatementKind
    table: str | None
    breakages: tuple[Breakage, ...] = ()
    # A schema change of a table that existed before this deploy: the server is asked which
    # algorithm it takes (INSTANT, INPLACE without a lock, or a locking copy).
    asks_server: bool = False


@dataclass(frozen=True, kw_only=True)
class Column:
    name: str
    type: exp.DataType
    nullable: bool
    # None when the column has no default (a NULL default counts as none).
    default: exp.Expression | None


# table name → column name (lower case: MySQL compares column names without case) → column
Schema = Mapping[str, Mapping[str, Column]]


# -- the existing schema -----------------------------------------------------------------


def schema_from_ddl(create_statements: Iterable[str]) -> dict[str, dict[str, Column]]:
    """The tables of ``SHOW CREATE TABLE`` output, as the classifier needs them."""
    tables: dict[str, dict[str, Column]] = {}
    for sql in create_statements:
        created = sqlglot.parse_one(sql, read=DIALECT)
        if isinstance(created, exp.Create) and isinstance(created.this, exp.Schema):
            tables[created.this.this.name] = columns_of(created.this)
    return tables


def columns_of(schema: exp.Schema) -> dict[str, Column]:
    return {
        definition.name.lower(): column_from(definition)
        for definition in schema.expressions
        if isinstance(definition, exp.ColumnDef)
    }


def column_from(definition: exp.ColumnDef) -> Column:
    kinds = [constraint.kind for constraint in definition.constraints]
    not_null = any(
        isinstance(kind, exp.NotNullColumnConstraint) and not kind.args.get("allow_null")
        for kind in kinds
    )
    primary = any(isinstance(kind, exp.PrimaryKeyColumnConstraint) for kind in kinds)
    defaults = [kind.this for kind in kinds if isinstance(kind, exp.DefaultColumnConstraint)]
    default = defaults[0] if defaults and not isinstance(defaults[0], exp.Null) else None
    column_type = definition.args.get("kind")
    return Column(
        name=definition.name,
        type=column_type if isinstance(column_type, exp.DataType) else exp.DataType.build("TEXT"),
        nullable=not (not_null or primary),
        default=default,
    )


def has_auto_increment(definition: exp.ColumnDef) -> bool:
    return any(
        isinstance(constraint.kind, exp.AutoIncrementColumnConstraint)
        for constraint in definition.constraints
    )


# -- splitting what a migration runs into statements ---------------------------------------


def split_statements(sql: str) -> list[str]:
    """One ``DB::unprepared`` can hold several statements; split at the tokenizer's
    semicolons, so the text of each stays exactly as written."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(sql)
    except Exception:  # sqlglot's TokenError; the whole text is then one unparsed statement
        return [sql.strip()] if sql.strip() else []
    pieces, start = [], 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            pieces.append(sql[start : token.start])
            start = token.end + 1
    pieces.append(sql[start:])
    return [piece.strip() for piece in pieces if piece.strip()]


# -- classification ----------------------------------------------------------------------


def classify_all(statements: Iterable[str], schema: Schema) -> list[Classification]:
    """Classify statements in the order they run; each is judged against the schema that
    the ones before it left."""
    classifier = Classifier(
        tables={name: dict(columns) for name, columns in schema.items()}, created=set()
    )
    return [classifier.classify(sql) for sql in statements]


@dataclass(frozen=True, kw_only=True)
class Classifier:
    # Working copies, changed as statements are classified.
    tables: dict[str, dict[str, Column]]
    # Tables created by these migrations: no rows yet and no running code uses them.
    created: set[str]

    def classify(self, sql: str) -> Classification:
        try:
            parsed = sqlglot.parse_one(sql, read=DIALECT)
        except ParseError:
            parsed = None
        if isinstance(parsed, exp.Alter) and parsed.args.get("kind") == "TABLE":
            return self._alter(sql, parsed)
        if isinstance(parsed, exp.Create):
            return self._create(sql, parsed)
        if isinstance(parsed, exp.Drop) and parsed.args.get("kind") == "TABLE":
            return self._drop_tables(sql, parsed)
        if isinstance(parsed, exp.Command) and parsed.name.upper() == "RENAME":
            return self._rename_tables(sql, parsed)
        if isinstance(parsed, exp.Insert | exp.Update | exp.Delete | exp.TruncateTable):
            table = parsed.find(exp.Table)
            return Classification(
                sql=sql, kind=StatementKind.DATA, table=table.name if table else None
            )
        if parsed is None or isinstance(parsed, exp.Command):
            return Classification(
                sql=sql, kind=StatementKind.NOT_PARSED, table=None, breakages=(NOT_UNDERSTOOD,)
            )
        return Classification(sql=sql, kind=StatementKind.OTHER, table=None)

    def _existed(self, table: str) -> bool:
        return table in self.tables and table not in self.created

    def _alter(self, sql: str, alter: exp.Alter) -> Classification:
        table = alter.this.name
        existed = self._existed(table)
        columns = self.tables.setdefault(table, {})
        breakages: list[Breakage] = []
        for action in alter.args.get("actions") or []:
            found = self._alter_action(table, columns, action)
            if existed:
                breakages += found
        return Classification(
            sql=sql,
            kind=StatementKind.ALTER_TABLE,
            table=table,
            breakages=tuple(breakages),
            asks_server=existed,
        )

    def _alter_action(
        self, table: str, columns: dict[str, Column], action: exp.Expression
    ) -> list[Breakage]:
        """Apply one ALTER action to the working schema; return how it breaks old code."""
        if isinstance(action, exp.ColumnDef):
            columns[action.name.lower()] = column_from(action)
            return added_column(table, action)
        if isinstance(action, exp.Drop) and action.args.get("kind") == "COLUMN":
            names = [column.name for column in action.args.get("tables") or []]
            for name in names:
                columns.pop(name.lower(), None)
            return [dropped_column(table, name) for name in names]
        if isinstance(action, exp.RenameColumn):
            old, new = action.this.name, action.args["to"].name
            if old.lower() in columns:
                columns[new.lower()] = columns.pop(old.lower())
            return [renamed_column(table, old, new)] if old.lower() != new.lower() else []
        if isinstance(action, exp.ModifyColumn):
            return changed_column(table, columns, action)
        if isinstance(action, exp.AlterColumn):
            return altered_default(table, columns, action)
        if isinstance(action, exp.AddConstraint):
            return [unique_index(table, names) for names in unique_columns(action)]
        if isinstance(action, exp.AlterRename):
            new_name = action.this.name
            self.tables[new_name] = self.tables.pop(table, columns)
            return [renamed_table(table, new_name)]
        return []

    def _create(self, sql: str, create: exp.Create) -> Classification:
        kind = str(create.args.get("kind") or "").upper()
        target = create.this
        if kind == "TABLE":
            # CREATE TABLE t (…) holds a Schema; CREATE TABLE t LIKE u a bare Table.
            name = target.this.name if isinstance(target, exp.Schema) else target.name
            self.tables[name] = columns_of(target) if isinstance(target, exp.Schema) else {}
            self.created.add(name)
            return Classification(sql=sql, kind=StatementKind.CREATE_TABLE, table=name)
        if kind == "INDEX" and isinstance(target, exp.Index):
            table = target.args["table"].name
            existed = self._existed(table)
            names = [column.name for column in target.find_all(exp.Column)]
            unique = bool(create.args.get("unique")) and existed
            return Classification(
                sql=sql,
                kind=StatementKind.CREATE_INDEX,
                table=table,
                breakages=(unique_index(table, names),) if unique else (),
                asks_server=existed,
            )
        return Classification(sql=sql, kind=StatementKind.OTHER, table=None)

    def _drop_tables(self, sql: str, drop: exp.Drop) -> Classification:
        names = [table.name for table in drop.args.get("tables") or []]
        breakages = tuple(dropped_table(name) for name in names if self._existed(name))
        for name in names:
            self.tables.pop(name, None)
        return Classification(
            sql=sql,
            kind=StatementKind.DROP_TABLE,
            table=names[0] if names else None,
            breakages=breakages,
        )

    def _rename_tables(self, sql: str, command: exp.Command) -> Classification:
        # sqlglot keeps RENAME TABLE a TO b[, c TO d] as a Command: read its pairs.
        text = command.expression.name if command.expression else ""
        renames = [(pair["old"], pair["new"]) for pair in RENAME_PAIR.finditer(text)]
        if not renames:
            return Classification(
                sql=sql, kind=StatementKind.NOT_PARSED, table=None, breakages=(NOT_UNDERSTOOD,)
            )
        breakages = tuple(renamed_table(old, new) for old, new in renames if self._existed(old))
        for old, new in renames:
            if old in self.tables:
                self.tables[new] = self.tables.pop(old)
        return Classification(
            sql=sql, kind=StatementKind.RENAME_TABLE, table=renames[0][0], breakages=breakages
        )


def unique_columns(action: exp.AddConstraint) -> list[list[str]]:
    """The columns of each UNIQUE index (or primary key) an ``ADD`` creates."""
    found: list[list[str]] = []
    for node in action.walk():
        if isinstance(node, exp.UniqueColumnConstraint):
            schema = node.this
            found.append(
                [c.name for c in schema.expressions] if isinstance(schema, exp.Schema) else []
            )
        elif isinstance(node, exp.PrimaryKey):
            found.append([column.name for column in node.expressions])
    return found


# -- the breaking changes ----------------------------------------------------------------

NOT_UNDERSTOOD = Breakage(
    reason="sqlglot could not parse it, so it was not judged",
    fix="review it by hand, or write it with Laravel's schema builder",
)


def added_column(table: str, definition: exp.ColumnDef) -> list[Breakage]:
    column = column_from(definition)
    if column.nullable or column.default is not None or has_auto_increment(definition):
        return []
    return [
        Breakage(
            reason=(
                f"adds {table}.{column.name} NOT NULL with no default: the running release's "
                "inserts leave it out and fail"
            ),
            fix=(
                f"add {column.name} nullable (or with a default) now; make it NOT NULL in the "
                "next release, once every writer sets it"
            ),
        )
    ]


def dropped_column(table: str, column: str) -> Breakage:
    return Breakage(
        reason=f"drops {table}.{column}, which the running release still reads and writes",
        fix=f"stop using {column} in this release; drop it in the next one",
    )


def renamed_column(table: str, old: str, new: str) -> Breakage:
    return Breakage(
        reason=f"renames {table}.{old} to {new}: the running release still uses {old}",
        fix=(
            f"add {new} and write both columns now (backfill {new}); read {new} in the next "
            f"release and drop {old} in the one after"
        ),
    )


def renamed_table(old: str, new: str) -> Breakage:
    return Breakage(
        reason=f"renames table {old} to {new}: the running release still uses {old}",
        fix=(
            f"create {new} and write both tables now (backfill it); read {new} in the next "
            f"release and drop {old} in the one after"
        ),
    )


def dropped_table(table: str) -> Breakage:
    return Breakage(
        reason=f"drops table {table}, which the running release still uses",
        fix=f"stop using {table} in this release; drop it in the next one",
    )


def unique_index(table: str, columns: Iterable[str]) -> Breakage:
    listed = ", ".join(columns)
    return Breakage(
        reason=(
            f"adds a UNIQUE index on {table} ({listed}): existing rows, or the running "
            "release's writes, may hold duplicates"
        ),
        fix=(
            f"deduplicate ({listed}) and make every writer respect it in this release; add the "
            "unique index in the next one"
        ),
    )


def changed_column(
    table: str, columns: dict[str, Column], action: exp.ModifyColumn
) -> list[Breakage]:
    """CHANGE old new TYPE … or MODIFY col TYPE …: a rename, a type change, NOT NULL, default."""
    definition = action.this
    new = column_from(definition)
    old_name = action.args["rename_from"].name if action.args.get("rename_from") else new.name
    old = columns.pop(old_name.lower(), None)
    columns[new.name.lower()] = new
    breakages = []
    if old_name.lower() != new.name.lower():
        breakages.append(renamed_column(table, old_name, new.name))
    if old is None:
        return breakages
    loss = type_change(old.type, new.type)
    if loss is not None:
        breakages.append(
            Breakage(
                reason=(
                    f"{loss} {table}.{old_name} from {sql_of(old.type)} to {sql_of(new.type)}: "
                    "values the running release writes may not fit"
                ),
                fix=(
                    f"add a new column of the new type and write both now (backfill it); read "
                    f"it in the next release and drop {old_name} in the one after"
                ),
            )
        )
    if old.nullable and not new.nullable:
        breakages.append(made_not_null(table, old_name))
    if old.default is not None and new.default is None and not has_auto_increment(definition):
        breakages.append(dropped_default(table, old_name, nullable=new.nullable))
    return breakages


def altered_default(
    table: str, columns: dict[str, Column], action: exp.AlterColumn
) -> list[Breakage]:
    """ALTER col DROP DEFAULT breaks inserts that leave the column out; SET DEFAULT does not."""
    name = action.this.name
    old = columns.get(name.lower())
    if action.args.get("drop"):
        if old is not None:
            columns[name.lower()] = Column(
                name=old.name, type=old.type, nullable=old.nullable, default=None
            )
        return [dropped_default(table, name, nullable=old.nullable if old else False)]
    if old is not None and action.args.get("default") is not None:
        columns[name.lower()] = Column(
            name=old.name, type=old.type, nullable=old.nullable, default=action.args["default"]
        )
    return []


def made_not_null(table: str, column: str) -> Breakage:
    return Breakage(
        reason=f"makes {table}.{column} NOT NULL: the running release may write NULL or leave "
        "it out",
        fix=(
            f"make every writer set {column} and backfill the NULLs in this release; add NOT "
            "NULL in the next one"
        ),
    )


def dropped_default(table: str, column: str, *, nullable: bool) -> Breakage:
    effect = "get NULL instead" if nullable else "fail"
    return Breakage(
        reason=f"drops the default of {table}.{column}: the running release's inserts that "
        f"leave it out {effect}",
        fix="keep the default while a running release relies on it; drop it in the next one",
    )


# -- type changes ------------------------------------------------------------------------

INTEGER_RANGES: Mapping[exp.DType, tuple[int, int]] = {
    T.BOOLEAN: (-(2**7), 2**7 - 1),  # MySQL's BOOLEAN is TINYINT(1)
    T.TINYINT: (-(2**7), 2**7 - 1),
    T.UTINYINT: (0, 2**8 - 1),
    T.SMALLINT: (-(2**15), 2**15 - 1),
    T.USMALLINT: (0, 2**16 - 1),
    T.MEDIUMINT: (-(2**23), 2**23 - 1),
    T.UMEDIUMINT: (0, 2**24 - 1),
    T.INT: (-(2**31), 2**31 - 1),
    T.UINT: (0, 2**32 - 1),
    T.BIGINT: (-(2**63), 2**63 - 1),
    T.UBIGINT: (0, 2**64 - 1),
}
# Characters (bytes for the binary kinds) a column holds; None: the declared length.
TEXT_CAPACITY: Mapping[exp.DType, int | None] = {
    T.CHAR: None,
    T.NCHAR: None,
    T.VARCHAR: None,
    T.NVARCHAR: None,
    T.TINYTEXT: 2**8 - 1,
    T.TEXT: 2**16 - 1,
    T.MEDIUMTEXT: 2**24 - 1,
    T.LONGTEXT: 2**32 - 1,
}
BINARY_CAPACITY: Mapping[exp.DType, int | None] = {
    T.BINARY: None,
    T.VARBINARY: None,
    T.TINYBLOB: 2**8 - 1,
    T.BLOB: 2**16 - 1,
    T.MEDIUMBLOB: 2**24 - 1,
    T.LONGBLOB: 2**32 - 1,
}
DECIMAL_TYPES = frozenset({T.DECIMAL, T.UDECIMAL})
FLOAT_PRECISION: Mapping[exp.DType, int] = {T.FLOAT: 1, T.DOUBLE: 2}
# MySQL's TIMESTAMP reads as TIMESTAMPTZ in sqlglot.
TEMPORAL_TYPES = frozenset({T.DATE, T.DATETIME, T.TIMESTAMP, T.TIMESTAMPTZ, T.TIME, T.YEAR})
# (from, to) pairs that keep every value: a date is a datetime at midnight, and DATETIME's
# range holds TIMESTAMP's.
TEMPORAL_WIDENINGS = frozenset(
    {(T.DATE, T.DATETIME), (T.TIMESTAMP, T.DATETIME), (T.TIMESTAMPTZ, T.DATETIME)}
)


def kind_of(data_type: exp.DataType) -> str:
    this = data_type.this
    if this in INTEGER_RANGES:
        return "integer"
    if this in TEXT_CAPACITY:
        return "text"
    if this in BINARY_CAPACITY:
        return "binary"
    if this in DECIMAL_TYPES:
        return "decimal"
    if this in FLOAT_PRECISION:
        return "float"
    if this in TEMPORAL_TYPES:
        return "temporal"
    return str(this.value).lower()  # enum, set, json, …: each its own kind


def type_change(old: exp.DataType, new: exp.DataType) -> str | None:
    """How changing ``old`` to ``new`` can lose values: "narrows", or "changes the kind of"
    (integer to text, say); None when every old value still fits."""
    if kind_of(old) != kind_of(new):
        return "changes the kind of"
    if narrows(old, new):
        return "narrows"
    return None


def narrows(old: exp.DataType, new: exp.DataType) -> bool:
    kind = kind_of(old)
    if kind == "integer":
        (old_low, old_high), (new_low, new_high) = (
            INTEGER_RANGES[old.this],
            INTEGER_RANGES[new.this],
        )
        return new_low > old_low or new_high < old_high
    if kind in {"text", "binary"}:
        capacities = TEXT_CAPACITY if kind == "text" else BINARY_CAPACITY
        return capacity(new, capacities) < capacity(old, capacities)
    if kind == "decimal":
        (old_precision, old_scale), (new_precision, new_scale) = precision(old), precision(new)
        return new_scale < old_scale or new_precision - new_scale < old_precision - old_scale
    if kind == "float":
        return FLOAT_PRECISION[new.this] < FLOAT_PRECISION[old.this]
    if kind == "temporal":
        if old.this == new.this:
            return fractional_digits(new) < fractional_digits(old)
        return (old.this, new.this) not in TEMPORAL_WIDENINGS
    if kind in {"enum", "set"}:
        return not set(enum_values(old)) <= set(enum_values(new))
    return sql_of(old) != sql_of(new)


def parameters(data_type: exp.DataType) -> list[int]:
    values = []
    for parameter in data_type.expressions:
        literal = parameter.this if isinstance(parameter, exp.DataTypeParam) else parameter
        if isinstance(literal, exp.Literal) and not literal.is_string:
            values.append(int(literal.name))
    return values


def capacity(data_type: exp.DataType, capacities: Mapping[exp.DType, int | None]) -> int:
    fixed = capacities[data_type.this]
    if fixed is not None:
        return fixed
    declared = parameters(data_type)
    return declared[0] if declared else 1  # CHAR and BINARY default to one


def precision(data_type: exp.DataType) -> tuple[int, int]:
    declared = parameters(data_type)
    digits = declared[0] if declared else 10  # MySQL's DECIMAL is DECIMAL(10, 0)
    scale = declared[1] if len(declared) > 1 else 0
    return digits, scale


def fractional_digits(data_type: exp.DataType) -> int:
    declared = parameters(data_type)
    return declared[0] if declared else 0


def enum_values(data_type: exp.DataType) -> list[str]:
    return [value.name for value in data_type.expressions if isinstance(value, exp.Literal)]


def sql_of(data_type: exp.DataType) -> str:
    return data_type.sql(dialect=DIALECT)
