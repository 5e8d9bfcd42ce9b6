"""Privacy metrics: exact copies of real rows, distance to closest record (DCR), leaked PII values.

A synthetic row can be private and still close to a real one by chance; what matters is whether the
synthetic rows sit closer to the training rows than fresh real rows do. So every number here comes
with its baseline measured on a real holdout: rows the model did not see (given by the caller), or,
when none is given, a seeded split of the real table (the synthetic rows are then compared with the
same reference part, so both distances are measured against the same rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthohive_dbt.config import TableConfig
from synthohive_dbt.report.columns import Coder, ColumnPlan, Kind, as_float, key_columns
from synthohive_dbt.report.result import PiiLeak, TablePrivacy

DCR_BINS = 25
MIN_LEAK_LENGTH = 2  # a one-character "value" (an initial, a flag) is not a identifying leak


@dataclass(frozen=True)
class PrivacySettings:
    """Sample sizes keep nearest-neighbour search to ~1 s per table on 2 cores."""

    reference_rows: int = 10_000  # real rows the synthetic and holdout rows are compared against
    query_rows: int = 2_000  # synthetic rows (and holdout rows) whose DCR is measured
    holdout_share: float = 0.2  # without a given holdout: share of the real table split off
    top_categories: int = 20
    seed: int = 0


def _normalised(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Same values compare equal whatever the dtype drift (int vs float, category vs str)."""
    out = {}
    for c in columns:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s):
            out[c] = s.astype("string")
        elif pd.api.types.is_numeric_dtype(s):
            out[c] = s.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.astype("int64").where(s.notna(), None)
        else:
            out[c] = s.astype("string")
    return pd.DataFrame(out, index=frame.index)


def row_hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One uint64 per row over `columns` (vectorised pandas hashing, not a per-row loop)."""
    return pd.util.hash_pandas_object(_normalised(frame, columns), index=False).to_numpy()


def copy_share(query: pd.DataFrame, reference: pd.DataFrame, columns: list[str]) -> tuple[int, float]:
    """(rows of `query` equal to some row of `reference` on `columns`, their share)."""
    if not len(query) or not columns:
        return 0, 0.0
    hits = np.isin(row_hashes(query, columns), row_hashes(reference, columns))
    return int(hits.sum()), float(hits.mean())


class _Encoder:
    """Mixed-type rows to vectors whose L1 distance / n_columns is a Gower-style distance.

    Numeric and datetime columns: scaled by the real range to [0, 1], nulls set to 0 with an indicator
    (a null against a value therefore counts 1 to 2). Categorical columns: one-hot of the top real
    categories + other + null, scaled by 1/2 so a mismatch counts exactly 1.
    """

    def __init__(self, real: pd.DataFrame, plans: list[ColumnPlan], top: int) -> None:
        self.plans = [p for p in plans if p.kind is not None]
        self.scale: dict[str, tuple[float, float]] = {}
        self.coders: dict[str, Coder] = {}
        for p in self.plans:
            kind: Kind = p.kind  # type: ignore[assignment]
            if kind == "categorical":
                self.coders[p.column] = Coder.fit(real[p.column], kind, top=top)
            else:
                v = as_float(real[p.column], kind)
                finite = v[np.isfinite(v)]
                lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
                self.scale[p.column] = (lo, hi - lo if hi > lo else 1.0)

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        parts: list[np.ndarray] = []
        for p in self.plans:
            if p.column in self.coders:
                coder = self.coders[p.column]
                onehot = np.zeros((len(frame), coder.size), dtype=np.float32)
                onehot[np.arange(len(frame)), coder.codes(frame[p.column])] = 0.5
                parts.append(onehot)
            else:
                lo, width = self.scale[p.column]
                raw = as_float(frame[p.column], p.kind)  # type: ignore[arg-type]
                finite = np.isfinite(raw)
                # ±inf are values of their own: placed just outside the scaled range, so inf matches inf
                v = np.where(finite, (np.where(finite, raw, lo) - lo) / width, np.sign(np.nan_to_num(raw)) + 0.5)
                null = np.isnan(raw)
                parts.append(np.nan_to_num(v, nan=0.0).astype(np.float32)[:, None])
                parts.append(null.astype(np.float32)[:, None])  # always: ref and query widths must match
        return np.hstack(parts) / max(len(self.plans), 1)


def _quantiles(d: np.ndarray) -> dict[str, float]:
    if d.size == 0:
        return {}
    q = np.quantile(d, [0.05, 0.25, 0.5])
    return {"p5": float(q[0]), "p25": float(q[1]), "median": float(q[2]), "mean": float(d.mean())}


def table_privacy(table: TableConfig, real: pd.DataFrame, synthetic: pd.DataFrame, plans: list[ColumnPlan],
                  holdout: pd.DataFrame | None, settings: PrivacySettings,
                  pii: set[str] | None = None) -> TablePrivacy | None:
    """Exact copies and DCR of one table (None when no column can be compared)."""
    scored = [p for p in plans if p.kind is not None]
    if not scored or real.empty or synthetic.empty:
        return None
    skip = key_columns(table) | set(table.pii_columns) | set(pii or ())
    # a column with one real value (a constant) makes every row "equal" to a real one and says nothing about
    # disclosure; generated columns (free text, keys of other tables) stay in: they make a row new
    copy_cols = [c for c in real.columns if c in synthetic.columns and c not in skip
                 and real[c].nunique(dropna=False) > 1]
    rng = np.random.default_rng(settings.seed)
    if holdout is not None and len(holdout):
        source = "given"
        hold = holdout
        ref_all = real
    else:
        source = "split"
        order = rng.permutation(len(real))
        n_hold = max(1, min(settings.query_rows, int(len(real) * settings.holdout_share)))
        hold = real.iloc[order[:n_hold]]
        ref_all = real.iloc[order[n_hold:]]
    copies, share = copy_share(synthetic, real, copy_cols)
    _, ref_share = copy_share(synthetic, ref_all, copy_cols)
    _, hold_share = copy_share(hold, ref_all, copy_cols)
    se = float(np.sqrt(hold_share * (1 - hold_share) / len(hold)))

    def sample(frame: pd.DataFrame, n: int) -> pd.DataFrame:
        return frame if len(frame) <= n else frame.iloc[np.sort(rng.choice(len(frame), n, replace=False))]

    ref = sample(ref_all, settings.reference_rows)
    encode = _Encoder(ref, plans, settings.top_categories)
    from sklearn.neighbors import NearestNeighbors  # ~2 s to import: only when distances are measured

    nn = NearestNeighbors(n_neighbors=1, metric="manhattan").fit(encode(ref))
    d_syn = nn.kneighbors(encode(sample(synthetic, settings.query_rows)))[0][:, 0]
    d_hold = nn.kneighbors(encode(sample(hold, settings.query_rows)))[0][:, 0]
    top = float(np.quantile(np.concatenate([d_syn, d_hold]), 0.99)) or 1e-9
    edges = np.linspace(0.0, top, DCR_BINS + 1)
    hold_q = _quantiles(d_hold)
    return TablePrivacy(
        table=table.name, columns=[p.column for p in scored], rows_synthetic=len(synthetic),
        exact_copies=copies, exact_copy_share=share, holdout_copy_share=hold_share,
        reference_copy_share=ref_share, holdout_rows=len(hold),
        holdout_copy_share_se=se, holdout_source=source,
        reference_rows=len(ref), dcr_synthetic=_quantiles(d_syn), dcr_holdout=hold_q,
        dcr_edges=edges.tolist(),
        dcr_hist_synthetic=(np.histogram(np.minimum(d_syn, top), edges)[0] / d_syn.size).tolist(),
        dcr_hist_holdout=(np.histogram(np.minimum(d_hold, top), edges)[0] / d_hold.size).tolist(),
        share_closer_than_holdout_p5=float((d_syn < hold_q["p5"]).mean()))


def _searchable(series: pd.Series) -> pd.Series | None:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_float_dtype(series):
        return None
    if pd.api.types.is_datetime64_any_dtype(series):
        return None
    return series.astype("string")


def find_pii_leaks(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                   pii_columns: dict[str, list[str]]) -> list[PiiLeak]:
    """Every synthetic column holding a real PII value verbatim (values are counted, never stored)."""
    searchable: dict[tuple[str, str], pd.Series] = {}  # built on the first value to search: text casts cost

    def columns() -> dict[tuple[str, str], pd.Series]:
        if not searchable:
            searchable.update({(t, c): s for t, f in synthetic.items() for c in f.columns
                               if (s := _searchable(f[c])) is not None})
        return searchable

    leaks: list[PiiLeak] = []
    for source_table, cols in sorted(pii_columns.items()):
        frame = real.get(source_table)
        if frame is None:
            continue
        for source_col in cols:
            if source_col not in frame.columns:
                continue
            values = pd.Series(frame[source_col].dropna().astype("string").unique(), dtype="string")
            values = values[values.str.len() >= MIN_LEAK_LENGTH]
            if values.empty:
                continue
            for (t, c), s in columns().items():
                hit = s.isin(values).fillna(False).to_numpy(dtype=bool)
                if hit.any():
                    leaks.append(PiiLeak(table=t, column=c, source_table=source_table,
                                         source_column=source_col, leaked_values=int(s[hit].nunique()),
                                         leaked_rows=int(hit.sum())))
    return leaks
