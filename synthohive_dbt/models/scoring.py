"""A fast fidelity score for model selection: 1 - mean over columns of the KS statistic (continuous) or
the total-variation distance (discrete). These are the column-shape terms of SDMetrics' quality report,
so selecting on them optimises what users measure; a generator loss says little about either."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthohive_dbt.transform.continuous import ModeNormalizer
from synthohive_dbt.transform.table import DataTransformer
from synthohive_dbt.transform.values import to_base


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance, vectorised through sorted arrays."""
    if a.size == 0 or b.size == 0:
        return 0.0 if a.size == b.size else 1.0
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def tv_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation distance between the category frequencies of two columns."""
    pa = pd.Series(a, dtype=object).value_counts(normalize=True, dropna=False)
    pb = pd.Series(b, dtype=object).value_counts(normalize=True, dropna=False)
    pa, pb = pa.align(pb, fill_value=0.0)
    return float(0.5 * np.abs(pa.to_numpy() - pb.to_numpy()).sum())


def column_scores(transformer: DataTransformer, real: pd.DataFrame, synth: pd.DataFrame) -> dict[str, float]:
    """Per-column similarity in [0, 1] (1 = same distribution); null rates count for numeric columns."""
    out: dict[str, float] = {}
    for col in transformer.columns:
        codec = transformer.codecs[col]
        rv, rm = to_base(real[col], codec)
        sv, sm = to_base(synth[col], codec)
        if isinstance(transformer.encoders[col], ModeNormalizer):
            score = 1.0 - ks_statistic(rv[~rm].astype(np.float64), sv[~sm].astype(np.float64))
            if rm.any() or sm.any():
                score = 0.5 * score + 0.5 * (1.0 - abs(float(rm.mean()) - float(sm.mean())))
        else:
            ra = np.where(rm, None, rv.astype(object))
            sa = np.where(sm, None, sv.astype(object))
            score = 1.0 - tv_distance(ra, sa)
        out[col] = score
    return out


def fidelity(transformer: DataTransformer, real: pd.DataFrame, synth: pd.DataFrame) -> float:
    scores = column_scores(transformer, real, synth)
    return float(np.mean(list(scores.values())))
