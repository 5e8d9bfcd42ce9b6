"""Rules across a foreign key, found in the real rows and kept by construction (config.ForeignRule).

Why: a model learns a column that depends on another table only approximately. Tried on public projects, an
invoice's total equalled the sum of its lines for about half the synthetic invoices, and the billing country the
customer's country for one in seven; real data keeps both in every row.

The search, per foreign key (not a self-reference; neither table copied as is), on columns a learned rule may use
(relational/invariants.candidate_columns: no keys, foreign keys, PII or identifier-named columns):

- lookup: a child column equal to a column of its parent row (`billing_country = customers.country`), numbers
  with numbers, dates with dates, text with text; nulls must match nulls. Supporting units: the distinct parents
  that have children (children of one parent are not independent);
- aggregate: a numeric parent column equal, within its own rounding, to `count(*)` of its children, to the sum,
  min or max of a numeric child column, or to the sum of the product of two (`total = sum(unit_price *
  quantity)`); a parent date column equal to the min or max of a child date column (a customer's first and
  latest order). Children with a null in the aggregated column rule the column out (SQL would skip them). A
  parent without children holds one value throughout (null, or 0 for count and sum), kept as `empty`.
  Supporting units: the parents with children;
- taken when it holds in 100% of those units, on at least MIN_SUPPORT of them, and is not chance: with `p` the
  share of units keeping it after a shuffle (parent values over the linked child rows for a lookup and a count,
  child values over the child rows for an aggregate), `p ** support < ALPHA / tried`, Bonferroni over the
  candidates tried on that foreign key;
- bounded: at most MAX_COLUMNS columns per kind and table (invariants.py), TIME_CAP_S seconds per foreign key;
  each candidate is first tried on a probe (the first linked child rows, PROBE_PARENTS parents with children) and
  checked in full only when the probe keeps it;
- one derivation per column: a column named by a row or group rule, or already computed by another rule across a
  key, is left alone; a parent column a child copies is never also an aggregate (the child would copy the model's
  value, not the computed one), nor the reverse.

How they are kept (relational/generate.py): a lookup copies the sampled parent row's value once the child's model
rows are drawn (the parent's column is kept for its children like a key column). An aggregate needs the children,
which are drawn after their parent: relational/aggregate_sink.py holds the parent table back until they are
drawn, and writes it with its columns computed from them.

Privacy: the rules are read from the real rows outside DP-SGD: under differential privacy they are found but
switched off unless the user keeps them (the report lists them as not covered by epsilon).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.config import ForeignKey, ForeignRule, Metadata, TableConfig
from synthohive_dbt.kinds import is_datetime, is_numeric
from synthohive_dbt.relational.cardinality import match_parents
from synthohive_dbt.relational.invariants import (
    MAX_COLUMNS,
    MIN_SUPPORT,
    TIME_CAP_S,
    as_numbers,
    candidate_columns,
    decimals_of,
    not_chance,
)
from synthohive_dbt.rules import rule_columns

log = logging.getLogger(__name__)

FUNCTIONS = ("sum", "min", "max")
DATE_FUNCTIONS = ("min", "max")  # of a child date column, into a parent date column
PROBE_PARENTS = 64


# ----------------------------------------------------------------------------------------------------- learn
def learn_foreign_rules(metadata: Metadata, tables: Mapping[str, pd.DataFrame], order: list[str],
                        exclude: Mapping[str, Iterable[str]], enabled: bool, seed: int = 0,
                        time_cap: float = TIME_CAP_S) -> list[tuple[str, ForeignRule]]:
    """Find the rules across every foreign key and add the new ones to the metadata (switched on when
    `enabled`; one there already keeps its own setting). Returns (table, rule) of those added."""
    added: list[tuple[str, ForeignRule]] = []
    for name in order:
        cfg = metadata.tables[name]
        if cfg.copy_as_is or name not in tables:
            continue
        for fk in cfg.fk:
            parent = metadata.tables.get(fk.parent)
            if fk.parent == name or parent is None or parent.copy_as_is or fk.parent not in tables:
                continue
            found = find_foreign_rules(metadata, cfg, fk, tables[name], tables[fk.parent],
                                       exclude.get(name, ()), exclude.get(fk.parent, ()), seed, time_cap)
            for home, rule in found:
                rule.enabled = enabled
                if metadata.tables[home].add_foreign_rule(rule) is rule:
                    added.append((home, rule))
                    log.info("%s: learned rule `%s` (holds on all %d real parents, %d candidates tried)%s", home,
                             rule.expression, rule.support, rule.tried,
                             "" if enabled else " - off (differential privacy)")
    return added


def find_foreign_rules(metadata: Metadata, child_cfg: TableConfig, fk: ForeignKey, child: pd.DataFrame,
                       parent: pd.DataFrame, child_exclude: Iterable[str] = (), parent_exclude: Iterable[str] = (),
                       seed: int = 0, time_cap: float = TIME_CAP_S) -> list[tuple[str, ForeignRule]]:
    """The lookups (on the child) and aggregates (on the parent) one foreign key's real rows keep, as
    (table the rule lives on, rule); see the module docstring for the grammar and the bound."""
    parent_cfg = metadata.tables[fk.parent]
    if child.empty or parent.empty:
        return []
    rows = match_parents(child[fk.columns], parent[fk.parent_columns])
    linked = rows >= 0
    c_num, c_date, c_text = candidate_columns(child, child_cfg, child_exclude)
    p_num, p_date, p_text = candidate_columns(parent, parent_cfg, parent_exclude)
    bound = _bound(metadata, child_cfg)
    p_free = [c for c in p_num if c not in _bound(metadata, parent_cfg)]
    # dates: min/max of a child date (a customer's first and latest order); tz-naive only, compared in ns
    p_dates = [c for c in p_date if c not in _bound(metadata, parent_cfg) and parent[c].dtype.kind == "M"]
    child_dates = [c for c in c_date if child[c].dtype.kind == "M"]
    lookups = [(c, p) for cs, ps in ((c_num, p_num), (c_date, p_date), (c_text[:MAX_COLUMNS], p_text[:MAX_COLUMNS]))
               for c in cs if c not in bound for p in ps]
    child_numbers = [c for c in c_num if c in child.columns]
    products = [(a, b) for i, a in enumerate(child_numbers) for b in child_numbers[i + 1:]]
    tried = (len(lookups) + len(p_free) * (1 + len(FUNCTIONS) * len(child_numbers) + len(products))
             + len(p_dates) * len(DATE_FUNCTIONS) * len(child_dates))
    rng = np.random.default_rng(seed)
    started = time.monotonic()
    found: list[tuple[str, ForeignRule]] = []
    via = list(fk.columns)
    if int(np.unique(rows[linked]).size) >= MIN_SUPPORT:
        done: set[str] = set()
        for c, p in lookups:
            if time.monotonic() - started > time_cap:
                log.info("%s -> %s: the rule search stopped after %.1f s (time cap)", child_cfg.name, fk.parent,
                         time_cap)
                return found
            if c in done or _aggregated(parent_cfg, p):
                continue
            support = _lookup_support(child[c], parent[p], rows, rng, tried)
            if support:
                done.add(c)
                found.append((child_cfg.name, ForeignRule(kind="lookup", column=c, other=fk.parent, via=via, source=p,
                                                          support=support, tried=tried)))
    counts = np.bincount(rows[linked], minlength=len(parent))
    has = counts > 0
    if int(has.sum()) < MIN_SUPPORT:
        return found
    values = {c: as_numbers(child[c])[linked] for c in child_numbers}
    terms: list[tuple[str | None, np.ndarray | None]] = [(None, None)]
    terms += [(c, v) for c, v in values.items() if not np.isnan(v).any()]
    terms += [(f"{a} * {b}", values[a] * values[b]) for a, b in products
              if not (np.isnan(values[a]).any() or np.isnan(values[b]).any())]
    looked_up = _looked_up(metadata, fk.parent) | {str(r.source) for _, r in found}
    # a probe of PROBE_PARENTS parents with children rules most candidates out before the full check
    probe = np.flatnonzero(has)
    probe = np.sort(rng.choice(probe, size=min(PROBE_PARENTS, len(probe)), replace=False))
    compact = np.full(len(parent), -1)
    compact[probe] = np.arange(len(probe))
    in_probe = compact[rows[linked]] >= 0
    probe_rows = compact[rows[linked][in_probe]]
    for y in p_free:
        if y in looked_up:
            continue
        target = as_numbers(parent[y])
        k = decimals_of(target[~np.isnan(target)])
        for of, x in terms:
            if time.monotonic() - started > time_cap:
                log.info("%s -> %s: the rule search stopped after %.1f s (time cap)", child_cfg.name, fk.parent,
                         time_cap)
                return found
            sample = (target[probe], None if x is None else x[in_probe], probe_rows)
            rule = _aggregate_rule(y, of, x, target, k, rows[linked], counts, rng, tried, sample)
            if rule is not None:
                found.append((fk.parent, rule.model_copy(update={"other": child_cfg.name, "via": via})))
                break
    dates = {c: as_numbers(child[c])[linked] for c in child_dates}
    for y in p_dates:
        if y in looked_up:
            continue
        target = as_numbers(parent[y])
        for of, x in ((c, v) for c, v in dates.items() if not np.isnan(v).any()):
            if time.monotonic() - started > time_cap:
                return found
            sample = (target[probe], x[in_probe], probe_rows)
            rule = _aggregate_rule(y, of, x, target, None, rows[linked], counts, rng, tried, sample,
                                   functions=DATE_FUNCTIONS)
            if rule is not None:
                found.append((fk.parent, rule.model_copy(update={"other": child_cfg.name, "via": via})))
                break
    return found


def _bound(metadata: Metadata, cfg: TableConfig) -> set[str]:
    """Columns another rule names or computes: left alone (one derivation per column)."""
    named = {c for r in cfg.row_rules for c in rule_columns(r.expression)}
    named |= {c for g in cfg.group_rules for c in [*g.columns, *g.partition_by]}
    return named | {r.column for r in cfg.foreign_rules}


def _aggregated(cfg: TableConfig, column: str) -> bool:
    return any(r.kind == "aggregate" and r.column == column for r in cfg.foreign_rules)


def _looked_up(metadata: Metadata, parent: str) -> set[str]:
    """Parent columns some child copies: not computed later (the child would copy the model's value)."""
    return {r.source for t in metadata.tables.values() for r in t.foreign_rules
            if r.kind == "lookup" and r.other == parent and r.source}


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Row by row equal, nulls equal to nulls (numbers compared as numbers, text as text)."""
    an, bn = a.isna().to_numpy(), b.isna().to_numpy()
    if (is_numeric(a) or is_datetime(a)) and (is_numeric(b) or is_datetime(b)):
        x, y = as_numbers(a), as_numbers(b)
        with np.errstate(invalid="ignore"):
            eq = np.isclose(x, y, rtol=1e-12, atol=0)
    else:
        eq = a.astype(str).to_numpy() == b.astype(str).to_numpy()
    return (an & bn) | (~an & ~bn & eq)


def _lookup_support(c: pd.Series, p: pd.Series, rows: np.ndarray, rng: np.random.Generator, tried: int) -> int:
    """Distinct parents supporting `child.c = parent.p` on every linked row, or 0 when it is no rule."""
    linked = rows >= 0
    first = np.flatnonzero(linked)[:PROBE_PARENTS * 4]  # a cheap probe rules most pairs out
    if not _same(c.iloc[first].reset_index(drop=True), p.iloc[rows[first]].reset_index(drop=True)).all():
        return 0
    cv = c[linked].reset_index(drop=True)
    pv = p.iloc[rows[linked]].reset_index(drop=True)
    if not _same(cv, pv).all():
        return 0
    support = int(np.unique(rows[linked][pv.notna().to_numpy()]).size)
    if support < MIN_SUPPORT:
        return 0
    chance = float(_same(cv, pv.iloc[rng.permutation(len(pv))].reset_index(drop=True)).mean())
    return support if not_chance(chance, support, tried) else 0


def _grouped(function: str | None, x: np.ndarray | None, rows: np.ndarray, n: int) -> np.ndarray:
    """count/sum/min/max of `x` per parent row (NaN where a parent has no child)."""
    counts = np.bincount(rows, minlength=n).astype(np.float64)
    if function == "count" or x is None:
        return counts
    if function == "sum":
        out = np.bincount(rows, weights=x, minlength=n)
    else:
        out = np.full(n, np.inf if function == "min" else -np.inf)
        (np.minimum if function == "min" else np.maximum).at(out, rows, x)
    out[counts == 0] = np.nan
    return out


def _keeps(target: np.ndarray, agg: np.ndarray, has: np.ndarray, k: int | None) -> np.ndarray:
    """Per parent with children: its value equals the aggregate (rounded to the value's own decimals)."""
    y, a = target[has], agg[has]
    with np.errstate(invalid="ignore"):
        exact = np.isclose(y, a, rtol=1e-9, atol=1e-9)
        if k is not None:
            exact |= np.abs(np.round(a, k) - y) <= 10.0**-k / 4
    return exact & ~np.isnan(y)


def _aggregate_rule(y: str, of: str | None, x: np.ndarray | None, target: np.ndarray, k: int | None,
                    rows: np.ndarray, counts: np.ndarray, rng: np.random.Generator, tried: int,
                    probe: tuple[np.ndarray, np.ndarray | None, np.ndarray],
                    functions: tuple[str, ...] = FUNCTIONS) -> ForeignRule | None:
    n, has = len(target), counts > 0
    p_target, p_x, p_rows = probe
    for function in (("count",) if x is None else functions):
        if function != "sum" and of is not None and "*" in of:
            continue  # products are summed only (invoice total = sum of price times quantity)
        if not _keeps(p_target, _grouped(function, p_x, p_rows, len(p_target)), np.ones(len(p_target), bool),
                      k).all():
            continue
        agg = _grouped(function, x, rows, n)
        if not _keeps(target, agg, has, k).all():
            continue
        empty_values = target[~has]
        if np.isnan(empty_values).all():
            empty = None
        elif function in ("count", "sum") and (empty_values == 0).all():
            empty = 0.0
        else:
            continue
        support = int(has.sum())
        if function == "count":  # chance: the parent values shuffled over the parents with children
            chance = float(_keeps(target[has][rng.permutation(support)], agg[has], np.ones(support, bool), k).mean())
        else:
            shuffled = _grouped(function, x[rng.permutation(len(x))], rows, n)
            chance = float(_keeps(target, shuffled, has, k).mean())
        if not not_chance(chance, support, tried):
            continue
        exact = np.allclose(target[has], agg[has], rtol=1e-9, atol=1e-9)
        decimals = k if function == "sum" or not exact else None  # a sum keeps the column's own rounding
        return ForeignRule(kind="aggregate", column=y, other="?", via=["?"], function=function, of=of,
                           decimals=decimals, empty=empty, support=support, tried=tried)
    return None


# ---------------------------------------------------------------------------------------------- judge
def aggregate_values(rule: ForeignRule, parent_keys: pd.DataFrame, child: pd.DataFrame) -> np.ndarray:
    """What an aggregate rule gives each parent row, from the child rows (NaN for null)."""
    rows = match_parents(child[rule.via], parent_keys)
    linked = rows >= 0
    x = None
    if rule.function != "count":
        x = np.prod([as_numbers(child[c])[linked] for c in rule.child_columns], axis=0)
    out = _grouped(rule.function, x, rows[linked], len(parent_keys))
    if rule.decimals is not None:
        out = np.round(out, rule.decimals)
    counts = np.bincount(rows[linked], minlength=len(parent_keys))
    out[counts == 0] = np.nan if rule.empty is None else rule.empty
    return out


def foreign_violations(rule: ForeignRule, metadata: Metadata, table: str,
                       frames: Mapping[str, pd.DataFrame]) -> tuple[int, int] | None:
    """(rows judged, rows breaking the rule) on `frames`, or None when a table or column is missing: a lookup is
    judged on the child rows with a parent, an aggregate on every parent row."""
    fk = rule_foreign_key(metadata, table, rule)
    if fk is None or table not in frames or rule.other not in frames:
        return None
    mine, other = frames[table], frames[rule.other]
    if rule.kind == "lookup":
        need = ({*fk.columns, rule.column} <= set(mine.columns)
                and {*fk.parent_columns, str(rule.source)} <= set(other.columns))
        if not need:
            return None
        rows = match_parents(mine[fk.columns], other[fk.parent_columns])
        linked = rows >= 0
        same = _same(mine[rule.column][linked].reset_index(drop=True),
                     other[str(rule.source)].iloc[rows[linked]].reset_index(drop=True))
        return int(linked.sum()), int((~same).sum())
    if not ({*fk.parent_columns, rule.column} <= set(mine.columns)
            and {*fk.columns, *rule.child_columns} <= set(other.columns)):
        return None
    got = aggregate_values(rule, mine[fk.parent_columns], other)
    y = as_numbers(mine[rule.column])
    tol = 1e-9 if rule.decimals is None else 10.0**-rule.decimals / 4
    with np.errstate(invalid="ignore"):
        ok = (np.isnan(y) & np.isnan(got)) | (np.abs(y - got) <= np.maximum(tol, 1e-9 * np.abs(got)))
    return len(mine), int((~ok).sum())


def rule_foreign_key(metadata: Metadata, table: str, rule: ForeignRule) -> ForeignKey | None:
    """The foreign key a rule goes through (declared on the child: `table` for a lookup, `other` for an aggregate)."""
    child, parent = (table, rule.other) if rule.kind == "lookup" else (rule.other, table)
    cfg = metadata.tables.get(child)
    if cfg is None:
        return None
    return next((f for f in cfg.fk if f.parent == parent and list(f.columns) == list(rule.via)), None)


# ---------------------------------------------------------------------------------------------- keep
def lookup_sources(metadata: Metadata) -> dict[str, list[str]]:
    """Parent table -> the columns enabled lookups copy (kept for the children like key columns)."""
    out: dict[str, list[str]] = {}
    for cfg in metadata.tables.values():
        for r in cfg.foreign_rules:
            if r.enabled and r.kind == "lookup" and r.other != cfg.name:
                out.setdefault(r.other, []).append(str(r.source))
    return out


def lookups_of(cfg: TableConfig, foreign_keys: list[Any]) -> list[tuple[ForeignRule, int]]:
    """The table's enabled lookups with the index of their foreign key in the plan's `foreign_keys`."""
    out = []
    for r in cfg.foreign_rules:
        if not r.enabled or r.kind != "lookup":
            continue
        i = next((i for i, f in enumerate(foreign_keys) if f.parent == r.other and list(f.columns) == list(r.via)
                  and f.role != "self"), None)
        if i is not None:
            out.append((r, i))
    return out


def looked_up(current: Any, parent_values: np.ndarray, rows: np.ndarray) -> pd.Series:
    """The child column with the parent row's value wherever the child has a parent (row >= 0); rows without
    one (a null key, an excepted value) keep the model's value. The model's dtype is kept where it can hold them."""
    mine = pd.Series(current).reset_index(drop=True)
    has = rows >= 0
    taken = pd.Series(parent_values[np.where(has, rows, 0)] if len(parent_values) else np.full(len(rows), None))
    out = taken if has.all() else pd.Series(np.where(has, taken.astype(object), mine.astype(object)), dtype=object)
    try:
        return out.astype(mine.dtype) if out.dtype != mine.dtype else out
    except (TypeError, ValueError):
        return out


__all__ = ["aggregate_values", "find_foreign_rules", "foreign_violations", "learn_foreign_rules", "looked_up",
           "lookup_sources", "lookups_of", "rule_foreign_key"]
