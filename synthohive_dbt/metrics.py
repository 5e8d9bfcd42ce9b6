"""The distances that fidelity is measured with: one KS statistic and one total variation distance.

Model selection (`models/scoring.py`) and the quality report (`report/quality.py`, `report/relationships.py`)
both score a column as 1 - KS (numbers, dates) or 1 - TVD (categories), so they must compute the same
distance: a model picked for a better selection score then also scores better in the report. This module
imports nothing from the package, so every layer may use it. What the two callers still decide for
themselves is what they feed in: the report compares non-null values and shows the null-rate delta beside
the score; model selection has one number per column, so it counts nulls as their own category (TVD) or
blends the null-rate delta into the KS score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def ks_statistic(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance (max gap of the empirical CDFs) over the non-NaN values.

    Exact, through sorted arrays (the statistic scipy's `ks_2samp` returns, without importing scipy);
    0.0 when both sides are empty, 1.0 when only one is.
    """
    a = np.sort(real[~np.isnan(real)])
    b = np.sort(synthetic[~np.isnan(synthetic)])
    if a.size == 0 or b.size == 0:
        return 0.0 if a.size == b.size else 1.0
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def tvd_codes(real: np.ndarray, synthetic: np.ndarray, size: int) -> float:
    """Total variation distance of two samples of integer codes in [0, size): half the L1 distance of
    their frequencies. 0.0 when both sides are empty, 1.0 when only one is."""
    if real.size == 0 or synthetic.size == 0:
        return 0.0 if real.size == synthetic.size else 1.0
    p = np.bincount(real, minlength=size) / real.size
    q = np.bincount(synthetic, minlength=size) / synthetic.size
    return float(0.5 * np.abs(p - q).sum())


def tvd(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Total variation distance of the value frequencies of two samples (values compared as they are;
    a caller that wants nulls left out or 1 == "1" prepares the values first)."""
    values = pd.Series(np.concatenate([np.asarray(real, dtype=object), np.asarray(synthetic, dtype=object)]),
                       dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return tvd_codes(codes[: len(real)], codes[len(real):], len(uniques))


__all__ = ["ks_statistic", "tvd", "tvd_codes"]
