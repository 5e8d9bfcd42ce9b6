"""dbt tests across the columns of a row -> RowRuleFinding: the predicate every row keeps.

- `dbt_utils.expression_is_true`: `expression` (after `column_name` when the test sits on a column); a
  `where`/`condition` makes it `not (condition) or (expression)`;
- `dbt_expectations.expect_column_pair_values_A_to_be_greater_than_B` (`or_equal`), `..._to_be_equal`,
  `expect_column_pair_values_to_be_in_set`, `expect_multicolumn_sum_to_equal`;
- `dbt_utils.mutually_exclusive_ranges` and `sequential_values`: a GroupRule (order within groups of rows);
- a singular test `select ... from <one relation> where <predicate>`: its failing rows are those where the
  predicate is true, so every row keeps `not (<predicate>)`.

The predicate must fit the grammar of row rules (rules.parse_rule); otherwise the test is not modelled, with
the reason. Lineage carries a predicate on a model's columns back to a raw table's columns (lineage_rules).
"""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from pydantic import ValidationError

from synthohive_dbt.config import GroupRule
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.manifest.findings import Finding, NotModelled, RowRuleFinding
from synthohive_dbt.rules import parse_rule

_JINJA = re.compile(r"\{\{.*?\}\}", re.S)
_JINJA_BLOCK = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)


def rule_finding(table: str, expression: str, source: str, kind: str = "expression") -> Finding:
    """A RowRuleFinding when the predicate fits the grammar of row rules, else NotModelled with why."""
    try:
        parse_rule(expression)
    except ConfigError as exc:
        return NotModelled(source, f"row rule `{expression}` is not modelled: {exc.args[0]}", table)
    return RowRuleFinding(table, expression, source, kind)


def conditioned(expression: str, condition: str | None) -> str:
    """The rule that holds on every row when `expression` holds on the rows meeting `condition`."""
    return expression if not condition else f"not ({condition}) or ({expression})"


def _q(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def expression_is_true(kwargs: dict[str, Any], column: str | None) -> str | None:
    text = kwargs.get("expression")
    if not isinstance(text, str) or not text.strip():
        return None
    return f"{column} {text}" if column else text


def pair_greater(kwargs: dict[str, Any]) -> str | None:
    a, b = kwargs.get("column_A"), kwargs.get("column_B")
    if not a or not b:
        return None
    op = ">=" if str(kwargs.get("or_equal", False)).lower() in ("true", "1", "yes") else ">"
    return f"{a} {op} {b}"


def pair_equal(kwargs: dict[str, Any]) -> str | None:
    a, b = kwargs.get("column_A"), kwargs.get("column_B")
    return f"{a} = {b}" if a and b else None


def pair_in_set(kwargs: dict[str, Any]) -> str | None:
    a, b, pairs = kwargs.get("column_A"), kwargs.get("column_B"), kwargs.get("value_pairs_set")
    if not a or not b or not isinstance(pairs, list) or not pairs:
        return None
    if not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pairs):
        return None
    return " or ".join(f"({a} = {_q(x)} and {b} = {_q(y)})" for x, y in pairs)


def multicolumn_sum(kwargs: dict[str, Any]) -> str | None:
    cols, total = kwargs.get("column_list"), kwargs.get("sum_total")
    if not isinstance(cols, list) or not cols or total is None:
        return None
    return f"{' + '.join(str(c) for c in cols)} = {total}"


def group_rule(name: str, kwargs: dict[str, Any], column: str | None) -> GroupRule | str:
    """`mutually_exclusive_ranges` / `sequential_values` as a GroupRule, or the reason it is not modelled."""
    partition = kwargs.get("partition_by") if name == "mutually_exclusive_ranges" else kwargs.get(
        "group_by_columns")
    parts = [p.strip() for p in partition.split(",")] if isinstance(partition, str) else list(partition or [])
    try:
        if name == "mutually_exclusive_ranges":
            gaps = str(kwargs.get("gaps") or "allowed")
            if gaps == "required":
                return "mutually_exclusive_ranges with `gaps: required` is not modelled"
            lower, upper = kwargs.get("lower_bound_column"), kwargs.get("upper_bound_column")
            if not lower or not upper:
                return "mutually_exclusive_ranges without lower_bound_column and upper_bound_column"
            zero = str(kwargs.get("zero_length_range_allowed", False)).lower() in ("true", "1", "yes")
            return GroupRule(kind="ranges", columns=[str(lower), str(upper)], partition_by=parts, gaps=gaps,
                             zero_length_allowed=zero)
        if column is None:
            return "sequential_values without column_name"
        datepart = kwargs.get("datepart")
        return GroupRule(kind="sequence", columns=[column], partition_by=parts,
                         interval=float(kwargs.get("interval", 1)), datepart=datepart or None)
    except (ConfigError, ValidationError, ValueError) as exc:
        return f"{name} arguments are not modelled: {exc}"


def singular_predicate(sql: str) -> str | None:
    """`not (<where>)` of a singular test that selects the rows of one relation failing a row predicate;
    None for any other shape (joins, grouping, CTEs, unions, no where)."""
    text = _JINJA_BLOCK.sub("", _JINJA.sub("__synthohive_relation__", sql)).strip().rstrip(";")
    try:
        tree = sqlglot.parse_one(text)
    except SqlglotError:
        return None
    if not isinstance(tree, exp.Select) or tree.args.get("with") or tree.args.get("joins") \
            or tree.args.get("group") or tree.args.get("having") or tree.args.get("limit"):
        return None
    source = tree.args.get("from") or tree.args.get("from_")  # the key's name differs across sqlglot versions
    where = tree.args.get("where")
    if source is None or where is None or not isinstance(source.this, exp.Table):
        return None
    alias = source.this.alias_or_name
    predicate = where.this.copy()
    for col in predicate.find_all(exp.Column):
        if col.table and col.table not in (alias, source.this.name):
            return None
        col.set("table", None)
    return f"not ({predicate.sql()})"


__all__ = ["conditioned", "expression_is_true", "group_rule", "multicolumn_sum", "pair_equal", "pair_greater", "pair_in_set",
           "rule_finding", "singular_predicate"]
