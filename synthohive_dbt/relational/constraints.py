"""Column constraints (dbt tests, contracts) as vectorised checks.

The engine meets them by construction (keys, foreign keys, PII fakes) or by rejection sampling: rows whose
learned values break a constraint are re-sampled, a bounded number of times, never clipped. `check_frame` finds
the offending rows; `assert_frame` is the last gate and names table, column and the first offending value.
Conditional (`where`) and warn-only constraints are not enforced here: they need SQL to evaluate and dbt
reports them anyway; the sampling statistics list them as not enforced.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from synthohive_dbt.config import Constraint, TableConfig
from synthohive_dbt.errors import ConstraintViolationError


def violations(values: pd.Series, c: Constraint, *, seen: pd.Index | None = None) -> dict[str, np.ndarray]:
    """Per rule, a boolean mask of the rows of `values` that break it. `seen`: values already emitted
    (earlier chunks) that a unique column must not repeat."""
    out: dict[str, np.ndarray] = {}
    null = values.isna().to_numpy()
    if c.not_null:
        out["not_null"] = null
    present = ~null
    if c.accepted_values is not None:
        allowed = list(c.accepted_values)
        ok = values.isin(allowed).to_numpy() | values.astype(str).isin([str(v) for v in allowed]).to_numpy()
        out["accepted_values"] = present & ~ok
    if c.min is not None or c.max is not None:
        x = _numeric(values)
        if x is not None:
            bad = np.zeros(len(values), dtype=bool)
            with np.errstate(invalid="ignore"):
                if c.min is not None:
                    bad |= (x < c.min) if c.min_inclusive else (x <= c.min)
                if c.max is not None:
                    bad |= (x > c.max) if c.max_inclusive else (x >= c.max)
            out["range"] = present & bad
    if c.regex is not None:
        text = values.astype(str)
        out["regex"] = present & ~text.str.contains(c.regex, regex=True).to_numpy(bool)
    if c.dtype is not None:
        out["dtype"] = present & ~_dtype_ok(values, c.dtype)
    if c.unique:
        dup = values.duplicated(keep="first").to_numpy() & present
        if seen is not None and len(seen):
            dup |= present & values.isin(seen).to_numpy()
        out["unique"] = dup
    return out


def check_frame(frame: pd.DataFrame, cfg: TableConfig, columns: Iterable[str],
                seen: dict[str, pd.Index] | None = None) -> dict[str, np.ndarray]:
    """Column -> mask of rows breaking any of its constraints (only columns with a violation)."""
    bad: dict[str, np.ndarray] = {}
    for col in columns:
        if col not in cfg.constraints or col not in frame.columns:
            continue
        masks = violations(frame[col], cfg.constraints[col], seen=(seen or {}).get(col))
        combined = np.zeros(len(frame), dtype=bool)
        for m in masks.values():
            combined |= m
        if combined.any():
            bad[col] = combined
    return bad


def assert_frame(frame: pd.DataFrame, cfg: TableConfig, seen: dict[str, pd.Index] | None = None) -> None:
    """Raise ConstraintViolationError on the first column that still breaks a declared constraint."""
    for col, c in cfg.constraints.items():
        if col not in frame.columns:
            continue
        for rule, mask in violations(frame[col], c, seen=(seen or {}).get(col)).items():
            if mask.any():
                value = frame[col].to_numpy()[np.flatnonzero(mask)[0]]
                value = value.item() if isinstance(value, np.generic) else value
                raise ConstraintViolationError(
                    f"table {cfg.name!r}, column {col!r}: {int(mask.sum())} generated row(s) break the "
                    f"{rule} constraint, e.g. value {value!r} ({_describe(c, rule)})",
                    hint="check that the real data meets the constraint (a model cannot learn what it never "
                         "saw), relax the constraint, or train longer so rejection sampling succeeds")


def _describe(c: Constraint, rule: str) -> str:
    if rule == "range":
        lo = f"{'[' if c.min_inclusive else '('}{c.min if c.min is not None else '-inf'}"
        hi = f"{c.max if c.max is not None else 'inf'}{']' if c.max_inclusive else ')'}"
        return f"allowed range {lo}, {hi}"
    if rule == "accepted_values":
        return f"accepted values {c.accepted_values}"
    if rule == "regex":
        return f"must match {c.regex!r}"
    if rule == "dtype":
        return f"must be {c.dtype}"
    return rule.replace("_", " ")


def _numeric(values: pd.Series) -> np.ndarray | None:
    if pd.api.types.is_bool_dtype(values):
        return None
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(np.float64, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(values):
        return None
    x = pd.to_numeric(values, errors="coerce")
    return None if x.notna().sum() < values.notna().sum() else x.to_numpy(np.float64, na_value=np.nan)


def _dtype_ok(values: pd.Series, dtype: str) -> np.ndarray:
    n = len(values)
    if dtype == "str":
        return np.ones(n, dtype=bool)
    if dtype in ("date", "datetime"):
        if pd.api.types.is_datetime64_any_dtype(values):
            return np.ones(n, dtype=bool)
        return pd.to_datetime(values.astype(object), errors="coerce").notna().to_numpy() | values.isna().to_numpy()
    if dtype == "bool":
        if pd.api.types.is_bool_dtype(values):
            return np.ones(n, dtype=bool)
        return values.isin([True, False, 0, 1, "true", "false", "True", "False"]).to_numpy() | values.isna().to_numpy()
    x = pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    ok = ~np.isnan(x) | values.isna().to_numpy()
    if dtype == "int":
        with np.errstate(invalid="ignore"):
            ok &= np.isnan(x) | (np.mod(x, 1) == 0)
    return ok
