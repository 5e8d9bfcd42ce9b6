"""Table-level progress and the statistics of the last sampling run, plus reproducible per-part seeds."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from synthohive_dbt.models.base import Progress


@dataclass(frozen=True)
class TableProgress:
    """What a progress callback receives: the CLI draws one bar per table from these."""

    stage: Literal["fit", "sample"]
    table: str
    table_index: int  # 0-based position in the training order
    n_tables: int
    done: int  # epochs finished (fit) or rows written (sample)
    total: int
    epoch: Progress | None = None  # the model's own per-epoch report while fitting


TableProgressCallback = Callable[[TableProgress], None]


@dataclass
class TableStats:
    """How one table was sampled: rows, rejection sampling and what could not be enforced."""

    rows: int = 0
    chunks: int = 0
    rejected_rows: dict[str, int] = field(default_factory=dict)  # column -> rows re-sampled for it
    resample_rounds: int = 0
    dropped_duplicate_keys: int = 0
    not_enforced: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class SampleStats:
    seed: int
    tables: dict[str, TableStats] = field(default_factory=dict)

    @property
    def rejected_rows(self) -> int:
        return sum(sum(t.rejected_rows.values()) for t in self.tables.values())


def derive_seed(seed: int, *parts: str | int) -> int:
    """A stable 31-bit seed for one part of the work (table, chunk, purpose), independent of call order."""
    words = [seed & 0xFFFFFFFF, *(zlib.crc32(str(p).encode()) for p in parts)]
    return int(np.random.SeedSequence(words).generate_state(1)[0] & 0x7FFFFFFF)


def rng_for(seed: int, *parts: str | int) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, *parts))
