"""Parent context: the parent columns a child table's model is conditioned on.

One context row per child row, taken from its parent row, so that orders of big customers look like orders of
big customers. The default is a small, safe set: the parent's own attributes that are neither keys, foreign
keys, unique, nor PII, limited to numbers, dates and low-cardinality labels (an id-like text column would only
let a model memorise), capped so a wide parent does not swamp the child model.

The parent's own context is passed on too (`inherited_columns`): order lines then see their customer's segment
through the order, so "premium customers buy more per order" survives two levels down. The parent's context
frame is carried with the parent's rows (real ones when fitting, generated ones when sampling) under its
prefixed names, so a child's spec treats those columns like any other parent column.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.errors import DataError
from synthohive_dbt.kinds import as_naive_utc, is_datetime, is_numeric

MAX_DEFAULT_CONTEXT_COLS = 5
MAX_CONTEXT_CATEGORIES = 20
NULL_LABEL = "__null__"
PREFIX = "ctx__"


@dataclass(frozen=True)
class ContextColumn:
    """One parent column as the child model sees it: numbers as float (nulls -> median), else labels."""

    name: str
    numeric: bool
    fill: float | None = None


@dataclass(frozen=True)
class ContextSpec:
    parent: str
    columns: tuple[ContextColumn, ...]

    @property
    def parent_columns(self) -> list[str]:
        return [c.name for c in self.columns]

    def encode(self, parent_rows: pd.DataFrame) -> pd.DataFrame:
        """Parent rows (one per child row) -> the model's context frame (prefixed names, no nulls)."""
        out: dict[str, Any] = {}
        for col in self.columns:
            s = parent_rows[col.name]
            if col.numeric:
                x = _as_float(s)
                # NaN and +-inf (float values, not nulls) get the fill too: context is a hint, not output
                out[PREFIX + col.name] = np.where(np.isfinite(x), x, col.fill if col.fill is not None else 0.0)
            else:
                out[PREFIX + col.name] = s.astype(object).where(s.notna(), NULL_LABEL).astype(str).to_numpy(object)
        return pd.DataFrame(out, index=pd.RangeIndex(len(parent_rows)))

    def to_dict(self) -> dict[str, Any]:
        return {"parent": self.parent, "columns": [asdict(c) for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContextSpec:
        return cls(data["parent"], tuple(ContextColumn(**c) for c in data["columns"]))


def default_context_columns(parent: pd.DataFrame, excluded: set[str], *, dates: bool = True) -> list[str]:
    """Numbers, dates and low-cardinality labels of the parent that are safe and useful as context.
    `dates=False` leaves dates out (see ConditionalGenerativeModel.dates_as_context)."""
    chosen: list[str] = []
    for col in parent.columns:
        if col in excluded or len(chosen) >= MAX_DEFAULT_CONTEXT_COLS:
            continue
        s = parent[col]
        nunique = s.nunique(dropna=True)
        if nunique < 2 or (not dates and is_datetime(s)):
            continue
        numeric = is_numeric(s) or is_datetime(s)  # a signup date shapes its orders' dates
        if numeric or nunique <= MAX_CONTEXT_CATEGORIES:
            chosen.append(col)
    return chosen


def inherited_columns(parent_context: pd.DataFrame | None) -> list[str]:
    """The parent's own context columns a child also sees (its grandparent's attributes, and so on up),
    nearest ancestor first, capped like the parent's own columns."""
    if parent_context is None:
        return []
    names = [str(c) for c in parent_context.columns]
    return sorted(names, key=lambda c: c.count(PREFIX))[:MAX_DEFAULT_CONTEXT_COLS]  # stable: keeps the order


def build_context_spec(parent_name: str, parent: pd.DataFrame, columns: list[str],
                       *, child: str) -> ContextSpec:
    missing = [c for c in columns if c not in parent.columns]
    if missing:
        raise DataError(
            f"table {child!r}: parent_context_cols {missing} are not columns of parent {parent_name!r}",
            hint=f"choose from {sorted(map(str, parent.columns))}")
    cols: list[ContextColumn] = []
    for name in columns:
        s = parent[name]
        numeric = is_numeric(s) or is_datetime(s)
        x = _as_float(s) if numeric else np.empty(0)
        finite = x[np.isfinite(x)]
        fill = float(np.median(finite)) if finite.size else None
        cols.append(ContextColumn(name, numeric, fill))
    return ContextSpec(parent_name, tuple(cols))


def _as_float(s: pd.Series) -> np.ndarray:
    if is_datetime(s):
        s = as_naive_utc(s)  # astype() refuses tz-aware values: compare them in UTC
        us = s.astype("datetime64[us]")  # microseconds hold 0001-01-01 .. 9999-12-31; nanoseconds do not
        return np.where(us.isna(), np.nan, us.to_numpy().view(np.int64) / 1e6)
    return pd.to_numeric(s, errors="coerce").to_numpy(np.float64, na_value=np.nan)
