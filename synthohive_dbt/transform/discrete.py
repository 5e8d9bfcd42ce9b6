"""One-hot encoding of a discrete column, bounded in width.

A column with up to `max_categories` distinct values is one-hot encoded exactly. Above that (free text,
e-mails, ID-like strings) a one-hot with thousands of slots would dominate the model and memorise rare
values, so only the frequent categories keep a slot: the top `max_categories` that occur at least
`min_count` times. Everything else shares one "other" slot; when the model emits "other", a value is drawn
from the observed tail with its observed frequency. The tail kept in the state is capped at
`max_tail_values` most frequent values (a reservoir, so a million unique IDs do not bloat the JSON).
Marginals of the column are thus reproduced; dependence on other columns is learned for frequent values only.

Privacy note: tail values are real values copied from the training data. Columns holding personal data
must be listed as PII upstream and never reach a model.

Nulls get their own slot, so their rate is reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.transform.values import json_value


@dataclass
class CategoryEncoder:
    categories: list[Any]
    has_other: bool
    has_nulls: bool
    tail_values: list[Any] = field(default_factory=list)
    tail_probs: list[float] = field(default_factory=list)
    frequencies: list[float] = field(default_factory=list)  # per slot, for the conditional sampler

    @property
    def width(self) -> int:
        return len(self.categories) + int(self.has_other) + int(self.has_nulls)

    @property
    def other_index(self) -> int:
        return len(self.categories) if self.has_other else -1

    @property
    def null_index(self) -> int:
        return self.width - 1 if self.has_nulls else -1

    @classmethod
    def fit(cls, values: np.ndarray, null_mask: np.ndarray, *, max_categories: int = 100,
            min_count: int = 2, max_tail_values: int = 1000) -> CategoryEncoder:
        present = pd.Series(values[~null_mask])
        counts = present.value_counts(sort=True)  # descending, stable for ties by first appearance
        if counts.size <= max_categories:
            kept = counts
            tail = counts.iloc[:0]
        else:
            head = counts.iloc[:max_categories]
            kept = head[head >= min_count]
            tail = counts.iloc[kept.size:]
        tail_top = tail.iloc[:max_tail_values]
        n = len(values)
        slot_counts = list(kept.to_numpy(dtype=np.float64))
        if tail.size:
            slot_counts.append(float(tail.sum()))
        if null_mask.any():
            slot_counts.append(float(null_mask.sum()))
        return cls(
            categories=[json_value(v) for v in kept.index],
            has_other=bool(tail.size),
            has_nulls=bool(null_mask.any()),
            tail_values=[json_value(v) for v in tail_top.index],
            tail_probs=(tail_top / tail_top.sum()).tolist() if tail_top.size else [],
            frequencies=(np.asarray(slot_counts) / n).tolist(),
        )

    def codes(self, values: np.ndarray, null_mask: np.ndarray) -> np.ndarray:
        """Slot index of every row (vectorised through a pandas hash lookup)."""
        idx = pd.Index(self.categories).get_indexer(pd.Series(values, dtype=object).where(~null_mask))
        if self.has_other:
            idx = np.where(idx < 0, self.other_index, idx)
        if self.has_nulls:
            idx = np.where(null_mask, self.null_index, idx)
        return idx

    def transform(self, values: np.ndarray, null_mask: np.ndarray, out: np.ndarray,
                  ignore_unknown: bool = False) -> None:
        idx = self.codes(values, null_mask)
        if ignore_unknown:
            rows = np.nonzero(idx >= 0)[0]
            out[rows, idx[rows]] = 1.0
            return
        if (idx < 0).any():
            bad = pd.Series(values)[idx < 0].iloc[0]
            raise ValueError(f"value {bad!r} was not seen when the encoder was fitted")
        out[np.arange(len(idx)), idx] = 1.0

    def inverse(self, block: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(values as an object array, null_mask); "other" rows draw from the observed tail."""
        return self.decode(np.argmax(block, axis=1), rng)

    def decode(self, slot: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(values, null_mask) from the slot of every row."""
        table = np.empty(self.width, dtype=object)
        table[: len(self.categories)] = self.categories
        values = table[slot]
        if self.has_other:
            other = slot == self.other_index
            k = int(other.sum())
            if k:
                tail = np.empty(len(self.tail_values), dtype=object)
                tail[:] = self.tail_values
                values[other] = tail[rng.choice(len(tail), size=k, p=np.asarray(self.tail_probs))]
        null_mask = slot == self.null_index if self.has_nulls else np.zeros(len(slot), dtype=bool)
        return values, null_mask

    def to_state(self) -> dict[str, Any]:
        return {"categories": self.categories, "has_other": self.has_other, "has_nulls": self.has_nulls,
                "tail_values": self.tail_values, "tail_probs": self.tail_probs,
                "frequencies": self.frequencies}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> CategoryEncoder:
        return cls(list(s["categories"]), bool(s["has_other"]), bool(s["has_nulls"]),
                   list(s["tail_values"]), [float(p) for p in s["tail_probs"]],
                   [float(f) for f in s["frequencies"]])
