"""Order within groups of rows, found in the data: sequences and non-overlapping ranges per foreign key.

What dbt_utils' `sequential_values` and `mutually_exclusive_ranges` test, when nobody declared them: line numbers
1, 2, 3 ... per invoice; subscription periods of a customer that never overlap (or follow each other without a
gap). A model draws each row on its own, so it breaks such a rule in most groups; as a config.GroupRule (origin
"learned") the generator lays the values out by construction (relational/constraints.py).

The search is bounded, like the in-row one (relational/invariants.py):

- groups: each foreign key of the table (its columns). Not the whole table: a column numbered 1..n over the
  whole table is a surrogate key, and keys are generated anew anyway;
- sequence: a column among the in-row candidates (not a key, PII, identifier-named or constant) without nulls,
  whole numbers stepping by exactly 1 within each group (dates: whole days stepping by one day);
- ranges: a pair with `lo <= hi` (or `lo < hi`) in every row (an in-row order rule, learned or declared) whose
  ranges, ordered within each group, never overlap; `gaps="not_allowed"` when each one starts exactly where the
  previous ends; zero-length ranges allowed when the real rows hold some;
- support: the rows that have a predecessor in their group (each is one check), at least MIN_SUPPORT;
- not chance: `p`, the share of checks passed with the group column shuffled across the rows (same values and
  group sizes, random grouping), must give `p ** support` below ALPHA / tried (Bonferroni over the candidates
  tried on the table); TIME_CAP_S per table.

Privacy: read from the real rows outside DP-SGD; off under differential privacy unless the user keeps it, and
never on a PII column (the candidates exclude them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import numpy as np
import pandas as pd

from synthohive_dbt.config import GroupRule, TableConfig
from synthohive_dbt.kinds import is_datetime
from synthohive_dbt.relational.invariants import MIN_SUPPORT, TIME_CAP_S, candidate_columns, not_chance
from synthohive_dbt.rules import group_keys, group_numbers, group_violations, ordering

log = logging.getLogger(__name__)


def find_group_rules(frame: pd.DataFrame, cfg: TableConfig, exclude: Iterable[str] = (),
                     time_cap: float = TIME_CAP_S, seed: int = 0) -> list[GroupRule]:
    """The learned group rules of one table's real rows (see the module docstring)."""
    groups = [list(fk.columns) for fk in cfg.fk if set(fk.columns) <= set(frame.columns)]
    if not groups or len(frame) <= MIN_SUPPORT:
        return []
    numbers, dates, _ = candidate_columns(frame, cfg, exclude)
    sequences = [c for c in [*numbers, *dates] if _whole_steps(frame[c])]
    pairs = [(lo, hi) for r in cfg.row_rules if (o := ordering(r.expression)) is not None
             for lo, hi in [o[:2]] if lo in frame.columns and hi in frame.columns]
    tried = len(groups) * (len(sequences) + len(pairs))
    rng = np.random.default_rng(seed)
    started = time.monotonic()
    found: list[GroupRule] = []
    for by in groups:
        shuffled = frame.copy(deep=False)
        order = rng.permutation(len(frame))
        for c in by:
            shuffled[c] = frame[c].to_numpy()[order]
        candidates = [GroupRule(kind="sequence", columns=[c], partition_by=by, origin="learned",
                                datepart="day" if is_datetime(frame[c]) else None) for c in sequences]
        for lo, hi in pairs:
            meets = _ranges_meet(frame, lo, hi, by)
            probe = _probe(lo, hi, by)
            zero = bool((group_numbers(frame, probe, lo) == group_numbers(frame, probe, hi)).any())
            candidates.append(GroupRule(kind="ranges", columns=[lo, hi], partition_by=by, origin="learned",
                                        gaps="not_allowed" if meets else "allowed", zero_length_allowed=zero))
        for rule in candidates:
            if time.monotonic() - started > time_cap:
                log.info("%s: the group rule search stopped after %.1f s (time cap)", cfg.name, time_cap)
                return found
            checks = _checks(frame, rule)
            if checks < MIN_SUPPORT or group_violations(frame, rule).any():
                continue
            p = 1.0 - float(group_violations(shuffled, rule).sum()) / max(_checks(shuffled, rule), 1)
            if not_chance(p, checks, tried):
                found.append(rule.model_copy(update={"support": checks, "tried": tried}))
    return found


def learn_group_into(cfg: TableConfig, frame: pd.DataFrame, exclude: Iterable[str], enabled: bool,
                     seed: int = 0) -> list[GroupRule]:
    """Find the table's group rules and add the new ones to `cfg` (switched on when `enabled`); a rule already
    there on the same columns and groups (declared, or switched by the user before) keeps its own setting."""
    added = []
    have = {(g.kind, tuple(g.columns), tuple(g.partition_by)) for g in cfg.group_rules}
    for rule in find_group_rules(frame, cfg, exclude, seed=seed):
        if (rule.kind, tuple(rule.columns), tuple(rule.partition_by)) in have:
            continue
        rule.enabled = enabled
        cfg.group_rules.append(rule)
        added.append(rule)
        log.info("%s: learned rule `%s` (holds on all %d real rows after the first of their group, %d candidates "
                 "tried)%s", cfg.name, rule.label, rule.support, rule.tried,
                 "" if enabled else " - off (differential privacy)")
    return added


def _probe(lo: str, hi: str, by: list[str]) -> GroupRule:
    return GroupRule(kind="ranges", columns=[lo, hi], partition_by=by)


def _whole_steps(s: pd.Series) -> bool:
    """No nulls, whole numbers (dates: midnight), more than one value: a sequence could step by 1 on it."""
    if s.isna().any() or s.nunique() < 2:
        return False
    if is_datetime(s):
        x = s.to_numpy("datetime64[ns]")
        return bool((x == x.astype("datetime64[D]")).all())
    x = pd.to_numeric(s, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    return bool(np.isfinite(x).all() and (x == np.round(x)).all())


def _checks(frame: pd.DataFrame, rule: GroupRule) -> int:
    """Rows with a predecessor in their group (rows with a null in the rule's columns or key take no part)."""
    keys = group_keys(frame, rule)
    ok = keys >= 0
    for c in rule.columns:
        ok &= ~np.isnan(group_numbers(frame, rule, c))
    k = keys[ok]
    return int(len(k) - len(np.unique(k)))


def _ranges_meet(frame: pd.DataFrame, lo: str, hi: str, by: list[str]) -> bool:
    """Whether, in every group, each range starts exactly where the previous one ends."""
    return not group_violations(frame, GroupRule(kind="ranges", columns=[lo, hi], partition_by=by,
                                                 gaps="not_allowed", zero_length_allowed=True)).any()


__all__ = ["find_group_rules", "learn_group_into"]
