"""Special values of a numeric column, learned as slots of their own next to the column's ordinary encoding.

Two kinds of value must come back exactly and at their real frequency, which no density encoding does:

* non-finite floats: NaN (a value, not SQL NULL: it only exists in a nullable Float64 column), +inf, -inf.
  A quantile function or a Gaussian mixture cannot even be fitted on them;
* sentinels: a value at the very edge of a column, far from everything else, shared by many rows, such as
  `9999-12-31` as the open end of a history table (`dbt_valid_to`) or `0001-01-01` as "unknown". Left to a
  quantile function the sentinel would be one knot away from 2020, and the rows of the bin between them
  would get dates in the year 5000; and its microsecond ticks (2.5e17) do not survive float64 exactly.

Each special value gets slots appended to the column's softmax span (after the inner encoder's slots,
null included), so the model learns "which special, if any" jointly with everything else, the conditional
sampler can ask for it, and the AR model sees it as one more token. Next to quantile bins, a special value
gets as many slots as the bins its share would fill (40% of rows at 9999-12-31 with 20 bins of 5%: 8 slots,
each row in one of them at random), so every slot of the span holds about the same share: a GAN reproduces
uniform slots well and a single 40% slot badly (measured: 5% instead of 40% with one slot, CTGAN, 100
steps). The inner encoder is fitted on the other rows only. Decoding overlays the exact values (Python ints
for ticks, floats for NaN/inf).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synthohive_dbt.transform.continuous import ModeNormalizer
from synthohive_dbt.transform.discrete import CategoryEncoder
from synthohive_dbt.transform.quantile import QuantileBinner

Inner = ModeNormalizer | QuantileBinner | CategoryEncoder

MIN_SENTINEL_ROWS = 2  # one row at 9999-12-31 is an outlier (a quantile knot keeps it); two are a convention


def find_specials(values: np.ndarray, null_mask: np.ndarray, *, sentinels: bool) -> list[int | float]:
    """The special values of a column's base values: non-finite floats, then edge sentinels (`sentinels`).

    A sentinel is the minimum or maximum value, held by at least MIN_SENTINEL_ROWS rows, that lies farther
    from the nearest other value than the other values spread (9999-12-31 next to dates of 2015-2024);
    the natural first or last day of a column is one step from its neighbour and never qualifies.
    """
    present = values[~null_mask]
    out: list[int | float] = []
    if present.dtype.kind == "f":
        if np.isnan(present).any():
            out.append(math.nan)
        for v in (math.inf, -math.inf):
            if (present == v).any():
                out.append(v)
        present = present[np.isfinite(present)]
    if not sentinels or present.size < 2 * MIN_SENTINEL_ROWS:
        return out
    uniq, counts = np.unique(present, return_counts=True)
    lo, hi = 0, uniq.size - 1
    if hi - lo >= 2 and counts[hi] >= MIN_SENTINEL_ROWS and uniq[hi] - uniq[hi - 1] > uniq[hi - 1] - uniq[lo]:
        out.append(_scalar(uniq[hi]))
        hi -= 1
    if hi - lo >= 2 and counts[lo] >= MIN_SENTINEL_ROWS and uniq[lo + 1] - uniq[lo] > uniq[hi] - uniq[lo + 1]:
        out.append(_scalar(uniq[lo]))
    return out


def _scalar(v: Any) -> int | float:
    return v.item() if isinstance(v, np.generic) else v


def special_index(values: np.ndarray, null_mask: np.ndarray, specials: list[int | float]) -> np.ndarray:
    """Per row, the index of its special value, or -1 (nulls are never special)."""
    idx = np.full(len(values), -1, dtype=np.int64)
    if not specials:
        return idx
    floats = values.dtype.kind == "f"
    for j, v in enumerate(specials):
        if isinstance(v, float) and math.isnan(v):
            hit = np.isnan(values) if floats else np.zeros(len(values), dtype=bool)
        else:
            hit = values == v
        idx[hit & ~null_mask & (idx < 0)] = j
    return idx


@dataclass
class SpecialValues:
    """An inner encoder for the ordinary rows plus one slot per special value, appended to its softmax."""

    inner: Inner
    values: list[int | float]  # exact base values: ints (ticks, integers) or floats (nan, inf, sentinels)
    rates: list[float]  # share of all training rows holding each special value
    copies: list[int] = field(default_factory=list)  # slots per special value (see the module docstring)

    def __post_init__(self) -> None:
        if not self.copies:
            self.copies = [1] * len(self.values)

    @classmethod
    def fit(cls, inner: Inner, values: list[int | float], rates: list[float]) -> SpecialValues:
        """Slots per value: the number of the inner quantile bins its share would fill (at least one)."""
        bins = inner.n_bins if isinstance(inner, QuantileBinner) else 0
        copies = [max(1, int(round(r * bins))) if bins else 1 for r in rates]
        return cls(inner, list(values), list(rates), copies)

    @property
    def _first_slot(self) -> np.ndarray:
        """Offset of each special value's first slot after the inner slots."""
        return np.concatenate([[0], np.cumsum(self.copies)[:-1]]).astype(np.int64)

    @property
    def _slot_owner(self) -> np.ndarray:
        """Special value index of every special slot."""
        return np.repeat(np.arange(len(self.values), dtype=np.int64), self.copies)

    @property
    def numeric(self) -> bool:
        """Whether the inner encoding has a tanh position before its slots (quantile / mode)."""
        return isinstance(self.inner, (ModeNormalizer, QuantileBinner))

    @property
    def inner_slots(self) -> int:
        return self.inner.width - (1 if self.numeric else 0)

    @property
    def width(self) -> int:
        return self.inner.width + int(sum(self.copies))

    @property
    def frequencies(self) -> list[float]:
        """Slot frequencies of the whole softmax span (inner slots scaled by the ordinary rows' share)."""
        ordinary = 1.0 - float(sum(self.rates))
        inner = [float(f) * ordinary for f in getattr(self.inner, "frequencies", [])]
        return inner + [float(r) / c for r, c in zip(self.rates, self.copies) for _ in range(c)]

    def transform(self, values: np.ndarray, null_mask: np.ndarray, rng: np.random.Generator,
                  out: np.ndarray, ignore_unknown: bool = False) -> None:
        """Inner encoding of the ordinary rows, a one-hot special slot for the others."""
        sp = special_index(values, null_mask, self.values)
        regular = sp < 0
        if self.inner.width and regular.any():
            block = np.zeros((int(regular.sum()), self.inner.width), dtype=out.dtype)
            v, m = values[regular], null_mask[regular]
            if isinstance(self.inner, CategoryEncoder):
                self.inner.transform(v, m, block, ignore_unknown=ignore_unknown)
            else:
                self.inner.transform(v, m, rng, block)
            out[regular, : self.inner.width] = block
        rows = np.flatnonzero(~regular)
        out[rows, :] = 0.0
        copies = np.asarray(self.copies, dtype=np.int64)[sp[rows]]
        spread = (rng.random(rows.size) * copies).astype(np.int64)  # one of the value's slots, at random
        out[rows, self.inner.width + self._first_slot[sp[rows]] + spread] = 1.0

    def slots_of(self, block: np.ndarray) -> np.ndarray:
        """The arg-max slot of the whole softmax span of every row (specials after the inner slots)."""
        return np.argmax(block[:, 1:] if self.numeric else block, axis=1)

    def specials_of(self, slot: np.ndarray) -> np.ndarray:
        """Per row, the special index its slot names, or -1 for an inner slot."""
        sp = slot - self.inner_slots
        return np.where(sp >= 0, self._slot_owner[np.clip(sp, 0, None)], -1)

    def inner_slot(self, slot: np.ndarray) -> np.ndarray:
        """A valid inner slot for every row (special rows get slot 0; their value is overlaid later)."""
        return np.where(slot < self.inner_slots, slot, 0)

    def overlay(self, values: np.ndarray, null_mask: np.ndarray, sp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decoded inner values with the exact special values put into the special rows."""
        rows = sp >= 0
        if not rows.any():
            return values, null_mask
        exact_ints = all(isinstance(v, int) for v in self.values)
        if exact_ints and values.dtype.kind != "f":
            out = np.where(null_mask, 0, values).astype(np.int64)
        elif exact_ints:
            out = np.round(np.where(np.isfinite(values), values, 0.0)).astype(np.int64)
        else:
            out = np.asarray(values, dtype=np.float64).copy()
        table = np.array(self.values, dtype=out.dtype)
        out[rows] = table[sp[rows]]
        mask = null_mask.copy()
        mask[rows] = False
        return out, mask

    def to_state(self) -> dict[str, Any]:
        return {"inner_kind": _inner_kind(self.inner), "inner": self.inner.to_state(),
                "values": [v if isinstance(v, int) else repr(float(v)) for v in self.values],
                "rates": [float(r) for r in self.rates], "copies": [int(c) for c in self.copies]}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> SpecialValues:
        """Ints stay ints (exact ticks); floats were written as repr strings, so nan / inf survive JSON."""
        return cls(_INNER[s["inner_kind"]].from_state(s["inner"]),
                   [v if isinstance(v, int) else float(v) for v in s["values"]], [float(r) for r in s["rates"]],
                   [int(c) for c in s.get("copies") or []])


_INNER: dict[str, Any] = {"continuous": ModeNormalizer, "quantile": QuantileBinner, "discrete": CategoryEncoder}


def _inner_kind(inner: Inner) -> str:
    return next(k for k, cls in _INNER.items() if isinstance(inner, cls))
