"""Fidelity metrics of one synthetic table against its real counterpart: column shapes and pair trends.

Definitions follow SDMetrics' QualityReport where they fit:
- column shape = 1 - KS statistic (numeric, datetime) or 1 - total variation distance (categorical),
  computed on non-null values; the null rate is compared separately (`null_rate_delta`), as SDMetrics
  does with its MissingValueSimilarity rather than inside the shape score;
- column pair trend = 1 - |corr_real - corr_synthetic| / 2 (Pearson) for two numeric/datetime columns,
  and contingency similarity (1 - TVD of the joint distribution) otherwise, continuous columns cut into
  quantile bins of the real data (SDMetrics uses equal-width bins; quantiles spread skewed columns better).
  Where a Pearson correlation is undefined (a constant column) the contingency similarity is used instead.
- mutual information drift (not in SDMetrics) = |NMI_real - NMI_synthetic| on the same binned codes,
  NMI normalised by the arithmetic mean of the two entropies (as sklearn's default).

Wide tables: at most `max_pairs` pairs per table are scored; beyond that a deterministic sample (seeded
numpy generator over the sorted pair list) is taken, and the result notes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from synthohive_dbt import metrics
from synthohive_dbt.report.columns import Coder, ColumnPlan, Kind, as_category, as_float
from synthohive_dbt.report.result import ColumnScore, Distribution, PairScore, TableMatrices

HIST_BINS = 30
PLOT_CATEGORIES = 15


@dataclass(frozen=True)
class FidelitySettings:
    """Knobs of the fidelity metrics; each default keeps a 100k-row, 30-column table under seconds."""

    max_pairs: int = 300  # per table; 25 columns give 300 pairs, wider tables are sampled
    bins: int = 10  # quantile bins of continuous columns in contingency tables (SDMetrics uses 10)
    top_categories: int = 20  # rarer categories merge into "other" in contingency tables
    seed: int = 0


def tvd(real: pd.Series, synthetic: pd.Series) -> float:
    """Total variation distance of the non-null category frequencies (1, 1.0 and "1" are one category)."""
    return metrics.tvd(as_category(real).dropna().to_numpy(), as_category(synthetic).dropna().to_numpy())


def _null_rate(series: pd.Series) -> float:
    return float(series.isna().mean()) if len(series) else 0.0


def _numeric_distribution(r: np.ndarray, s: np.ndarray, kind: Kind) -> Distribution:
    r, s = r[~np.isnan(r)], s[~np.isnan(s)]
    both = np.concatenate([np.quantile(r, [0.005, 0.995]) if r.size else [],
                           np.quantile(s, [0.005, 0.995]) if s.size else []])
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, HIST_BINS + 1)
    hr = np.histogram(r, edges)[0] / max(r.size, 1)
    hs = np.histogram(s, edges)[0] / max(s.size, 1)
    return Distribution(kind=kind, labels=[], real=hr.tolist(), synthetic=hs.tolist(), edges=edges.tolist())


def _categorical_distribution(real: pd.Series, synthetic: pd.Series) -> Distribution:
    p = as_category(real).value_counts(normalize=True, dropna=True)
    q = as_category(synthetic).value_counts(normalize=True, dropna=True)
    top = list(p.index[:PLOT_CATEGORIES])
    extra = [c for c in q.index[:PLOT_CATEGORIES] if c not in set(top)][: max(0, PLOT_CATEGORIES - len(top))]
    labels = top + extra
    pr = p.reindex(labels, fill_value=0.0)
    qs = q.reindex(labels, fill_value=0.0)
    real_vals, syn_vals = pr.tolist(), qs.tolist()
    other_r, other_s = 1.0 - sum(real_vals), 1.0 - sum(syn_vals)
    if p.size > len(labels) or q.size > len(labels):
        labels.append("(other)")
        real_vals.append(max(other_r, 0.0) if not p.empty else 0.0)
        syn_vals.append(max(other_s, 0.0) if not q.empty else 0.0)
    return Distribution(kind="categorical", labels=[str(x) for x in labels], real=real_vals, synthetic=syn_vals)


def column_scores(table: str, real: pd.DataFrame, synthetic: pd.DataFrame,
                  plans: list[ColumnPlan]) -> list[ColumnScore]:
    """Column shape and null-rate delta of every planned column."""
    out: list[ColumnScore] = []
    for plan in plans:
        if plan.kind is None:
            continue
        rs, ss = real[plan.column], synthetic[plan.column]
        if plan.kind in ("numeric", "datetime"):
            r, s = as_float(rs, plan.kind), as_float(ss, plan.kind)
            stat, metric = metrics.ks_statistic(r, s), "ks"
            dist = _numeric_distribution(r, s, plan.kind)
        else:
            stat, metric = tvd(rs, ss), "tvd"
            dist = _categorical_distribution(rs, ss)
        nr, ns = _null_rate(rs), _null_rate(ss)
        out.append(ColumnScore(table=table, column=plan.column, kind=plan.kind, metric=metric,
                               statistic=stat, score=1.0 - stat, null_rate_real=nr, null_rate_synthetic=ns,
                               null_rate_delta=abs(nr - ns), distribution=dist))
    return out


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def nmi_from_joint(joint: np.ndarray) -> float:
    """Normalised mutual information of a joint probability table (arithmetic-mean normalisation)."""
    pa, pb = joint.sum(axis=1), joint.sum(axis=0)
    ha, hb = _entropy(pa), _entropy(pb)
    if ha == 0.0 or hb == 0.0:
        return 0.0
    nz = joint > 0
    mi = float((joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])).sum())
    return max(0.0, min(1.0, 2.0 * mi / (ha + hb)))


def _joint(a: np.ndarray, b: np.ndarray, ka: int, kb: int) -> np.ndarray:
    n = max(a.size, 1)
    return (np.bincount(a * kb + b, minlength=ka * kb) / n).reshape(ka, kb)


def select_pairs(columns: list[str], max_pairs: int, seed: int) -> tuple[list[tuple[str, str]], int]:
    """All pairs, or a deterministic sample of `max_pairs` of them; returns (pairs, total)."""
    pairs = list(combinations(columns, 2))
    if len(pairs) <= max_pairs:
        return pairs, len(pairs)
    idx = np.sort(np.random.default_rng(seed).choice(len(pairs), size=max_pairs, replace=False))
    return [pairs[i] for i in idx], len(pairs)


def _correlations(frame: pd.DataFrame, cols: list[str], kinds: dict[str, Kind]) -> pd.DataFrame:
    data = pd.DataFrame({c: as_float(frame[c], kinds[c]) for c in cols}, index=frame.index)
    return data.corr(method="pearson")


def pair_scores(table: str, real: pd.DataFrame, synthetic: pd.DataFrame, plans: list[ColumnPlan],
                settings: FidelitySettings) -> tuple[list[PairScore], TableMatrices | None, str | None]:
    """Pair trends and MI drift of (a capped number of) column pairs, plus heatmap matrices."""
    kinds = {p.column: p.kind for p in plans if p.kind is not None}
    cols = list(kinds)
    if len(cols) < 2:
        return [], None, None
    pairs, total = select_pairs(cols, settings.max_pairs, settings.seed)
    note = (f"table {table}: {total} column pairs, scored a deterministic sample of {len(pairs)} "
            f"(max_pairs={settings.max_pairs}, seed={settings.seed})") if len(pairs) < total else None
    used = sorted({c for p in pairs for c in p}, key=cols.index)
    coders = {c: Coder.fit(real[c], kinds[c], settings.bins, settings.top_categories) for c in used}
    rcodes = {c: coders[c].codes(real[c]) for c in used}
    scodes = {c: coders[c].codes(synthetic[c]) for c in used}
    numeric = [c for c in cols if kinds[c] in ("numeric", "datetime")]
    corr_r = _correlations(real, numeric, kinds) if len(numeric) >= 2 else None
    corr_s = _correlations(synthetic, numeric, kinds) if len(numeric) >= 2 else None

    out: list[PairScore] = []
    pos = {c: i for i, c in enumerate(cols)}
    nmi_r = np.full((len(cols), len(cols)), np.nan)
    nmi_s = np.full((len(cols), len(cols)), np.nan)
    np.fill_diagonal(nmi_r, 1.0)
    np.fill_diagonal(nmi_s, 1.0)
    for a, b in pairs:
        ka, kb = coders[a].size, coders[b].size
        jr = _joint(rcodes[a], rcodes[b], ka, kb)
        js = _joint(scodes[a], scodes[b], ka, kb)
        contingency = 1.0 - metrics.tvd_codes(rcodes[a] * kb + rcodes[b], scodes[a] * kb + scodes[b], ka * kb)
        mr, ms = nmi_from_joint(jr), nmi_from_joint(js)
        nmi_r[pos[a], pos[b]] = nmi_r[pos[b], pos[a]] = mr
        nmi_s[pos[a], pos[b]] = nmi_s[pos[b], pos[a]] = ms
        cr = cs = None
        metric, score = "contingency", contingency
        if corr_r is not None and corr_s is not None and a in numeric and b in numeric:
            vr, vs = corr_r.loc[a, b], corr_s.loc[a, b]
            cr = None if pd.isna(vr) else float(vr)
            cs = None if pd.isna(vs) else float(vs)
            if cr is not None and cs is not None:
                metric, score = "correlation", 1.0 - abs(cr - cs) / 2.0
        out.append(PairScore(table=table, column_a=a, column_b=b, metric=metric, score=score,
                             real_correlation=cr, synthetic_correlation=cs, contingency_similarity=contingency,
                             mi_real=mr, mi_synthetic=ms, mi_drift=abs(mr - ms)))

    def grid(m: pd.DataFrame | None) -> list[list[float | None]]:
        if m is None:
            return []
        return [[None if pd.isna(v) else float(v) for v in row] for row in m.to_numpy()]

    def square(m: np.ndarray) -> list[list[float | None]]:
        return [[None if np.isnan(v) else float(v) for v in row] for row in m]

    matrices = TableMatrices(table=table, numeric_columns=numeric if corr_r is not None else [],
                             correlation_real=grid(corr_r), correlation_synthetic=grid(corr_s),
                             columns=cols, nmi_real=square(nmi_r), nmi_synthetic=square(nmi_s))
    return out, matrices, note
