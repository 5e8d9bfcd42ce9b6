"""Rules the real rows always keep, found in the data: order between two columns, arithmetic inside a row and a
column that is a function of another.

Why: code written against synthetic data breaks on rules real data always keeps and nobody wrote down as a
dbt test (a return before its rental, a total that is not price times quantity). A model learns such a rule
only approximately; as a row rule (config.RowRule, origin "learned") the generator keeps it in every row.

The search is bounded, so it is fast and its false positives are controlled:

- grammar, per table, on numeric and date columns that are not keys, foreign keys or PII, are not named as
  identifiers (`id`, `*_id`, `*_key`, `*_uuid`: an order between two ids is an accident of numbering, and ids
  are generated anew) and hold more than one value: `a = b` (a copy), `a <= b` / `a < b` (nulls pass, as in SQL: `b is null or a <= b` is the same
  rule), and `c = a + b`, `c = a - b`, `c = a * b`, each within the rounding of `c` (`round(a * b, 2)`);
- at most MAX_COLUMNS columns per table (the first ones) and TIME_CAP_S seconds per table: what is not tried
  in time is not found (logged);
- a rule is taken when it holds in 100% of the rows where its columns are not null, on at least MIN_SUPPORT
  such rows, and is not chance: with `p` the probability that one row keeps it when the columns are
  independent (estimated on the same columns with the rows of one shuffled), `p ** support` must stay below
  ALPHA / tried (Bonferroni over the number of candidates tried on the table). An order implied by the
  columns' ranges alone (p = 1) is no rule;
- `y = case x when ... end`: a text column that is a function of another (city -> country), the determinant
  holding at most MAX_DETERMINANT_VALUES values; support = rows repeating an earlier row's determinant, chance =
  the probability that two random rows share `y`; kept by copying `y` from its determinant (the map is read
  from the real rows: never on PII, and off under differential privacy);
- an order implied by two others (a <= b, b <= c => a <= c) is left out; of the arithmetic rules over one set
  of three columns only the first is taken (the last column derived from earlier ones), and none that would
  derive a column from itself through others.

Privacy: the rules are read from the real rows outside DP-SGD, so under differential privacy they are found
but switched off unless the user keeps them (and the report lists them as not covered by epsilon).
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Iterable

import numpy as np
import pandas as pd

from sqlglot import exp

from synthohive_dbt.config import RowRule, TableConfig
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.kinds import is_bool, is_datetime, is_numeric
from synthohive_dbt.rules import derivation, rule_columns

log = logging.getLogger(__name__)

MIN_SUPPORT = 30
ALPHA = 0.01
TIME_CAP_S = 5.0
MAX_COLUMNS = 24
MAX_DETERMINANT_VALUES = 50
_MAX_DECIMALS = 4
_IDENTIFIER = re.compile(r"(?i:(^|_)(id|key|uuid|fk|pk)$)|[a-z](Id|ID|Key|Uuid)$")  # not `paid`, `valid`


def find_rules(frame: pd.DataFrame, cfg: TableConfig, exclude: Iterable[str] = (),
               time_cap: float = TIME_CAP_S, seed: int = 0) -> list[RowRule]:
    """The learned rules of one table's real rows (see the module docstring for the grammar and the bound)."""
    numbers, dates, texts = candidate_columns(frame, cfg, exclude)
    labels = [c for c in texts if frame[c].nunique(dropna=True) <= MAX_DETERMINANT_VALUES][:MAX_COLUMNS]
    rng = np.random.default_rng(seed)
    values = {c: as_numbers(frame[c]) for c in [*numbers, *dates]}
    shuffled = {c: v[rng.permutation(len(v))] for c, v in values.items()}
    pairs = [*itertools.permutations(numbers, 2), *itertools.permutations(dates, 2)]
    triples = [(c, a, b) for c in reversed(numbers) for a, b in itertools.permutations([x for x in numbers if x != c], 2)]
    dependencies = list(itertools.permutations(labels, 2))
    tried = len(pairs) + 3 * len(triples) + len(dependencies)
    started = time.monotonic()
    equal: set[frozenset[str]] = set()
    order: dict[tuple[str, str], bool] = {}  # (low, high) -> strict
    support: dict[str, int] = {}
    for a, b in pairs:
        if time.monotonic() - started > time_cap:
            log.info("%s: the rule search stopped after %.1f s (time cap); later candidates not tried", cfg.name,
                     time_cap)
            break
        x, y = values[a], values[b]
        both = ~np.isnan(x) & ~np.isnan(y)
        n = int(both.sum())
        if n < MIN_SUPPORT or not (x[both] <= y[both]).all():
            continue
        if (x[both] == y[both]).all():
            key = frozenset((a, b))
            if key not in equal and not_chance(_chance(x, shuffled[b], "eq"), n, tried):
                equal.add(key)
                support[f"{b} = {a}"] = n
            continue
        strict = bool((x[both] < y[both]).all())
        if not_chance(_chance(x, shuffled[b], "lt" if strict else "le"), n, tried):
            order[(a, b)] = strict
            support[f"{a} {'<' if strict else '<='} {b}"] = n
    rules = [RowRule(expression=e, origin="learned", kind="copy", support=support[e], tried=tried)
             for e in support if " = " in e]
    for (a, b), strict in order.items():
        implied = any((a, m) in order and (m, b) in order for m in [*numbers, *dates])
        if not implied:
            e = f"{a} {'<' if strict else '<='} {b}"
            rules.append(RowRule(expression=e, origin="learned", kind="order", support=support[e], tried=tried))
    derived = {e.split(" = ")[0]: {e.split(" = ")[1]} for e in support if " = " in e}
    taken: set[frozenset[str]] = set()
    for c, a, b in triples:  # the last columns first: a derived column usually follows its inputs
        if time.monotonic() - started > time_cap:
            break
        if c in derived or frozenset((c, a, b)) in taken or _feeds(c, {a, b}, derived):
            continue
        rule = _arithmetic(c, a, b, values, shuffled, tried)
        if rule is not None:
            rules.append(rule)
            derived[c] = {a, b}
            taken.add(frozenset((c, a, b)))
    for x, y in dependencies:
        if time.monotonic() - started > time_cap:
            break
        if y in derived or _feeds(y, {x}, derived):
            continue
        rule = _dependency(frame, x, y, tried)
        if rule is not None:
            rules.append(rule)
            derived[y] = {x}
    return rules


def candidate_columns(frame: pd.DataFrame, cfg: TableConfig,
                      exclude: Iterable[str] = ()) -> tuple[list[str], list[str], list[str]]:
    """(numbers, dates, texts): the columns a learned rule may use, neither keys, foreign keys, PII, named as
    identifiers, booleans nor constant; at most MAX_COLUMNS numbers and dates (texts: all)."""
    skip = {*exclude, *cfg.pk, *(c for fk in cfg.fk for c in fk.columns), *cfg.pii_columns}
    numbers, dates, texts = [], [], []
    for col in frame.columns:
        s = frame[col]
        if col in skip or _IDENTIFIER.search(str(col)) or is_bool(s) or s.nunique(dropna=True) < 2:
            continue
        (dates if is_datetime(s) else numbers if is_numeric(s) else texts).append(col)
    return numbers[:MAX_COLUMNS], dates[:MAX_COLUMNS], texts


def _dependency(frame: pd.DataFrame, x: str, y: str, tried: int) -> RowRule | None:
    """`y` a function of `x` (city -> country) on the rows where both are set: written as
    `y = case x when ... then ... end`, kept by copying the value from its determinant. Supporting rows: those
    repeating an earlier row's `x` (a determinant seen once says nothing); chance: two random rows share `y`."""
    both = frame[[x, y]].dropna()
    per_x = both.groupby(x, sort=True)[y].nunique()
    repeats = len(both) - len(per_x)
    if repeats < MIN_SUPPORT or (per_x > 1).any():
        return None
    shares = both[y].value_counts(normalize=True).to_numpy()
    if not not_chance(float(np.sum(shares**2)), repeats, tried):
        return None
    mapping = both.drop_duplicates(x).sort_values(x)
    whens = " ".join(f"when {_literal(a)} then {_literal(b)}" for a, b in zip(mapping[x], mapping[y]))
    return RowRule(expression=f"{y} = case {x} {whens} end", origin="learned", kind="dependency",
                   support=repeats, tried=tried)


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def check_rules(cfg: TableConfig, frame: pd.DataFrame) -> None:
    """Every column a declared rule names is a column of the real table (said before training, not at sampling)."""
    have = {str(c).lower() for c in frame.columns}
    for label, cols in [*((r.expression, rule_columns(r.expression)) for r in cfg.row_rules),
                        *((g.label, [*g.columns, *g.partition_by]) for g in cfg.group_rules)]:
        missing = [c for c in cols if c.lower() not in have]
        if missing:
            raise ConfigError(f"table {cfg.name!r}: rule `{label}` names column(s) {missing}, which the table does "
                              f"not have (columns: {list(frame.columns)})",
                              hint="fix the rule, or switch it off (--no-rule / TableConfig.switch_rule)")


def learn_into(cfg: TableConfig, frame: pd.DataFrame, exclude: Iterable[str], enabled: bool,
               seed: int = 0) -> list[RowRule]:
    """Find the table's rules and add the new ones to `cfg` (switched on when `enabled`); a rule already
    there (declared, or learned and switched by the user before) keeps its own setting."""
    added = []
    derived = {_derived_key(r.expression) for r in cfg.row_rules} - {None}
    for rule in find_rules(frame, cfg, exclude, seed=seed):
        if _derived_key(rule.expression) in derived:
            continue  # the table already computes that column from those columns (a declared `a = b * c`)
        rule.enabled = enabled
        kept = cfg.add_row_rule(rule)
        if kept is rule:
            added.append(rule)
            log.info("%s: learned rule `%s` (holds on all %d real rows, %d candidates tried)%s", cfg.name,
                     rule.expression, rule.support, rule.tried, "" if enabled else " - off (differential privacy)")
    return added


def _derived_key(expression: str) -> tuple[str, frozenset[str]] | None:
    """(column, the columns it is computed from) of a derivation rule, to tell `a = b * c` from `a = c * b`."""
    try:
        found = derivation(expression)
    except ConfigError:
        return None
    if found is None:
        return None
    col, how = found
    return col, frozenset(c.name for c in how.find_all(exp.Column))


def _feeds(column: str, inputs: set[str], derived: dict[str, set[str]]) -> bool:
    """Whether `column` is (transitively) an input of one of `inputs`: deriving it from them would be a cycle."""
    seen, todo = set(), list(inputs)
    while todo:
        x = todo.pop()
        if x == column:
            return True
        if x not in seen:
            seen.add(x)
            todo.extend(derived.get(x, ()))
    return False


def as_numbers(s: pd.Series) -> np.ndarray:
    if is_datetime(s):
        x = s.to_numpy("datetime64[ns]").astype("int64").astype(np.float64)
        x[s.isna().to_numpy()] = np.nan
        return x
    return s.to_numpy(np.float64, na_value=np.nan)


def _chance(x: np.ndarray, y_shuffled: np.ndarray, op: str) -> float:
    """The share of rows keeping `x op y` when y is shuffled: the chance one row keeps it by independence."""
    both = ~np.isnan(x) & ~np.isnan(y_shuffled)
    if not both.any():
        return 1.0
    a, b = x[both], y_shuffled[both]
    held = {"eq": a == b, "lt": a < b, "le": a <= b}[op]
    return float(held.mean())


def not_chance(p: float, n: int, tried: int) -> bool:
    """Bonferroni: every one of n rows keeping a rule each keeps with probability p, over `tried` candidates."""
    if p >= 1.0:
        return False
    p = max(p, 1.0 / (n + 1))  # a shuffle that never kept it says little more than "rarer than 1 in n"
    return n * np.log(p) < np.log(ALPHA / max(tried, 1))


def decimals_of(c: np.ndarray) -> int | None:
    """How many decimals the column is rounded to (0..4), or None when it is not rounded."""
    for k in range(_MAX_DECIMALS + 1):
        scaled = c * 10**k
        if np.allclose(scaled, np.round(scaled), rtol=0, atol=1e-6):
            return k
    return None


def _arithmetic(c: str, a: str, b: str, values: dict[str, np.ndarray], shuffled: dict[str, np.ndarray],
                tried: int) -> RowRule | None:
    x, y, z = values[a], values[b], values[c]
    rows = ~np.isnan(x) & ~np.isnan(y) & ~np.isnan(z)
    n = int(rows.sum())
    if n < MIN_SUPPORT:
        return None
    ops = (("*", np.multiply), ("+", np.add), ("-", np.subtract)) if a < b else (("-", np.subtract),)
    k = decimals_of(z[rows])
    for symbol, f in ops:
        got = f(x[rows], y[rows])
        exact = np.allclose(got, z[rows], rtol=1e-9, atol=1e-9)
        rounded = k is not None and np.allclose(np.round(got, k), z[rows], rtol=0, atol=10.0**-k / 4)
        if not exact and not rounded:
            continue
        tol = 1e-9 if exact else 10.0**-k / 4
        keep = rows & ~np.isnan(shuffled[b])
        base = f(x[keep], shuffled[b][keep])
        p = float(np.mean(np.abs((base if exact else np.round(base, k)) - z[keep]) <= tol)) if keep.any() else 1.0
        if not not_chance(p, n, tried):
            continue
        term = f"{a} {symbol} {b}"
        expression = f"{c} = {term}" if exact else f"{c} = round({term}, {k})"
        return RowRule(expression=expression, origin="learned", kind="arithmetic", support=n, tried=tried)
    return None


__all__ = ["ALPHA", "MAX_COLUMNS", "MAX_DETERMINANT_VALUES", "MIN_SUPPORT", "TIME_CAP_S", "as_numbers",
           "candidate_columns", "check_rules", "decimals_of", "find_rules", "learn_into", "not_chance"]
