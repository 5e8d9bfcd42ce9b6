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

from synthohive_dbt.config import Constraint, GroupRule, RowRule, TableConfig
from synthohive_dbt.errors import ConstraintViolationError
from synthohive_dbt.rules import (
    UNIT_NS,
    bounds,
    derivation,
    derive,
    group_keys,
    group_numbers,
    group_violations,
    ordering,
    row_violations,
    rule_columns,
    truncation,
    violations,
)

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
                 writable: Iterable[str] | None = None, groups: dict[str, dict] | None = None,
                 swap: bool = True) -> pd.DataFrame:
    """Keep the rules on `columns` by construction where they allow it: derived columns computed from the
    others (after order rules are swapped; repeated so a column derived from a derived one settles).
    Only `writable` columns (default: `columns`) change: keys and foreign keys keep their values. With
    `groups` (state kept across the chunks of one table), group rules are laid out too, before derivations.
    `swap=False` leaves order rules to rejection (re-sampled rows keep the learned marginals; a swap moves
    values between the two columns), the last resort once the rounds are spent."""
    columns = list(columns)
    free = set(columns if writable is None else writable)
    rules = rules_on(cfg, columns)
    grouped = [g for g in cfg.group_rules if g.enabled and set(g.columns) <= free
               and set(g.partition_by) <= set(columns)] if groups is not None else []
    if not rules and not grouped:
        return frame
    frame = frame.copy()
    periods = {d[0]: p for r in rules if (d := derivation(r.expression)) is not None and (p := truncation(d[1]))}
    for g in grouped:
        _lay_out(frame, g, groups.setdefault(g.label, {}), periods)  # type: ignore[union-attr]
    for rule in rules if swap else []:
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
        for col, how in derived:  # where the derivation gives null (an input is null, a value the map lacks) the
            values = derive(frame, how)  # rule holds whatever the column holds: the model's value stays
            frame[col] = _like(values.where(values.notna(), frame[col]), frame[col])
    return frame


def _lay_out(frame: pd.DataFrame, rule: GroupRule, state: dict, periods: dict[str, str]) -> None:
    """Rebuild a group rule's columns in place, group by group in their order: a range that overlaps the one
    before it shortens that one (both starts stay, as learned) or, when it cannot (no gaps allowed, the same
    start, an earlier chunk), starts where it ends, keeping its length; sequences are renumbered from the
    group's first value by the interval. `state` holds each group's last end/value from earlier chunks.
    Ranges whose two ends a rule truncates to one period (`date_trunc('month', ...) = ...`) are laid out in
    whole periods, so the truncation keeps them apart and non-empty."""
    period = {periods.get(c) for c in rule.columns}
    if rule.kind == "ranges" and len(period) == 1 and None not in period:
        _lay_out_periods(frame, rule, state, period.pop())
        return
    keys = group_keys(frame, rule)
    names = (list(zip(*(frame[c].tolist() for c in rule.partition_by))) if rule.partition_by
             else [()] * len(frame))
    if rule.kind == "ranges":
        lo, hi = group_numbers(frame, rule, rule.columns[0]), group_numbers(frame, rule, rule.columns[1])
        ok = ~np.isnan(lo) & ~np.isnan(hi) & (keys >= 0)
        idx = np.flatnonzero(ok)
        idx = idx[np.lexsort((lo[idx], keys[idx]))]
        length = np.abs(hi - lo)
        if not rule.zero_length_allowed:
            length = np.where(length > 0, length, 1.0)
        shortest = 0.0 if rule.zero_length_allowed else 1.0
        new_lo, new_hi = lo.copy(), hi.copy()
        last: dict = {}  # group -> its previous row in this chunk (whose end may still move)
        for i in idx:
            end, before = state.get(names[i]), last.get(names[i])
            if end is None or (rule.gaps == "allowed" and lo[i] >= end):
                start = lo[i]
            elif rule.gaps == "allowed" and before is not None and lo[i] - new_lo[before] >= shortest:
                start = new_hi[before] = lo[i]  # the previous range ends where this one starts: starts stay
            else:
                start = end  # laid after the previous one (no gaps allowed, or it cannot be shortened)
            new_lo[i], new_hi[i] = start, start + length[i]
            state[names[i]], last[names[i]] = new_hi[i], i
        _put(frame, rule, rule.columns[0], new_lo)
        _put(frame, rule, rule.columns[1], new_hi)
        return
    x = group_numbers(frame, rule, rule.columns[0])
    idx = np.flatnonzero(~np.isnan(x) & (keys >= 0))
    idx = idx[np.lexsort((x[idx], keys[idx]))]
    out = x.copy()
    for i in idx:
        last = state.get(names[i])
        out[i] = x[i] if last is None else last + rule.interval
        state[names[i]] = out[i]
    _put(frame, rule, rule.columns[0], out)


def _lay_out_periods(frame: pd.DataFrame, rule: GroupRule, state: dict, period: str) -> None:
    """Ranges laid out in whole periods (month numbers for 'M'): a ranges rule on the period ordinals."""
    lo_col, hi_col = rule.columns
    ordinals = {}
    for c in (lo_col, hi_col):
        index = pd.PeriodIndex(pd.to_datetime(frame[c]).dt.to_period(period))
        ordinals[c] = np.where(index.isna(), np.nan, index.asi8.astype(np.float64))
    plain = rule.model_copy(update={"datepart": None})
    work = pd.DataFrame({lo_col: ordinals[lo_col], hi_col: ordinals[hi_col],
                         **{p: frame[p].to_numpy() for p in rule.partition_by}}, index=frame.index)
    _lay_out(work, plain, state, {})
    for c in (lo_col, hi_col):
        x = work[c].to_numpy(np.float64)
        null = np.isnan(x)
        index = pd.PeriodIndex.from_ordinals(np.where(null, 0, x).astype("int64"), freq=period)
        stamps = pd.Series(index.to_timestamp(), index=frame.index).where(~null)
        frame[c] = stamps.astype(frame[c].dtype)


def _put(frame: pd.DataFrame, rule: GroupRule, column: str, values: np.ndarray) -> None:
    """Numbers back into the column's type (dates from `datepart` units)."""
    current = frame[column]
    null = np.isnan(values)
    if current.dtype.kind == "M":
        ns = np.round(np.where(null, 0, values) * UNIT_NS[rule.datepart or "day"]).astype("int64")
        stamps = pd.Series(ns.astype("datetime64[ns]"), index=frame.index).where(~null)
        frame[column] = stamps.astype(current.dtype)
        return
    frame[column] = _like(pd.Series(values, index=frame.index), current)


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
        _broken_rule(cfg, rule.expression, rule.origin, rule.source, mask, f"{rows}: {sample}", broken, strict,
                     "check that the real data keeps the rule, switch it off (TableConfig.switch_rule), or train "
                     "longer so rejection sampling succeeds")
    for g in cfg.group_rules:
        if not g.enabled or not set(g.columns + g.partition_by) <= set(frame.columns):
            continue
        mask = group_violations(frame, g)
        if mask.any():
            rows = [int(i) for i in np.flatnonzero(mask)[:_SHOWN_ROWS]]
            _broken_rule(cfg, g.label, g.origin, g.source, mask, str(rows), broken, strict,
                         "switch the rule off (enabled=False) or report it: group rules are laid out by construction")


def _broken_rule(cfg: TableConfig, label: str, origin: str, source: str | None, mask: np.ndarray, rows: str,
                 broken: dict[str, int] | None, strict: bool, hint: str) -> None:
    """A declared rule the output breaks is an error naming it and the rows; a learned one a warning and a count
    in the sampling statistics (an error under --strict)."""
    what = (f"table {cfg.name!r}: {int(mask.sum())} generated row(s) break the {origin} rule `{label}`"
            f"{f' (from {source})' if source else ''}, e.g. rows {rows}")
    if origin == "declared" or strict:
        raise ConstraintViolationError(what, hint=hint)
    log.warning("%s", what)
    if broken is not None:
        broken[label] = broken.get(label, 0) + int(mask.sum())


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
