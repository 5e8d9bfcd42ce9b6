"""Regenerate the example project's seed CSVs (invented data, fixed seed): python scripts/make_seeds.py.

Why a script: the seeds must look realistic (skewed order counts, managers above their reports, prices that
match between order lines and products) while staying small and reproducible.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "seeds"
FIRST = ["Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ivo", "Jun", "Kofi", "Lena",
         "Mateo", "Nia", "Oskar", "Priya", "Quinn", "Rosa", "Sami", "Tomas", "Uma", "Viktor", "Wen", "Yara",
         "Zeno", "Ines", "Lars", "Mira", "Noel", "Olga"]
LAST = ["Abara", "Brenner", "Castell", "Dovic", "Ekwueme", "Falk", "Grau", "Holm", "Ishida", "Jansen", "Kovac",
        "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rahman", "Silva", "Tanaka", "Ulloa",
        "Varga", "Weber", "Yilmaz", "Zoric"]
COUNTRIES = ["DE", "FR", "NL", "SE", "ES", "IT", "PL", "US", "GB", "JP"]
CATEGORIES = {"kitchen": (8, 120), "garden": (5, 300), "office": (2, 80), "outdoor": (15, 450), "toys": (4, 60)}


def main() -> None:
    rng = np.random.default_rng(20240611)
    OUT.mkdir(exist_ok=True)

    n_cust = 200
    first = rng.choice(FIRST, n_cust)
    last = rng.choice(LAST, n_cust)
    customers = pd.DataFrame({
        "customer_id": np.arange(1, n_cust + 1),
        "first_name": first,
        "last_name": last,
        "email": [f"{f.lower()}.{s.lower()}{i}@example.com" for i, (f, s) in enumerate(zip(first, last), 1)],
        "country_code": rng.choice(COUNTRIES, n_cust, p=[.2, .14, .1, .06, .1, .08, .07, .13, .08, .04]),
        "segment": rng.choice(["consumer", "small_business", "enterprise"], n_cust, p=[.7, .22, .08]),
        "signed_up_on": (pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n_cust), unit="D"))
        .strftime("%Y-%m-%d"),
    })

    cats = rng.choice(list(CATEGORIES), 50)
    lo = np.array([CATEGORIES[c][0] for c in cats])
    hi = np.array([CATEGORIES[c][1] for c in cats])
    products = pd.DataFrame({
        "product_id": np.arange(101, 151),
        "sku": [f"{c[:3].upper()}-{i:04d}" for i, c in enumerate(cats, 7)],
        "product_name": [f"{c.title()} item {i}" for i, c in enumerate(cats, 1)],
        "category": cats,
        "list_price": np.round(lo + (hi - lo) * rng.beta(2, 5, 50), 2),
        "is_active": rng.random(50) > 0.1,
    })

    n_emp = 30
    managers = [None] + [int(rng.integers(1, max(2, (i // 3) + 1))) for i in range(2, n_emp + 1)]
    employees = pd.DataFrame({
        "employee_id": np.arange(1, n_emp + 1),
        "full_name": [f"{a} {b}" for a, b in zip(rng.choice(FIRST, n_emp), rng.choice(LAST, n_emp))],
        "manager_id": pd.array(managers, dtype="Int64"),
        "department": ["executive"] + list(rng.choice(["sales", "support", "operations"], n_emp - 1)),
        "hired_on": (pd.Timestamp("2018-03-01") + pd.to_timedelta(np.sort(rng.integers(0, 1500, n_emp)), unit="D"))
        .strftime("%Y-%m-%d"),
    })

    weights = rng.pareto(1.5, n_cust) + 0.2
    n_orders = 1000
    cust_of_order = rng.choice(customers["customer_id"], n_orders, p=weights / weights.sum())
    signup = pd.to_datetime(customers.set_index("customer_id").loc[cust_of_order, "signed_up_on"]).to_numpy()
    ordered_at = pd.to_datetime(signup) + pd.to_timedelta(rng.integers(0, 500, n_orders), unit="D")
    sales = employees.loc[employees["department"] == "sales", "employee_id"].to_numpy()
    orders = pd.DataFrame({
        "order_id": np.arange(1001, 1001 + n_orders),
        "customer_id": cust_of_order,
        "sales_rep_id": pd.array(np.where(rng.random(n_orders) < 0.3, rng.choice(sales, n_orders), -1),
                                 dtype="Int64").astype("Int64"),
        "ordered_at": ordered_at.strftime("%Y-%m-%d"),
        "status": rng.choice(["placed", "shipped", "completed", "returned", "cancelled"], n_orders,
                             p=[.08, .12, .7, .05, .05]),
    }).sort_values("ordered_at", kind="stable").reset_index(drop=True)
    orders["order_id"] = np.arange(1001, 1001 + n_orders)
    orders.loc[orders["sales_rep_id"] == -1, "sales_rep_id"] = pd.NA

    lines = rng.integers(1, 5, n_orders)
    lines[rng.random(n_orders) < 0.15] += 1
    extra = 2500 - lines.sum()
    lines[rng.choice(n_orders, abs(extra), replace=False)] += np.sign(extra)
    lines = np.maximum(lines, 1)
    prod = rng.choice(products["product_id"], lines.sum())
    price = products.set_index("product_id").loc[prod, "list_price"].to_numpy()
    items = pd.DataFrame({
        "order_id": np.repeat(orders["order_id"], lines),
        "line_number": np.concatenate([np.arange(1, k + 1) for k in lines]),
        "product_id": prod,
        "quantity": np.minimum(1 + rng.poisson(0.8, lines.sum()), 20),
        "unit_price": price,
        "discount_pct": np.where(rng.random(lines.sum()) < 0.2, rng.choice([0.05, 0.1, 0.15, 0.25], lines.sum()), 0.0),
    })

    totals = (items["quantity"] * items["unit_price"] * (1 - items["discount_pct"])).groupby(items["order_id"]).sum()
    paid = orders[orders["status"] != "cancelled"]
    n_pay = np.where(rng.random(len(paid)) < 0.1, 2, 1)
    pay_order = np.repeat(paid["order_id"].to_numpy(), n_pay)
    share = np.where(np.repeat(n_pay, n_pay) == 2, 0.5, 1.0)
    pay_dates = pd.to_datetime(np.repeat(paid["ordered_at"].to_numpy(), n_pay)) + pd.to_timedelta(
        rng.integers(0, 4, len(pay_order)), unit="D")
    payments = pd.DataFrame({
        "payment_id": np.arange(50001, 50001 + len(pay_order)),
        "order_id": pay_order,
        "payment_method": rng.choice(["credit_card", "bank_transfer", "gift_card", "paypal"], len(pay_order),
                                     p=[.55, .2, .05, .2]),
        "amount": np.round(totals.loc[pay_order].to_numpy() * share, 2),
        "paid_at": pay_dates.strftime("%Y-%m-%d"),
    })

    for name, frame in {"raw_customers": customers, "raw_products": products, "raw_employees": employees,
                        "raw_orders": orders, "raw_order_items": items, "raw_payments": payments}.items():
        frame.to_csv(OUT / f"{name}.csv", index=False)


if __name__ == "__main__":
    main()
