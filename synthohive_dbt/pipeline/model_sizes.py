"""Sources mode: every model dbt builds on the synthetic sources is compared with the same model on real data.

Why: declared tests pass on empty tables. A run whose synthetic parents got new keys while a child kept the
real ones builds every joined model empty, and "20/20 passed" would be a false success. So a model that comes
out empty, or under a tenth of its real size (scaled by the run's own size factor), is a failure in the outcome
table and the exit code, naming the joins it depends on (read from its compiled SQL).

The real size is the model as built in the real target (the relation the project's own manifest names). When
it was never built there, the model is listed as not compared, with the fix (`dbt build` on the real data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

from synthohive_dbt.dbt import Outcome
from synthohive_dbt.io.warehouse import Relation, count_rows, list_tables
from synthohive_dbt.pipeline.project import relation_of

SHRINK_LIMIT = 10
"""A model under 1/SHRINK_LIMIT of its (scaled) real size fails: joins that lost their keys shrink by far more."""


@dataclass(frozen=True)
class ModelSize:
    """One model's rows on synthetic and on real data."""

    unique_id: str
    name: str
    synthetic_rows: int
    real_rows: int | None  # None: never built on the real data, not compared
    expected: float  # real rows times the run's size factor
    joins: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        if not self.real_rows:
            return False
        return self.synthetic_rows == 0 or self.synthetic_rows * SHRINK_LIMIT < self.expected

    def outcome(self) -> Outcome:
        if self.real_rows is None:
            return Outcome(self.unique_id, self.name, "model size", "skipped",
                           message="not compared: the model was never built on the real data (run `dbt build` "
                                   "on the real target to compare sizes)")
        text = f"{self.synthetic_rows:,} rows on synthetic data, {self.real_rows:,} on real data"
        if not self.failed:
            return Outcome(self.unique_id, self.name, "model size", "pass", message=text)
        why = "empty" if self.synthetic_rows == 0 else f"under 1/{SHRINK_LIMIT} of the expected {self.expected:,.0f}"
        joins = f"; it depends on the joins {'; '.join(self.joins)}" if self.joins else ""
        return Outcome(self.unique_id, self.name, "model size", "fail", failures=1,
                       message=f"{why}: {text}{joins}. A join whose keys do not match on the synthetic data: "
                               "declare the relationship (a relationships test) on the raw columns it joins")


def compare_model_sizes(engine: Any, real_manifest: Mapping[str, Any], build_manifest: Mapping[str, Any],
                        outcomes: Sequence[Outcome], factor: float) -> list[ModelSize]:
    """Sizes of every model dbt built successfully in this run, against the same model in the real target
    (`engine`: the project's SQLAlchemy engine, used only through io/)."""
    real_nodes = real_manifest.get("nodes") or {}
    built_nodes = build_manifest.get("nodes") or {}
    out = []
    for o in outcomes:
        if o.resource_type != "model" or not o.passed:
            continue
        built, real = built_nodes.get(o.unique_id), real_nodes.get(o.unique_id)
        built_rel = relation_of(built) if built else None
        if built_rel is None:
            continue
        real_rows = _count(engine, relation_of(real) if real else None)
        out.append(ModelSize(o.unique_id, o.name, _count(engine, built_rel) or 0, real_rows,
                             (real_rows or 0) * factor,
                             joins_of(str((built or {}).get("compiled_code") or ""), _dialect(build_manifest))))
    return out


def joins_of(sql: str, dialect: str | None) -> list[str]:
    """The ON conditions of a model's joins, as written (compiled SQL; [] when it does not parse)."""
    if not sql.strip():
        return []
    try:
        trees = sqlglot.parse(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return []
    out: list[str] = []
    for tree in trees:
        for join in tree.find_all(exp.Join) if tree is not None else ():
            on = join.args.get("on")
            using = join.args.get("using")
            if on is not None:
                out.append(" ".join(on.sql(dialect=dialect).split()))
            elif using:
                out.append("USING (" + ", ".join(u.sql(dialect=dialect) for u in using) + ")")
    return list(dict.fromkeys(out))


def _count(engine: Any, relation: Relation | None) -> int | None:
    """Rows of a relation, or None when it does not exist (a model never built on the real data)."""
    if relation is None:
        return None
    names = {n.lower() for n in list_tables(engine, relation.schema)}
    if relation.name.lower() not in names:
        return None
    return count_rows(engine, relation)


def _dialect(manifest: Mapping[str, Any]) -> str | None:
    from synthohive_dbt.manifest.lineage import sqlglot_dialect

    return sqlglot_dialect((manifest.get("metadata") or {}).get("adapter_type"))


__all__ = ["SHRINK_LIMIT", "ModelSize", "compare_model_sizes", "joins_of"]
