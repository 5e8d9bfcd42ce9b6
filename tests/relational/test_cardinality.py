"""The children-per-parent model: shape, zeros, minimum 1, dependence on the parent, and the assignment
helpers (popularity, hierarchy)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthohive_dbt.relational.cardinality import ChildrenPerParent, deal_by_popularity, forest


def _parents(n: int, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    tier = rng.choice(["free", "pro"], n, p=[0.7, 0.3])
    counts = np.where(tier == "pro", rng.poisson(6, n), rng.poisson(0.5, n))
    return counts, pd.DataFrame({"ctx__tier": tier, "ctx__noise": rng.normal(size=n)})


def test_counts_follow_the_parent_bucket_and_keep_zeros() -> None:
    counts, ctx = _parents(4000)
    model = ChildrenPerParent.fit(counts, ctx)
    assert [b.column for b in model.binnings] == ["ctx__tier"]  # noise explains nothing and is left out
    new_counts, new_ctx = _parents(4000, seed=1)
    drawn = model.sample(new_ctx, len(new_ctx), np.random.default_rng(2))
    pro = new_ctx["ctx__tier"].to_numpy() == "pro"
    # real means 6 and 0.5; smoothing with 5 pseudo-parents of the global shape moves them by < 1%
    assert abs(drawn[pro].mean() - 6) < 0.3 and abs(drawn[~pro].mean() - 0.5) < 0.1
    # share of childless parents: real ~0.43; a sample of 4000 has a standard error of ~0.008
    assert abs((drawn == 0).mean() - (counts == 0).mean()) < 0.03
    assert drawn.min() >= 0


def test_minimum_of_one_stays_one_and_roundtrips_through_json() -> None:
    counts = np.random.default_rng(0).integers(1, 4, 500)
    model = ChildrenPerParent.from_dict(ChildrenPerParent.fit(counts, None).to_dict())
    drawn = model.sample(None, 10_000, np.random.default_rng(0))
    assert drawn.min() == 1 and drawn.max() == 3


def test_popularity_keeps_each_parents_share_and_zero_parents_get_nothing() -> None:
    weights = np.array([0, 10, 0, 30, 60])
    rows = deal_by_popularity(100, weights, np.random.default_rng(0))
    assert np.bincount(rows, minlength=5).tolist() == [0, 10, 0, 30, 60]
    more = deal_by_popularity(1000, weights, np.random.default_rng(0))
    got = np.bincount(more, minlength=5)
    assert got[0] == got[2] == 0 and abs(got[4] / 1000 - 0.6) < 0.05


def test_forest_has_no_cycles_and_keeps_the_root_share() -> None:
    rng = np.random.default_rng(0)
    parent = forest(2000, 0.05, rng.integers(0, 5, 2000), rng, allow_null=True)
    assert abs((parent < 0).mean() - 0.05) < 0.02
    # walking up from every row reaches a root in fewer steps than there are rows
    cur = np.arange(2000)
    for _ in range(2000):
        cur = np.where(cur >= 0, parent[np.maximum(cur, 0)], -1)
        if (cur < 0).all():
            break
    assert (cur < 0).all()


def test_top_up_keeps_every_parent_within_the_real_maximum_while_any_has_room() -> None:
    from synthohive_dbt.relational.cardinality import deal_by_popularity

    rng = np.random.default_rng(0)
    weights = rng.integers(0, 5, 100)
    out = deal_by_popularity(int(weights.sum()) + 150, weights, rng, cap=5)
    counts = np.bincount(out, minlength=100)
    assert counts.max() == 5 and len(out) == weights.sum() + 150
    # more rows than 100 parents x 5 can hold: the rest goes beyond the cap, in proportion
    assert len(deal_by_popularity(600, weights, rng, cap=5)) == 600


def test_thinning_keeps_the_real_minimum_when_every_parent_had_children() -> None:
    rng = np.random.default_rng(1)
    weights = rng.integers(1, 6, 200)  # every parent drawn with >= 1 child, as when every product sold
    out = deal_by_popularity(int(weights.sum()) // 2, weights, rng, cap=5, floor=1)
    counts = np.bincount(out, minlength=200)
    assert counts.min() == 1 and len(out) == weights.sum() // 2
    # fewer rows than parents: the floor cannot hold, every row is still dealt
    assert len(deal_by_popularity(100, weights, rng, cap=5, floor=1)) == 100
