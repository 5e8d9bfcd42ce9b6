"""A synthetic database sampled in partitions (on Spark executors), every foreign key valid without a shuffle.

The tables are split in two:

* **partitioned**: the large roots (at least `min_rows_per_partition` rows per partition, keys not drawn from
  declared values) and every table whose driving parent is partitioned. Partition p draws its share of each
  partitioned root, then the children of exactly those rows, in the same partition, so a child's parent is
  always beside it. Keys of different partitions never meet (`KeyFormat.in_partition`: sequences interleave,
  random keys take their own residue class or first characters).
* **shared**: everything else (lookups, small roots, a self-referencing hierarchy of one root, and their
  children). Every partition draws them the same way, from the run's seed alone, so each holds the whole of
  them to link to; partition 0 writes them.

`sample_partition` is what an executor runs, from the saved model's bytes (the JSON + safetensors artifact,
never a pickle). It hands rows to a sink (`write(table, frame)`, `close(table, columns)`), which the caller
(io/spark_hive.py on Spark) provides: this module knows nothing of Spark.

Determinism: a fixed seed and a fixed number of partitions give identical tables. Another partition count
gives other rows of the same distribution: each partition draws from its own seed (derived from the run's seed
and its index) and the keys interleave by the count. Shared tables do not depend on the count.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from synthohive_dbt.errors import ConfigError
from synthohive_dbt.relational.generate import DEFAULT_CHUNK_ROWS, sample_database
from synthohive_dbt.relational.pii import PiiSampling
from synthohive_dbt.relational.plan import TablePlan
from synthohive_dbt.relational.sinks import MemorySink
from synthohive_dbt.seeds import derive_seed

DEFAULT_MIN_ROWS_PER_PARTITION = 10_000
"""A root smaller than this many rows per partition is shared: splitting it buys nothing but a model load."""


@dataclass(frozen=True)
class PartitionPlan:
    """Which tables each partition draws a share of, and the run's sizes (JSON-able, sent to executors)."""

    partitions: int
    seed: int
    sizes: dict[str, int]  # root table -> rows in the whole sample
    partitioned: tuple[str, ...]
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    strict_rules: bool = False  # a learned rule the output breaks is an error (`Synthesizer.strict_rules`)

    def root_sizes(self, part: int) -> dict[str, int]:
        """Partition `part`'s rows of each partitioned root (the remainder goes to the first partitions)."""
        return {n: self.sizes[n] // self.partitions + (part < self.sizes[n] % self.partitions)
                for n in self.partitioned if n in self.sizes}


def plan_partitions(plans: Mapping[str, TablePlan], order: list[str], sizes: dict[str, int], partitions: int,
                    seed: int, *, min_rows_per_partition: int = DEFAULT_MIN_ROWS_PER_PARTITION,
                    chunk_rows: int = DEFAULT_CHUNK_ROWS, strict_rules: bool = False) -> PartitionPlan:
    """Split the tables into partitioned and shared (see the module docstring)."""
    if partitions < 1:
        raise ConfigError(f"sample(partitions={partitions}) must be at least 1", hint="e.g. partitions=8")
    split: set[str] = set()
    for name in order:
        plan = plans[name]
        driving = plan.driving
        if driving is None:
            big = sizes.get(name, 0) >= min_rows_per_partition * partitions and partitions > 1
            if plan.copied is None and plan.key_capacity is None and big and not _one_tree(plan):
                split.add(name)
        elif driving.parent in split:
            if _one_tree(plan):
                raise ConfigError(
                    f"table {name!r} is one hierarchy of one root (self-reference "
                    f"{[f.columns for f in plan.foreign_keys if f.role == 'self']}), but its rows follow "
                    f"{driving.parent!r}, which is split over {partitions} partitions: each partition would draw "
                    "its own tree",
                    hint="sample with partitions=1, or with a min_rows_per_partition large enough that "
                         f"{driving.parent!r} is shared")
            split.add(name)
    # a shared table must not point at a partitioned one (partition 0's copy would reference rows elsewhere)
    for name in order:
        if name in split:
            continue
        wrong = [f.parent for f in plans[name].foreign_keys if f.parent in split]
        if wrong:
            raise ConfigError(
                f"table {name!r} is too small to be split over {partitions} partitions, but references the "
                f"split table(s) {wrong}",
                hint="sample with fewer partitions or a smaller min_rows_per_partition, so both are split")
        if plans[name].key_capacity is not None and plans[name].driving is not None \
                and plans[name].driving.parent in split:
            raise ConfigError(f"table {name!r} draws its key from declared values and cannot be split",
                              hint="sample it with partitions=1")
    return PartitionPlan(partitions, seed, dict(sizes), tuple(n for n in order if n in split), chunk_rows,
                         strict_rules)


def _one_tree(plan: TablePlan) -> bool:
    """A self-reference whose real hierarchy has a single root: split over partitions it would become several
    trees, so such a table is drawn whole (shared). A forest of many roots splits: each partition draws its
    share of the roots, levels and children (relational/hierarchy.py)."""
    return any(f.hierarchy is not None and f.hierarchy.roots == 1 for f in plan.foreign_keys if f.role == "self")


def sample_partition(artifact: bytes, part: int, sink: Any, *, plan: PartitionPlan,
                     pii: PiiSampling | None = None) -> dict[str, Any]:
    """Partition `part` of a distributed sample, from the saved model `artifact`, into `sink`. Returns the
    partition's sampling statistics (`SampleStats.to_dict`: rows, rejections, learned rules broken), which the
    driver merges: an executor's log is not the user's."""
    synth = _load(artifact)
    synth.strict_rules = plan.strict_rules
    judged = synth._judged()
    shared_order = [n for n in synth.order if n not in plan.partitioned]
    shared_plans = {n: synth.plans[n] for n in shared_order}
    shared = MemorySink()
    stats = sample_database(shared_plans, synth.models, judged, shared_order,
                            {n: s for n, s in plan.sizes.items() if n in shared_plans}, plan.seed, shared,
                            plan.chunk_rows, None, pii)
    report = stats.to_dict() if part == 0 else {"seed": plan.seed, "tables": {}}  # shared: partition 0 writes
    if part == 0:
        for name in shared_order:
            sink.write(name, shared.results[name])
            sink.close(name, synth.plans[name].columns)
    if not plan.partitioned:
        return report
    mine = {n: _in_partition(p, part, plan.partitions) if n in plan.partitioned else p
            for n, p in synth.plans.items()}
    drawn = sample_database(mine, synth.models, judged, synth.order, plan.root_sizes(part),
                            derive_seed(plan.seed, "partition", part), sink, plan.chunk_rows, None, pii,
                            given=shared.results)
    report["tables"].update({n: t for n, t in drawn.to_dict()["tables"].items() if n in plan.partitioned})
    return report


def _in_partition(plan: TablePlan, part: int, partitions: int) -> TablePlan:
    return replace(plan, key_formats={c: f.in_partition(part, partitions) for c, f in plan.key_formats.items()})


def _load(artifact: bytes) -> Any:
    """The synthesizer from its artifact bytes (read_artifact reads a file: a private temporary one)."""
    from synthohive_dbt.relational.synthesizer import Synthesizer  # the engine imports this module

    fd, path = tempfile.mkstemp(prefix="synthohive-model-", suffix=".shm")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(artifact)
        return Synthesizer.load(path)
    finally:
        os.unlink(path)


__all__ = ["DEFAULT_MIN_ROWS_PER_PARTITION", "PartitionPlan", "plan_partitions", "sample_partition"]

