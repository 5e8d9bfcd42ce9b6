"""Declared constraints checked on the synthetic rows, with dbt's pass rule (a check passes with 0 bad rows).

Primary keys are checked as unique + not null. Bounds and accepted values ignore nulls (as dbt's
`accepted_values` and `accepted_range` do); `regex` uses search semantics (as `regexp_matches`).
What cannot be evaluated on a DataFrame is listed as skipped, never silently passed: SQL `where`
conditions and SQL-expression bounds (`min_expr`, `max_expr`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.config import Constraint, TableConfig
from synthohive_dbt.report.result import ConstraintCheck


def _check(table: str, column: str, check: str, severity: str, rows: int, bad: int,
           detail: str = "") -> ConstraintCheck:
    return ConstraintCheck(table=table, column=column, check=check, severity=severity, rows=rows,
                           violations=int(bad), passed=bool(bad == 0), detail=detail)


def _accepted_mask(series: pd.Series, values: list[Any]) -> np.ndarray:
    """True where a non-null value is accepted: numerically when both sides are numbers, else as text."""
    numeric_values = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numeric_values and pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.isin(values).to_numpy()
    text = series.astype("string").str.lower() if pd.api.types.is_bool_dtype(series) else series.astype("string")
    wanted = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
    return text.isin(wanted).fillna(False).to_numpy(dtype=bool)


def check_constraint(table: str, column: str, series: pd.Series, c: Constraint) -> tuple[list[ConstraintCheck],
                                                                                          list[str]]:
    """All checks of one column constraint; returns (checks, reasons for parts not evaluated)."""
    checks: list[ConstraintCheck] = []
    skipped: list[str] = []
    n = len(series)
    sev = c.severity
    notna = series.notna().to_numpy()
    if c.not_null:
        checks.append(_check(table, column, "not_null", sev, n, n - notna.sum()))
    if c.unique:
        dup = series[notna].duplicated(keep=False).sum()
        checks.append(_check(table, column, "unique", sev, n, dup, "rows sharing a value with another row"))
    if c.min is not None or c.max is not None:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        bad = np.zeros(n, dtype=bool)
        if c.min is not None:
            bad |= (values < c.min) if c.min_inclusive else (values <= c.min)
        if c.max is not None:
            bad |= (values > c.max) if c.max_inclusive else (values >= c.max)
        lo = "[" if c.min_inclusive else "("
        hi = "]" if c.max_inclusive else ")"
        checks.append(_check(table, column, "range", sev, n, bad.sum(),
                             f"{lo}{c.min if c.min is not None else '-inf'}, "
                             f"{c.max if c.max is not None else 'inf'}{hi}"))
    if c.accepted_values is not None:
        ok = _accepted_mask(series, c.accepted_values)
        shown = ", ".join(map(str, c.accepted_values[:8])) + (", ..." if len(c.accepted_values) > 8 else "")
        checks.append(_check(table, column, "accepted_values", sev, n, (notna & ~ok).sum(), shown))
    if c.regex is not None:
        text = series[notna].astype("string")
        bad = (~text.str.contains(c.regex, regex=True).fillna(False)).sum()
        checks.append(_check(table, column, "regex", sev, n, bad, c.regex))
    for name, expr in (("min_expr", c.min_expr), ("max_expr", c.max_expr)):
        if expr:
            skipped.append(f"{table}.{column}: {name} {expr!r} is a SQL expression (checked by dbt only)")
    return checks, skipped


def table_checks(table: TableConfig, synthetic: pd.DataFrame) -> tuple[list[ConstraintCheck], list[str]]:
    """Primary key + every declared constraint of one table, checked on its synthetic frame."""
    checks: list[ConstraintCheck] = []
    skipped: list[str] = []
    n = len(synthetic)
    name = table.name
    if table.pk:
        missing = [c for c in table.pk if c not in synthetic.columns]
        if missing:
            skipped.append(f"{name}: primary key column(s) {missing} missing from the synthetic table")
        else:
            key = ", ".join(table.pk)
            keys = synthetic[table.pk]
            checks.append(_check(name, key, "primary_key_not_null", "error", n,
                                 (~keys.notna().all(axis=1)).sum()))
            checks.append(_check(name, key, "primary_key_unique", "error", n,
                                 keys.duplicated(keep=False).sum(), "rows sharing a key with another row"))
    for column, c in table.constraints.items():
        if column not in synthetic.columns:
            skipped.append(f"{name}.{column}: constrained column missing from the synthetic table")
            continue
        got, why = check_constraint(name, column, synthetic[column], c)
        checks.extend(got)
        skipped.extend(why)
    for cc in table.conditional_constraints:
        label = f" ({cc.test})" if cc.test else ""
        if cc.constraint.where:
            skipped.append(f"{name}.{cc.column}{label}: condition {cc.constraint.where!r} is SQL "
                           "(checked by dbt only)")
            continue
        if cc.column not in synthetic.columns:
            skipped.append(f"{name}.{cc.column}{label}: constrained column missing from the synthetic table")
            continue
        got, why = check_constraint(name, cc.column, synthetic[cc.column], cc.constraint)
        checks.extend(got)
        skipped.extend(why)
    return checks, skipped
