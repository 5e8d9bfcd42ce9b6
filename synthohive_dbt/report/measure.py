"""Measuring a run: the one entry point from a run's real and synthetic tables to its evaluation and report.

Every path that measures goes through `measure_run` with the run's facts (`RunFacts.of(synthesizer)`:
metadata, PII, differential-privacy spend), and through `write_report` once its dbt outcomes are known:
`Synthesizer.sample()` and `generate_validation_report()`, `synthohive seed --report` and `synthohive report`.
So each of them fills every section, the DP spend included, the same way.

Column shapes, pair trends, constraints and privacy metrics are measured on a deterministic subsample of at
most `EVALUATION_MAX_ROWS` rows per table and side (seeded by the sampling seed and the table name), so the
measurement costs about a second per table however large the output is (~1 s for 20k + 20k rows of a
ten-column table on one core). Subsampling tables independently would cut children off their parents, so
referential integrity and children-per-parent are measured on the *full* key columns instead (narrow: a
Parquet output is read back one key column at a time). Leaked PII is searched with every real PII value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from synthohive_dbt.config import Metadata
from synthohive_dbt.models.formats import MIN_LEARN_ROWS
from synthohive_dbt.report.evaluate import evaluate, summary_scores, with_dbt_tests
from synthohive_dbt.report.gates import QualityGates
from synthohive_dbt.report.privacy_metrics import find_pii_leaks
from synthohive_dbt.report.relationships import relationship_score
from synthohive_dbt.report.result import DbtTestOutcome, EvaluationResult
from synthohive_dbt.report.value_overlap import column_roles, value_overlap
from synthohive_dbt.seeds import derive_seed

if TYPE_CHECKING:
    from synthohive_dbt.report.html import PlotLimits

#: Rows per table and side that column, pair, constraint and privacy metrics look at.
EVALUATION_MAX_ROWS = 20_000

Output = Mapping[str, pd.DataFrame] | Mapping[str, str]


class Trained(Protocol):
    """What a run's facts are read from: a fitted or loaded synthesizer (relational.synthesizer)."""

    metadata: Metadata
    pii_findings: list[Any]
    seed: int | None
    plans: Mapping[str, Any]

    @property
    def pii_columns(self) -> dict[str, list[str]]: ...

    def privacy_report(self) -> dict[str, Any] | None: ...

    def training_metrics(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class RunFacts:
    """Everything a run is measured with besides its tables: keys and constraints, the PII set aside, the
    differential privacy spent, and the seed that picks the subsample."""

    metadata: Metadata
    pii_columns: Mapping[str, list[str]] = field(default_factory=dict)
    pii_findings: Sequence[Any] = ()
    differential_privacy: dict[str, Any] | None = None
    seed: int = 0
    training: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # table -> TrainingMetrics.to_dict()
    column_roles: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, synth: Trained, *, seed: int | None = None, tables: Iterable[str] | None = None) -> RunFacts:
        """The facts of a fitted or loaded synthesizer; `tables` narrows PII to the tables measured."""
        keep = set(tables) if tables is not None else None
        return cls(metadata=synth.metadata,
                   pii_columns={t: list(c) for t, c in synth.pii_columns.items() if keep is None or t in keep},
                   pii_findings=[f for f in synth.pii_findings if keep is None or _table_of(f) in keep],
                   differential_privacy=synth.privacy_report(),
                   seed=int(seed if seed is not None else (synth.seed or 0)),
                   training={t: m.to_dict() for t, m in synth.training_metrics().items()
                             if keep is None or t in keep},
                   column_roles={t: r for t, r in column_roles(getattr(synth, "plans", {})).items()
                                 if keep is None or t in keep})


def measure_run(real: Mapping[str, pd.DataFrame], output: Output, facts: RunFacts, *,
                max_rows: int = EVALUATION_MAX_ROWS) -> EvaluationResult:
    """The evaluation of a sampled database (frames in memory or Parquet paths) against the real one.
    dbt's outcomes join at `write_report`: dbt tests the tables only after the measurement let them out."""
    result = _measure_tables(real, output, facts, max_rows)
    result.training = {t: dict(r) for t, r in facts.training.items()}
    result.value_overlap = value_overlap(facts.column_roles, real, _generated_columns(output, facts.column_roles))
    leaking = [o for o in result.value_overlap if not o.ok]
    if leaking:
        result.notes.append("real values written back in generated columns: " + ", ".join(
            f"{o.table}.{o.column} ({o.in_real} of {o.written_distinct} distinct)" for o in leaking))
    dp = result.differential_privacy = facts.differential_privacy
    if dp is not None:
        for check in result.rules:
            check.dp_covered = check.origin != "learned"
        learned = [f"{c.table}: {c.rule}" for c in result.rules if not c.dp_covered]
        if learned:
            dp = {**dp, "not_covered": [*dp["not_covered"], "learned rules read from the real rows ("
                                        + "; ".join(learned) + ")"]}
        result.notes.append(
            f"differential privacy: DP-SGD on every learned table's critic, epsilon {dp['epsilon_total']:.3g} "
            f"in total over {len(dp['tables'])} table(s) (worst case: one person in every table); not covered: "
            + "; ".join(dp["not_covered"]))
    return result


def write_report(result: EvaluationResult, path: str | Path, *,
                 dbt_tests: Iterable[Mapping[str, Any] | DbtTestOutcome] = (),
                 gates: QualityGates | None = None, limits: PlotLimits | None = None) -> tuple[Path, Path]:
    """Render a measured run once: HTML at `path` and its JSON twin, with dbt's outcomes if any joined it
    after the measurement (dbt tests the synthetic tables once they are written)."""
    from synthohive_dbt.report.html import render_report  # matplotlib: only when a report is written

    tests = list(dbt_tests)
    return render_report(with_dbt_tests(result, tests) if tests else result, path, gates, limits)


def subsample(frame: pd.DataFrame, cap: int, seed: int) -> pd.DataFrame:
    """At most `cap` rows, the same ones for the same seed, in their original order."""
    if len(frame) <= cap:
        return frame
    rows = np.sort(np.random.default_rng(seed).choice(len(frame), cap, replace=False))
    return frame.iloc[rows].reset_index(drop=True)


def subsample_parquet(path: str | Path, cap: int, seed: int) -> pd.DataFrame:
    """The rows `subsample` would pick, read one row group at a time (the file is never loaded whole)."""
    file = pq.ParquetFile(path)
    n = file.metadata.num_rows
    if n <= cap:
        return file.read().to_pandas()
    rows = np.sort(np.random.default_rng(seed).choice(n, cap, replace=False))
    parts = []
    start = 0
    for group in range(file.num_row_groups):
        size = file.metadata.row_group(group).num_rows
        lo, hi = np.searchsorted(rows, [start, start + size])
        if hi > lo:
            parts.append(file.read_row_group(group).take(rows[lo:hi] - start).to_pandas())
        start += size
    return pd.concat(parts, ignore_index=True)


def _measure_tables(real: Mapping[str, pd.DataFrame], output: Output, facts: RunFacts,
                    max_rows: int) -> EvaluationResult:
    metadata, seed = facts.metadata, facts.seed
    pii_columns = {t: list(c) for t, c in facts.pii_columns.items()}
    tables = [t for t in metadata.tables if t in real and t in output]
    # tables generated from their formats (too small to learn) have nothing a fidelity or privacy metric
    # could say about them (a holdout of a 1-row table is empty); their keys still count below
    unlearned = [t for t in tables if len(real[t]) < MIN_LEARN_ROWS]
    tables = [t for t in tables if t not in unlearned]
    if not tables:
        return EvaluationResult(scores={}, tables={}, notes=[_unlearned_note(unlearned)])
    real_small = {t: subsample(real[t], max_rows, derive_seed(seed, "evaluate-real", t)) for t in tables}
    syn_small: dict[str, pd.DataFrame] = {}
    for t in tables:
        value = output[t]
        tseed = derive_seed(seed, "evaluate-synthetic", t)
        syn_small[t] = (subsample(value, max_rows, tseed) if isinstance(value, pd.DataFrame)
                        else subsample_parquet(value, max_rows, tseed))
    result = evaluate(real_small, syn_small, metadata, pii_columns=pii_columns,
                      pii_findings=[asdict(f) if not isinstance(f, dict) else f for f in facts.pii_findings])
    if unlearned:
        result.notes.append(_unlearned_note(unlearned))
    cut = [t for t in tables if len(real_small[t]) < len(real[t]) or len(syn_small[t]) < _rows(output[t])]
    if not cut:
        return result
    # relationships on the full key columns, leaks with every real PII value
    keys = _key_columns(metadata)
    syn_keys = {t: _synthetic_keys(output, t, keys.get(t, [])) for t in tables}
    exact = []
    for t in tables:
        for fk in metadata.tables[t].fk:
            if fk.parent in syn_keys:
                exact.append(relationship_score(t, fk, real[t], real[fk.parent], syn_keys[t], syn_keys[fk.parent]))
    result.relationships = exact
    result.pii_leaks = find_pii_leaks(dict(real), syn_small, pii_columns)
    for t in tables:
        result.tables[t] = {"rows_real": len(real[t]), "rows_synthetic": _rows(output[t]),
                            "rows_evaluated_real": len(real_small[t]), "rows_evaluated_synthetic": len(syn_small[t])}
    result.notes.append(f"column, pair, constraint and privacy metrics use a deterministic subsample of at most "
                        f"{max_rows} rows per table ({', '.join(cut)} were cut); referential integrity and "
                        "children per parent use every row")
    result.scores = summary_scores(result)
    return result


def _generated_columns(output: Output, roles: Mapping[str, Mapping[str, tuple[str, str]]]
                       ) -> dict[str, pd.DataFrame]:
    """The generated columns of every table, whole (a Parquet output is read one column set at a time)."""
    out = {}
    for table, columns in roles.items():
        if table in output:
            value = output[table]
            names = value.columns if isinstance(value, pd.DataFrame) else pq.ParquetFile(value).schema_arrow.names
            cols = [c for c in columns if c in names]
            out[table] = value[cols] if isinstance(value, pd.DataFrame) else pq.read_table(
                value, columns=cols).to_pandas()
    return out


def _table_of(finding: Any) -> str | None:
    return finding.get("table") if isinstance(finding, dict) else getattr(finding, "table", None)


def _key_columns(metadata: Metadata) -> dict[str, list[str]]:
    need: dict[str, list[str]] = {name: [] for name in metadata.tables}
    for name, cfg in metadata.tables.items():
        for fk in cfg.fk:
            need[name].extend(fk.columns)
            need.setdefault(fk.parent, []).extend(fk.parent_columns)
    return {t: list(dict.fromkeys(c)) for t, c in need.items()}


def _synthetic_keys(output: Output, table: str, columns: list[str]) -> pd.DataFrame:
    value = output[table]
    if isinstance(value, pd.DataFrame):
        return value[columns]
    return pq.read_table(value, columns=columns).to_pandas()


def _unlearned_note(tables: list[str]) -> str:
    return (f"not measured: {', '.join(tables)} (fewer than {MIN_LEARN_ROWS} real rows: generated from column "
            "types, dbt tests and value formats, not learned)")


def _rows(value: pd.DataFrame | str) -> int:
    return len(value) if isinstance(value, pd.DataFrame) else pq.ParquetFile(value).metadata.num_rows


__all__ = ["EVALUATION_MAX_ROWS", "RunFacts", "measure_run", "subsample", "subsample_parquet", "write_report"]
