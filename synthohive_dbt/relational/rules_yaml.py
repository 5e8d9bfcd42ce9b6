"""Rules as dbt tests (a schema YAML file) for the user to adopt: learned rules become
`dbt_utils.expression_is_true`, `mutually_exclusive_ranges` and `sequential_values` tests on the table they
were found on, so the project states, and dbt checks, what the real data always keeps. Rules across a foreign key
(lookups, aggregates) have no standard dbt test: they become singular tests (`foreign_rule_tests`)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from synthohive_dbt.config import ForeignKey, ForeignRule, GroupRule, Metadata, TableConfig

_SECTIONS = {"model": "models", "seed": "seeds", "snapshot": "snapshots"}


def rules_as_dbt_yaml(metadata: Metadata, learned_only: bool = True) -> str:
    """A dbt schema file with one test per enabled rule (only learned ones by default: declared rules are
    the project's tests already)."""
    doc: dict[str, Any] = {"version": 2}
    for table in metadata.tables.values():
        tests, column_tests = _tests(table, learned_only)
        if not tests and not column_tests:
            continue
        entry: dict[str, Any] = {"name": _name(table)}
        if tests:
            entry["data_tests"] = tests
        if column_tests:
            entry["columns"] = [{"name": c, "data_tests": t} for c, t in column_tests.items()]
        if table.resource_type == "source" and table.unique_id:
            source = table.unique_id.split(".")[2]
            sources = doc.setdefault("sources", [])
            home = next((s for s in sources if s["name"] == source), None)
            if home is None:
                home = {"name": source, "tables": []}
                sources.append(home)
            home["tables"].append(entry)
        else:
            doc.setdefault(_SECTIONS.get(table.resource_type, "models"), []).append(entry)
    return yaml.safe_dump(doc, sort_keys=False, width=120)


def foreign_rule_tests(metadata: Metadata) -> dict[str, str]:
    """The enabled learned rules across foreign keys as singular dbt tests (file name -> SQL selecting the rows
    that break the rule): no standard test compares a column with its parent row or with an aggregate of its
    children, so each is a `select` a user can drop into `tests/`. Identifiers go through `adapter.quote`."""
    out: dict[str, str] = {}
    for table in metadata.tables.values():
        for rule in table.foreign_rules:
            other = metadata.tables.get(rule.other)
            if not rule.enabled or rule.origin != "learned" or other is None:
                continue
            child = table if rule.kind == "lookup" else other
            fk = next((f for f in child.fk if f.parent == (rule.other if rule.kind == "lookup" else table.name)
                       and list(f.columns) == list(rule.via)), None)
            if fk is None:
                continue
            name = re.sub(r"[^a-z0-9_]+", "_", f"synthohive_{table.name}__{rule.column}".lower()) + ".sql"
            sql = (_lookup_sql(table, other, fk, rule) if rule.kind == "lookup"
                   else _aggregate_sql(table, other, fk, rule))
            out[name] = f"-- learned by synthohive-dbt on the real rows: {table.name}.{rule.expression}\n{sql}"
    return out


def _relation(table: TableConfig) -> str:
    """How a singular test names the table: `source(...)` for a source, `ref(...)` for a dbt node, else its name."""
    if table.unique_id and table.resource_type == "source":
        parts = table.unique_id.split(".")
        return f"{{{{ source({_str(parts[2])}, {_str(parts[-1])}) }}}}"
    if table.unique_id:
        return f"{{{{ ref({_str(_name(table))}) }}}}"
    return table.name


def _q(alias: str, column: str) -> str:
    return f"{alias}.{{{{ adapter.quote({_str(column)}) }}}}"


def _str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _lookup_sql(child: TableConfig, parent: TableConfig, fk: ForeignKey, rule: ForeignRule) -> str:
    on = " and ".join(f"{_q('c', a)} = {_q('p', b)}" for a, b in zip(fk.columns, fk.parent_columns))
    col, src = _q("c", rule.column), _q("p", str(rule.source))
    return (f"select c.*\nfrom {_relation(child)} as c\njoin {_relation(parent)} as p on {on}\n"
            f"where not (coalesce({col} = {src}, false) or ({col} is null and {src} is null))\n")


def _aggregate_sql(parent: TableConfig, child: TableConfig, fk: ForeignKey, rule: ForeignRule) -> str:
    keys = ", ".join(_q("c", a) for a in fk.columns)
    of = " * ".join(_q("c", c) for c in rule.child_columns) or "*"
    select = ", ".join(f"{_q('c', a)} as k{i}" for i, a in enumerate(fk.columns))
    on = " and ".join(f"a.k{i} = {_q('p', b)}" for i, b in enumerate(fk.parent_columns))
    # within the column's rounding without round(), which PostgreSQL lacks for double precision
    tol = 0.51 * 10.0 ** -rule.decimals if rule.decimals is not None else 1e-6
    col = _q("p", rule.column)
    empty = f"{col} is not null" if rule.empty is None else f"coalesce({col} <> {rule.empty:g}, true)"
    return (f"with a as (\n    select {select}, {rule.function}({of}) as value, count(*) as n\n"
            f"    from {_relation(child)} as c\n    group by {keys}\n)\n"
            f"select p.*\nfrom {_relation(parent)} as p\nleft join a on {on}\n"
            f"where case when a.n is null then {empty}\n"
            f"           else {col} is null or abs({col} - a.value) > {tol:g} end\n")


def _name(table: TableConfig) -> str:
    return table.unique_id.split(".")[-1] if table.unique_id else table.name


def _tests(table: TableConfig, learned_only: bool) -> tuple[list[Any], dict[str, list[Any]]]:
    tests: list[Any] = []
    column_tests: dict[str, list[Any]] = {}
    for r in table.row_rules:
        if r.enabled and (r.origin == "learned" or not learned_only):
            tests.append({"dbt_utils.expression_is_true": {"expression": r.expression}})
    for g in table.group_rules:
        if not g.enabled or (learned_only and g.origin != "learned"):
            continue
        if g.kind == "ranges":
            tests.append({"dbt_utils.mutually_exclusive_ranges": _ranges(g)})
        else:
            args: dict[str, Any] = {"interval": g.interval}
            if g.datepart:
                args["datepart"] = g.datepart
            if g.partition_by:
                args["group_by_columns"] = list(g.partition_by)
            column_tests.setdefault(g.columns[0], []).append({"dbt_utils.sequential_values": args})
    return tests, column_tests


def _ranges(g: GroupRule) -> dict[str, Any]:
    args: dict[str, Any] = {"lower_bound_column": g.columns[0], "upper_bound_column": g.columns[1]}
    if g.partition_by:
        args["partition_by"] = ", ".join(g.partition_by)
    if g.gaps != "allowed":
        args["gaps"] = g.gaps
    if g.zero_length_allowed:
        args["zero_length_range_allowed"] = True
    return args


__all__ = ["foreign_rule_tests", "rules_as_dbt_yaml"]
