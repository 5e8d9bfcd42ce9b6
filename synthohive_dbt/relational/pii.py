"""Placeholders for PII columns: never learned, never copied, filled with obviously non-real values.

A stand-in until the privacy layer provides context-aware fakes: text becomes '<column>_<row number>' (unique,
so unique tests still pass), numbers become row numbers, dates are drawn inside the real date span. Only the
kind of the column and that span are kept from the real data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PiiColumn:
    name: str
    kind: str  # "text" | "number" | "datetime" | "bool"
    low: int = 0  # datetime span in ns
    high: int = 0

    @classmethod
    def learn(cls, values: pd.Series) -> PiiColumn:
        name = str(values.name)
        if pd.api.types.is_bool_dtype(values):
            return cls(name, "bool")
        if pd.api.types.is_numeric_dtype(values):
            return cls(name, "number")
        if pd.api.types.is_datetime64_any_dtype(values):
            ns = values.dropna().astype("datetime64[ns]").astype(np.int64)
            return cls(name, "datetime", int(ns.min()), int(ns.max()))
        return cls(name, "text")

    def fill(self, offset: int, n: int, rng: np.random.Generator) -> np.ndarray:
        rows = offset + np.arange(n, dtype=np.int64)
        if self.kind == "number":
            return rows
        if self.kind == "bool":
            return rng.random(n) < 0.5
        if self.kind == "datetime":
            return rng.integers(self.low, self.high + 1, size=n).astype("datetime64[ns]")
        return np.char.add(f"{self.name}_", rows.astype(str)).astype(object)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
