"""Declared constraints checked on the synthetic rows, with dbt's pass rule (a check passes with 0 bad rows).

Which rows break a rule is decided by `synthohive_dbt.rules`, the rules the generator enforces, so the
report and the generator cannot disagree about a row; this module only counts them. Primary keys are checked
as unique + not null.
What cannot be evaluated on a DataFrame is listed as skipped, never silently passed: SQL `where`
conditions and SQL-expression bounds (`min_expr`, `max_expr`).
"""

from __future__ import annotations

import pandas as pd

from synthohive_dbt.config import Constraint, TableConfig
from synthohive_dbt.report.result import ConstraintCheck
from synthohive_dbt.rules import bounds, repeated, violations


def _check(table: str, column: str, check: str, severity: str, rows: int, bad: int,
           detail: str = "") -> ConstraintCheck:
    return ConstraintCheck(table=table, column=column, check=check, severity=severity, rows=rows,
                           violations=int(bad), passed=bool(bad == 0), detail=detail)


def _detail(c: Constraint, rule: str) -> str:
    """What a check holds the column to, in a few words for the report's table."""
    if rule == "unique":
        return "rows repeating an earlier row's value"
    if rule == "range":
        return bounds(c)
    if rule == "accepted_values" and c.accepted_values is not None:
        return ", ".join(map(str, c.accepted_values[:8])) + (", ..." if len(c.accepted_values) > 8 else "")
    if rule == "regex":
        return str(c.regex)
    if rule == "dtype":
        return str(c.dtype)
    return ""


def check_constraint(table: str, column: str, series: pd.Series, c: Constraint) -> tuple[list[ConstraintCheck],
                                                                                          list[str]]:
    """One check per rule of one column constraint (`synthohive_dbt.rules`, the rules the generator
    enforces); returns (checks, reasons for parts not evaluated)."""
    n = len(series)
    checks = [_check(table, column, rule, c.severity, n, int(mask.sum()), _detail(c, rule))
              for rule, mask in violations(series, c).items()]
    skipped = [f"{table}.{column}: {name} {expr!r} is a SQL expression (checked by dbt only)"
               for name, expr in (("min_expr", c.min_expr), ("max_expr", c.max_expr)) if expr]
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
            checks.append(_check(name, key, "primary_key_unique", "error", n, int(repeated(keys).sum()),
                                 "rows repeating an earlier row's key"))
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
