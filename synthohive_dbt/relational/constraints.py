"""Column constraints (dbt tests, contracts) enforced on generated rows, by the rules of `synthohive_dbt.rules`
(the report judges with the same rules, so generator and report agree about every row).

The engine meets them by construction (keys, foreign keys, PII fakes) or by rejection sampling: rows whose
learned values break a constraint are re-sampled, a bounded number of times, never clipped. `check_frame` finds
the offending rows; `assert_frame` is the last gate and names table, column and the first offending value.
Row rules (`TableConfig.row_rules`, across the columns of a row) are kept by construction where the rule
allows it: `col = <expression>` computes col from the others (`enforce_rows`), `a <= b` swaps the two values
of a row that breaks it; otherwise by rejection like column constraints. A declared rule the output still
breaks is an error naming the rule and the rows; a learned one is a warning counted in the sampling
statistics, or an error with `strict`.
Conditional (`where`) and warn-only constraints are not enforced here: they need SQL to evaluate and dbt
reports them anyway; the sampling statistics list them as not enforced.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from synthohive_dbt.config import Constraint, RowRule, TableConfig
from synthohive_dbt.errors import ConstraintViolationError
from synthohive_dbt.rules import bounds, derivation, derive, ordering, row_violations, rule_columns, violations

log = logging.getLogger(__name__)
_SHOWN_ROWS = 5


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
    for rule in rules_on(cfg, columns):
        mask = row_violations(frame, rule.expression)
        if mask.any():
            bad[f"rule: {rule.expression}"] = mask
    return bad


def rules_on(cfg: TableConfig, columns: Iterable[str]) -> list[RowRule]:
    """The enabled row rules whose every column is among `columns` (those the caller can re-sample)."""
    have = set(columns)
    return [r for r in cfg.row_rules if r.enabled and set(rule_columns(r.expression)) <= have]


def enforce_rows(frame: pd.DataFrame, cfg: TableConfig, columns: Iterable[str],
                 writable: Iterable[str] | None = None) -> pd.DataFrame:
    """Keep the rules on `columns` by construction where they allow it: derived columns computed from the
    others (after order rules are swapped; repeated so a column derived from a derived one settles).
    Only `writable` columns (default: `columns`) change: keys and foreign keys keep their values."""
    columns = list(columns)
    free = set(columns if writable is None else writable)
    rules = rules_on(cfg, columns)
    if not rules:
        return frame
    frame = frame.copy()
    for rule in rules:
        order = ordering(rule.expression)
        if order is not None:
            low, high, _ = order
            swap = row_violations(frame, rule.expression)
            if swap.any() and {low, high} <= free and frame[low].dtype == frame[high].dtype:
                lo, hi = frame[low].array.copy(), frame[high].array.copy()
                lo[swap], hi[swap] = frame[high].array[swap], frame[low].array[swap]
                frame[low], frame[high] = lo, hi
    derived = [d for r in rules if (d := derivation(r.expression)) is not None and d[0] in free]
    for _ in derived:  # one pass per derivation: a chain (net from gross, gross from price) settles in order
        for col, how in derived:
            frame[col] = _like(derive(frame, how), frame[col])
    return frame


def _like(values: pd.Series, current: pd.Series) -> pd.Series:
    """Derived values in the column's dtype when they fit it (whole numbers in an integer column)."""
    try:
        return values.astype(current.dtype)
    except (TypeError, ValueError):
        return values


def assert_frame(frame: pd.DataFrame, cfg: TableConfig, seen: dict[str, pd.Index] | None = None,
                 broken: dict[str, int] | None = None, strict: bool = False) -> None:
    """Raise ConstraintViolationError on the first column that still breaks a declared constraint, or a row
    rule: a declared one always, a learned one with `strict` (else counted in `broken` and logged)."""
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
    _assert_rules(frame, cfg, broken, strict)


def _assert_rules(frame: pd.DataFrame, cfg: TableConfig, broken: dict[str, int] | None, strict: bool) -> None:
    for rule in cfg.row_rules:
        if not rule.enabled:
            continue
        mask = row_violations(frame, rule.expression)
        if not mask.any():
            continue
        rows = [int(i) for i in np.flatnonzero(mask)[:_SHOWN_ROWS]]
        sample = frame.iloc[rows][rule_columns(rule.expression)].to_dict("records")
        what = (f"table {cfg.name!r}: {int(mask.sum())} generated row(s) break the {rule.origin} rule "
                f"`{rule.expression}`{f' (from {rule.source})' if rule.source else ''}, e.g. rows {rows}: {sample}")
        if rule.origin == "declared" or strict:
            raise ConstraintViolationError(
                what, hint="check that the real data keeps the rule, switch it off (TableConfig.switch_rule), or "
                           "train longer so rejection sampling succeeds")
        log.warning("%s", what)
        if broken is not None:
            broken[rule.expression] = broken.get(rule.expression, 0) + int(mask.sum())


def _describe(c: Constraint, rule: str) -> str:
    if rule == "range":
        return f"allowed range {bounds(c)}"
    if rule == "accepted_values":
        return f"accepted values {c.accepted_values}"
    if rule == "regex":
        return f"must match {c.regex!r}"
    if rule == "dtype":
        return f"must be {c.dtype}"
    return rule.replace("_", " ")
