"""A planted invoice schema with rules across foreign keys, as real shops keep them:

- `invoices.billing_country = customers.country` and `invoices.billing_score = customers.score` (lookups);
- `invoices.total = round(sum(lines.unit_price * lines.quantity), 2)`, `invoices.item_count = count(lines)`,
  `invoices.max_quantity = max(lines.quantity)` (aggregates; an invoice without lines has total 0, count 0 and
  a null max);
- `lines.discount` and `invoices.noise` independent of everything (no rule may use them).

`invoice_frames(n_customers, seed)` returns the three tables; `invoice_metadata()` their keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthohive_dbt.config import Metadata

COUNTRIES = ["DE", "FR", "US", "BR", "JP", "IN"]
LOOKUPS = {"billing_country = customers.country via customer_id",
           "billing_score = customers.score via customer_id"}
AGGREGATES = {"total = round(sum(lines.unit_price * lines.quantity), 2) via invoice_id",
              "item_count = count(lines) via invoice_id",
              "max_quantity = max(lines.quantity) via invoice_id"}


def invoice_frames(n_customers: int = 80, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame({"customer_id": np.arange(1, n_customers + 1),
                              "country": rng.choice(COUNTRIES, n_customers),
                              "score": rng.integers(1, 100, n_customers).astype(float)})
    per_customer = rng.integers(1, 5, n_customers)
    owner = np.repeat(customers["customer_id"].to_numpy(), per_customer)
    n_inv = len(owner)
    lines_per = rng.integers(0, 6, n_inv)
    lines_per[:3] = 0  # a few invoices without lines
    invoice_id = np.arange(1, n_inv + 1)
    line_owner = np.repeat(invoice_id, lines_per)
    lines = pd.DataFrame({"line_id": np.arange(1, len(line_owner) + 1), "invoice_id": line_owner,
                          "unit_price": np.round(rng.uniform(0.5, 40, len(line_owner)), 2),
                          "quantity": rng.integers(1, 8, len(line_owner)),
                          "discount": np.round(rng.uniform(0, 3, len(line_owner)), 2)})
    amount = lines["unit_price"] * lines["quantity"]
    total = amount.groupby(lines["invoice_id"]).sum().reindex(invoice_id, fill_value=0.0).round(2).to_numpy()
    count = lines.groupby("invoice_id").size().reindex(invoice_id, fill_value=0).to_numpy()
    biggest = lines.groupby("invoice_id")["quantity"].max().reindex(invoice_id).to_numpy()
    by_id = customers.set_index("customer_id")
    invoices = pd.DataFrame({"invoice_id": invoice_id, "customer_id": owner,
                             "invoiced_on": pd.Timestamp("2024-01-01") + pd.to_timedelta(
                                 rng.integers(0, 365, n_inv), unit="D"),
                             "billing_country": by_id.loc[owner, "country"].to_numpy(),
                             "billing_score": by_id.loc[owner, "score"].to_numpy(),
                             "total": total, "item_count": count, "max_quantity": biggest,
                             "noise": rng.normal(size=n_inv)})
    return {"customers": customers, "invoices": invoices, "lines": lines}


def invoice_metadata() -> Metadata:
    meta = Metadata()
    meta.add_table("customers", pk="customer_id")
    meta.add_table("invoices", pk="invoice_id", fk={"customer_id": "customers.customer_id"})
    meta.add_table("lines", pk="line_id", fk={"invoice_id": "invoices.invoice_id"})
    return meta
