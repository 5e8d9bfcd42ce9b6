"""One entry point that measures a set of synthetic tables against the real ones.

Scores in [0, 1] (None when a project has nothing of that kind, e.g. no foreign keys):
- column_shapes: mean over all scored columns of all tables (each column weighs the same);
- column_pair_trends: mean over the scored pairs;
- cardinality: mean over foreign keys of 1 - KS(children per parent);
- referential_integrity: mean over foreign keys of 1 - orphan rate;
- constraints: share of error-severity constraint checks that pass (dbt's rule: no violating row);
- dbt_tests: share of dbt tests that passed (skipped ones left out); reported, not part of `overall`,
  because it is a verdict on the project's own tests rather than a measurement;
- overall: mean of the first five that are not None. SDMetrics' multi-table QualityReport averages
  shapes, pair trends, cardinality and inter-table trends; we add integrity and constraints, which it
  reports in its separate DiagnosticReport, because a dbt user needs one number that drops when either does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.config import Metadata, TableConfig
from synthohive_dbt.errors import DataError
from synthohive_dbt.report.columns import plan_columns
from synthohive_dbt.report.constraints import table_checks
from synthohive_dbt.report.rules import foreign_rule_checks, rule_checks
from synthohive_dbt.report.privacy_metrics import PrivacySettings, find_pii_leaks, table_privacy
from synthohive_dbt.report.quality import FidelitySettings, column_scores, pair_scores
from synthohive_dbt.report.relationships import relationship_score
from synthohive_dbt.report.result import SCORE_NAMES, DbtTestOutcome, EvaluationResult

PASSING_STATUSES = {"pass", "success"}
SKIPPED_STATUSES = {"skipped", "skip"}


def _mean(values: Iterable[float]) -> float | None:
    vals = [v for v in values if v is not None and not np.isnan(v)]
    return float(np.mean(vals)) if vals else None


def _dbt_outcomes(tests: Iterable[Mapping[str, Any] | DbtTestOutcome] | None) -> list[DbtTestOutcome]:
    out: list[DbtTestOutcome] = []
    for i, t in enumerate(tests or ()):
        if isinstance(t, DbtTestOutcome):
            out.append(t)
            continue
        missing = [k for k in ("name", "status") if k not in t]
        if missing:
            raise DataError(f"dbt test outcome #{i} ({dict(t)!r}) has no {missing}",
                            hint="pass dbt outcomes as dicts with 'name', 'status' and optionally 'failures'")
        failures = t.get("failures")
        out.append(DbtTestOutcome(name=str(t["name"]), status=str(t["status"]).lower(),
                                  failures=None if failures is None else int(failures)))
    return out


def evaluate(real: Mapping[str, pd.DataFrame], synthetic: Mapping[str, pd.DataFrame],
             metadata: Metadata | None = None, *,
             holdout: Mapping[str, pd.DataFrame] | None = None,
             dbt_tests: Iterable[Mapping[str, Any] | DbtTestOutcome] | None = None,
             pii_columns: Mapping[str, list[str]] | None = None,
             pii_findings: Iterable[Any] | None = None,
             fidelity: FidelitySettings | None = None,
             privacy: PrivacySettings | None = None,
             privacy_metrics: bool = True) -> EvaluationResult:
    """Measure fidelity, validity and privacy of `synthetic` against `real`, table by table.

    `metadata` supplies keys, foreign keys and constraints (tables it lacks are scored column by column
    only); `holdout` real rows unseen in training make the privacy baseline exact; `dbt_tests` are
    outcomes as {name, status, failures}; `pii_columns` are searched for verbatim leaks in the output.
    """
    fidelity = fidelity or FidelitySettings()
    privacy = privacy or PrivacySettings()
    metadata = metadata or Metadata()
    pii_columns = {t: list(c) for t, c in (pii_columns or {}).items()}
    common = [t for t in real if t in synthetic]
    if not common:
        raise DataError(f"no table is in both the real ({sorted(real)}) and synthetic ({sorted(synthetic)}) "
                        "data", hint="pass frames keyed by the same table names")
    notes: list[str] = []
    lonely = sorted(set(real) ^ set(synthetic))
    if lonely:
        notes.append(f"tables present on one side only, not compared: {lonely}")
    result = EvaluationResult(scores={}, tables={}, dbt_tests=_dbt_outcomes(dbt_tests), notes=notes,
                              settings={"fidelity": asdict(fidelity), "privacy": asdict(privacy)})
    for name in common:
        r, s = real[name], synthetic[name]
        table = metadata.tables.get(name) or TableConfig(name=name)
        pii = set(pii_columns.get(name, [])) | set(table.pii_columns)
        result.tables[name] = {"rows_real": len(r), "rows_synthetic": len(s)}
        plans = plan_columns(table, r, s, pii)
        result.skipped.extend({"table": name, "column": p.column, "reason": p.reason or ""}
                              for p in plans if p.kind is None)
        result.columns.extend(column_scores(name, r, s, plans))
        pairs, matrices, note = pair_scores(name, r, s, plans, fidelity)
        result.pairs.extend(pairs)
        if matrices is not None:
            result.matrices.append(matrices)
        if note:
            result.notes.append(note)
        checks, why = table_checks(table, s)
        result.constraints.extend(checks)
        result.notes.extend(f"not evaluated: {w}" for w in why)
        kept, why = rule_checks(table, r, s)
        result.rules.extend(kept)
        result.notes.extend(f"not evaluated: {w}" for w in why)
        kept, why = foreign_rule_checks(metadata, name, real, synthetic)
        result.rules.extend(kept)
        result.notes.extend(f"not evaluated: {w}" for w in why)
        for fk in table.fk:
            if fk.parent not in real or fk.parent not in synthetic:
                result.notes.append(f"foreign key {name}{fk.label}: parent table {fk.parent!r} not given, "
                                    "relationship not checked")
                continue
            missing = [c for c in fk.columns if c not in s.columns or c not in r.columns]
            missing += [c for c in fk.parent_columns
                        if c not in synthetic[fk.parent].columns or c not in real[fk.parent].columns]
            if missing:
                result.notes.append(f"foreign key {name}{fk.label}: columns {missing} missing, not checked")
                continue
            result.relationships.append(relationship_score(name, fk, r, real[fk.parent], s,
                                                           synthetic[fk.parent]))
        if privacy_metrics:
            h = (holdout or {}).get(name)
            tp = table_privacy(table, r, s, plans, h, privacy, pii)
            if tp is not None:
                result.privacy.append(tp)
    if pii_columns or any(t.pii_columns for t in metadata.tables.values()):
        declared = {t.name: list(t.pii_columns) for t in metadata.tables.values() if t.pii_columns}
        for t, cols in pii_columns.items():
            declared[t] = sorted(set(declared.get(t, [])) | set(cols))
        result.pii_leaks = find_pii_leaks(dict(real), dict(synthetic), declared)
    result.pii_findings = [asdict(f) if not isinstance(f, dict) else dict(f) for f in (pii_findings or ())]
    result.scores = summary_scores(result)
    return result


def with_dbt_tests(result: EvaluationResult,
                   tests: Iterable[Mapping[str, Any] | DbtTestOutcome]) -> EvaluationResult:
    """The same result with dbt's test outcomes attached (dbt runs after the data is measured and written)."""
    updated = replace(result, dbt_tests=_dbt_outcomes(tests))
    updated.scores = summary_scores(updated)
    return updated


def summary_scores(result: EvaluationResult) -> dict[str, float | None]:
    """The named scores of a result (see the module docstring for their definitions)."""
    errors = [c for c in result.constraints if c.severity == "error"]
    ran = [t for t in result.dbt_tests if t.status not in SKIPPED_STATUSES]
    scores: dict[str, float | None] = {
        "column_shapes": _mean(c.score for c in result.columns),
        "column_pair_trends": _mean(p.score for p in result.pairs),
        "cardinality": _mean(r.cardinality_score for r in result.relationships),
        "referential_integrity": _mean(r.integrity_score for r in result.relationships),
        "constraints": float(sum(c.passed for c in errors) / len(errors)) if errors else None,
    }
    scores["overall"] = _mean(scores[k] for k in SCORE_NAMES)
    scores["dbt_tests"] = float(sum(t.status in PASSING_STATUSES for t in ran) / len(ran)) if ran else None
    return scores
