"""Table-level progress and the statistics of the last sampling run (seeds live in synthohive_dbt.seeds)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # annotations only: progress events must not cost a torch import (`inspect`, `init`)
    from synthohive_dbt.models.base import Progress, TrainingMetrics


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
    result: TrainingMetrics | None = None  # on a table's last fit event: what ran (epochs, steps, why it stopped)
    restored: bool = False  # the table's model came finished from a checkpoint (a resumed fit)


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
    broken_rules: dict[str, int] = field(default_factory=dict)  # learned row rule -> output rows breaking it
    seconds: float = 0.0


@dataclass
class SampleStats:
    seed: int
    tables: dict[str, TableStats] = field(default_factory=dict)

    @property
    def rejected_rows(self) -> int:
        return sum(sum(t.rejected_rows.values()) for t in self.tables.values())


    def to_dict(self) -> dict[str, Any]:
        """JSON-able: a Spark partition sends its statistics back to the driver this way."""
        return asdict(self)

    @classmethod
    def merged(cls, seed: int, parts: list[dict[str, Any]]) -> SampleStats:
        """The statistics of a sample drawn in partitions: counts summed, the slowest partition's seconds."""
        out = cls(seed=seed)
        for part in parts:
            for name, t in part.get("tables", {}).items():
                mine = out.tables.setdefault(name, TableStats())
                mine.rows += int(t["rows"])
                mine.chunks += int(t["chunks"])
                mine.resample_rounds += int(t["resample_rounds"])
                mine.dropped_duplicate_keys += int(t["dropped_duplicate_keys"])
                for target, source in ((mine.rejected_rows, t["rejected_rows"]),
                                       (mine.broken_rules, t["broken_rules"])):
                    for key, n in source.items():
                        target[key] = target.get(key, 0) + int(n)
                mine.not_enforced = list(dict.fromkeys([*mine.not_enforced, *t["not_enforced"]]))
                mine.seconds = max(mine.seconds, float(t["seconds"]))
        return out
