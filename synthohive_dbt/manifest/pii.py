"""PII marks a dbt project already carries: `meta` flags and `pii` tags on columns and nodes.

The privacy layer adds its own detection on names and values; this module only reads what the project
declares, both ways: a column the project calls personal never reaches a model, and a column it calls not
personal (`meta: {pii: false}`, `meta: {synthohive: {pii: false}}`) is never faked by a heuristic. A node's
`meta: {synthohive: {keep_real: true}}` keeps a non-sensitive reference table (countries, currencies) as is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from synthohive_dbt.manifest.identifiers import column_key, unquote

PII_META_KEYS = ("pii", "contains_pii", "sensitive")
PII_TAG = "pii"


SYNTHOHIVE_META = "synthohive"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "y")
    return value is True or (isinstance(value, int) and not isinstance(value, bool) and value == 1)


def _falsy(value: Any) -> bool:
    """An explicit no (`false`, "no", 0): absent (None) is not a declaration either way."""
    if isinstance(value, str):
        return value.strip().lower() in ("false", "no", "0", "n")
    return value is False or (isinstance(value, int) and not isinstance(value, bool) and value == 0)


def _metas(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """`meta` lives at the top level in older dbt and under `config.meta` from dbt 1.10; our own keys may
    also sit under `meta: {synthohive: {...}}`."""
    metas = [m for m in (entry.get("meta"), (entry.get("config") or {}).get("meta")) if isinstance(m, dict)]
    return metas + [m[SYNTHOHIVE_META] for m in metas if isinstance(m.get(SYNTHOHIVE_META), dict)]


def _tags(entry: dict[str, Any]) -> set[str]:
    tags: set[str] = set()
    for raw in (entry.get("tags"), (entry.get("config") or {}).get("tags")):
        if isinstance(raw, str):
            raw = [raw]
        tags |= {str(t).lower() for t in raw or []}
    return tags


def pii_columns(node: dict[str, Any], columns: Iterable[str], keys: Iterable[str]) -> list[str]:
    """Columns the node marks as PII, in `columns` order.

    A column counts when its meta has a truthy `pii` / `contains_pii` / `sensitive` or its tags contain
    `pii`. The node's meta may name columns (`pii: [email, phone]`) or flag the whole table
    (`pii: true`): then every column except the key columns, which are regenerated, never learned.
    """
    columns = list(columns)
    keys = set(keys)
    marked: set[str] = set()
    for key, col in (node.get("columns") or {}).items():
        if not isinstance(col, dict):
            continue
        if any(_truthy(m.get(k)) for m in _metas(col) for k in PII_META_KEYS) or PII_TAG in _tags(col):
            marked.add(unquote(str(col.get("name") or key)))
    for meta in _metas(node):
        for k in PII_META_KEYS:
            value = meta.get(k)
            if isinstance(value, str) and not _truthy(value) and value.lower() not in ("false", "no", "0"):
                value = [value]
            if isinstance(value, list):
                marked |= {unquote(str(v)) for v in value}
            elif _truthy(value):
                marked |= {c for c in columns if c not in keys}
    wanted = {column_key(m) for m in marked}
    known = {column_key(c) for c in columns}
    return [c for c in columns if column_key(c) in wanted] + sorted(m for m in marked if column_key(m) not in known)


def _column_entries(node: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(unquote(str(col.get("name") or key)), col) for key, col in (node.get("columns") or {}).items()
            if isinstance(col, dict)]


def not_pii_columns(node: dict[str, Any], columns: Iterable[str]) -> list[str]:
    """Columns the node declares NOT personal (`pii: false` in the column's meta or its `synthohive` meta),
    in `columns` order; a `pii: true` elsewhere still wins (the privacy layer applies that precedence)."""
    marked = {column_key(name) for name, col in _column_entries(node)
              if any(_falsy(m.get(k)) for m in _metas(col) for k in PII_META_KEYS)}
    columns = list(columns)
    known = {column_key(c) for c in columns}
    return [c for c in columns if column_key(c) in marked] + sorted(
        name for name, _ in _column_entries(node) if column_key(name) in marked - known)


def keeps_real(node: dict[str, Any]) -> bool:
    """`meta: {synthohive: {keep_real: true}}` on a source, seed or model: copy the table as is."""
    return any(_truthy(m.get("keep_real")) for m in _metas(node))
