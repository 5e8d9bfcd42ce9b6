"""Rules across columns and rows (TableConfig.row_rules / group_rules) measured on both sides: the support
on the real rows and the share of synthetic rows that keep the rule. Rows are judged by
`synthohive_dbt.rules`, the rules the generator enforces, so the report and the generator agree."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from synthohive_dbt.config import Metadata, TableConfig
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.relational.foreign_rules import foreign_violations
from synthohive_dbt.report.result import RuleCheck
from synthohive_dbt.rules import group_violations, row_violations, rule_columns


def rule_checks(table: TableConfig, real: pd.DataFrame | None, synthetic: pd.DataFrame,
                private: bool = False) -> tuple[list[RuleCheck], list[str]]:
    """One RuleCheck per rule of the table; rules whose columns are missing on a side are listed as skipped."""
    checks: list[RuleCheck] = []
    skipped: list[str] = []
    for r in table.row_rules:
        try:
            cols = rule_columns(r.expression)
        except ConfigError as exc:
            skipped.append(f"{table.name}: rule `{r.expression}`: {exc.args[0]}")
            continue
        if not set(cols) <= set(synthetic.columns):
            skipped.append(f"{table.name}: rule `{r.expression}` names columns missing from the synthetic table")
            continue
        real_bad = (int(row_violations(real, r.expression).sum())
                    if real is not None and set(cols) <= set(real.columns) else None)
        checks.append(_check(table.name, r.expression, r.origin, r.enabled, r.source, real, real_bad, synthetic,
                             int(row_violations(synthetic, r.expression).sum()), private))
    for g in table.group_rules:
        cols = [*g.columns, *g.partition_by]
        if not set(cols) <= set(synthetic.columns):
            skipped.append(f"{table.name}: rule `{g.label}` names columns missing from the synthetic table")
            continue
        real_bad = (int(group_violations(real, g).sum())
                    if real is not None and set(cols) <= set(real.columns) else None)
        checks.append(_check(table.name, g.label, g.origin, g.enabled, g.source, real, real_bad, synthetic,
                             int(group_violations(synthetic, g).sum()), private))
    return checks, skipped


def foreign_rule_checks(metadata: Metadata, table: str, real: Mapping[str, pd.DataFrame],
                        synthetic: Mapping[str, pd.DataFrame]) -> tuple[list[RuleCheck], list[str]]:
    """One RuleCheck per rule across a foreign key (relational/foreign_rules.py judges the rows the generator
    computes): a lookup on the child rows with a parent, an aggregate on the parent rows."""
    checks: list[RuleCheck] = []
    skipped: list[str] = []
    cfg = metadata.tables.get(table)
    for rule in cfg.foreign_rules if cfg is not None else []:
        syn = foreign_violations(rule, metadata, table, synthetic)
        if syn is None:
            skipped.append(f"{table}: rule `{rule.expression}` names a table or column missing from the synthetic "
                           "data")
            continue
        got = foreign_violations(rule, metadata, table, real)
        n_real, real_bad = got if got is not None else (0, 0)
        checks.append(RuleCheck(table=table, rule=rule.expression, origin=rule.origin, enabled=rule.enabled,
                                source=None, real_rows=n_real, real_held=n_real - real_bad,
                                synthetic_rows=syn[0], synthetic_held=syn[0] - syn[1]))
    return checks, skipped


def _check(table: str, rule: str, origin: str, enabled: bool, source: str | None, real: pd.DataFrame | None,
           real_bad: int | None, synthetic: pd.DataFrame, synthetic_bad: int, private: bool) -> RuleCheck:
    n_real = len(real) if real is not None and real_bad is not None else 0
    return RuleCheck(table=table, rule=rule, origin=origin, enabled=enabled, source=source,
                     real_rows=n_real, real_held=n_real - (real_bad or 0),
                     synthetic_rows=len(synthetic), synthetic_held=len(synthetic) - synthetic_bad,
                     dp_covered=not (private and origin == "learned"))
