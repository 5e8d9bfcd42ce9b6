"""A synthetic shop with a KNOWN relational structure, so that intertable trends can be measured.

    customers ──< orders ──< order_items >── products

Three levels (customers → orders → order_items) and a second parent (products → order_items). Dependences
planted on purpose, each crossing a foreign key, so a synthesizer that ignores the parent loses them:

* segment → orders per customer: premium ~ Poisson(8), standard ~ Poisson(3), basic ~ Poisson(1) (many zero).
* segment → spend: premium orders have more lines (1 + Poisson(3) vs 1.5 vs 0.5), larger quantities,
  free shipping, and a 10 % discount; basic pays full price and ~6.99 shipping.
* segment → channel (premium prefers the app) and → product mix (premium buys 3x more electronics).
* customer age → segment (premium customers are older on average).
* signup_date → order_date: every order is 0–730 days after its customer's signup (a temporal link).
* product → line price: unit_price = list_price x (1 - discount), so the second parent drives the price.

Default size: 10,000 customers, 500 products → ~31k orders and ~94k order lines (~136k rows in all).
`customers=430, products=50` gives the ~5k-row three-level shop used for the "< 10 s fit" target.
Everything is vectorised numpy; the same seed gives the same tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEGMENTS = np.array(["premium", "standard", "basic"])
SEGMENT_P = [0.15, 0.55, 0.30]
ORDERS_MEAN = np.array([8.0, 3.0, 1.0])  # orders per customer, by segment
EXTRA_LINES_MEAN = np.array([3.0, 1.5, 0.5])  # order lines beyond the first, by segment
EXTRA_QTY_MEAN = np.array([1.0, 0.5, 0.2])  # quantity beyond 1, by segment
DISCOUNT = np.array([0.10, 0.03, 0.0])
SHIPPING = np.array([0.0, 4.99, 6.99])
CHANNELS = np.array(["app", "web", "store"])
CHANNEL_P = np.array([[0.6, 0.3, 0.1], [0.3, 0.5, 0.2], [0.1, 0.5, 0.4]])  # rows: segment
COUNTRIES = np.array(["DE", "FR", "ES", "IT", "NL", "PL", "SE", "AT"])
CATEGORIES = np.array(["electronics", "home", "books", "toys", "grocery"])
CATEGORY_PRICE = np.array([250.0, 60.0, 18.0, 30.0, 6.0])  # median list price by category
ELECTRONICS_WEIGHT = np.array([3.0, 1.0, 1.0])  # how much more likely an electronics line is, by segment


def generate(customers: int = 10_000, products: int = 500, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The four tables, keyed by name, with integer surrogate keys starting at 1."""
    rng = np.random.default_rng(seed)

    # products: category drives the price level
    p_cat = rng.integers(0, len(CATEGORIES), products)
    list_price = np.round(CATEGORY_PRICE[p_cat] * rng.lognormal(0.0, 0.35, products), 2)
    prod = pd.DataFrame({"product_id": np.arange(1, products + 1), "category": CATEGORIES[p_cat],
                         "list_price": list_price, "rating": np.round(rng.uniform(2.5, 5.0, products), 1)})

    # customers: age and segment are linked
    seg = rng.choice(3, customers, p=SEGMENT_P)
    age = np.clip(np.round(np.array([52.0, 40.0, 33.0])[seg] + rng.normal(0, 10, customers)), 18, 85).astype(int)
    signup = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, customers), unit="D")
    cust = pd.DataFrame({"customer_id": np.arange(1, customers + 1), "segment": SEGMENTS[seg], "age": age,
                         "country": rng.choice(COUNTRIES, customers), "signup_date": signup})

    # orders: how many per customer depends on the segment; dates follow the signup
    n_orders = rng.poisson(ORDERS_MEAN[seg])
    o_cust = np.repeat(np.arange(customers), n_orders)
    o_seg = seg[o_cust]
    total_orders = len(o_cust)
    o_date = signup.values[o_cust] + pd.to_timedelta(rng.integers(0, 730, total_orders), unit="D").values
    u = rng.random(total_orders)[:, None]
    channel = CHANNELS[(u > np.cumsum(CHANNEL_P[o_seg], axis=1)).sum(axis=1)]
    ords = pd.DataFrame({"order_id": np.arange(1, total_orders + 1), "customer_id": o_cust + 1,
                         "order_date": o_date, "channel": channel, "shipping_fee": SHIPPING[o_seg]})

    # order lines: count, product mix, quantity and discount depend on the customer's segment
    n_lines = 1 + rng.poisson(EXTRA_LINES_MEAN[o_seg])
    l_order = np.repeat(np.arange(total_orders), n_lines)
    l_seg = o_seg[l_order]
    weights = np.where(p_cat[None, :] == 0, ELECTRONICS_WEIGHT[:, None], 1.0)  # segment x product
    weights /= weights.sum(axis=1, keepdims=True)
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(l_order))[:, None]
    l_prod = np.minimum((u > cum[l_seg]).sum(axis=1), products - 1)
    qty = 1 + rng.poisson(EXTRA_QTY_MEAN[l_seg] + np.where(p_cat[l_prod] == 4, 1.5, 0.0))
    unit_price = np.round(list_price[l_prod] * (1 - DISCOUNT[l_seg]), 2)
    items = pd.DataFrame({"order_item_id": np.arange(1, len(l_order) + 1), "order_id": l_order + 1,
                          "product_id": l_prod + 1, "quantity": qty, "unit_price": unit_price})
    return {"customers": cust, "products": prod, "orders": ords, "order_items": items}


SCHEMA = {  # SDV-style metadata (also what SDMetrics reads); the neutral schema every engine is given
    "tables": {
        "customers": {"primary_key": "customer_id", "columns": {
            "customer_id": {"sdtype": "id"}, "segment": {"sdtype": "categorical"},
            "age": {"sdtype": "numerical", "computer_representation": "Int64"},
            "country": {"sdtype": "categorical"},
            "signup_date": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"}}},
        "products": {"primary_key": "product_id", "columns": {
            "product_id": {"sdtype": "id"}, "category": {"sdtype": "categorical"},
            "list_price": {"sdtype": "numerical", "computer_representation": "Float"},
            "rating": {"sdtype": "numerical", "computer_representation": "Float"}}},
        "orders": {"primary_key": "order_id", "columns": {
            "order_id": {"sdtype": "id"}, "customer_id": {"sdtype": "id"},
            "order_date": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"},
            "channel": {"sdtype": "categorical"},
            "shipping_fee": {"sdtype": "numerical", "computer_representation": "Float"}}},
        "order_items": {"primary_key": "order_item_id", "columns": {
            "order_item_id": {"sdtype": "id"}, "order_id": {"sdtype": "id"}, "product_id": {"sdtype": "id"},
            "quantity": {"sdtype": "numerical", "computer_representation": "Int64"},
            "unit_price": {"sdtype": "numerical", "computer_representation": "Float"}}},
    },
    "relationships": [
        {"parent_table_name": "customers", "parent_primary_key": "customer_id",
         "child_table_name": "orders", "child_foreign_key": "customer_id"},
        {"parent_table_name": "orders", "parent_primary_key": "order_id",
         "child_table_name": "order_items", "child_foreign_key": "order_id"},
        {"parent_table_name": "products", "parent_primary_key": "product_id",
         "child_table_name": "order_items", "child_foreign_key": "product_id"},
    ],
}
