"""What the reader learns from one test or constraint, before it is folded into a TableConfig.

Small frozen records keep the interpretation of dbt's many test kinds (testkinds.py, constraints.py)
apart from the decisions that need the whole table (keys.py, reader.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from synthohive_dbt.config import Constraint, GroupRule


@dataclass(frozen=True)
class ColumnRule:
    """A constraint on one column (conditional when it has `where` or warns only)."""

    table: str  # unique_id
    column: str
    constraint: Constraint
    source: str  # the test or node unique_id it came from


@dataclass(frozen=True)
class KeyRule:
    """The columns are unique together on every row: a candidate primary key.

    `origin` says how sure it is: a `primary_key` constraint wins over keys inferred from unique tests or
    unique constraints, and the manifest's own `primary_key` field (dbt 1.7+) is used when nothing else is.
    """

    table: str
    columns: tuple[str, ...]
    source: str
    origin: Literal["primary_key", "unique", "manifest"] = "unique"


@dataclass(frozen=True)
class FkRule:
    """`columns` of `table` reference `parent_columns` of `parent` (both unique_ids); rows holding one of
    `except_values` are no references (a model nulls them before its relationships test)."""

    table: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    source: str
    where: str | None = None
    note: str | None = None
    except_values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class RowRuleFinding:
    """A predicate every row of `table` keeps (config.RowRule): `expression` names the table's columns."""

    table: str
    expression: str
    source: str
    kind: str = "expression"


@dataclass(frozen=True)
class GroupRuleFinding:
    """Order within groups of rows of `table` (config.GroupRule: ranges that do not overlap, sequences)."""

    table: str
    rule: GroupRule
    source: str


@dataclass(frozen=True)
class NotModelled:
    """A test (or constraint) the reader cannot turn into metadata, with the reason, for the report."""

    test: str
    reason: str
    table: str | None = None


Finding = ColumnRule | KeyRule | FkRule | RowRuleFinding | GroupRuleFinding | NotModelled
