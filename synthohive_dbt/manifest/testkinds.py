"""dbt data tests -> findings: one small handler per generic test the reader understands.

A test's table and a relationship's parent come from `attached_node` / `depends_on.nodes` (dbt already
resolved the refs there); the `model` and `to` strings only pick among those nodes. Every test without a
handler, or whose arguments a handler cannot use, becomes a NotModelled with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from synthohive_dbt.config import Constraint
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.manifest.constraints import declared_columns
from synthohive_dbt.manifest.disabled import unresolved_refs
from synthohive_dbt.manifest.findings import ColumnRule, Finding, FkRule, GroupRuleFinding, KeyRule, NotModelled
from synthohive_dbt.manifest.identifiers import column_name
from synthohive_dbt.manifest.loader import Manifest
from synthohive_dbt.manifest.refs import RefTarget, parse_ref_call
from synthohive_dbt.manifest.row_tests import (
    conditioned,
    expression_is_true,
    group_rule,
    multicolumn_sum,
    pair_equal,
    pair_greater,
    pair_in_set,
    rule_finding,
    singular_predicate,
)

_UTILS = (None, "dbt_utils")
_EXPECTATIONS = (None, "dbt_expectations")
_CORE = (None,)


@dataclass(frozen=True)
class TestContext:
    """One generic test, resolved to the table it checks."""

    manifest: Manifest
    node: dict[str, Any]
    table: str  # unique_id of the tested table
    kwargs: dict[str, Any]

    @property
    def uid(self) -> str:
        return str(self.node["unique_id"])

    @property
    def raw_column(self) -> str | None:
        """`column_name` as the manifest has it: `patient`, `"Select"`, or an expression like `upper(x)`."""
        col = self.kwargs.get("column_name") or self.node.get("column_name")
        return str(col) if col else None

    @property
    def column(self) -> str | None:
        """The tested column, unquoted and spelled as the table declares it (see metadata.identifiers)."""
        raw = self.raw_column
        return None if raw is None else (self.name_of(raw, self.table) or raw)

    def name_of(self, text: Any, table: str) -> str | None:
        """A column of `table` named by `text`, or None when `text` is an SQL expression."""
        node = self.manifest.node(table)
        return column_name(str(text), declared_columns(node) if node is not None else ())

    @property
    def config(self) -> dict[str, Any]:
        return self.node.get("config") or {}

    @property
    def where(self) -> str | None:
        """The test's `where` config, and'ed with a dbt_expectations `row_condition` when both exist."""
        parts = [str(p) for p in (self.config.get("where"), self.kwargs.get("row_condition")) if p]
        if len(parts) == 2:
            return f"({parts[0]}) and ({parts[1]})"
        return parts[0] if parts else None

    @property
    def severity(self) -> Literal["error", "warn"]:
        return "warn" if str(self.config.get("severity") or "error").lower() == "warn" else "error"

    def constraint(self, **fields: Any) -> Constraint:
        return Constraint(where=self.where, severity=self.severity, **fields)

    def skip(self, reason: str) -> NotModelled:
        return NotModelled(self.uid, reason, self.table)


def _number(value: Any) -> float | None:
    """A numeric bound, or None when the value is a SQL expression (a string that is not a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _range(ctx: TestContext, min_value: Any, max_value: Any, inclusive: bool) -> list[Finding]:
    if ctx.column is None:
        return [ctx.skip("range test without column_name")]
    fields: dict[str, Any] = {}
    for side, value in (("min", min_value), ("max", max_value)):
        if value is None:
            continue
        fields[f"{side}_inclusive"] = inclusive
        number = _number(value)
        if number is None:
            fields[f"{side}_expr"] = str(value)
        else:
            fields[side] = number
    if not fields:
        return [ctx.skip("range test with neither min_value nor max_value")]
    try:
        constraint = ctx.constraint(**fields)
    except ConfigError as exc:
        return [ctx.skip(f"range bounds are inconsistent: {exc}")]
    return [ColumnRule(ctx.table, ctx.column, constraint, ctx.uid)]


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _not_null(ctx: TestContext) -> list[Finding]:
    if ctx.column is None:
        return [ctx.skip("not_null test without column_name")]
    return [ColumnRule(ctx.table, ctx.column, ctx.constraint(not_null=True), ctx.uid)]


def _unique(ctx: TestContext) -> list[Finding]:
    if ctx.column is None:
        return [ctx.skip("unique test without column_name")]
    out: list[Finding] = [ColumnRule(ctx.table, ctx.column, ctx.constraint(unique=True), ctx.uid)]
    if ctx.where is None and ctx.severity == "error":
        out.append(KeyRule(ctx.table, (ctx.column,), ctx.uid))
    return out


def _sql_literal(value: Any) -> Any:
    """A value of accepted_values with `quote: false`: a SQL literal, so '1' is the number 1."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    number = _number(text)
    if number is not None:
        return int(number) if re.fullmatch(r"[+-]?\d+", text) else number
    return value


def _accepted_values(ctx: TestContext, key: str = "values") -> list[Finding]:
    values = ctx.kwargs.get(key)
    if ctx.column is None or not isinstance(values, list):
        return [ctx.skip(f"accepted-values test without column_name or a list of {key!r}")]
    if not _flag(ctx.kwargs.get("quote"), True):
        values = [_sql_literal(v) for v in values]
    return [ColumnRule(ctx.table, ctx.column, ctx.constraint(accepted_values=list(values)), ctx.uid)]


def _composite_unique(ctx: TestContext, key: str) -> list[Finding]:
    cols = ctx.kwargs.get(key)
    if not isinstance(cols, list) or not cols:
        return [ctx.skip(f"composite-unique test without a list of {key!r}")]
    if ctx.where is not None or ctx.severity == "warn":
        return [ctx.skip("composite uniqueness that holds only under a `where` or only warns: "
                         "kept out of the primary key")]
    names = [ctx.name_of(c, ctx.table) for c in cols]
    if None in names:
        bad = [str(c) for c, n in zip(cols, names) if n is None]
        return [ctx.skip(f"composite-unique test lists {bad}, SQL expression(s) rather than columns: not modelled")]
    cols = [str(n) for n in names]
    if len(cols) == 1:
        return [ColumnRule(ctx.table, cols[0], ctx.constraint(unique=True), ctx.uid),
                KeyRule(ctx.table, (cols[0],), ctx.uid)]
    return [KeyRule(ctx.table, tuple(cols), ctx.uid)]


def resolve_target(manifest: Manifest, node: dict[str, Any], exclude: str | None, text: Any) -> str | None:
    """The node a `to`/`model` argument names, chosen among the test's `depends_on.nodes`.

    With several candidates the parsed `ref(...)`/`source(...)` picks one; a relationship to its own table
    (a self-reference) has only that table in depends_on.
    """
    deps = list(dict.fromkeys(d for d in (node.get("depends_on") or {}).get("nodes") or []
                              if manifest.node(d) is not None))
    target: RefTarget | None = parse_ref_call(text)
    if target is not None:
        named = [d for d in deps if target.matches(manifest.nodes[d])]
        others = [d for d in named if d != exclude]
        if len(others) == 1:
            return others[0]
        if named:
            return exclude if not others else None  # a self-reference, or ambiguous
    others = [d for d in deps if d != exclude]
    return others[0] if len(others) == 1 else None


def _relationship(ctx: TestContext, from_condition: str | None = None,
                  to_condition: str | None = None) -> list[Finding]:
    field = ctx.kwargs.get("field")
    if ctx.column is None or not field:
        return [ctx.skip("relationships test without column_name or field")]
    parent = resolve_target(ctx.manifest, ctx.node, ctx.table, ctx.kwargs.get("to"))
    if parent is None:
        gone = unresolved_refs(ctx.manifest, ctx.node)
        if gone:
            return [ctx.skip(f"parent {gone[0].label} {gone[0].state}, so the foreign key "
                             f"{_name(ctx.manifest, ctx.table)}.{ctx.column} -> {gone[0].target.name}.{field} is "
                             f"not modelled; enable {gone[0].label} or remove the test from the YAML")]
        return [ctx.skip(f"cannot tell which node `to: {ctx.kwargs.get('to')}` is from the test's "
                         f"depends_on.nodes {ctx.node.get('depends_on', {}).get('nodes')}")]
    parent_column = ctx.name_of(field, parent)
    if parent_column is None:
        return [ctx.skip(f"relationships `field: {field}` is an SQL expression rather than a column of "
                         f"{_name(ctx.manifest, parent)}: the foreign key is not modelled")]
    trivial = {None, "", "1=1", "1 = 1", "true"}
    wheres = [w for w in (ctx.where, from_condition if from_condition not in trivial else None) if w]
    where = " and ".join(f"({w})" for w in wheres) if len(wheres) > 1 else (wheres[0] if wheres else None)
    note = None
    if to_condition not in trivial:
        note = (f"{ctx.uid}: the parent-side condition `to_condition: {to_condition}` is not part of the "
                "foreign key; generated children reference any parent row")
    return [FkRule(ctx.table, (ctx.column,), parent, (parent_column,), ctx.uid, where=where, note=note)]


def _regex(ctx: TestContext) -> list[Finding]:
    regex = ctx.kwargs.get("regex")
    if ctx.column is None or not isinstance(regex, str):
        return [ctx.skip("regex test without column_name or regex")]
    flags = str(ctx.kwargs.get("flags") or "")
    if flags:
        if set(flags) - set("imsx"):
            return [ctx.skip(f"regex flags {flags!r} have no Python equivalent")]
        regex = f"(?{flags}){regex}"
    try:
        return [ColumnRule(ctx.table, ctx.column, ctx.constraint(regex=regex), ctx.uid)]
    except ConfigError as exc:
        return [ctx.skip(f"the regex is not valid in Python: {exc}")]


def _regex_list(ctx: TestContext) -> list[Finding]:
    patterns = ctx.kwargs.get("regex_list")
    if not isinstance(patterns, list) or not patterns:
        return [ctx.skip("regex-list test without a list of regex_list")]
    joined = ("|".join(f"(?:{p})" for p in patterns) if str(ctx.kwargs.get("match_on", "any")) == "any"
              else "".join(f"(?=.*(?:{p}))" for p in patterns))
    return _regex(TestContext(ctx.manifest, ctx.node, ctx.table,
                              {**ctx.kwargs, "regex": joined, "regex_list": None}))


def _like(ctx: TestContext) -> list[Finding]:
    pattern = ctx.kwargs.get("like_pattern")
    if not isinstance(pattern, str):
        return [ctx.skip("like-pattern test without like_pattern")]
    regex = "^" + "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern) + "$"
    return _regex(TestContext(ctx.manifest, ctx.node, ctx.table, {**ctx.kwargs, "regex": regex}))


def _data_type(ctx: TestContext) -> list[Finding]:
    column_type = ctx.kwargs.get("column_type")
    if ctx.column is None or not column_type:
        return [ctx.skip("type test without column_name or column_type")]
    return [ColumnRule(ctx.table, ctx.column, ctx.constraint(data_type=str(column_type)), ctx.uid)]


def _row_rule(build: Callable[[dict[str, Any], str | None], str | None]) -> Callable[[TestContext], list[Finding]]:
    """A handler for a test across the columns of a row (manifest/row_tests.py)."""
    def handle(ctx: TestContext) -> list[Finding]:
        expression = build(ctx.kwargs, ctx.column)
        if expression is None:
            return [ctx.skip("row test without the arguments it needs (expression, column_A/column_B, ...)")]
        if ctx.severity == "warn":
            return [ctx.skip(f"row rule `{expression}` only warns: not enforced")]
        condition = ctx.where or ctx.kwargs.get("condition")
        condition = None if str(condition or "").strip() in ("", "1=1", "1 = 1", "true") else str(condition)
        return [rule_finding(ctx.table, conditioned(expression, condition), ctx.uid)]
    return handle


def _group_rule(name: str) -> Callable[[TestContext], list[Finding]]:
    def handle(ctx: TestContext) -> list[Finding]:
        if ctx.where is not None or ctx.severity == "warn":
            return [ctx.skip(f"{name} under a `where` or warn-only is not modelled")]
        rule = group_rule(name, ctx.kwargs, ctx.column)
        if isinstance(rule, str):
            return [ctx.skip(rule)]
        names = [ctx.name_of(c, ctx.table) for c in [*rule.columns, *rule.partition_by]]
        if None in names:
            bad = [c for c, n in zip([*rule.columns, *rule.partition_by], names) if n is None]
            return [ctx.skip(f"{name} names {bad}, SQL expression(s) rather than columns: not modelled")]
        k = len(rule.columns)
        rule = rule.model_copy(update={"columns": names[:k], "partition_by": names[k:]})
        return [GroupRuleFinding(ctx.table, rule.model_copy(update={"source": ctx.uid}), ctx.uid)]
    return handle


Handler = Callable[[TestContext], list[Finding]]
_HANDLERS: dict[str, tuple[tuple[str | None, ...], Handler]] = {
    "not_null": (_CORE, _not_null),
    "unique": (_CORE, _unique),
    "accepted_values": (_CORE, _accepted_values),
    "relationships": (_CORE, _relationship),
    "accepted_range": (_UTILS, lambda c: _range(c, c.kwargs.get("min_value"), c.kwargs.get("max_value"),
                                                 _flag(c.kwargs.get("inclusive"), True))),
    "relationships_where": (_UTILS, lambda c: _relationship(c, c.kwargs.get("from_condition"),
                                                            c.kwargs.get("to_condition"))),
    "unique_combination_of_columns": (_UTILS, lambda c: _composite_unique(c, "combination_of_columns")),
    "expect_column_values_to_be_between": (
        _EXPECTATIONS, lambda c: _range(c, c.kwargs.get("min_value"), c.kwargs.get("max_value"),
                                        not _flag(c.kwargs.get("strictly"), False))),
    "expect_column_values_to_not_be_null": (_EXPECTATIONS, _not_null),
    "expect_column_values_to_be_unique": (_EXPECTATIONS, _unique),
    "expect_column_values_to_be_in_set": (_EXPECTATIONS, lambda c: _accepted_values(c, "value_set")),
    "expect_compound_columns_to_be_unique": (_EXPECTATIONS, lambda c: _composite_unique(c, "column_list")),
    "expect_column_values_to_match_regex": (_EXPECTATIONS, _regex),
    "expect_column_values_to_match_regex_list": (_EXPECTATIONS, _regex_list),
    "expect_column_values_to_match_like_pattern": (_EXPECTATIONS, _like),
    "expect_column_values_to_be_of_type": (_EXPECTATIONS, _data_type),
    "expression_is_true": (_UTILS, _row_rule(expression_is_true)),
    "mutually_exclusive_ranges": (_UTILS, _group_rule("mutually_exclusive_ranges")),
    "sequential_values": (_UTILS, _group_rule("sequential_values")),
    "expect_column_pair_values_A_to_be_greater_than_B": (_EXPECTATIONS, _row_rule(lambda k, _: pair_greater(k))),
    "expect_column_pair_values_to_be_equal": (_EXPECTATIONS, _row_rule(lambda k, _: pair_equal(k))),
    "expect_column_pair_values_to_be_in_set": (_EXPECTATIONS, _row_rule(lambda k, _: pair_in_set(k))),
    "expect_multicolumn_sum_to_equal": (_EXPECTATIONS, _row_rule(lambda k, _: multicolumn_sum(k))),
}
KNOWN_TESTS = frozenset(_HANDLERS)


def interpret_test(manifest: Manifest, node: dict[str, Any], table: str) -> list[Finding]:
    """Findings from one test node already resolved to the table it checks."""
    meta = node.get("test_metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        code = str(node.get("raw_code") or node.get("raw_sql") or "")
        predicate = singular_predicate(code) if code else None
        if predicate is not None:
            return [rule_finding(table, predicate, str(node["unique_id"]), kind="singular")]
        shape = "; only `select ... from <one relation> where <row predicate>` is read" if code else ""
        return [NotModelled(node["unique_id"], "singular data test: its logic is SQL the reader does not "
                                               f"interpret{shape}", table)]
    name, namespace = str(meta["name"]), meta.get("namespace")
    label = f"{namespace}.{name}" if namespace else name
    entry = _HANDLERS.get(name)
    if entry is None:
        return [NotModelled(node["unique_id"], f"test `{label}` is not modelled (no generator for it); "
                                               "check the generated data with dbt", table)]
    namespaces, handler = entry
    if namespace not in namespaces:
        return [NotModelled(node["unique_id"], f"test `{label}` comes from package {namespace!r}, not from "
                                               f"{' / '.join(str(n or 'the project') for n in namespaces)}; "
                                               "its arguments may differ", table)]
    kwargs = meta.get("kwargs")
    ctx = TestContext(manifest, node, table, dict(kwargs) if isinstance(kwargs, dict) else {})
    raw = ctx.raw_column
    if raw is not None and ctx.name_of(raw, table) is None:
        return [ctx.skip(f"test `{label}` checks `{raw}`, an SQL expression rather than a column of "
                         f"{_name(manifest, table)}; a rule on an expression is not modelled (check the generated "
                         "data with dbt, or test a column the model computes from it)")]
    return handler(ctx)


def _name(manifest: Manifest, uid: str) -> str:
    node = manifest.node(uid) or {}
    return str(node.get("name") or uid)


def tested_table(manifest: Manifest, node: dict[str, Any]) -> str | None:
    """The table a test checks: `attached_node`, else (source tests in every dbt version) its `model`
    argument matched against `depends_on.nodes`, else the only dependency of the source named in
    `file_key_name` (`sources.<source_name>`)."""
    attached = node.get("attached_node")
    if attached and manifest.node(attached) is not None:
        return str(attached)
    kwargs = (node.get("test_metadata") or {}).get("kwargs") or {}
    deps = [d for d in (node.get("depends_on") or {}).get("nodes") or [] if manifest.node(d) is not None]
    target = parse_ref_call(kwargs.get("model"))
    if target is not None:
        named = [d for d in deps if target.matches(manifest.nodes[d])]
        if len(named) == 1:
            return named[0]
    if len(deps) == 1:
        return deps[0]
    file_key = str(node.get("file_key_name") or "")
    if file_key.startswith("sources."):
        source_name = file_key.split(".", 1)[1]
        named = [d for d in deps if manifest.nodes[d].get("source_name") == source_name]
        if len(named) == 1:
            return named[0]
    return None
