"""Choosing one primary key per table from everything that says "these columns are unique".

dbt has no single primary key notion: a table may have a primary_key constraint, several columns with
`unique` tests, a `unique_combination_of_columns` test, and dbt's own inferred `primary_key` field (which
lists every unique+not_null column, as if they were one composite key). The generator needs exactly one
key per table, so the order of preference is explicit here:

1. a declared `primary_key` constraint;
2. one column that is unique on every row, ranked by: named like this table's id (`id`, `<entity>_id`,
   `<entity>_key`), then like any id (`*_id`, `*_key`), then anything else; within a rank, also not_null,
   listed in the manifest's `primary_key`, not a foreign key, then declaration order. The name comes first
   because a `users` table with a unique `user_id` and a unique+not_null `email` is keyed by `user_id`;
3. a composite unique key (`unique_combination_of_columns`), fewest columns first;
4. the manifest's own `primary_key` field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from synthohive_dbt.manifest.findings import KeyRule

_PREFIXES = re.compile(r"^(stg|dim|fct|fact|int|raw|src|base|tbl|seed|data|source)_+")
_ID_SUFFIXES = ("_id", "_key", "_pk", "_uuid", "_sk")


@dataclass(frozen=True)
class KeyChoice:
    """The chosen key, why, and the other composite unique keys the schema cannot represent."""

    columns: list[str]
    reason: str
    unused: list[KeyRule] = field(default_factory=list)


def entity_names(table: str) -> set[str]:
    """Singular/plural forms of what a table holds: `stg_shop__orders` -> {orders, order, ...}."""
    name = table.lower().split("__")[-1]
    names = {table.lower(), name}
    stripped = _PREFIXES.sub("", name)
    names.add(stripped)
    for n in list(names):
        if n.endswith("ies"):
            names.add(n[:-3] + "y")
        elif n.endswith("ses") or n.endswith("xes"):
            names.add(n[:-2])
        elif n.endswith("s") and not n.endswith("ss"):
            names.add(n[:-1])
    return {n for n in names if n}


def id_likeness(column: str, entities: Iterable[str]) -> int:
    """0: this table's id (`id`, `<entity>_id`); 1: looks like some id; 2: does not."""
    col = column.lower()
    if col in ("id", "pk", "key", "uuid"):
        return 0
    if any(col in (f"{e}_id", f"{e}id", f"{e}_key", f"{e}_pk", f"{e}_uuid", f"{e}_sk") for e in entities):
        return 0
    return 1 if col.endswith(_ID_SUFFIXES) else 2


def choose_primary_key(table: str, keys: Sequence[KeyRule], column_order: Sequence[str],
                       not_null: set[str], fk_columns: set[str]) -> KeyChoice:
    """The primary key of `table` (its dbt name) from the candidate keys; [] when there is none."""
    order = {c: i for i, c in enumerate(column_order)}
    declared = [k for k in keys if k.origin == "primary_key"]
    manifest_pk = next((list(k.columns) for k in keys if k.origin == "manifest"), None)
    composite = _dedupe(k for k in keys if k.origin == "unique" and len(k.columns) > 1)
    if declared:
        chosen = list(declared[0].columns)
        return KeyChoice(chosen, "primary_key constraint",
                         [k for k in composite if sorted(k.columns) != sorted(chosen)])
    singles = sorted({k.columns[0] for k in keys if k.origin == "unique" and len(k.columns) == 1})
    if singles:
        entities = entity_names(table)
        best = min(singles, key=lambda c: (id_likeness(c, entities), c not in not_null,
                                           c not in (manifest_pk or []), c in fk_columns,
                                           order.get(c, len(order)), c))
        why = "unique" + (" + not_null" if best in not_null else "")
        if len(singles) > 1:
            why += f"; preferred to {', '.join(c for c in singles if c != best)}"
        return KeyChoice([best], why, composite)
    if composite:
        best_key = min(composite, key=lambda k: (len(k.columns), sorted(k.columns) != sorted(manifest_pk or []),
                                                 sum(c not in not_null for c in k.columns), k.source))
        return KeyChoice(list(best_key.columns), "composite unique key (unique_combination test or constraint)",
                         [k for k in composite if k is not best_key])
    if manifest_pk:
        return KeyChoice(manifest_pk, "the manifest's primary_key field")
    return KeyChoice([], "no primary key declared")


def _dedupe(keys: Iterable[KeyRule]) -> list[KeyRule]:
    seen: dict[tuple[str, ...], KeyRule] = {}
    for key in keys:
        seen.setdefault(tuple(sorted(key.columns)), key)
    return list(seen.values())
