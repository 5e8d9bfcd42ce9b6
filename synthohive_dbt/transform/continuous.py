"""Mode-specific normalisation of a continuous column (CTGAN paper, section 4.2).

A variational Gaussian mixture finds the modes of the column; each value is encoded as the one-hot of a
mode plus its offset inside that mode, scaled to roughly [-1, 1] for a tanh output. A multi-modal column is
then easy for a generator, where a single min-max scaled number is not.

Why fit on a sample: the mixture is a 1-D density estimate, and 10k points pin ten modes down well; EM on a
million rows would cost minutes for no visible gain. After fitting, only (weight, mean, std) per mode are
kept: posteriors for all rows are computed with numpy, vectorised, and the state is a few floats of JSON.
Nulls get their own slot in the mode one-hot, so their rate is learned like any mode's.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

_SCALE = 4.0  # offsets are divided by 4 std: 99.99% of a mode's mass lands inside tanh's range


@dataclass
class ModeNormalizer:
    means: np.ndarray
    stds: np.ndarray
    weights: np.ndarray
    low: float
    high: float
    has_nulls: bool

    @property
    def n_modes(self) -> int:
        return int(self.means.size)

    @property
    def width(self) -> int:
        """1 (offset, tanh) + one slot per mode + a null slot when the column had nulls."""
        return 1 + self.n_modes + int(self.has_nulls)

    @classmethod
    def fit(cls, values: np.ndarray, null_mask: np.ndarray, *, seed: int, max_modes: int = 10,
            weight_threshold: float = 0.005, sample_size: int = 10_000) -> ModeNormalizer:
        """Fit the mixture on at most `sample_size` present values (drawn with a seeded generator)."""
        x = np.asarray(values, dtype=np.float64)[~null_mask]
        rng = np.random.default_rng(seed)
        if x.size > sample_size:
            x_fit = x[rng.choice(x.size, sample_size, replace=False)]
        else:
            x_fit = x
        center, scale = float(np.mean(x_fit)), float(np.std(x_fit))
        scale = scale if scale > 0 else 1.0
        z = ((x_fit - center) / scale).reshape(-1, 1)
        n_components = int(min(max_modes, max(1, np.unique(z).size)))
        from sklearn.exceptions import ConvergenceWarning  # here: sklearn costs ~2 s to import, and the
        from sklearn.mixture import BayesianGaussianMixture  # default quantile encoding never needs it

        bgm = BayesianGaussianMixture(
            n_components=n_components,
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=1e-3,  # favours few modes; unused ones get ~0 weight and are dropped
            max_iter=100,
            n_init=1,
            random_state=int(rng.integers(2**31 - 1)),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            bgm.fit(z)
        keep = bgm.weights_ > weight_threshold
        if not keep.any():
            keep[np.argmax(bgm.weights_)] = True
        means = bgm.means_.ravel()[keep] * scale + center
        stds = np.sqrt(bgm.covariances_.ravel()[keep]) * scale
        stds = np.maximum(stds, 1e-6 * scale)  # a spike (e.g. all zeros) must not divide by ~0
        weights = bgm.weights_[keep] / bgm.weights_[keep].sum()
        order = np.argsort(means, kind="stable")
        return cls(means[order], stds[order], weights[order], float(x.min()), float(x.max()),
                   bool(null_mask.any()))

    def _log_posterior(self, x: np.ndarray) -> np.ndarray:
        z = (x[:, None] - self.means[None, :]) / self.stds[None, :]
        return np.log(self.weights)[None, :] - np.log(self.stds)[None, :] - 0.5 * z * z

    def transform(self, values: np.ndarray, null_mask: np.ndarray, rng: np.random.Generator,
                  out: np.ndarray) -> None:
        """Write the encoding into `out` (n, width). The mode of each value is sampled from its posterior,
        as in the paper, so values between two modes are shared between them."""
        x = np.asarray(values, dtype=np.float64)
        logp = self._log_posterior(x)
        logp -= logp.max(axis=1, keepdims=True)
        p = np.exp(logp)
        cum = np.cumsum(p, axis=1)
        u = rng.random(x.size) * cum[:, -1]
        mode = np.minimum((u[:, None] > cum).sum(axis=1), self.n_modes - 1)
        out[:, 0] = (x - self.means[mode]) / (_SCALE * self.stds[mode])
        out[np.arange(x.size), 1 + mode] = 1.0
        if self.has_nulls:
            out[null_mask, 0] = 0.0
            out[null_mask, 1:] = 0.0
            out[null_mask, self.width - 1] = 1.0

    def inverse(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values, null_mask) from an encoded block; the mode is the arg-max of its slots."""
        slot = np.argmax(block[:, 1:], axis=1)
        null_mask = slot == self.n_modes if self.has_nulls else np.zeros(len(block), dtype=bool)
        mode = np.minimum(slot, self.n_modes - 1)
        alpha = block[:, 0].astype(np.float64)  # a tanh output is already in [-1, 1]
        x = alpha * _SCALE * self.stds[mode] + self.means[mode]
        return np.clip(x, self.low, self.high), null_mask

    def to_state(self) -> dict[str, Any]:
        return {"means": self.means.tolist(), "stds": self.stds.tolist(), "weights": self.weights.tolist(),
                "low": self.low, "high": self.high, "has_nulls": self.has_nulls}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> ModeNormalizer:
        return cls(np.asarray(s["means"], dtype=np.float64), np.asarray(s["stds"], dtype=np.float64),
                   np.asarray(s["weights"], dtype=np.float64), float(s["low"]), float(s["high"]),
                   bool(s["has_nulls"]))
