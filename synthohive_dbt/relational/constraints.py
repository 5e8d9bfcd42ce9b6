"""Column constraints (dbt tests, contracts) enforced on generated rows, by the rules of `synthohive_dbt.rules`
(the report judges with the same rules, so generator and report agree about every row).

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
from synthohive_dbt.rules import bounds, violations


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
        return f"allowed range {bounds(c)}"
    if rule == "accepted_values":
        return f"accepted values {c.accepted_values}"
    if rule == "regex":
        return f"must match {c.regex!r}"
    if rule == "dtype":
        return f"must be {c.dtype}"
    return rule.replace("_", " ")
