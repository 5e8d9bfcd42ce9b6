"""Keys the project never declared: a column unique in every real row that looks like an identifier.

Why: raw tables often declare no key at all (only `not_null`). A column such as `id` is then learned like any
number, so the synthetic rows repeat real ids, and a child column that holds the parent's ids keeps real values
that no generated parent has: every join comes back empty, yet every declared test passes. Treating such a
column as a key makes it generated unique in its own format (never copied), and lets foreign-key inference
(`relational.infer`) link the children to it.

A column of table `T` is an inferred key when ALL of these hold:

- it is not already a key, a unique column, a foreign key or a PII column, and `T` is not copied as is;
- it is non-null and unique in every real row, and holds integers or strings;
- it looks like an identifier, by name or by format:
  * its name is a bare key name (`id`, `key`, `uuid`, `guid`, `pk`), or `<stem>_id` / `_key` / `_uuid` where
    `<stem>` names `T` itself (`order_id` in `orders`) or no other table (`external_id`); a stem that names
    another table (`customer_id` in `orders`) is a reference, left to foreign-key inference;
  * or its text values all have an identifier's format: UUIDs, hex digests (12+ hex digits), or one prefix
    with a number (`C-000123`, `cus_8841`).
An integer column with another name is never a key (a unique amount is not an identifier).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from synthohive_dbt.config import Constraint, Metadata, TableConfig
from synthohive_dbt.kinds import key_kind

_GENERIC = frozenset({"id", "key", "pk", "uuid", "guid"})
MIN_ROWS_FOR_OTHER_IDS = 10
"""A `<stem>_id` that names no table is a key only when it is unique over at least this many rows."""
_SUFFIX = re.compile(r"^(?P<stem>[a-z0-9_]*?[a-z0-9])_?(?:id|key|uuid|guid)$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]{12,}$")
_PREFIXED = re.compile(r"^([A-Za-z][A-Za-z_\-:/#.]*)(\d+)$")


@dataclass(frozen=True)
class InferredKey:
    """One column made a key because the data and its name or format say so (listed for review)."""

    table: str
    column: str
    evidence: str
    rows: int

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column}"

    def message(self) -> str:
        return (f"inferred key {self.label}: unique and non-null in all {self.rows} real rows; {self.evidence}; "
                "it is generated unique in its format (declare a `unique` test to make it explicit)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def infer_unique_keys(frames: Mapping[str, pd.DataFrame], metadata: Metadata,
                      names_table: Any = None) -> list[InferredKey]:
    """The undeclared keys of every table (rules in the module docstring). `names_table(stem, table)` says
    whether a column stem names a table (foreign-key inference's own rule, so the two agree)."""
    out: list[InferredKey] = []
    for name in sorted(metadata.tables):
        table, frame = metadata.tables[name], frames.get(name)
        if frame is None or table.copy_as_is or frame.empty:
            continue
        others = [t for t in metadata.tables if t != name]
        for column in _candidates(table, frame):
            s = frame[column]
            if s.isna().any() or not s.is_unique:
                continue
            if _names_other_table(column, name, others, names_table):
                continue  # a reference to that table: foreign-key inference decides
            evidence = _name_evidence(column, name, names_table, len(s)) or identifier_format(s)
            if evidence is not None:
                out.append(InferredKey(name, column, evidence, len(s)))
    return out


def apply_unique_keys(metadata: Metadata, keys: list[InferredKey]) -> Metadata:
    """A copy of `metadata` where each inferred key is a unique, not-null column (the user's own constraints on
    the column are kept; only `unique` and `not_null` are added)."""
    out = metadata.model_copy(deep=True)
    for key in keys:
        table = out.tables[key.table]
        current = table.constraints.get(key.column, Constraint())
        table.constraints[key.column] = current.model_copy(update={"unique": True, "not_null": True})
    out.validate_schema()
    return out


def _candidates(table: TableConfig, frame: pd.DataFrame) -> list[str]:
    taken = {*table.pk, *table.pii_columns, *(c for fk in table.fk for c in fk.columns),
             *(c for uk in table.unique_keys for c in uk),
             *(c for c, k in table.constraints.items() if k.unique)}
    return [str(c) for c in frame.columns if c not in taken and key_kind(frame[c]) is not None]


def _stem(column: str) -> str | None:
    m = _SUFFIX.match(column.strip().lower())
    return m.group("stem").rstrip("_") if m else None


def _names_other_table(column: str, table: str, others: list[str], names_table: Any) -> bool:
    stem = _stem(column)
    if stem is None or names_table is None or names_table(stem, table):
        return False
    return any(names_table(stem, o) for o in others)


def _name_evidence(column: str, table: str, names_table: Any, rows: int) -> str | None:
    if column.strip().lower() in _GENERIC:
        return f"its name {column!r} is a key name"
    stem = _stem(column)
    if stem is None:
        return None
    if names_table is not None and names_table(stem, table):
        return f"its name {column!r} names its own table"
    if rows < MIN_ROWS_FOR_OTHER_IDS:
        return None  # `assignee_id` unique in a 1-row table says nothing: it may well reference people
    return f"its name {column!r} is an identifier's"


def identifier_format(s: pd.Series) -> str | None:
    """What makes every value of a text column an identifier (UUIDs, hex digests, prefix + number), or None."""
    if key_kind(s) != "text" or len(s) < 2:
        return None
    text = s.astype(str)
    if bool(text.str.match(_UUID).all()):
        return "its values are UUIDs"
    if bool(text.str.match(_HEX).all()) and text.str.len().nunique() == 1:
        return "its values are hex digests"
    prefixes = text.str.extract(_PREFIXED)[0]
    if prefixes.notna().all() and prefixes.nunique() == 1:
        return f"its values are {prefixes.iloc[0]!r} followed by a number"
    return None


__all__ = ["InferredKey", "apply_unique_keys", "identifier_format", "infer_unique_keys"]
