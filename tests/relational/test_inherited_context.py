"""Grandparent attributes reach grandchildren: order lines see their customer's tier through the order.

The planted trend lives two levels down (users.tier -> items.qty and items per order); orders carry no trace
of it in their own columns, so only the inherited context can teach it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthohive_dbt.config import Metadata
from synthohive_dbt.relational.synthesizer import Synthesizer


def _data(seed: int = 0, n_users: int = 400) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    tier = rng.choice(["free", "pro"], n_users, p=[0.6, 0.4])
    users = pd.DataFrame({"user_id": np.arange(n_users), "tier": tier, "age": rng.integers(18, 80, n_users),
                          "signup": pd.Timestamp("2024-01-01", tz="Europe/Paris")
                          + pd.to_timedelta(rng.integers(0, 700, n_users), unit="D")})
    uid = np.repeat(users["user_id"].to_numpy(), 1 + rng.poisson(2, n_users))
    orders = pd.DataFrame({"order_id": np.arange(len(uid)), "user_id": uid,
                           "channel": rng.choice(["web", "app"], len(uid))})
    pro = (tier == "pro")[uid]
    per_order = np.where(pro, 3 + rng.poisson(2, len(uid)), 1)
    oid = np.repeat(orders["order_id"].to_numpy(), per_order)
    item_pro = np.repeat(pro, per_order)
    items = pd.DataFrame({"item_id": np.arange(len(oid)), "order_id": oid,
                          "qty": np.where(item_pro, rng.integers(5, 9, len(oid)), rng.integers(1, 3, len(oid)))})
    return {"users": users, "orders": orders, "items": items}


def _meta() -> Metadata:
    meta = Metadata()
    meta.add_table("users", pk="user_id")
    meta.add_table("orders", pk="order_id", fk={"user_id": "users.user_id"})
    meta.add_table("items", pk="item_id", fk={"order_id": "orders.order_id"})
    return meta


def _by_tier(out: dict[str, pd.DataFrame]) -> pd.DataFrame:
    joined = out["items"].merge(out["orders"], on="order_id").merge(out["users"], on="user_id")
    per_order = joined.groupby("order_id").agg(tier=("tier", "first"), lines=("item_id", "size"))
    return pd.DataFrame({"qty": joined.groupby("tier")["qty"].mean(),
                         "lines": per_order.groupby("tier")["lines"].mean()})


def test_grandchildren_learn_a_trend_planted_in_their_grandparent(tmp_path) -> None:
    data = _data()
    synth = Synthesizer(_meta(), backend="AR").fit(data, seed=3)
    assert "signup" in synth.plans["orders"].context.parent_columns  # dates are context, tz-aware ones too
    ctx = synth.plans["items"].context
    assert ctx is not None and ctx.parent == "orders"
    assert "ctx__tier" in ctx.parent_columns and "channel" in ctx.parent_columns
    real, fake = _by_tier(data), _by_tier(synth.sample(scale=1.0, seed=4))
    # real: pro lines carry qty 5..8 and 3+ lines per order, free lines qty 1..2 and one line
    assert fake.loc["pro", "qty"] > 4.5 and fake.loc["free", "qty"] < 2.5, fake
    assert fake.loc["pro", "lines"] > 2.5 * fake.loc["free", "lines"], (fake, real)
    synth.save(tmp_path / "m.shm")
    again = Synthesizer.load(tmp_path / "m.shm").sample(scale=1.0, seed=4)
    pd.testing.assert_frame_equal(_by_tier(again), fake)


def test_dates_are_default_context_only_for_models_that_gain_from_them() -> None:
    """CTGAN's intertable trends dropped with dates in its context (137k-row shop: 0.640 -> 0.592), AR's rose."""
    tiny = {"embedding_dim": 8, "generator_dims": (16,), "discriminator_dims": (16,), "pac": 1}
    synth = Synthesizer(_meta(), model_kwargs=tiny).fit(_data(n_users=60), epochs=1, batch_size=50, seed=0)
    assert synth.plans["orders"].context.parent_columns == ["tier", "age"]
    assert synth.plans["items"].context.parent_columns == ["channel", "ctx__tier", "ctx__age"]
