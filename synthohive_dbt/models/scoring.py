"""A fast fidelity score for model selection, built like SDMetrics' single-table quality report, so that
selecting on it optimises what users measure (a GAN's losses say little about either):

- column shapes: 1 - KS statistic (numeric columns) or 1 - total-variation distance (discrete ones);
- column pair trends: for two numeric columns 1 - |corr_real - corr_synth| / 2 (Pearson), otherwise
  1 - TVD of the pair's contingency table, numeric columns cut into 10 equal-width bins (of each frame's
  own range, as SDMetrics' report does);
  averaged, as SDMetrics 0.32 does, only over the pairs that are associated in the real data
  (|Pearson| > 0.5, Cramer's V > 0.3): weak pairs would only add noise around 0.9;
- fidelity = mean of the two averages.

"Numeric" follows the column's type (int, float, date), not its encoding, as SDMetrics' sdtypes do.

Every pair is one bincount over integer codes computed once per column, so scoring 3,000 rows of a
15-column table takes milliseconds.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from synthohive_dbt.metrics import ks_statistic, tvd_codes
from synthohive_dbt.transform.continuous import ModeNormalizer
from synthohive_dbt.transform.quantile import QuantileBinner
from synthohive_dbt.transform.table import DataTransformer
from synthohive_dbt.transform.values import to_base

PAIR_BINS = 10  # SDMetrics' ContingencySimilarity default for numeric columns
CORRELATION_THRESHOLD = 0.5  # SDMetrics' QualityReport defaults for a pair to count
ASSOCIATION_THRESHOLD = 0.3


class _Column:
    """One column of both frames as numbers (numeric) and as small integer codes (for contingencies)."""

    def __init__(self, transformer: DataTransformer, col: str, real: pd.DataFrame, synth: pd.DataFrame):
        codec = transformer.codecs[col]
        rv, self.rm = to_base(real[col], codec)
        sv, self.sm = to_base(synth[col], codec)
        self.numeric = codec.logical in ("int", "float", "date", "datetime") or isinstance(
            transformer.encoders[col], (ModeNormalizer, QuantileBinner))
        if self.numeric:
            self.rv, self.sv = rv.astype(np.float64), sv.astype(np.float64)
            # NaN / +-inf values (special slots of their own) join the null bin: no histogram spans them
            self.rm, self.sm = self.rm | ~np.isfinite(self.rv), self.sm | ~np.isfinite(self.sv)
            self.rc, self.sc = _bins(self.rv, self.rm), _bins(self.sv, self.sm)
            self.size = PAIR_BINS + 3
        else:
            ra = np.where(self.rm, None, rv.astype(object))
            sa = np.where(self.sm, None, sv.astype(object))
            codes, uniques = pd.factorize(pd.Series(np.concatenate([ra, sa]), dtype=object),
                                          use_na_sentinel=False)
            self.rc, self.sc, self.size = codes[: len(ra)], codes[len(ra):], len(uniques)

    def shape(self) -> float:
        if not self.numeric:
            return 1.0 - tvd_codes(self.rc, self.sc, self.size)
        score = 1.0 - ks_statistic(self.rv[~self.rm], self.sv[~self.sm])
        if self.rm.any() or self.sm.any():
            score = 0.5 * score + 0.5 * (1.0 - abs(float(self.rm.mean()) - float(self.sm.mean())))
        return score


def _bins(values: np.ndarray, nulls: np.ndarray) -> np.ndarray:
    """Equal-width bin codes 1..PAIR_BINS + 1 (the maximum gets its own code), nulls PAIR_BINS + 2.
    Like SDMetrics' report, each frame is cut by the edges of ITS OWN range: a synthetic column that
    misses the real minimum or maximum is binned differently and loses pair-trend score."""
    present = values[~nulls]
    edges = np.histogram_bin_edges(present, bins=PAIR_BINS) if present.size else np.zeros(PAIR_BINS + 1)
    return np.where(nulls, PAIR_BINS + 2, np.digitize(values, edges))


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 2 or np.std(x) == 0 or np.std(y) == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def _cramers_v(codes: np.ndarray, rows: int, cols: int) -> float:
    table = np.bincount(codes, minlength=rows * cols).reshape(rows, cols).astype(np.float64)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    k = min(table.shape) - 1
    if k < 1:
        return 0.0
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / n / k))


def _pair(a: _Column, b: _Column) -> tuple[float, bool]:
    """(similarity, whether the real pair is associated strongly enough to count)."""
    if a.numeric and b.numeric:
        rk, sk = ~(a.rm | b.rm), ~(a.sm | b.sm)
        real = _corr(a.rv[rk], b.rv[rk])
        return 1.0 - abs(real - _corr(a.sv[sk], b.sv[sk])) / 2.0, abs(real) > CORRELATION_THRESHOLD
    real_codes = a.rc * b.size + b.rc
    score = 1.0 - tvd_codes(real_codes, a.sc * b.size + b.sc, a.size * b.size)
    return score, _cramers_v(real_codes, a.size, b.size) > ASSOCIATION_THRESHOLD


def column_scores(transformer: DataTransformer, real: pd.DataFrame, synth: pd.DataFrame) -> dict[str, float]:
    """Per-column shape similarity in [0, 1] (1 = same distribution); null rates count for numbers."""
    return {c: _Column(transformer, c, real, synth).shape() for c in transformer.columns}


def quality(transformer: DataTransformer, real: pd.DataFrame, synth: pd.DataFrame) -> dict[str, float]:
    """{"shapes", "pairs", "fidelity"}: the two SDMetrics-like averages and their mean."""
    cols = [_Column(transformer, c, real, synth) for c in transformer.columns]
    shapes = float(np.mean([c.shape() for c in cols]))
    pair_scores = [score for score, counts in (_pair(a, b) for a, b in combinations(cols, 2)) if counts]
    pairs = float(np.mean(pair_scores)) if pair_scores else shapes  # no associated pair: shapes alone
    return {"shapes": shapes, "pairs": pairs, "fidelity": 0.5 * (shapes + pairs)}


def fidelity(transformer: DataTransformer, real: pd.DataFrame, synth: pd.DataFrame) -> float:
    return quality(transformer, real, synth)["fidelity"]
