"""Per column, how many written values also occur in the real data: the leak count a privacy review asks for.

Row-level metrics (exact copies, distance to the closest record) cannot see a single column that publishes
real identifiers while every row as a whole is new. So each generated column is checked on its own: keys and
identifiers the engine regenerates, columns replaced by fakes, and free text generated in its format. For a
large value space (UUIDs, tokens, prefixed ids, names, free text) any match is a leak and the count must be
0. For a small one (integer surrogate keys, which count from the real start) matches happen by chance, so the
count is shown beside the number expected by chance: written distinct x real distinct / size of the space.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.report.result import ValueOverlap

# key formats whose values are drawn from a space far larger than the table: a real value is never expected
LARGE_KEY_FORMATS = frozenset({"uuid", "token", "pattern"})

Roles = Mapping[str, Mapping[str, tuple[str, str]]]


def column_roles(plans: Mapping[str, Any]) -> dict[str, dict[str, tuple[str, str]]]:
    """table -> column -> (role, value space) for every column the engine generates instead of learning.
    Keys drawn from the project's own accepted_values are the project's values, not checked."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for name, plan in plans.items():
        roles: dict[str, tuple[str, str]] = {}
        for col, fmt in getattr(plan, "key_formats", {}).items():
            if fmt.kind != "declared":
                roles[col] = ("key", "large" if fmt.kind in LARGE_KEY_FORMATS else "small")
        for col in getattr(plan, "text_formats", {}):
            roles[col] = ("free text", "large")
        for p in getattr(plan, "pii", []):
            if getattr(p, "copy_fk", None) is None:  # a copy of a parent's fake is checked at the parent
                roles[p.name] = ("pii", "large")
        if roles:
            out[name] = roles
    return out


def value_overlap(roles: Roles, real: Mapping[str, pd.DataFrame],
                  synthetic: Mapping[str, pd.DataFrame]) -> list[ValueOverlap]:
    """One entry per generated column present on both sides (values are counted, never stored)."""
    out = []
    for table, columns in sorted(roles.items()):
        r, s = real.get(table), synthetic.get(table)
        if r is None or s is None:
            continue
        for column, (role, space) in sorted(columns.items()):
            if column in r.columns and column in s.columns:
                out.append(_overlap(table, column, role, space, r[column], s[column]))
    return out


def _overlap(table: str, column: str, role: str, space: str, real: pd.Series, synthetic: pd.Series
             ) -> ValueOverlap:
    written = _values(synthetic)
    seen = _values(real)
    hits = int(written.isin(seen).sum())
    expected = _by_chance(written, seen) if space == "small" else None
    return ValueOverlap(table, column, role, space, len(written), len(seen), hits, expected)


def _values(s: pd.Series) -> pd.Index:
    """Distinct non-null values, compared as text (1 and 1.0 as '1'; a timestamp as its ISO form)."""
    present = s.dropna()
    if present.empty:
        return pd.Index([], dtype=object)
    numeric = pd.to_numeric(present, errors="coerce")
    if numeric.notna().all() and bool((numeric % 1 == 0).all()):
        return pd.Index(pd.unique(numeric.astype("int64").astype(str)))
    return pd.Index(pd.unique(present.astype(str)))


def _by_chance(written: pd.Index, seen: pd.Index) -> float | None:
    """Matches expected if the written values were drawn at random from the integers spanning both sides."""
    w = pd.to_numeric(pd.Series(written, dtype=object), errors="coerce")
    r = pd.to_numeric(pd.Series(seen, dtype=object), errors="coerce")
    if w.empty or r.empty or w.isna().any() or r.isna().any():
        return None
    span = float(max(w.max(), r.max()) - min(w.min(), r.min()) + 1)
    return float(np.minimum(len(written) * len(seen) / span, min(len(written), len(seen))))


__all__ = ["LARGE_KEY_FORMATS", "column_roles", "value_overlap"]
