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
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from synthohive_dbt.config import Constraint, GroupRule
from synthohive_dbt.errors import ConfigError
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




# ----------------------------------------------------------------------------------------------- row rules
# A row rule (config.RowRule) is an SQL predicate over the columns of one row. It is evaluated here on a frame
# with SQL's three-valued logic: a row breaks the rule where the predicate is false; null passes (dbt's
# `expression_is_true` selects `where not (expr)`, which a null never meets). The grammar is bounded on
# purpose: columns, literals, + - * / %, comparisons, AND / OR / NOT, IS [NOT] NULL, BETWEEN, IN (literals),
# abs, round, coalesce and casts. Anything else (current_date, subqueries, window functions) is refused with
# the reason, and the reader reports the test as not modelled.

_Value = tuple[np.ndarray, np.ndarray]  # values, null mask
_ARITH = {exp.Add: np.add, exp.Sub: np.subtract, exp.Mul: np.multiply, exp.Div: np.divide, exp.Mod: np.mod}
_CMP = {exp.EQ: "eq", exp.NEQ: "ne", exp.GT: "gt", exp.GTE: "ge", exp.LT: "lt", exp.LTE: "le"}
_FLIP = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}


def parse_rule(expression: str) -> exp.Expression:
    """The predicate's syntax tree; a ConfigError says which part is outside the grammar above."""
    try:
        tree = sqlglot.parse_one(expression)
    except SqlglotError as exc:
        raise ConfigError(f"row rule {expression!r} is not an SQL expression: {exc}",
                          hint="write a predicate on the table's columns, e.g. 'a <= b'") from None
    for node in tree.walk():
        if not isinstance(node, _ALLOWED):
            raise ConfigError(f"row rule {expression!r} uses `{node.sql()}` ({type(node).__name__}), outside the "
                              "grammar of row rules (columns, literals, arithmetic, comparisons, and/or/not, is "
                              "null, between, in, abs, round, coalesce, cast)",
                              hint="check it with dbt, or restate it with those parts")
    return tree


def rule_columns(expression: str) -> list[str]:
    """The columns a rule names, in order of first use."""
    return list(dict.fromkeys(c.name for c in parse_rule(expression).find_all(exp.Column)))


def row_violations(frame: pd.DataFrame, expression: str) -> np.ndarray:
    """True on the rows where the predicate is false (a null result passes)."""
    values, null = _eval(parse_rule(expression), frame)
    return ~null & ~values.astype(bool)


def derivation(expression: str) -> tuple[str, exp.Expression] | None:
    """`col = <expression without col>`, or `col = f(col)` for a projection f (date_trunc, round): the column
    the rule computes and how (kept by construction)."""
    tree = _unwrap(parse_rule(expression))
    if not isinstance(tree, exp.EQ):
        return None
    for side, other in ((tree.this, tree.expression), (tree.expression, tree.this)):
        side, other = _unwrap(side), _unwrap(other)
        if not isinstance(side, exp.Column):
            continue
        names = {c.name for c in other.find_all(exp.Column)}
        if side.name not in names:
            return side.name, other
        if names == {side.name} and isinstance(other, _PROJECTIONS) and _unwrap(other.this) == side:
            return side.name, other  # `date_trunc('month', d) = d`: d := its own truncation (idempotent)
    return None


def derive(frame: pd.DataFrame, how: exp.Expression) -> pd.Series:
    """The values a derivation gives each row (null where an input is null)."""
    values, null = _eval(how, frame)
    out = pd.Series(values, index=frame.index, dtype=object if values.dtype == object else values.dtype)
    if values.dtype == object:  # text from a CASE: the column's own kind of values
        out = out.infer_objects()
    return out.where(~null, None) if null.any() else out


def truncation(how: exp.Expression) -> str | None:
    """The pandas period of a `date_trunc(unit, col)` derivation ('M' for month), else None."""
    if not isinstance(how, (exp.DateTrunc, exp.TimestampTrunc)):
        return None
    unit = node.name if isinstance(node := how.args["unit"], exp.Var) else str(node.this)
    return _TRUNC.get(unit.lower())


def ordering(expression: str) -> tuple[str, str, bool] | None:
    """(low, high, strict) for `low <= high`, `low < high` (either way round), also with `high is null or ...`
    / `low is null or ...`: rows that break it can swap the two values (kept by construction)."""
    tree = _unwrap(parse_rule(expression))
    if isinstance(tree, exp.Or):
        parts = [_unwrap(tree.this), _unwrap(tree.expression)]
        cmp = [p for p in parts if type(p) in _CMP]
        if len(cmp) != 1 or not any(isinstance(p, exp.Is) for p in parts):
            return None
        tree = cmp[0]
    op = _CMP.get(type(tree))
    if op not in _FLIP:
        return None
    a, b = _unwrap(tree.this), _unwrap(tree.expression)
    if not isinstance(a, exp.Column) or not isinstance(b, exp.Column):
        return None
    if op in ("gt", "ge"):
        a, b = b, a
    return a.name, b.name, op in ("lt", "gt")


def _unwrap(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


_ALLOWED = (exp.Column, exp.Identifier, exp.Literal, exp.Null, exp.Boolean, exp.Paren, exp.Neg, exp.Not,
            exp.And, exp.Or, exp.Is, exp.Between, exp.In, exp.Abs, exp.Round, exp.Coalesce, exp.Cast,
            exp.TryCast, exp.DataType, exp.Tuple, exp.DateTrunc, exp.TimestampTrunc, exp.CurrentDate,
            exp.Var, exp.Case, exp.If, *_ARITH, *_CMP)
_TRUNC = {"day": "D", "week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y"}
_PROJECTIONS = (exp.DateTrunc, exp.TimestampTrunc, exp.Round, exp.Cast, exp.TryCast)


def _column(frame: pd.DataFrame, name: str) -> _Value:
    if name not in frame.columns:
        folded = {str(c).lower(): c for c in frame.columns}
        if name.lower() not in folded:
            raise ConfigError(f"row rule names column {name!r}, which the table does not have "
                              f"(columns: {list(frame.columns)})", hint="fix the rule's column names")
        name = folded[name.lower()]
    s = frame[name]
    null = s.isna().to_numpy()
    if is_datetime(s):
        return s.to_numpy("datetime64[ns]"), null
    if is_bool(s):
        return s.to_numpy(bool, na_value=False), null
    if is_numeric(s):
        return s.to_numpy(np.float64, na_value=np.nan), null
    return s.to_numpy(object), null


def _eval(node: exp.Expression, frame: pd.DataFrame) -> _Value:
    n = len(frame)
    none = np.zeros(n, dtype=bool)
    if isinstance(node, exp.Paren):
        return _eval(node.this, frame)
    if isinstance(node, exp.Column):
        return _column(frame, node.name)
    if isinstance(node, exp.Null):
        return np.zeros(n, dtype=np.float64), np.ones(n, dtype=bool)
    if isinstance(node, exp.Boolean):
        return np.full(n, bool(node.this)), none
    if isinstance(node, exp.Literal):
        value: Any = node.this if node.is_string else float(node.this)
        return np.full(n, value, dtype=object if node.is_string else np.float64), none
    if isinstance(node, (exp.Cast, exp.TryCast)):
        return _eval(node.this, frame)
    if isinstance(node, exp.CurrentDate):  # the day the rule is checked, as the warehouse's current_date
        return np.full(n, pd.Timestamp.today().normalize().to_datetime64(), dtype="datetime64[ns]"), none
    if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
        unit = str(node.args["unit"].name if isinstance(node.args["unit"], exp.Var) else node.args["unit"].this)
        if unit.lower() not in _TRUNC:
            raise ConfigError(f"row rule part `{node.sql()}` truncates to {unit!r}",
                              hint=f"date_trunc is read for {sorted(_TRUNC)}")
        v, null = _eval(node.this, frame)
        stamps = pd.Series(_alike(v, np.zeros(0, dtype="datetime64[ns]")))
        period = stamps.dt.to_period(_TRUNC[unit.lower()]) if unit.lower() != "week" else None
        out = (period.dt.start_time if period is not None
               else stamps.dt.normalize() - pd.to_timedelta(stamps.dt.dayofweek, unit="D"))
        return out.to_numpy("datetime64[ns]"), null | out.isna().to_numpy()
    if isinstance(node, exp.Neg):
        v, null = _eval(node.this, frame)
        return -v.astype(np.float64), null
    if isinstance(node, exp.Abs):
        v, null = _eval(node.this, frame)
        return np.abs(v.astype(np.float64)), null
    if isinstance(node, exp.Round):
        v, null = _eval(node.this, frame)
        digits = int(float(node.args["decimals"].this)) if node.args.get("decimals") is not None else 0
        return np.round(v.astype(np.float64), digits), null
    if isinstance(node, exp.Coalesce):
        v, null = _eval(node.this, frame)
        v = v.copy()
        null = null.copy()
        for other in node.expressions:
            w, wnull = _eval(other, frame)
            fill = null & ~wnull
            v = v.astype(object) if v.dtype != w.dtype else v
            v[fill] = w[fill]
            null &= wnull
        return v, null
    if isinstance(node, exp.Case):  # simple (`case x when v then r`) or searched (`case when p then r`)
        subject = _eval(node.this, frame) if node.this is not None else None
        default = node.args.get("default")
        values, null = _eval(default, frame) if default is not None else (np.zeros(n), np.ones(n, dtype=bool))
        values, null, done = values.astype(object), null.copy(), np.zeros(n, dtype=bool)
        for branch in node.args.get("ifs") or []:
            if subject is not None:
                hit, unknown = _compare("eq", subject, _eval(branch.this, frame))
            else:
                hit, unknown = _eval(branch.this, frame)
                hit = hit.astype(bool)
            take = hit & ~unknown & ~done
            v, vnull = _eval(branch.args["true"], frame)
            values[take], null[take] = v[take], vnull[take]
            done |= take
        return values, null
    if type(node) in _ARITH:
        (a, an), (b, bn) = _eval(node.this, frame), _eval(node.expression, frame)
        with np.errstate(all="ignore"):
            if a.dtype.kind == "M" and b.dtype.kind == "M" and isinstance(node, exp.Sub):
                return (a - b).astype("timedelta64[s]").astype(np.float64) / 86400.0, an | bn
            out = _ARITH[type(node)](a.astype(np.float64), b.astype(np.float64))
        return out, an | bn | ~np.isfinite(out)
    if type(node) in _CMP:
        return _compare(_CMP[type(node)], _eval(node.this, frame), _eval(node.expression, frame))
    if isinstance(node, exp.Is):
        v, null = _eval(node.this, frame)
        return null.copy(), none
    if isinstance(node, exp.Not):
        v, null = _eval(node.this, frame)
        return ~v.astype(bool), null
    if isinstance(node, (exp.And, exp.Or)):
        (a, an), (b, bn) = _eval(node.this, frame), _eval(node.expression, frame)
        a, b = a.astype(bool), b.astype(bool)
        if isinstance(node, exp.And):  # false wins over null
            false = (~an & ~a) | (~bn & ~b)
            return ~false & ~an & ~bn, ~false & (an | bn)
        true = (~an & a) | (~bn & b)
        return true, ~true & (an | bn)
    if isinstance(node, exp.Between):
        x = _eval(node.this, frame)
        lo = _compare("ge", x, _eval(node.args["low"], frame))
        hi = _compare("le", x, _eval(node.args["high"], frame))
        false = (~lo[1] & ~lo[0]) | (~hi[1] & ~hi[0])
        return ~false & ~lo[1] & ~hi[1], ~false & (lo[1] | hi[1])
    if isinstance(node, exp.In):
        x = _eval(node.this, frame)
        hit, unknown = np.zeros(n, dtype=bool), x[1].copy()
        for item in node.expressions:
            v, null = _compare("eq", x, _eval(item, frame))
            hit |= v & ~null
        return hit, ~hit & unknown
    raise ConfigError(f"row rule part `{node.sql()}` is outside the grammar of row rules",
                      hint="restate the rule with columns, literals, arithmetic and comparisons")


UNIT_NS = {"second": 10**9, "minute": 60 * 10**9, "hour": 3600 * 10**9, "day": 86400 * 10**9,
            "week": 7 * 86400 * 10**9}


def group_numbers(frame: pd.DataFrame, rule: GroupRule, column: str) -> np.ndarray:
    """A group rule's column as float64 (dates in `datepart` units, days without one); NaN for null."""
    s = frame[column]
    if is_datetime(s):
        x = s.to_numpy("datetime64[ns]").astype("int64").astype(np.float64) / UNIT_NS[rule.datepart or "day"]
        x[s.isna().to_numpy()] = np.nan
        return x
    return pd.to_numeric(s, errors="coerce").to_numpy(np.float64, na_value=np.nan)


def group_keys(frame: pd.DataFrame, rule: GroupRule) -> np.ndarray:
    """Group number per row (all rows one group without `partition_by`); rows with a null key: -1."""
    if not rule.partition_by:
        return np.zeros(len(frame), dtype=np.int64)
    return frame.groupby(rule.partition_by, sort=False, dropna=True).ngroup().to_numpy()


def group_violations(frame: pd.DataFrame, rule: GroupRule) -> np.ndarray:
    """True on the rows that break a group rule: a range that overlaps (or, without gaps, does not meet) the
    one before it in its group, or is empty/reversed; a sequence value that is not the previous plus the
    interval. Rows with a null in the rule's columns or key pass, as in dbt_utils' SQL."""
    keys = group_keys(frame, rule)
    bad = np.zeros(len(frame), dtype=bool)
    if rule.kind == "ranges":
        lo, hi = group_numbers(frame, rule, rule.columns[0]), group_numbers(frame, rule, rule.columns[1])
        ok = ~np.isnan(lo) & ~np.isnan(hi) & (keys >= 0)
        with np.errstate(invalid="ignore"):
            bad |= ok & ((lo > hi) if rule.zero_length_allowed else (lo >= hi))
        idx = np.flatnonzero(ok)
        idx = idx[np.lexsort((hi[idx], lo[idx], keys[idx]))]
        same = keys[idx][1:] == keys[idx][:-1]
        prev_hi, cur_lo = hi[idx][:-1], lo[idx][1:]
        broken = (cur_lo < prev_hi) if rule.gaps == "allowed" else (~np.isclose(cur_lo, prev_hi))
        bad[idx[1:][same & broken]] = True
        return bad
    x = group_numbers(frame, rule, rule.columns[0])
    ok = ~np.isnan(x) & (keys >= 0)
    idx = np.flatnonzero(ok)
    idx = idx[np.lexsort((x[idx], keys[idx]))]
    same = keys[idx][1:] == keys[idx][:-1]
    step = ~np.isclose(np.diff(x[idx]), rule.interval)
    bad[idx[1:][same & step]] = True
    return bad


def _compare(op: str, left: _Value, right: _Value) -> _Value:
    (a, an), (b, bn) = left, right
    a, b = _alike(a, b), _alike(b, a)
    null = an | bn
    with np.errstate(invalid="ignore"):
        if a.dtype.kind == "f" and b.dtype.kind == "f":
            close = np.isclose(a, b, rtol=1e-9, atol=1e-9)
            result = {"eq": close, "ne": ~close, "lt": (a < b) & ~close, "le": (a <= b) | close,
                      "gt": (a > b) & ~close, "ge": (a >= b) | close}[op]
        else:
            result = np.zeros(len(a), dtype=bool)
            ok = ~null
            x, y = a[ok], b[ok]
            try:
                result[ok] = {"eq": x == y, "ne": x != y, "lt": x < y, "le": x <= y, "gt": x > y, "ge": x >= y}[op]
            except TypeError:
                result[ok] = {"eq": x.astype(str) == y.astype(str), "ne": x.astype(str) != y.astype(str)}.get(
                    op, np.zeros(int(ok.sum()), dtype=bool))
    return np.asarray(result, dtype=bool), null


def _alike(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a` in `b`'s type where SQL would cast it: a text literal against a date column, text against numbers."""
    if b.dtype.kind == "M" and a.dtype.kind != "M":
        return pd.to_datetime(pd.Series(a), errors="coerce").to_numpy("datetime64[ns]")
    if b.dtype.kind == "f" and a.dtype == object:
        return pd.to_numeric(pd.Series(a), errors="coerce").to_numpy(np.float64)
    return a


__all__ = ["RULES", "UNIT_NS", "accepted", "bounds", "derivation", "derive", "group_keys", "group_numbers", "group_violations", "ordering", "out_of_range", "parse_rule",
           "repeated", "row_violations", "rule_columns", "truncation", "violations"]
