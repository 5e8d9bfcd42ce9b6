"""Quality and privacy gates: thresholds a result must meet, and one error that lists every miss.

A CI run should learn everything that is wrong in one go, so `check_gates` collects all misses
(overall, per score, per column, per pair, per foreign key, constraints, dbt tests, privacy) and raises
a single QualityGateError that names each with its value and threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from synthohive_dbt.errors import ConfigError, QualityGateError
from synthohive_dbt.report.result import EvaluationResult

ScoreName = Literal["column_shapes", "column_pair_trends", "cardinality", "referential_integrity",
                    "constraints", "dbt_tests", "overall"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ColumnGate(_Strict):
    """Overrides for one column ("table.column" in QualityGates.columns); None = use the global gate."""

    min_shape: float | None = Field(None, ge=0.0, le=1.0)
    max_null_rate_delta: float | None = Field(None, ge=0.0, le=1.0)


class QualityGates(_Strict):
    """Thresholds; None switches a gate off. Defaults let an independent resample of the real data pass
    (column shape of two 1k-row samples of one distribution is ~0.95) and catch gross defects."""

    min_overall: float | None = Field(0.75, ge=0.0, le=1.0)
    min_scores: dict[ScoreName, float] = Field(default_factory=dict, description="e.g. {'cardinality': 0.8}")
    min_column_shape: float | None = Field(0.7, ge=0.0, le=1.0, description="every column, unless overridden")
    max_null_rate_delta: float | None = Field(0.1, ge=0.0, le=1.0)
    min_pair_trend: float | None = Field(None, ge=0.0, le=1.0, description="every scored pair")
    max_mi_drift: float | None = Field(None, ge=0.0, le=1.0, description="every scored pair")
    min_cardinality: float | None = Field(None, ge=0.0, le=1.0, description="every foreign key")
    max_orphan_rate: float | None = Field(0.0, ge=0.0, le=1.0, description="every foreign key")
    constraints_must_pass: bool = Field(True, description="every error-severity constraint check")
    dbt_tests_must_pass: bool = Field(True, description="every dbt test given passes (skipped and warn-only, as dbt itself allows)")
    columns: dict[str, ColumnGate] = Field(default_factory=dict, description="'table.column' -> overrides")
    max_exact_copy_share: float | None = Field(None, ge=0.0, le=1.0, description="absolute cap")
    max_exact_copy_excess: float | None = Field(
        0.01, ge=0.0, le=1.0,
        description="synthetic copy share minus the holdout's (natural duplicates) minus 2 standard errors")
    min_dcr_p5_ratio: float | None = Field(
        0.5, ge=0.0, description="synthetic DCR 5th percentile / holdout's; below = rows too close to real ones")
    max_pii_leaks: int | None = Field(0, ge=0, description="real PII values found verbatim in the output")

    @field_validator("min_scores")
    @classmethod
    def _unit_scores(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if not 0.0 <= x <= 1.0}
        if bad:
            raise ConfigError(f"QualityGates.min_scores {bad} outside [0, 1]",
                              hint="scores are in [0, 1]; give thresholds in that range")
        return v

    @field_validator("columns")
    @classmethod
    def _qualified(cls, v: dict[str, ColumnGate]) -> dict[str, ColumnGate]:
        bad = [k for k in v if "." not in k]
        if bad:
            raise ConfigError(f"QualityGates.columns keys {bad} are not 'table.column'",
                              hint="qualify each column with its table, e.g. 'customers.age'")
        return v


@dataclass(frozen=True)
class GateMiss:
    """One threshold a result missed."""

    gate: str
    where: str
    value: float
    threshold: float

    def __str__(self) -> str:
        return f"{self.where}: {self.gate} = {self.value:.4g} (threshold {self.threshold:.4g})"


def gate_misses(result: EvaluationResult, gates: QualityGates) -> list[GateMiss]:
    """Every gate the result misses, in report order (empty = all gates pass)."""
    misses: list[GateMiss] = []

    def low(gate: str, where: str, value: float | None, threshold: float | None) -> None:
        if threshold is not None and value is not None and value < threshold:
            misses.append(GateMiss(gate, where, value, threshold))

    def high(gate: str, where: str, value: float | None, threshold: float | None) -> None:
        if threshold is not None and value is not None and value > threshold:
            misses.append(GateMiss(gate, where, value, threshold))

    low("overall", "all tables", result.scores.get("overall"), gates.min_overall)
    for name, threshold in gates.min_scores.items():
        low(name, "all tables", result.scores.get(name), threshold)

    scored = {f"{c.table}.{c.column}" for c in result.columns}
    unknown = sorted(set(gates.columns) - scored)
    if unknown:
        raise ConfigError(f"QualityGates.columns names {unknown}, which were not scored",
                          hint=f"use one of the scored columns: {sorted(scored)}")
    for c in result.columns:
        key = f"{c.table}.{c.column}"
        override = gates.columns.get(key, ColumnGate())
        shape = override.min_shape if override.min_shape is not None else gates.min_column_shape
        nulls = (override.max_null_rate_delta if override.max_null_rate_delta is not None
                 else gates.max_null_rate_delta)
        low(f"column shape (1 - {c.metric.upper()})", f"column {key}", c.score, shape)
        high("null rate delta", f"column {key}", c.null_rate_delta, nulls)
    for p in result.pairs:
        where = f"pair {p.table}.({p.column_a}, {p.column_b})"
        low(f"pair trend ({p.metric})", where, p.score, gates.min_pair_trend)
        high("mutual information drift", where, p.mi_drift, gates.max_mi_drift)
    for r in result.relationships:
        where = f"foreign key {r.child}{r.foreign_key}"
        high("orphan rate", where, r.orphan_rate, gates.max_orphan_rate)
        low("cardinality (1 - KS children per parent)", where, r.cardinality_score, gates.min_cardinality)
    if gates.constraints_must_pass:
        for c in result.constraints:
            if c.severity == "error" and not c.passed:
                misses.append(GateMiss(f"constraint {c.check}" + (f" {c.detail}" if c.detail else ""),
                                       f"column {c.table}.{c.column}", c.violations, 0))
    if gates.dbt_tests_must_pass:
        for t in result.dbt_tests:
            if t.status not in ("pass", "success", "skipped", "skip", "warn"):  # dbt passes a build on warn
                misses.append(GateMiss(f"dbt test status {t.status!r} (failures)", f"dbt test {t.name}",
                                       t.failures if t.failures is not None else float("nan"), 0))
    for p in result.privacy:
        where = f"table {p.table}"
        high("exact copies of real rows (share)", where, p.exact_copy_share, gates.max_exact_copy_share)
        if gates.max_exact_copy_excess is not None and p.holdout_copy_share is not None:
            # an excess within 2 standard errors of the holdout's share is sampling noise, not copying
            excess = p.reference_copy_share - p.holdout_copy_share - 2.0 * p.holdout_copy_share_se
            high(f"exact copy share {p.reference_copy_share:.4g} above the holdout's {p.holdout_copy_share:.4g} "
                 f"(beyond 2 s.e.)", where, max(excess, 0.0), gates.max_exact_copy_excess)
        hold_p5, syn_p5 = p.dcr_holdout.get("p5"), p.dcr_synthetic.get("p5")
        if gates.min_dcr_p5_ratio is not None and hold_p5 and syn_p5 is not None:
            low(f"DCR p5 ratio (synthetic {syn_p5:.4g} / holdout {hold_p5:.4g})", where, syn_p5 / hold_p5,
                gates.min_dcr_p5_ratio)
    if gates.max_pii_leaks is not None:
        for leak in result.pii_leaks:
            high(f"real PII values of {leak.source_table}.{leak.source_column} found verbatim "
                 f"({leak.leaked_rows} rows)", f"column {leak.table}.{leak.column}", leak.leaked_values,
                 gates.max_pii_leaks)
    return misses


def check_gates(result: EvaluationResult, gates: QualityGates | None = None) -> None:
    """Raise QualityGateError listing every miss; return None when all gates pass."""
    misses = gate_misses(result, gates or QualityGates())
    if misses:
        lines = "\n".join(f"  - {m}" for m in misses)
        raise QualityGateError(
            f"synthetic data missed {len(misses)} quality/privacy gate(s):\n{lines}",
            hint="open the HTML report for these columns and relationships; train longer or with more data, "
                 "fix the metadata, or relax the gate in QualityGates if the miss is acceptable")
