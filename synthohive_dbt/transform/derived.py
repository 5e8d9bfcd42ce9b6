"""Columns that are a function of one discrete column (a functional dependency), derived instead of learned.

Denormalised tables are full of them: education -> education_num, product_id -> product_name,
country_code -> country. A generator has to learn such a mapping exactly, which a GAN does slowly and never
perfectly (on adult.csv a 40 s CTGAN matched education and education-num in ~20% of rows), and every miss is
a row no real system would hold. Detected at fit time, the dependent column gets no span in the encoding;
at decode it is looked up from its source column, so the dependency holds in every generated row.

Detection is strict (the mapping holds in every training row, nulls included) and guarded against
coincidences of small data: the source must have at least `min_rows_per_key` rows per distinct value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class DerivedColumn:
    source: str  # the column this one is a function of
    keys: list[Any]  # base values of the source (None for null)
    values: list[Any]  # base value of this column for each key (None for null)

    @property
    def width(self) -> int:
        return 0

    def inverse(self, source_values: np.ndarray, source_nulls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values as an object array, null_mask) looked up from the decoded source column."""
        present = [k is not None for k in self.keys]
        keys = pd.Index(pd.Series([k for k in self.keys if k is not None], dtype=object))
        slots = np.flatnonzero(present)
        idx = np.full(len(source_values), -1, dtype=np.int64)
        found = keys.get_indexer(pd.Series(source_values, dtype=object))
        idx[found >= 0] = slots[found[found >= 0]]
        if not all(present):
            idx[source_nulls] = present.index(False)
        table = np.empty(len(self.values) + 1, dtype=object)
        table[:-1] = self.values
        table[-1] = None  # a source value never seen at fit (cannot happen for a one-hot source)
        out = table[idx]
        return out, pd.isna(pd.Series(out, dtype=object)).to_numpy()

    def to_state(self) -> dict[str, Any]:
        return {"source": self.source, "keys": self.keys, "values": self.values}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> DerivedColumn:
        return cls(str(s["source"]), list(s["keys"]), list(s["values"]))


def codes_of(values: np.ndarray, nulls: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense integer codes of a column's base values, null as a code of its own."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object).where(~nulls), use_na_sentinel=False)
    return codes.astype(np.int64), len(uniques)


def determines(src: tuple[np.ndarray, int], dep: tuple[np.ndarray, int]) -> bool:
    """Whether every value of `src` co-occurs with exactly one value of `dep` (one bincount)."""
    (a, _), (b, nb) = src, dep
    if nb < 2:
        return False  # a constant column is cheaper to encode than to derive
    pairs = np.unique(a * nb + b)
    return pairs.size == np.unique(a).size
