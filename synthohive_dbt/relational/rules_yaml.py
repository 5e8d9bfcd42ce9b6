"""Rules as dbt tests (a schema YAML file) for the user to adopt: learned rules become
`dbt_utils.expression_is_true`, `mutually_exclusive_ranges` and `sequential_values` tests on the table they
were found on, so the project states, and dbt checks, what the real data always keeps."""

from __future__ import annotations

from typing import Any

import yaml

from synthohive_dbt.config import GroupRule, Metadata, TableConfig

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


__all__ = ["rules_as_dbt_yaml"]
