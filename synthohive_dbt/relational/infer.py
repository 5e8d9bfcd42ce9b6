"""Foreign keys the project never declared, found in the data (inclusion dependencies) and named by the columns.

Why: dbt projects often declare only some relationships. An undeclared one (jaffle-shop: payments.order_id ->
orders) is learned as a plain number, so synthetic children point at no parent or leave parents childless, and
models that join the two (a LEFT JOIN of per-order payment sums) break tests that hold on the real data.

A column `c` of table `T` is inferred to reference key `k` of table `P` when ALL of these hold:

- `c` is not a primary key, unique, foreign-key or PII column of `T` (those have their own role already);
- `c` holds integers or strings, with at least `min_distinct` distinct values (a few values are in every key),
  unless its name names the parent table (then the names carry the evidence, as in small test seeds);
- `k` is the single-column primary key of `P`, or a column declared unique, and unique in the data;
- the names say so (data alone cannot: sequential integer ids are contained in every other sequential id):
  * `c` equals `k` and `k` is not a bare `id`/`key` (`customer_id` -> `customers.customer_id`), or
  * `c` is `<stem>_id` (`_key`, `_fk`, `_uuid`, or `<stem>id`) and `<stem>` names `P`: `order_id` names
    `orders`, `raw_orders`, `stg_orders`, `order` (layer prefixes raw_/stg_/src_/base_/dim_/fct_/int_ and a
    plural s/es/ies are ignored), also with a role prefix (`billing_order_id`);
  * weaker: `P` has a bare `id` key and its name ends in `_<stem>` after a source-system prefix
    (`issue_id` -> `github_issue.id`; a trailing `_data`, as in fixture seeds, is ignored);
  * an alias the user gave names `P` (`aliases={"user": "customers"}`). `user_id` -> `customers.id` is NOT
    inferred on its own: "user" does not name "customers", and its values would also fit orders.id or
    payments.id, so only the user can say which one is meant (a relationships test, or an alias);
- every non-null value of `c` is a value of `k` (partial coverage is reported and skipped: a relationships test
  on it would fail on the real data too, so it is not a key), except, for a key with an identifier format
  (UUIDs, ...), up to MAX_SENTINELS placeholder values outside that format (`'0'` among UUIDs): they become the
  foreign key's `except_values`, written as they are at their share, while the references are remapped;
- types agree (integers with integers, text with text, declared SQL types compatible).

When several parents fit, the one whose name evidence is strongest wins, then one in the same layer as the child
(`stg_payments` -> `stg_orders` over `orders`), then the smaller table, then the name. A key that would close a
cycle (other than a self-reference) is skipped with the cycle printed. Declared foreign keys always win: their
columns are never candidates. The check runs on unique values only (`pd.Index.isin`), so it is cheap on big tables.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.config import ForeignKey, Metadata, TableConfig
from synthohive_dbt.errors import SchemaValidationError
from synthohive_dbt.graph import find_cycle
from synthohive_dbt.kinds import key_kind
from synthohive_dbt.relational.unique_keys import (
    InferredKey,
    apply_unique_keys,
    identifier_format,
    infer_unique_keys,
)

log = logging.getLogger(__name__)

MIN_DISTINCT = 5
"""A column with fewer distinct values fits inside almost any key; too little evidence for a relationship."""

_GENERIC_KEYS = frozenset({"id", "key", "pk", "uuid", "guid"})
_LAYER_PREFIXES = ("raw_", "stg_", "src_", "source_", "base_", "dim_", "fct_", "fact_", "int_", "tbl_")
_NODE_SUFFIXES = frozenset({"source", "seed", "model", "snapshot"})
_TABLE_SUFFIXES = ("_data",)  # test-fixture seeds: github_issue_data
_KEY_SUFFIX = re.compile(r"^(?P<stem>[a-z0-9_]*?[a-z0-9])_?(?:id|key|fk|uuid)$")

# evidence strength: higher wins when several parents fit one column
_SAME_NAME_AND_TABLE = 3
_NAMES_TABLE = 2
_ENDS_TABLE = 1
_SAME_NAME = 1
_ALIAS = 1
_VALUES = 0  # no name evidence: the values are all keys of an identifier-format (UUID, ...) key


@dataclass(frozen=True)
class InferredFK:
    """One inferred foreign key `table.column -> parent.parent_column`, with the numbers that justify it."""

    table: str
    column: str
    parent: str
    parent_column: str
    evidence: str
    child_rows: int  # non-null rows of the child column
    distinct: int  # distinct child values, all found in the parent key
    parents_referenced: int  # parent keys with at least one child
    parent_rows: int
    except_values: tuple[Any, ...] = ()  # values not in the key's format ('0' among UUIDs): no references

    @property
    def foreign_key(self) -> ForeignKey:
        return ForeignKey(columns=[self.column], parent=self.parent, parent_columns=[self.parent_column],
                          except_values=list(self.except_values))

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column} -> {self.parent}.{self.parent_column}"

    @property
    def parent_coverage(self) -> float:
        """Share of the parent keys that have a child (1.0: no childless parent in the real data)."""
        return self.parents_referenced / self.parent_rows if self.parent_rows else 0.0

    def message(self) -> str:
        besides = (f" (besides {', '.join(map(repr, self.except_values))}, not in the key's format: kept as such)"
                   if self.except_values else "")
        return (f"inferred foreign key {self.label}: all {self.distinct} distinct values{besides} ({self.child_rows} "
                f"rows) are keys of {self.parent}; {self.parents_referenced} of {self.parent_rows} parent keys "
                f"({self.parent_coverage:.0%}) have a child; evidence: {self.evidence}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "parent_coverage": round(self.parent_coverage, 4)}


@dataclass(frozen=True)
class SkippedFK:
    """A candidate the names pointed at but the rules refused, and why (for review)."""

    table: str
    column: str
    parent: str
    parent_column: str
    reason: str

    def message(self) -> str:
        return (f"not inferred: {self.table}.{self.column} -> {self.parent}.{self.parent_column}: {self.reason}")


@dataclass(frozen=True)
class UndeclaredReference:
    """A column whose values are all keys of a table that is generated anew, but which no rule linked to it:
    its synthetic values would be real keys that match no synthetic parent row. Reported before training."""

    table: str
    column: str
    parent: str
    parent_column: str
    distinct: int

    def message(self) -> str:
        return (f"{self.table}.{self.column}: all {self.distinct} distinct values are keys of "
                f"{self.parent}.{self.parent_column}, which is generated anew, so this column would keep real "
                f"keys that match no synthetic {self.parent} row; if it references {self.parent}, declare a "
                f"relationships test on it (to: {self.parent}, field: {self.parent_column})")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class KeyInference:
    """Everything one inference pass found: the keys and foreign keys it adds, the candidates it turned down,
    and the columns that look like references it could not link."""

    inferred: list[InferredFK] = field(default_factory=list)
    skipped: list[SkippedFK] = field(default_factory=list)
    keys: list[InferredKey] = field(default_factory=list)
    undeclared: list[UndeclaredReference] = field(default_factory=list)

    def apply(self, metadata: Metadata) -> Metadata:
        """`metadata` with the inferred keys and foreign keys added (declared ones win)."""
        return apply_foreign_keys(apply_unique_keys(metadata, self.keys), self.inferred)


# ------------------------------------------------------------------------------------------------ API
def infer_foreign_keys(frames: Mapping[str, pd.DataFrame], metadata: Metadata, *,
                       min_distinct: int = MIN_DISTINCT, aliases: Mapping[str, str] | None = None
                       ) -> list[InferredFK]:
    """The undeclared foreign keys the data and the names support (see the module docstring for the rules)."""
    return infer_keys(frames, metadata, min_distinct=min_distinct, aliases=aliases).inferred


def infer_keys(frames: Mapping[str, pd.DataFrame], metadata: Metadata, *, min_distinct: int = MIN_DISTINCT,
               aliases: Mapping[str, str] | None = None, foreign_keys: bool = True) -> KeyInference:
    """Like `infer_foreign_keys`, and also the undeclared keys, the candidates that were turned down (with the
    reason) and the unlinked references. `foreign_keys=False` infers keys only (identifiers are never
    published, whatever the user chose about links) and reports the references it leaves unlinked."""
    if min_distinct < 1:
        raise SchemaValidationError(f"min_distinct={min_distinct} must be at least 1",
                                    hint="use the default (5) or another positive number")
    alias_map = {_norm(k): v for k, v in (aliases or {}).items()}
    unknown = sorted(v for v in alias_map.values() if v not in metadata.tables)
    if unknown:
        raise SchemaValidationError(f"aliases name table(s) {unknown} that are not in the metadata "
                                    f"(tables: {sorted(metadata.tables)})",
                                    hint="map a column stem to a table name, e.g. {'user': 'customers'}")
    result = KeyInference(keys=infer_unique_keys(frames, metadata, names_table=_names_table))
    metadata = apply_unique_keys(metadata, result.keys)
    keys = _parent_keys(frames, metadata)
    best: list[tuple[_Candidate, InferredFK]] = []
    for child in sorted(metadata.tables) if foreign_keys else ():
        frame = frames.get(child)
        if frame is None:
            continue
        table = metadata.tables[child]
        for column in _candidate_columns(table, frame):
            found = _check_column(child, column, frame[column], table, keys, metadata, alias_map, min_distinct,
                                  result.skipped)
            if found is not None:
                best.append(found)
    parents = {n: set(t.parents) for n, t in metadata.tables.items()}
    for cand, fk in sorted(best, key=lambda b: (-b[0].score, b[0].table, b[0].column)):
        parents[fk.table].add(fk.parent)
        cycle = find_cycle(parents)
        if cycle:
            parents[fk.table].discard(fk.parent)
            result.skipped.append(_skip(cand, f"it would close a cycle of foreign keys "
                                              f"({_cycle_from(cycle, fk.table)}, each references the next)"))
            continue
        result.inferred.append(fk)
    result.inferred.sort(key=lambda f: (f.table, f.column))
    result.undeclared = _undeclared(frames, metadata, keys, result.inferred, min_distinct)
    for key in result.keys:
        log.info("%s", key.message())
    for fk in result.inferred:
        log.info("%s", fk.message())
    for s in result.skipped:
        log.info("%s", s.message())
    return result


def apply_foreign_keys(metadata: Metadata, inferred: list[InferredFK]) -> Metadata:
    """A copy of `metadata` with the inferred foreign keys added; a column already in a declared foreign key
    keeps the declared one (the user's word wins). The copy is validated before it is returned."""
    out = metadata.model_copy(deep=True)
    for fk in inferred:
        table = out.tables.get(fk.table)
        if table is None or fk.parent not in out.tables:
            raise SchemaValidationError(f"inferred foreign key {fk.label} names a table that is not in the metadata",
                                        hint="infer the keys on the same Metadata you apply them to")
        if any(fk.column in declared.columns for declared in table.fk):
            continue
        table.fk.append(fk.foreign_key)
        if table.columns is not None and fk.column not in table.columns:
            table.columns = [*table.columns, fk.column]  # the data has it; the manifest did not document it
    out.validate_schema()
    return out


# ---------------------------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class _Key:
    table: str
    column: str
    kind: str  # "int" | "text"
    values: pd.Index
    rows: int
    opaque: str | None = None  # the identifier format of a text key (UUIDs, ...): containment alone is evidence


@dataclass(frozen=True)
class _Candidate:
    table: str
    column: str
    parent: str
    parent_column: str
    score: int
    evidence: str


def _norm(name: str) -> str:
    return name.strip().lower()


def _entity(table: str) -> str:
    """The thing a table is about: last `__` part that is not a node kind, without a layer prefix."""
    parts = [p for p in _norm(table).split("__") if p and p not in _NODE_SUFFIXES]
    name = parts[-1] if parts else _norm(table)
    for suffix in _TABLE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[:-len(suffix)]
    for prefix in _LAYER_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix):]
    return name


def _layer(table: str) -> str:
    name = _norm(table)
    return next((p for p in _LAYER_PREFIXES if name.startswith(p)), "")


def _singulars(word: str) -> set[str]:
    out = {word}
    if word.endswith("ies") and len(word) > 3:
        out.add(word[:-3] + "y")
    if word.endswith("es") and len(word) > 2:
        out.add(word[:-2])
    if word.endswith("s") and len(word) > 1:
        out.add(word[:-1])
    return out


def _names_table(stem: str, table: str) -> bool:
    """`order` names orders / raw_orders / order; `billing_order` too (a role prefix)."""
    forms = {f for f in _singulars(_entity(table)) if len(f) >= 2}
    return any(stem == f or stem.endswith(f"_{f}") for f in forms)


def _ends_table(stem: str, table: str) -> bool:
    """`issue` ends github_issue / shopify_issue (a source-system prefix): weaker than naming the table."""
    forms = {f for f in _singulars(stem) | {stem} if len(f) >= 2}
    return any(e.endswith(f"_{f}") for e in _singulars(_entity(table)) for f in forms)


def _uniques(s: pd.Series, kind: str) -> pd.Index:
    values = pd.unique(s.dropna())
    if kind == "int":
        return pd.Index(np.asarray(values, dtype=np.float64).astype(np.int64))
    return pd.Index(np.asarray(values, dtype=object).astype(str))


def _parent_keys(frames: Mapping[str, pd.DataFrame], metadata: Metadata) -> list[_Key]:
    """Single-column primary keys and declared unique columns that are unique and non-null in the data."""
    keys = []
    for name in sorted(metadata.tables):
        frame = frames.get(name)
        if frame is None:
            continue
        table = metadata.tables[name]
        cols = [*table.pk] if len(table.pk) == 1 else []
        cols += sorted(c for c, k in table.constraints.items() if k.unique and c not in cols)
        for col in cols:
            if col not in frame.columns:
                continue
            s = frame[col]
            kind = key_kind(s)
            if kind is None or s.isna().any() or not s.is_unique:
                continue
            keys.append(_Key(name, col, kind, _uniques(s, kind), len(s),
                             identifier_format(s) if kind == "text" else None))
    return keys


def _candidate_columns(table: TableConfig, frame: pd.DataFrame) -> list[str]:
    taken = {*table.pk, *table.pii_columns, *(c for fk in table.fk for c in fk.columns),
             *(c for uk in table.unique_keys if len(uk) == 1 for c in uk),
             *(c for c, k in table.constraints.items() if k.unique)}
    return [str(c) for c in frame.columns if c not in taken]


def _evidence(column: str, key: _Key, child: str, aliases: Mapping[str, str]) -> tuple[int, str] | None:
    col, pcol = _norm(column), _norm(key.column)
    m = _KEY_SUFFIX.match(col)
    stem = m.group("stem").rstrip("_") if m else None
    same = col == pcol and pcol not in _GENERIC_KEYS
    names = stem is not None and _names_table(stem, key.table)
    if stem is not None and not names and aliases.get(stem) == key.table:
        return _ALIAS, f"alias {stem!r} -> table {key.table!r} given by the user"
    if same and names:
        return _SAME_NAME_AND_TABLE, f"column name {column!r} is the key of {key.table!r} and names that table"
    if names and (pcol in _GENERIC_KEYS or pcol == col or _KEY_SUFFIX.match(pcol) is not None):
        return _NAMES_TABLE, f"column name {column!r} names table {key.table!r}"
    if same:
        return _SAME_NAME, f"column {column!r} has the name of the key {key.table}.{key.column}"
    if stem is not None and pcol in _GENERIC_KEYS and _ends_table(stem, key.table):
        return _ENDS_TABLE, f"column name {column!r} ends the name of table {key.table!r}"
    return None


def _check_column(child: str, column: str, series: pd.Series, table: TableConfig, keys: list[_Key],
                  metadata: Metadata, aliases: Mapping[str, str], min_distinct: int,
                  skipped: list[SkippedFK]) -> tuple[_Candidate, InferredFK] | None:
    named = []
    kind = key_kind(series)
    for key in keys:
        if key.table == child and key.column == column:
            continue
        ev = _evidence(column, key, child, aliases)
        if ev is not None:
            named.append((_Candidate(child, column, key.table, key.column, ev[0], ev[1]), key, True))
        elif key.opaque and kind == "text":  # a UUID is nobody else's: being one of them is evidence enough
            named.append((_Candidate(child, column, key.table, key.column, _VALUES,
                                     f"every value is a key of {key.table!r} ({key.opaque})"), key, False))
    if not named:
        return None
    passing: list[tuple[_Candidate, InferredFK]] = []
    for cand, key, by_name in named:
        note = skipped.append if by_name else (lambda _s: None)  # value-only candidates fail quietly
        layers = _layer_clash(metadata.tables[child], metadata.tables[key.table])
        reason = layers or _type_clash(kind, key, table.constraint(column).dtype,
                                       metadata.tables[key.table].constraint(key.column).dtype)
        if reason:
            note(_skip(cand, reason))
            continue
        values = _uniques(series, key.kind)
        # a column whose name names the parent table needs no count of values to back it (a 16-row test
        # seed may reference three teams); weaker evidence does
        if len(values) < (1 if cand.score >= _NAMES_TABLE else min_distinct):
            note(_skip(cand, f"only {len(values)} distinct value(s), fewer than {min_distinct}: too "
                             "little evidence"))
            continue
        inside = values.isin(key.values)
        sentinels = _sentinels(values[~inside], key)
        if not inside.all() and (sentinels is None or int(inside.sum()) < min_distinct):
            missing = values[~inside]
            note(_skip(cand, f"partial coverage: {int(inside.sum())} of {len(values)} distinct values "
                             f"({inside.mean():.1%}) are keys of {key.table}; missing e.g. "
                             f"{sorted(missing[:3].tolist())} (with --max-rows, read all rows to check)"))
            continue
        excepted = tuple(sorted(sentinels or ()))
        rows = int(series.notna().sum()) - int(series.astype(str).isin(excepted).sum()) if excepted else \
            int(series.notna().sum())
        fk = InferredFK(child, column, key.table, key.column, cand.evidence, rows, int(inside.sum()),
                        int(inside.sum()), key.rows, excepted)
        passing.append((cand, fk))
    if not passing:
        return None
    layer = _layer(child)
    def rank(p: tuple[_Candidate, InferredFK]) -> tuple[int, bool]:
        return -p[0].score, _layer(p[0].parent) != layer or not layer

    passing.sort(key=lambda p: (*rank(p), p[1].parent_rows, p[0].parent, p[0].parent_column))
    chosen = passing[0]
    for cand, fk in passing[1:]:
        why = ("a tie on the evidence, broken by the smaller table, then the name" if rank((cand, fk)) ==
               rank(chosen) else "stronger name evidence, or the same layer as the child")
        skipped.append(_skip(cand, f"{chosen[1].parent}.{chosen[1].parent_column} is chosen instead ({why})"))
    return chosen


MAX_SENTINELS = 3
"""At most this many distinct values outside an identifier-format key's format ('0', '', 'unknown') are taken for
placeholders beside the references; more mean the column is not a reference to that key."""


def _sentinels(outside: pd.Index, key: _Key) -> list[str] | None:
    """The child values outside the parent key, when they are a few placeholders rather than missing parents:
    the key has an identifier format (UUIDs, hex, prefix + number) and none of them shares it. Else None."""
    if key.opaque is None or len(outside) > MAX_SENTINELS or not len(key.values):
        return None
    sample = str(key.values[0])
    if any(identifier_format(pd.Series([sample, str(v)], dtype=object)) == key.opaque for v in outside):
        return None  # a value in the key's format that no parent has: a dangling reference
    return [str(v) for v in outside]


def _layer_clash(child: TableConfig, parent: TableConfig) -> str | None:
    """Raw data cannot reference what dbt builds from it: a source or seed points only at a source or seed."""
    raw = ("source", "seed")
    if child.resource_type in raw and parent.resource_type not in raw and parent.resource_type != "table":
        return (f"{child.name} is a {child.resource_type} and {parent.name} a {parent.resource_type}: raw data "
                "references only raw data (a model is built from it)")
    return None


def _undeclared(frames: Mapping[str, pd.DataFrame], metadata: Metadata, keys: list[_Key],
                inferred: list[InferredFK], min_distinct: int) -> list[UndeclaredReference]:
    """Reference-named columns (`<stem>_id`, ...) whose values all lie in another table's key, left unlinked."""
    linked = {(f.table, f.column) for f in inferred}
    out = []
    for child in sorted(metadata.tables):
        frame = frames.get(child)
        if frame is None:
            continue
        for column in _candidate_columns(metadata.tables[child], frame):
            if (child, column) in linked or _KEY_SUFFIX.match(_norm(column)) is None:
                continue
            kind = key_kind(frame[column])
            for key in keys:
                if key.kind != kind or (key.table, key.column) == (child, column):
                    continue
                values = _uniques(frame[column], kind)
                if len(values) >= min_distinct and bool(values.isin(key.values).all()):
                    out.append(UndeclaredReference(child, column, key.table, key.column, len(values)))
                    break
    return out


def _type_clash(kind: str | None, key: _Key, declared: str | None, parent_declared: str | None) -> str | None:
    if kind is None:
        return "the column holds neither integers nor strings"
    if kind != key.kind:
        return f"the column holds {kind} values but {key.table}.{key.column} holds {key.kind} values"
    if declared and parent_declared and declared != parent_declared and {declared, parent_declared} != {"int", "float"}:
        return f"declared types differ ({declared} vs {parent_declared})"
    return None


def _cycle_from(cycle: list[str], start: str) -> str:
    """`find_cycle`'s closed path (child -> parent -> ...), rotated to start at the new key's table."""
    ring = cycle[:-1]
    i = ring.index(start) if start in ring else 0
    ring = ring[i:] + ring[:i]
    return " -> ".join([*ring, ring[0]])


def _skip(cand: _Candidate, reason: str) -> SkippedFK:
    return SkippedFK(cand.table, cand.column, cand.parent, cand.parent_column, reason)
