"""The pieces of a distributed sample that need no Spark: keys per partition never meet, and which tables are
split over partitions and which are drawn alike in every partition (relational/distributed.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.errors import ConfigError, ConstraintViolationError
from synthohive_dbt.relational.distributed import plan_partitions
from synthohive_dbt.relational.keys import KeyFormat
from tests.helpers.tiny_shop import fit, shop_data, shop_metadata

FORMATS = [
    KeyFormat("int_sequence", start=1),
    KeyFormat("int_random", low=10, high=500),
    KeyFormat("pattern", dtype="object", prefix="C-", width=6, start=1),
    KeyFormat("float_sequence", dtype="float64", start=0.5, step=0.5),
    KeyFormat("date_sequence", dtype="datetime64[us]", start=0, step=86_400 * 10**6),
    KeyFormat("token", dtype="object", alphabet="ab", length=3),
    KeyFormat("uuid", dtype="object"),
]


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.kind)
def test_keys_of_different_partitions_never_meet(fmt: KeyFormat) -> None:
    parts = [fmt.in_partition(p, 3).generate(200, np.random.default_rng(p)) for p in range(3)]
    values = pd.Index(np.concatenate(parts))
    assert values.is_unique and len(values) == 600
    assert fmt.in_partition(0, 1) is fmt  # one partition: the format as learned


def test_declared_keys_cannot_be_split() -> None:
    with pytest.raises(ConstraintViolationError, match="cannot be split"):
        KeyFormat("declared", dtype="object", extra={"values": ["a", "b"]}).in_partition(1, 2)


def test_large_roots_and_their_children_are_split_small_roots_are_shared() -> None:
    synth = fit(shop_metadata(), shop_data(n_users=60))
    plan = plan_partitions(synth.plans, synth.order, {"users": 1000}, 4, 7, min_rows_per_partition=100)
    assert plan.partitioned == ("users", "orders", "items")
    assert sum(plan.root_sizes(p)["users"] for p in range(4)) == 1000
    small = plan_partitions(synth.plans, synth.order, {"users": 100}, 4, 7, min_rows_per_partition=100)
    assert small.partitioned == ()
    with pytest.raises(ConfigError, match="at least 1"):
        plan_partitions(synth.plans, synth.order, {"users": 100}, 0, 7)
