"""The evaluation result: every number the metrics produce, in plain dataclasses.

The result carries plot-ready summaries (histogram shares, correlation matrices, children-per-parent
counts) instead of the frames themselves, so it can be written to JSON for CI, read back, and rendered
to HTML without the real data ever being stored in the report.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

SCORE_NAMES = ("column_shapes", "column_pair_trends", "cardinality", "referential_integrity", "constraints")


@dataclass
class Distribution:
    """Shares of non-null values per histogram bin (numeric, datetime in epoch seconds) or category."""

    kind: str
    labels: list[str]
    real: list[float]
    synthetic: list[float]
    edges: list[float] | None = None


@dataclass
class ColumnScore:
    """Column shape: score = 1 - KS statistic (numeric, datetime) or 1 - TVD (categorical)."""

    table: str
    column: str
    kind: str
    metric: str
    statistic: float
    score: float
    null_rate_real: float
    null_rate_synthetic: float
    null_rate_delta: float
    distribution: Distribution | None = None


@dataclass
class PairScore:
    """Column pair trend: 1 - |Δ Pearson|/2 for numeric pairs, contingency similarity otherwise."""

    table: str
    column_a: str
    column_b: str
    metric: str
    score: float
    real_correlation: float | None
    synthetic_correlation: float | None
    contingency_similarity: float
    mi_real: float
    mi_synthetic: float
    mi_drift: float


@dataclass
class TableMatrices:
    """Per-table matrices for heatmaps; None where a pair was not computed (pair cap, non-numeric)."""

    table: str
    numeric_columns: list[str]
    correlation_real: list[list[float | None]]
    correlation_synthetic: list[list[float | None]]
    columns: list[str]
    nmi_real: list[list[float | None]]
    nmi_synthetic: list[list[float | None]]


@dataclass
class RelationshipScore:
    """One foreign key: orphans in the synthetic child and the children-per-parent distribution."""

    child: str
    parent: str
    foreign_key: str
    child_rows: int
    orphans: int
    orphan_rate: float
    orphan_rate_real: float
    childless_share_real: float
    childless_share_synthetic: float
    mean_children_real: float
    mean_children_synthetic: float
    cardinality_ks: float
    cardinality_score: float
    counts: list[int]
    parents_real: list[float]
    parents_synthetic: list[float]
    note: str | None = None

    @property
    def integrity_score(self) -> float:
        return 1.0 - self.orphan_rate


@dataclass
class ConstraintCheck:
    """A declared constraint checked on the synthetic rows (dbt semantics: passed = no violating row)."""

    table: str
    column: str
    check: str
    severity: str
    rows: int
    violations: int
    passed: bool
    detail: str = ""


@dataclass
class RuleCheck:
    """A rule across columns or rows (declared or learned): how many real rows keep it, and what share of the
    synthetic rows does. `dp_covered` is False for a learned rule under differential privacy: it was read
    from the real rows outside the DP budget."""

    table: str
    rule: str
    origin: str  # declared | learned
    enabled: bool
    real_rows: int
    real_held: int
    synthetic_rows: int
    synthetic_held: int
    source: str | None = None
    dp_covered: bool = True

    @property
    def held_share(self) -> float | None:
        return self.synthetic_held / self.synthetic_rows if self.synthetic_rows else None


@dataclass
class DbtTestOutcome:
    name: str
    status: str
    failures: int | None = None


@dataclass
class TablePrivacy:
    """Exact copies and distance to closest record (DCR) of one table.

    `exact_copy_share` counts copies of any real row; `reference_copy_share` counts them against the same
    real rows the holdout is compared with (all of them with a given holdout, the non-held-out part of a
    split), so it and `holdout_copy_share` are like for like.
    `holdout_copy_share_se` is the standard error of the holdout's share, so a gate can tell natural
    duplicates (small tables with few columns have many) from copying.
    DCR is a Gower-style distance in [0, 1] (mean over columns of range-normalised |Δ| or category
    mismatch). `holdout_*` are the same numbers for real rows the model did not see, the baseline a
    synthetic row should not beat.
    """

    table: str
    columns: list[str]
    rows_synthetic: int
    exact_copies: int
    exact_copy_share: float
    holdout_copy_share: float | None
    reference_copy_share: float
    holdout_rows: int
    holdout_copy_share_se: float
    holdout_source: str
    reference_rows: int
    dcr_synthetic: dict[str, float]
    dcr_holdout: dict[str, float]
    dcr_edges: list[float]
    dcr_hist_synthetic: list[float]
    dcr_hist_holdout: list[float]
    share_closer_than_holdout_p5: float


@dataclass
class PiiLeak:
    """Real PII values found verbatim in a synthetic column. The values themselves are never stored."""

    table: str
    column: str
    source_table: str
    source_column: str
    leaked_values: int
    leaked_rows: int


@dataclass
class ValueOverlap:
    """How many distinct values of a generated column (a key, an identifier, a faked or free-text column) also
    occur in the real column. For a large value space (UUIDs, tokens, prefixed ids, names, free text) the
    count must be 0; for a small one (integer surrogate keys) a match is expected by chance, shown beside it."""

    table: str
    column: str
    role: str  # "key" | "pii" | "free text"
    value_space: str  # "large" | "small"
    written_distinct: int
    real_distinct: int
    in_real: int
    expected_by_chance: float | None = None  # small spaces: distinct written x real / size of the space

    @property
    def ok(self) -> bool:
        if self.value_space == "large":
            return self.in_real == 0
        return True  # reported, not judged: integers collide by chance


@dataclass
class EvaluationResult:
    """Everything `evaluate` measured. `scores` holds the summary in [0, 1] (None = nothing to score)."""

    scores: dict[str, float | None]
    tables: dict[str, dict[str, int]]
    columns: list[ColumnScore] = field(default_factory=list)
    pairs: list[PairScore] = field(default_factory=list)
    matrices: list[TableMatrices] = field(default_factory=list)
    relationships: list[RelationshipScore] = field(default_factory=list)
    constraints: list[ConstraintCheck] = field(default_factory=list)
    rules: list[RuleCheck] = field(default_factory=list)
    dbt_tests: list[DbtTestOutcome] = field(default_factory=list)
    privacy: list[TablePrivacy] = field(default_factory=list)
    pii_leaks: list[PiiLeak] = field(default_factory=list)
    value_overlap: list[ValueOverlap] = field(default_factory=list)
    pii_findings: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    differential_privacy: dict[str, Any] | None = None  # Synthesizer.privacy_report() of a DP fit
    # table -> its model's own training record (models.base.TrainingMetrics.to_dict()): series, steps, stop reason
    training: dict[str, dict[str, Any]] = field(default_factory=dict)

    def column(self, table: str, column: str) -> ColumnScore:
        """The shape score of one column (KeyError naming what exists if absent)."""
        for c in self.columns:
            if c.table == table and c.column == column:
                return c
        raise KeyError(f"no column score for {table}.{column}; scored: "
                       f"{sorted(f'{c.table}.{c.column}' for c in self.columns)}")

    def pair(self, table: str, a: str, b: str) -> PairScore:
        for p in self.pairs:
            if p.table == table and {p.column_a, p.column_b} == {a, b}:
                return p
        raise KeyError(f"no pair score for {table}.({a}, {b})")

    def relationship(self, child: str, parent: str) -> RelationshipScore:
        for r in self.relationships:
            if r.child == child and r.parent == parent:
                return r
        raise KeyError(f"no relationship {child} -> {parent}")

    def table_privacy(self, table: str) -> TablePrivacy:
        for p in self.privacy:
            if p.table == table:
                return p
        raise KeyError(f"no privacy metrics for table {table}")

    def to_dict(self) -> dict[str, Any]:
        return clean_json(asdict(self))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json())
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResult:
        """Rebuild a result from `to_dict` / the JSON file (to re-render a report from CI output)."""
        return _build(cls, data)


_NESTED: dict[str, type] = {
    "columns": ColumnScore, "pairs": PairScore, "matrices": TableMatrices,
    "relationships": RelationshipScore, "constraints": ConstraintCheck, "rules": RuleCheck, "dbt_tests": DbtTestOutcome,
    "privacy": TablePrivacy, "pii_leaks": PiiLeak, "distribution": Distribution, "value_overlap": ValueOverlap,
}


def _build(cls: type, data: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        sub = _NESTED.get(f.name)
        if sub is not None and isinstance(value, dict):
            value = _build(sub, value)
        elif sub is not None and isinstance(value, list):  # "columns" is also a plain list of names
            value = [_build(sub, v) if isinstance(v, dict) else v for v in value]
        kwargs[f.name] = value
    return cls(**kwargs)


def clean_json(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN / inf to None."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return clean_json(asdict(value))
    if isinstance(value, np.ndarray):
        return clean_json(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    return value
