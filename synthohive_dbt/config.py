"""The configuration model of the Python API: Metadata, TableConfig, Constraint, PrivacyConfig.

One pydantic model per concern, `extra="forbid"` so a typo in a keyword is an error rather than a silently
ignored setting. `Metadata.validate_schema()` is the single gate every schema passes before training.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from synthohive_dbt.errors import ConfigError, CycleError, SchemaValidationError
from synthohive_dbt.graph import find_cycle, topological_order

DType = Literal["int", "float", "bool", "str", "date", "datetime"]

_SQL_TYPE_FAMILIES: tuple[tuple[DType, tuple[str, ...]], ...] = (
    ("bool", ("bool",)),
    ("datetime", ("timestamp", "datetime")),
    ("date", ("date",)),
    ("int", ("int", "serial", "long", "short", "tinyint", "smallint", "bigint", "hugeint", "ubigint")),
    ("float", ("float", "double", "real", "numeric", "decimal", "number", "money")),
    ("str", ("char", "text", "string", "varchar", "uuid", "clob", "json", "enum")),
)


TRAINING_ROW_BUDGET = 200_000
"""Default rows read from the largest table to fit on (`--max-rows`): tables beyond it are sampled in the
warehouse, consistently across foreign keys, so fitting stays well under 1 GB whatever the table sizes; the
models converge long before (the 137k-row shop bench). Generated sizes still follow the real counts."""


def dtype_from_sql(data_type: str | None) -> DType | None:
    """Map a declared SQL type (dbt `data_type`, a warehouse column type) to a dtype family, or None."""
    if not data_type:
        return None
    t = data_type.strip().lower()
    if re.match(r"^(numeric|decimal|number)\s*\(\s*\d+\s*(,\s*0\s*)?\)$", t):
        return "int"  # NUMERIC(10) / NUMERIC(10,0) hold integers only
    for family, needles in _SQL_TYPE_FAMILIES:
        if any(n in t for n in needles):
            return family
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CastTarget(_Strict):
    """A downstream model casts this column: every value must convert to `data_type`, or the model's build
    fails (`strict`, a plain cast) or turns it into null (`try_cast`). Values in `except_values` are mapped to
    null before the cast (`cast(nullif(x, '') as int)`), so they need not convert."""

    data_type: str
    dtype: DType | None = None
    model: str | None = Field(None, description="unique_id of the model whose SQL casts it")
    strict: bool = True
    except_values: list[Any] = Field(default_factory=list)


class Constraint(_Strict):
    """What a column must satisfy, as dbt declares it (tests, contracts).

    `min`/`max` are numeric bounds; a bound that is a SQL expression in dbt stays in `min_expr`/`max_expr`
    (kept, reported, not enforced numerically). `where` keeps a test's condition: the constraint holds only
    on rows matching it. `severity="warn"` marks a test that dbt would only warn about.
    """

    dtype: DType | None = None
    data_type: str | None = Field(None, description="declared SQL type, e.g. 'varchar(20)'")
    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    min_expr: str | None = None
    max_expr: str | None = None
    accepted_values: list[Any] | None = None
    not_null: bool = False
    unique: bool = False
    regex: str | None = None
    where: str | None = None
    severity: Literal["error", "warn"] = "error"
    castable_to: list[CastTarget] = Field(default_factory=list,
                                          description="casts downstream SQL applies (sources mode lineage)")
    named_values: list[Any] | None = Field(
        None, description="values the project's SQL compares the column to (`where x = 'a'`, `x in (...)`): "
                          "a generator that does not learn the column's values still writes these")

    @model_validator(mode="after")
    def _check(self) -> Constraint:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ConfigError(
                f"constraint has min {self.min} > max {self.max}",
                hint="swap the bounds or drop one of them",
            )
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ConfigError(f"constraint regex {self.regex!r} does not compile: {exc}",
                                  hint="write a Python-compatible regular expression") from exc
        if self.dtype is None and self.data_type:
            object.__setattr__(self, "dtype", dtype_from_sql(self.data_type))
        return self

    def merge(self, other: Constraint) -> Constraint:
        """Combine two unconditional constraints on one column: the stricter of each part wins."""
        data = self.model_dump()
        o = other.model_dump()
        for key in ("dtype", "data_type", "min_expr", "max_expr", "regex", "where"):
            data[key] = data[key] if data[key] is not None else o[key]
        if o["min"] is not None and (data["min"] is None or o["min"] > data["min"]):
            data["min"], data["min_inclusive"] = o["min"], o["min_inclusive"]
        if o["max"] is not None and (data["max"] is None or o["max"] < data["max"]):
            data["max"], data["max_inclusive"] = o["max"], o["max_inclusive"]
        if o["accepted_values"] is not None:
            mine = data["accepted_values"]
            data["accepted_values"] = (o["accepted_values"] if mine is None
                                       else [v for v in mine if v in o["accepted_values"]])
        data["not_null"] = data["not_null"] or o["not_null"]
        data["unique"] = data["unique"] or o["unique"]
        data["castable_to"] = [*data["castable_to"], *(c for c in o["castable_to"] if c not in data["castable_to"])]
        if o["named_values"] is not None:
            mine = data["named_values"] or []
            data["named_values"] = [*mine, *(v for v in o["named_values"] if v not in mine)]
        if "error" in (data["severity"], o["severity"]):
            data["severity"] = "error"
        return Constraint(**data)


class ConditionalConstraint(_Strict):
    """A constraint on `column` that holds only where `constraint.where` is true (or only warns)."""

    column: str
    constraint: Constraint
    test: str | None = Field(None, description="the dbt test it came from, for reports")


class RowRule(_Strict):
    """A rule across columns of one row, as an SQL predicate on the table's raw columns (`shipped_at >=
    ordered_at`, `total = price * quantity`, `ended_at is null or started_at <= ended_at`).

    A row breaks it where the predicate is false; a null result passes, as in dbt's `expression_is_true`.
    `origin="declared"` comes from the project (a dbt test, carried back by lineage) or the Python API: output
    that breaks it is an error. `origin="learned"` was found in the real rows (relational/invariants.py):
    output that breaks it is a warning unless strict. `enabled=False` switches a rule off; the choice is kept
    with the metadata in a saved model (and a re-fit keeps it for a rule it finds again).
    """

    expression: str
    origin: Literal["declared", "learned"] = "declared"
    kind: str = Field("expression", description="order, arithmetic, fd, expression: how it was found or read")
    source: str | None = Field(None, description="the dbt test unique_id, or None (Python API, learned)")
    enabled: bool = True
    support: int | None = Field(None, description="real rows the rule was checked on (learned rules)")
    tried: int | None = Field(None, description="candidates tried on the table when it was learned")

    @field_validator("expression")
    @classmethod
    def _parses(cls, v: str) -> str:
        if not v or not v.strip():
            raise ConfigError("a row rule has an empty expression",
                              hint="write an SQL predicate on the table's columns, e.g. 'a <= b'")
        return v.strip()


class GroupRule(_Strict):
    """Order within the rows of a group (dbt_utils `mutually_exclusive_ranges`, `sequential_values`).

    `kind="ranges"`: `columns` = [lower, upper]; within each `partition_by` group the ranges do not overlap
    (`gaps`: allowed, not_allowed: each range starts where the previous ends). `kind="sequence"`: `columns` =
    [column]; within each group, ordered, each value is the previous plus `interval` (in `datepart` units for
    dates). Kept by construction: ranges are laid end to end from their lengths, sequences renumbered.
    """

    kind: Literal["ranges", "sequence"]
    columns: list[str]
    partition_by: list[str] = Field(default_factory=list)
    gaps: Literal["allowed", "not_allowed"] = "allowed"
    zero_length_allowed: bool = False
    interval: float = 1.0
    datepart: Literal["second", "minute", "hour", "day", "week"] | None = None
    origin: Literal["declared", "learned"] = "declared"
    source: str | None = None
    enabled: bool = True
    support: int | None = Field(None, description="real rows checked against the row before them (learned rules)")
    tried: int | None = Field(None, description="candidates tried on the table when it was learned")

    @model_validator(mode="after")
    def _arity(self) -> GroupRule:
        want = 2 if self.kind == "ranges" else 1
        if len(self.columns) != want:
            raise ConfigError(f"a {self.kind} group rule names columns {self.columns}, not {want}",
                              hint="ranges: [lower, upper]; sequence: [column]")
        return self

    @property
    def label(self) -> str:
        by = f" per {', '.join(self.partition_by)}" if self.partition_by else ""
        if self.kind == "ranges":
            meet = ", each starting where the previous ends" if self.gaps == "not_allowed" else ""
            return f"ranges [{self.columns[0]}, {self.columns[1]}) do not overlap{by}{meet}"
        unit = f" {self.datepart}" if self.datepart else ""
        return f"{self.columns[0]} steps by {self.interval:g}{unit}{by}"


class ForeignRule(_Strict):
    """A rule across a foreign key, learned from the real rows (relational/foreign_rules.py) and kept by
    construction. It lives on the table whose `column` it computes:

    - `kind="lookup"`: on the child, `column = other.source` for the parent row the child's foreign key `via`
      points to (`billing_country = customers.country`): copied from the sampled parent row;
    - `kind="aggregate"`: on the parent, `column = function(other.of)` over the parent's rows of child table
      `other` through its foreign key `via` (`total = sum(invoice_lines.unit_price * invoice_lines.quantity)`,
      `item_count = count(order_items)`), rounded to `decimals`; a parent without children holds `empty`
      (0, or None for null). Computed from the sampled children before the parent table is written.
    """

    kind: Literal["lookup", "aggregate"]
    column: str
    other: str = Field(description="the parent table (lookup) or the child table (aggregate)")
    via: list[str] = Field(description="the child's foreign key columns that link the two tables")
    source: str | None = Field(None, description="lookup: the parent column copied")
    function: Literal["count", "sum", "min", "max"] | None = None
    of: str | None = Field(None, description="aggregate: the child column, or `a * b` of two (None for count)")
    decimals: int | None = Field(None, description="the rounding of `column`; None: exact")
    empty: float | None = Field(None, description="aggregate: the value of a parent without children")
    origin: Literal["learned", "declared"] = "learned"
    enabled: bool = True
    support: int | None = Field(None, description="real parent rows the rule was checked on")
    tried: int | None = Field(None, description="candidates tried on the foreign key when it was learned")

    @model_validator(mode="after")
    def _complete(self) -> ForeignRule:
        if self.kind == "lookup" and not self.source:
            raise ConfigError(f"lookup rule on {self.column!r} names no parent column",
                              hint="set source= to the parent column copied")
        if self.kind == "aggregate" and (self.function is None or (self.function != "count") != bool(self.of)):
            raise ConfigError(f"aggregate rule on {self.column!r}: function {self.function!r} with of={self.of!r}",
                              hint="count takes no column; sum, min and max take one (or `a * b`)")
        return self

    @property
    def expression(self) -> str:
        """How the rule is listed and switched off (`--no-rule TABLE:EXPRESSION`)."""
        via = f" via {', '.join(self.via)}"
        if self.kind == "lookup":
            return f"{self.column} = {self.other}.{self.source}{via}"
        if self.function == "count":
            return f"{self.column} = count({self.other}){via}"
        of = " * ".join(f"{self.other}.{c.strip()}" for c in str(self.of).split("*"))
        inner = f"{self.function}({of})"
        return f"{self.column} = {inner if self.decimals is None else f'round({inner}, {self.decimals})'}{via}"

    @property
    def child_columns(self) -> list[str]:
        """The child columns an aggregate reads (none for count)."""
        return [c.strip() for c in str(self.of).split("*")] if self.of else []


class ForeignKey(_Strict):
    """`columns` of this table reference `parent_columns` of `parent` (composite keys: several columns)."""

    columns: list[str]
    parent: str
    parent_columns: list[str]
    where: str | None = Field(None, description="relationships_where: condition on the child rows")
    parent_where: str | None = Field(None, description="relationships_where: condition on the parent rows")
    except_values: list[Any] = Field(
        default_factory=list, description="child values that are not references and stay as they are (a model "
                                          "maps them to null before its relationships test: `nullif(x, '0')`)")

    @model_validator(mode="after")
    def _same_arity(self) -> ForeignKey:
        if not self.columns or len(self.columns) != len(self.parent_columns):
            raise ConfigError(
                f"foreign key {self.columns} -> {self.parent}{self.parent_columns} has "
                f"{len(self.columns)} local and {len(self.parent_columns)} parent columns",
                hint="list the same number of local and parent columns, in matching order",
            )
        if self.except_values and len(self.columns) != 1:
            raise ConfigError(f"foreign key {self.columns} -> {self.parent}{self.parent_columns} has except_values "
                              "but several columns", hint="except_values applies to one-column foreign keys")
        return self

    @property
    def label(self) -> str:
        return f"({', '.join(self.columns)}) -> {self.parent}({', '.join(self.parent_columns)})"


def _parse_fk_target(local: str, target: str) -> ForeignKey:
    """'parent.col' or 'parent.(a, b)' with local 'x, y' (a composite key in the dict form)."""
    if "." not in target:
        raise ConfigError(
            f"foreign key target {target!r} for column {local!r} is not 'parent_table.parent_column'",
            hint="write the target as 'parent_table.parent_column'",
        )
    parent, cols = target.rsplit(".", 1) if "(" not in target else target.split(".(", 1)
    parent_cols = [c.strip() for c in cols.strip("() ").split(",")]
    local_cols = [c.strip() for c in local.split(",")]
    return ForeignKey(columns=local_cols, parent=parent, parent_columns=parent_cols)


def _add_once(rules: list[Any], rule: Any) -> Any:
    """`rule` appended unless one of the same expression is there (that one is returned, its choice kept)."""
    for mine in rules:
        if mine.expression == rule.expression:
            return mine
    rules.append(rule)
    return rule


class TableConfig(_Strict):
    """One table: keys, foreign keys, column constraints, and the parent columns its model sees."""

    name: str
    pk: list[str] = Field(default_factory=list, description="one column, or several for a composite key")
    fk: list[ForeignKey] = Field(default_factory=list)
    constraints: dict[str, Constraint] = Field(default_factory=dict)
    conditional_constraints: list[ConditionalConstraint] = Field(default_factory=list)
    parent_context_cols: list[str] | None = Field(
        None, description="parent columns fed to this table's model as context; None = a sensible default")
    columns: list[str] | None = Field(None, description="known column names; None when not declared")
    unique_keys: list[list[str]] = Field(
        default_factory=list, description="composite unique keys other than the primary key")
    pii_columns: list[str] = Field(default_factory=list, description="columns that must never reach a model")
    not_pii_columns: list[str] = Field(
        default_factory=list, description="columns declared not personal (dbt `meta: {pii: false}`): never faked "
        "by a heuristic; a `pii_columns` entry still wins")
    copy_as_is: bool = Field(False, description="small lookup table without PII: copy it instead of learning "
                             "(dbt `meta: {synthohive: {keep_real: true}}`, `--keep-real TABLE`)")
    unique_id: str | None = Field(None, description="dbt unique_id when read from a manifest")
    row_rules: list[RowRule] = Field(default_factory=list, description="rules across the columns of a row")
    group_rules: list[GroupRule] = Field(default_factory=list, description="order within groups of rows")
    foreign_rules: list[ForeignRule] = Field(default_factory=list,
                                             description="columns computed across a foreign key (lookups, aggregates)")
    resource_type: Literal["model", "seed", "source", "snapshot", "table"] = "table"

    @field_validator("pk", mode="before")
    @classmethod
    def _pk_list(cls, v: Any) -> Any:
        if v is None:
            return []
        return [v] if isinstance(v, str) else v

    @field_validator("fk", mode="before")
    @classmethod
    def _fk_list(cls, v: Any) -> Any:
        if v is None:
            return []
        if isinstance(v, dict):
            return [_parse_fk_target(k, t) for k, t in v.items()]
        return v

    @model_validator(mode="after")
    def _names(self) -> TableConfig:
        if not self.name or not self.name.strip():
            raise ConfigError("a table has an empty name", hint="give every table a non-empty name")
        if len(set(self.pk)) != len(self.pk):
            raise SchemaValidationError(f"table {self.name!r}: primary key {self.pk} repeats a column",
                                        hint="list each key column once")
        if self.columns is not None and len(set(self.columns)) != len(self.columns):
            dup = sorted({c for c in self.columns if self.columns.count(c) > 1})
            raise SchemaValidationError(f"table {self.name!r}: duplicate column names {dup}",
                                        hint="rename the columns so each name appears once")
        return self

    def add_row_rule(self, rule: RowRule) -> RowRule:
        """Add a rule once: the same expression again keeps the first (and its enabled choice)."""
        return _add_once(self.row_rules, rule)

    def add_foreign_rule(self, rule: ForeignRule) -> ForeignRule:
        """Add a rule across a foreign key once, as `add_row_rule`."""
        return _add_once(self.foreign_rules, rule)

    def switch_rule(self, expression: str, enabled: bool) -> RowRule | GroupRule | ForeignRule:
        """Switch a row rule (by its expression), a group rule (by its label) or a rule across a foreign key (by
        its expression) on or off; an unknown one is an error naming the rules."""
        for mine in [*self.row_rules, *self.group_rules, *self.foreign_rules]:
            if (mine.label if isinstance(mine, GroupRule) else mine.expression) == expression:
                mine.enabled = enabled
                return mine
        known = ([r.expression for r in self.row_rules] + [g.label for g in self.group_rules]
                 + [f.expression for f in self.foreign_rules])
        raise ConfigError(f"table {self.name!r} has no row rule {expression!r}", hint=f"pick one of {known or 'none'}")

    def constraint(self, column: str) -> Constraint:
        """The unconditional constraint of a column (an empty one when none is declared)."""
        return self.constraints.get(column, Constraint())

    def add_constraint(self, column: str, constraint: Constraint, test: str | None = None) -> None:
        """Merge into the column's constraint, or keep it apart when conditional / warn-only."""
        if constraint.where is not None or constraint.severity == "warn":
            self.conditional_constraints.append(
                ConditionalConstraint(column=column, constraint=constraint, test=test))
        elif column in self.constraints:
            self.constraints[column] = self.constraints[column].merge(constraint)
        else:
            self.constraints[column] = constraint

    @property
    def parents(self) -> list[str]:
        return sorted({fk.parent for fk in self.fk})


class PrivacyConfig(_Strict):
    """How personal data is kept out of models and output."""

    enable_differential_privacy: bool = False
    epsilon: float = Field(3.0, gt=0, description="DP budget for the whole database, split evenly over the "
                           "learned tables; smaller is more private and less faithful")
    delta: float | None = Field(None, gt=0, lt=1, description="DP delta, split like epsilon; None = min(1e-5, 1 / (10 "
                                "* rows)) per table")
    pii_strategy: Literal["mask", "faker", "context_aware_faker"] = "context_aware_faker"
    pii_columns: dict[str, list[str]] = Field(
        default_factory=dict, description="table -> columns to treat as PII, on top of dbt meta/tags")
    detect_pii: bool = Field(True, description="also flag PII by column names and values")
    not_pii: dict[str, list[str]] = Field(
        default_factory=dict, description="table -> columns the heuristics flagged wrongly (a product `name`)")
    secret: SecretStr | None = Field(None, description="HMAC key for consistent fakes; generated if None")


    @model_validator(mode="after")
    def _no_contradiction(self) -> PrivacyConfig:
        for table, cols in self.not_pii.items():
            both = sorted(set(cols) & set(self.pii_columns.get(table, [])))
            if both:
                raise ConfigError(f"PrivacyConfig: table {table!r} lists {both} both as pii_columns and not_pii",
                                  hint="keep each column in one of the two lists")
        return self


class Metadata(_Strict):
    """The relational schema: tables by name, each with keys, foreign keys and constraints."""

    tables: dict[str, TableConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _keys_match_names(self) -> Metadata:
        for key, table in self.tables.items():
            if key != table.name:
                raise SchemaValidationError(
                    f"table registered as {key!r} is named {table.name!r}",
                    hint="use the table's own name as its key in Metadata.tables")
        return self

    def add_table(self, name: str, pk: str | list[str] | None = None,
                  fk: dict[str, str] | list[ForeignKey] | None = None,
                  constraints: dict[str, Constraint] | None = None,
                  parent_context_cols: list[str] | None = None, **extra: Any) -> TableConfig:
        """Register a table; a second table of the same name is an error, not an overwrite."""
        if name in self.tables:
            raise SchemaValidationError(f"table {name!r} is added twice",
                                        hint="give each table a distinct name, or edit Metadata.tables[name]")
        table = TableConfig(name=name, pk=pk, fk=fk, constraints=constraints or {},
                            parent_context_cols=parent_context_cols, **extra)
        self.tables[name] = table
        return table

    def children(self, name: str) -> list[str]:
        return sorted(t.name for t in self.tables.values() if any(fk.parent == name for fk in t.fk))

    def topological_order(self) -> list[str]:
        """Parents before children (self-references ignored); raises CycleError with the path."""
        parents = {n: t.parents for n, t in self.tables.items()}
        cycle = find_cycle(parents)
        if cycle:
            raise CycleError(list(reversed(cycle)))
        return topological_order(self.tables, parents)

    def validate_schema(self) -> None:
        """Raise before any training on anything that would make the schema untrainable."""
        for table in self.tables.values():
            known = set(table.columns) if table.columns is not None else None
            for col in [*table.pk, *table.constraints]:
                if known is not None and col not in known:
                    raise SchemaValidationError(
                        f"table {table.name!r}: column {col!r} is used as a key or constraint but is not a "
                        f"column of the table (columns: {sorted(known)})",
                        hint="fix the column name, or add it to TableConfig.columns")
            for fk in table.fk:
                self._check_fk(table, fk)
        self.topological_order()

    def _check_fk(self, table: TableConfig, fk: ForeignKey) -> None:
        where = f"table {table.name!r}, foreign key {fk.label}"
        parent = self.tables.get(fk.parent)
        if parent is None:
            raise SchemaValidationError(
                f"{where}: parent table {fk.parent!r} is not in the metadata "
                f"(tables: {sorted(self.tables)})",
                hint=f"add table {fk.parent!r} (or select it in dbt), or remove this foreign key")
        for cols, owner in ((fk.columns, table), (fk.parent_columns, parent)):
            if owner.columns is not None:
                missing = [c for c in cols if c not in owner.columns]
                if missing:
                    raise SchemaValidationError(
                        f"{where}: column(s) {missing} do not exist in table {owner.name!r}",
                        hint=f"fix the column name; {owner.name!r} has {sorted(owner.columns)}")
        is_pk = sorted(parent.pk) == sorted(fk.parent_columns)
        is_unique = len(fk.parent_columns) == 1 and parent.constraint(fk.parent_columns[0]).unique
        if not (is_pk or is_unique):
            raise SchemaValidationError(
                f"{where}: the referenced column(s) {fk.parent_columns} are neither the primary key of "
                f"{parent.name!r} (pk: {parent.pk or 'none'}) nor declared unique",
                hint=f"declare a primary key on {parent.name!r} (a `unique` test or a primary_key "
                     "constraint), or point the foreign key at its key")
        for child_col, parent_col in zip(fk.columns, fk.parent_columns):
            a, b = table.constraint(child_col).dtype, parent.constraint(parent_col).dtype
            if a and b and a != b and {a, b} != {"int", "float"}:
                raise SchemaValidationError(
                    f"{where}: column {child_col!r} is {a} but {parent.name}.{parent_col} is {b}",
                    hint="make both columns the same type (cast one in the model or fix data_type)")

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str | Path) -> Metadata:
        raw = Path(text).read_text() if isinstance(text, Path) else text
        return cls.model_validate(json.loads(raw))
