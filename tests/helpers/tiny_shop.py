"""A small shop (users -> orders -> items) with a known children-per-parent shape, and a tiny CTGAN to fit it:
the relational tests are about keys, links and constraints, not about fidelity, so they stay fast."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthohive_dbt import Synthesizer
from synthohive_dbt.config import Constraint, Metadata

# a small network: these tests are about keys, links and constraints, not about fidelity
TINY = {"embedding_dim": 16, "generator_dims": (32,), "discriminator_dims": (32,), "pac": 1}
EPOCHS = 2


def shop_data(seed: int = 0, n_users: int = 300) -> dict[str, pd.DataFrame]:
    """users -> orders -> items; pro users have ~6 orders, free users ~1 (many have none)."""
    rng = np.random.default_rng(seed)
    tier = rng.choice(["free", "pro"], n_users, p=[0.7, 0.3])
    users = pd.DataFrame({"user_id": np.arange(1, n_users + 1), "tier": tier,
                          "age": rng.integers(18, 80, n_users), "email": [f"u{i}@x.com" for i in range(n_users)]})
    per_user = np.where(tier == "pro", rng.poisson(6, n_users), rng.poisson(1, n_users))
    uid = np.repeat(users["user_id"].to_numpy(), per_user)
    n_orders = len(uid)
    orders = pd.DataFrame({"order_id": [f"O-{i:06d}" for i in range(n_orders)], "user_id": uid,
                           "amount": rng.gamma(2, 20, n_orders).round(2) + 0.01,
                           "status": rng.choice(["placed", "shipped", "returned"], n_orders)})
    per_order = rng.integers(1, 4, n_orders)  # every order has 1..3 lines: minimum 1 must stay 1
    items = pd.DataFrame({"order_id": np.repeat(orders["order_id"].to_numpy(), per_order)})
    items["line_no"] = items.groupby("order_id").cumcount() + 1
    items["qty"] = rng.integers(1, 5, len(items))
    return {"users": users, "orders": orders, "items": items}


def shop_metadata() -> Metadata:
    meta = Metadata()
    meta.add_table("users", pk="user_id", pii_columns=["email"],
                   constraints={"age": Constraint(min=18, max=80, dtype="int")})
    meta.add_table("orders", pk="order_id", fk={"user_id": "users.user_id"},
                   constraints={"amount": Constraint(min=0, min_inclusive=False),
                                "status": Constraint(accepted_values=["placed", "shipped", "returned"],
                                                     not_null=True)})
    meta.add_table("items", pk=["order_id", "line_no"], fk={"order_id": "orders.order_id"},
                   constraints={"qty": Constraint(min=1, max=4)})
    return meta


def fit(meta: Metadata, data: dict[str, pd.DataFrame], seed: int = 7, **kw: object) -> Synthesizer:
    synth = Synthesizer(metadata=meta, model_kwargs=TINY)
    return synth.fit(data, epochs=EPOCHS, batch_size=100, seed=seed, **kw)
