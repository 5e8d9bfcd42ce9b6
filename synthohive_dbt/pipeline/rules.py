"""The rules across columns a run keeps (and the shapes of self-references it keeps), said before the sample
is drawn, switched off by `--no-rule`, and exported as dbt tests by `--export-rules` (relational/rules_yaml.py):
a YAML file, and beside it a folder `<name>_tests/` of singular tests for the rules across foreign keys (no
standard dbt test joins two tables)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from synthohive_dbt.config import Metadata
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.pipeline.progress import Reporter
from synthohive_dbt.relational.hierarchy import shape_label
from synthohive_dbt.relational.rules_yaml import foreign_rule_tests, rules_as_dbt_yaml

if TYPE_CHECKING:  # annotations only: the plan module loads the model types (torch), which listing rules needs not
    from synthohive_dbt.relational.plan import TablePlan


def rule_refs(values: tuple[str, ...], flag: str = "--no-rule") -> set[tuple[str, str]]:
    """`TABLE:RULE` -> (table, rule); a value without the colon is an error saying the form."""
    out = set()
    for v in values:
        table, sep, rule = v.partition(":")
        if not sep or not table.strip() or not rule.strip():
            raise ConfigError(f"{flag} {v!r} is not TABLE:RULE",
                              hint=f"e.g. {flag} 'orders:ordered_at <= shipped_at', as the run lists the rules")
        out.add((table.strip(), rule.strip()))
    return out


def report_rules(metadata: Metadata, reporter: Reporter, export: Path | None = None) -> None:
    """One line per rule (what keeps it, whether it is on); the learned ones written as dbt tests to `export`."""
    for table in metadata.tables.values():
        for r in table.row_rules:
            why = (f"learned: holds on all {r.support} real rows, {r.tried} candidates tried" if r.origin == "learned"
                   else f"declared by {r.source or 'the Python API'}")
            state = "kept in every row" if r.enabled else "OFF"
            reporter.step(f"rule {table.name}: {r.expression} ({why}) - {state}", table=table.name,
                          rule=r.expression, origin=r.origin, enabled=r.enabled)
        for f in table.foreign_rules:
            state = "kept by construction" if f.enabled else "OFF"
            reporter.step(f"rule {table.name}: {f.expression} (learned across a foreign key: holds on all {f.support} "
                          f"real parents, {f.tried} candidates tried) - {state}", table=table.name,
                          rule=f.expression, origin=f.origin, enabled=f.enabled)
        for g in table.group_rules:
            why = (f"learned: holds on all {g.support} real rows after the first of their group, {g.tried} "
                   "candidates tried" if g.origin == "learned" else f"declared by {g.source or 'the Python API'}")
            reporter.step(f"rule {table.name}: {g.label} ({why}) - {'kept' if g.enabled else 'OFF'}",
                          table=table.name, rule=g.label, origin=g.origin, enabled=g.enabled)
    if export is not None:
        export.write_text(rules_as_dbt_yaml(metadata))
        reporter.step(f"learned rules written as dbt tests to {export}", path=str(export))
        singular = foreign_rule_tests(metadata)
        if singular:
            folder = export.with_name(f"{export.stem}_tests")
            folder.mkdir(parents=True, exist_ok=True)
            for name, sql in singular.items():
                (folder / name).write_text(sql)
            reporter.step(f"{len(singular)} learned rule(s) across foreign keys written as singular dbt tests to "
                          f"{folder} (copy them into the project's tests/ folder)", path=str(folder))


def report_hierarchies(plans: Mapping[str, TablePlan], reporter: Reporter) -> None:
    """One line per self-reference whose shape (roots, depth, children per node) sampling keeps."""
    for name, plan in plans.items():
        for f in plan.foreign_keys:
            if f.hierarchy is not None:
                label = shape_label(f.columns, f.parent_columns)
                state = "kept (a forest, no deeper)" if f.hierarchy.enabled else "OFF"
                reporter.step(f"shape {name}: {label}: {f.hierarchy.describe()} - {state}", table=name, rule=label,
                              roots=f.hierarchy.roots, depth=f.hierarchy.depth, enabled=f.hierarchy.enabled)
