"""A small two-table world (customers -> orders) drawn from a known distribution.

A second draw with another seed is a faithful "synthetic" copy: same distribution, no shared rows.
Tests plant one defect at a time in such a copy and check that the right metric or gate catches it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthohive_dbt.config import Constraint, Metadata


def make_world(n_customers: int = 1500, seed: int = 0, start_id: int = 1) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.arange(start_id, start_id + n_customers)
    age = np.clip(rng.normal(42, 12, n_customers), 18, 90).round()
    income = np.exp(9.5 + 0.02 * age + rng.normal(0, 0.35, n_customers)).round(2)
    segment = np.where(income > 60_000, "gold", np.where(income > 35_000, "silver", "bronze"))
    segment = np.where(rng.random(n_customers) < 0.1, rng.choice(["bronze", "silver", "gold", "trial"],
                                                                  n_customers), segment)
    signup = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1400, n_customers), unit="D")
    score = rng.normal(0, 1, n_customers)
    score[rng.random(n_customers) < 0.15] = np.nan
    customers = pd.DataFrame({"customer_id": ids, "age": age.astype(int), "income": income,
                              "segment": segment, "signup_date": signup, "score": score,
                              "email": [f"user{seed}_{i}@mail.test" for i in ids]})
    n_orders = rng.poisson(2.0, n_customers)
    cust = np.repeat(ids, n_orders)
    m = cust.size
    amount = np.round(rng.gamma(2.0, 20.0, m) * np.repeat(np.where(segment == "gold", 2.0, 1.0), n_orders), 2)
    status = rng.choice(["completed", "shipped", "returned", "placed"], m, p=[0.6, 0.2, 0.1, 0.1])
    orders = pd.DataFrame({"order_id": np.arange(start_id * 10, start_id * 10 + m), "customer_id": cust,
                           "amount": amount, "status": status})
    return {"customers": customers, "orders": orders}


def world_metadata() -> Metadata:
    md = Metadata()
    md.add_table("customers", pk="customer_id",
                 constraints={"age": Constraint(min=18, max=90, not_null=True),
                              "segment": Constraint(accepted_values=["bronze", "silver", "gold", "trial"]),
                              "email": Constraint(unique=True)},
                 pii_columns=["email"])
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"},
                 constraints={"amount": Constraint(min=0),
                              "status": Constraint(accepted_values=["completed", "shipped", "returned",
                                                                    "placed"])})
    return md
