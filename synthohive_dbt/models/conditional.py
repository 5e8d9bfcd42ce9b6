"""Training-by-sampling (CTGAN paper, section 4.3), vectorised.

To keep minority categories from being ignored, each training row is drawn by first picking a discrete
column uniformly, then one of its categories with probability proportional to log(1 + count), then a real
row holding that category uniformly. The generator receives the choice as a one-hot "conditional vector"
and is penalised when its output disagrees with it.

All draws for a batch are array operations: the categories of every column live in one global index, the
rows of every (column, category) pair in one flat array sorted by that index, so a batch is three numpy
calls regardless of its size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CondBatch:
    cond: np.ndarray  # (batch, total_width) float32 one-hot (all zeros for a dropped condition)
    column: np.ndarray  # (batch,) which conditional column was chosen, -1 when dropped
    category: np.ndarray  # (batch,) slot index inside that column, -1 when dropped
    rows: np.ndarray  # (batch,) training row indices that satisfy the condition


class ConditionalSampler:
    def __init__(self, codes: np.ndarray, widths: list[int], sampling_frequencies: list[np.ndarray]):
        """codes: (n_rows, n_columns) slot index of each training row in each conditional column;
        sampling_frequencies: the per-slot frequencies used at generation time (the full data's)."""
        self.n_rows = int(codes.shape[0])
        self.widths = np.asarray(widths, dtype=np.int64)
        self.n_columns = len(widths)
        self.offsets = np.concatenate([[0], np.cumsum(self.widths)[:-1]]).astype(np.int64)
        self.total = int(self.widths.sum())
        self._codes = codes.astype(np.int64)
        if self.n_columns == 0:
            return
        glob = codes.astype(np.int64) + self.offsets[None, :]  # global slot per (row, column)
        flat = glob.T.ravel()  # column-major: all rows of column 0, then column 1, ...
        rows = np.tile(np.arange(self.n_rows, dtype=np.int64), self.n_columns)
        order = np.argsort(flat, kind="stable")
        self._rows_sorted = rows[order]
        self._counts = np.bincount(flat, minlength=self.total).astype(np.int64)
        self._starts = np.concatenate([[0], np.cumsum(self._counts)[:-1]]).astype(np.int64)
        self._train_cum = self._cumulative(np.log1p(self._counts.astype(np.float64)))
        freq = np.concatenate([np.asarray(f, dtype=np.float64) for f in sampling_frequencies])
        self._original_cum = self._cumulative(freq)

    def _cumulative(self, weights: np.ndarray) -> np.ndarray:
        """Per-column normalised CDFs laid end to end, shifted by the column index: column j's CDF
        spans (j, j+1], so one searchsorted of j + u finds the category for any mix of columns."""
        out = np.empty(self.total, dtype=np.float64)
        for j in range(self.n_columns):  # once per column at construction, not per row
            lo, hi = self.offsets[j], self.offsets[j] + self.widths[j]
            w = weights[lo:hi]
            cdf = np.cumsum(w) / w.sum() if w.sum() > 0 else np.linspace(1 / w.size, 1, w.size)
            cdf[-1] = 1.0
            out[lo:hi] = j + cdf
        return out

    def _draw(self, cum: np.ndarray, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        col = rng.integers(self.n_columns, size=batch)
        glob = np.searchsorted(cum, col + rng.random(batch), side="right")
        glob = np.clip(glob, self.offsets[col], self.offsets[col] + self.widths[col] - 1)
        return col, glob

    def _onehot(self, glob: np.ndarray, keep: np.ndarray) -> np.ndarray:
        cond = np.zeros((glob.size, self.total), dtype=np.float32)
        idx = np.nonzero(keep)[0]
        cond[idx, glob[idx]] = 1.0
        return cond

    def sample_train(self, batch: int, rng: np.random.Generator, drop: float = 0.0) -> CondBatch:
        """A training batch: log-frequency categories and real rows that hold them. With probability
        `drop` a row gets no condition (zeros) and a uniformly drawn real row instead."""
        uniform_rows = rng.integers(self.n_rows, size=batch)
        if self.n_columns == 0:
            empty = np.full(batch, -1, dtype=np.int64)
            return CondBatch(np.zeros((batch, 0), np.float32), empty, empty, uniform_rows)
        col, glob = self._draw(self._train_cum, batch, rng)
        pick = (rng.random(batch) * self._counts[glob]).astype(np.int64)
        rows = self._rows_sorted[self._starts[glob] + pick]
        keep = rng.random(batch) >= drop if drop > 0 else np.ones(batch, dtype=bool)
        rows = np.where(keep, rows, uniform_rows)
        return CondBatch(self._onehot(glob, keep), np.where(keep, col, -1),
                         np.where(keep, glob - self.offsets[col], -1), rows)

    def sample_original(self, batch: int, rng: np.random.Generator) -> np.ndarray:
        """Conditional vectors for generation: categories drawn at their observed frequency, so the
        marginals of the output follow the data's."""
        return self.sample_original_batch(batch, rng).cond

    def sample_original_batch(self, batch: int, rng: np.random.Generator) -> CondBatch:
        """As sample_original, with the chosen column and category (for the condition loss) and no rows."""
        none = np.zeros(0, dtype=np.int64)
        if self.n_columns == 0:
            empty = np.full(batch, -1, dtype=np.int64)
            return CondBatch(np.zeros((batch, 0), np.float32), empty, empty, none)
        col, glob = self._draw(self._original_cum, batch, rng)
        return CondBatch(self._onehot(glob, np.ones(batch, dtype=bool)), col, glob - self.offsets[col], none)

    def condition_of_rows(self, rows: np.ndarray, rng: np.random.Generator, drop: float = 0.0) -> np.ndarray:
        """Conditions read from the rows themselves (a random conditional column per row, holding the row's
        own category): what DP training uses, since picking rows BY category would not be Poisson sampling."""
        if self.n_columns == 0:
            return np.zeros((rows.size, 0), dtype=np.float32)
        col = rng.integers(self.n_columns, size=rows.size)
        glob = self._codes[rows, col] + self.offsets[col]
        keep = rng.random(rows.size) >= drop if drop > 0 else np.ones(rows.size, dtype=bool)
        return self._onehot(glob, keep)
