"""The constraint rules: for each part of a `Constraint`, which rows of a column break it.

The generator enforces these rules (relational/constraints.py re-samples the rows they flag) and the report
judges with them (report/constraints.py counts the rows they flag), so the two cannot disagree about a row.
Each rule follows what the dbt test it comes from does in SQL:

- nulls break only `not_null`: `accepted_values`, ranges, `regex` and `dtype` ignore them, as dbt's do;
- `unique`: a row breaks it when an earlier row (or a value in `seen`: earlier chunks) has its value, so
  dropping the flagged rows leaves the column unique with every first occurrence kept;
- `accepted_values`: compared in the column's own type, as SQL casts the listed literals to it: a numeric
  column compares numbers (1.0 is accepted by "1"), a boolean column booleans ("true", "True", 1), a date
  column timestamps; any other column compares exact text (case matters, as in SQL);
- ranges: numbers (and text that parses as a number) against `min`/`max` with their inclusive flags;
  booleans, dates and text that is not a number are not judged by a numeric bound;
- `regex`: search semantics (as `regexp_matches`) on the text of the value (12, not 12.0, for a whole
  number in a float column: an integer column with nulls);
- `dtype`: the value can be read as the declared type;
- `castable`: a downstream model casts the column (`phone::bigint`, carried back by lineage): the value can be
  read as that type, unless the model maps it to null first (`nullif(x, '')`); `try_cast` asks nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.config import Constraint
from synthohive_dbt.kinds import is_bool, is_datetime, is_float, is_numeric

#: Rule names, in the order `violations` returns them (the order messages and reports list them in).
RULES = ("not_null", "accepted_values", "range", "regex", "dtype", "castable", "unique")

_TRUE = {"true", "t", "1", "yes"}
_FALSE = {"false", "f", "0", "no"}


def violations(values: pd.Series, c: Constraint, *, seen: pd.Index | None = None) -> dict[str, np.ndarray]:
    """Per rule the constraint declares, a boolean mask of the rows of `values` that break it. `seen`:
    values already emitted (earlier chunks) that a unique column must not repeat."""
    out: dict[str, np.ndarray] = {}
    present = values.notna().to_numpy()
    if c.not_null:
        out["not_null"] = ~present
    if c.accepted_values is not None:
        out["accepted_values"] = present & ~accepted(values, c.accepted_values)
    if c.min is not None or c.max is not None:
        out["range"] = present & out_of_range(values, c)
    if c.regex is not None:
        out["regex"] = present & ~_text(values).str.contains(c.regex, regex=True).to_numpy(bool)
    if c.dtype is not None:
        out["dtype"] = present & ~_dtype_ok(values, c.dtype)
    strict = [t for t in c.castable_to if t.strict and t.dtype is not None and t.dtype != "str"]
    if strict:
        bad = np.zeros(len(values), dtype=bool)
        for t in strict:
            excepted = (values.isin(t.except_values).to_numpy(bool) if t.except_values
                        else np.zeros(len(values), dtype=bool))
            bad |= present & ~excepted & ~_dtype_ok(values, t.dtype)
        out["castable"] = bad
    if c.unique:
        out["unique"] = present & repeated(values, seen)
    return out


def repeated(values: pd.Series | pd.DataFrame, seen: pd.Index | None = None) -> np.ndarray:
    """True where a row repeats an earlier row's value (all columns of a frame together), or a value in
    `seen`: the rows a unique column must lose, every first occurrence kept."""
    dup = values.duplicated(keep="first").to_numpy()
    if seen is not None and len(seen) and isinstance(values, pd.Series):
        dup |= values.isin(seen).to_numpy()
    return dup


def accepted(values: pd.Series, allowed: list[Any]) -> np.ndarray:
    """True where a value is one of `allowed`, compared in the column's type (see the module docstring);
    nulls are False here and left out by `violations`."""
    if is_bool(values):
        wanted = {b for b in (_as_bool(v) for v in allowed) if b is not None}
        return values.isin(list(wanted)).to_numpy(dtype=bool) & values.notna().to_numpy()
    if is_numeric(values):
        numbers = pd.to_numeric(pd.Series([v for v in allowed if not isinstance(v, bool)], dtype=object),
                                errors="coerce").dropna()
        x = values.to_numpy(np.float64, na_value=np.nan)
        return np.isin(x, numbers.to_numpy(np.float64))
    if is_datetime(values):
        stamps = pd.to_datetime(pd.Series(allowed, dtype=object), errors="coerce").dropna()
        return values.isin(stamps).to_numpy(dtype=bool)
    text = {str(v) for v in allowed}
    exact = values.isin(allowed).to_numpy(dtype=bool) if _hashable(allowed) else np.zeros(len(values), bool)
    return exact | values.astype(str).isin(text).to_numpy(dtype=bool) & values.notna().to_numpy()


def out_of_range(values: pd.Series, c: Constraint) -> np.ndarray:
    """True where a number lies outside [min, max] (each bound inclusive or not); values that are not
    numbers are not judged by a numeric bound."""
    x = _numbers(values)
    bad = np.zeros(len(values), dtype=bool)
    if x is None:
        return bad
    with np.errstate(invalid="ignore"):
        if c.min is not None:
            bad |= (x < c.min) if c.min_inclusive else (x <= c.min)
        if c.max is not None:
            bad |= (x > c.max) if c.max_inclusive else (x >= c.max)
    return bad


def bounds(c: Constraint) -> str:
    """The range as an interval, e.g. "[0.0, 100.0)"; an open side is -inf / inf."""
    lo = f"{'[' if c.min_inclusive else '('}{c.min if c.min is not None else '-inf'}"
    hi = f"{c.max if c.max is not None else 'inf'}{']' if c.max_inclusive else ')'}"
    return f"{lo}, {hi}"


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _hashable(values: list[Any]) -> bool:
    try:
        hash(tuple(values))
    except TypeError:
        return False
    return True


def _numbers(values: pd.Series) -> np.ndarray | None:
    """The values as float64 (NaN where not a number), or None for booleans and dates."""
    if is_bool(values) or is_datetime(values):
        return None
    if is_numeric(values):
        return values.to_numpy(np.float64, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)


def _text(values: pd.Series) -> pd.Series:
    """The values as the warehouse would print them: whole numbers of a float column (an integer column that
    holds nulls, in pandas) without ".0"."""
    if is_float(values):
        x = values.to_numpy(np.float64, na_value=np.nan)
        x = x[~np.isnan(x)]
        if np.isfinite(x).all() and (np.abs(x) < 2**53).all() and np.array_equal(x, np.round(x)):
            return values.astype("Int64").astype(str)
    return values.astype(str)


def _dtype_ok(values: pd.Series, dtype: str) -> np.ndarray:
    n = len(values)
    if dtype == "str":
        return np.ones(n, dtype=bool)
    if dtype in ("date", "datetime"):
        if is_datetime(values):
            return np.ones(n, dtype=bool)
        return pd.to_datetime(values.astype(object), errors="coerce").notna().to_numpy() | values.isna().to_numpy()
    if dtype == "bool":
        if is_bool(values):
            return np.ones(n, dtype=bool)
        return values.isin([True, False, 0, 1, "true", "false", "True", "False"]).to_numpy() | values.isna().to_numpy()
    x = pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    ok = ~np.isnan(x) | values.isna().to_numpy()
    if dtype == "int":
        with np.errstate(invalid="ignore"):
            ok &= np.isnan(x) | (np.mod(x, 1) == 0)
    return ok


__all__ = ["RULES", "accepted", "bounds", "out_of_range", "repeated", "violations"]
