"""A Hive database for the Spark tests: three levels (customers -> orders -> order_items) and a two-parent
table (order_items also references products), with the Spark types pandas lacks (decimal(p,s), timestamp_ntz,
date). Written through the session's own catalog, so the tests read it as a user's Hive tables."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.config import Constraint, Metadata

STATUSES = ["placed", "shipped", "returned"]
SEGMENTS = ["retail", "smb", "enterprise"]


def shop_frames(seed: int = 0, n_customers: int = 120, n_products: int = 15) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame({
        "customer_id": np.arange(1, n_customers + 1, dtype=np.int64),
        "segment": rng.choice(SEGMENTS, n_customers, p=[0.6, 0.3, 0.1]),
        "credit": [Decimal(f"{v:.2f}") for v in rng.gamma(3, 300, n_customers)],
        "signup": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n_customers), unit="D"),
    })
    products = pd.DataFrame({"product_id": [f"P-{i:04d}" for i in range(1, n_products + 1)],
                             "price": [Decimal(f"{v:.2f}") for v in rng.uniform(1, 200, n_products)],
                             "category": rng.choice(["tools", "toys", "food"], n_products)})
    per = np.where(customers["segment"] == "enterprise", rng.poisson(5, n_customers), rng.poisson(2, n_customers))
    cid = np.repeat(customers["customer_id"].to_numpy(), per)
    orders = pd.DataFrame({"order_id": np.arange(1000, 1000 + len(cid), dtype=np.int64), "customer_id": cid,
                           "status": rng.choice(STATUSES, len(cid)),
                           "ordered_at": pd.to_datetime("2021-01-01") + pd.to_timedelta(
                               rng.integers(0, 10**7, len(cid)), unit="s")})
    lines = rng.integers(1, 4, len(orders))
    items = pd.DataFrame({"item_id": np.arange(1, lines.sum() + 1, dtype=np.int64),
                          "order_id": np.repeat(orders["order_id"].to_numpy(), lines),
                          "product_id": rng.choice(products["product_id"].to_numpy(), int(lines.sum())),
                          "quantity": rng.integers(1, 6, int(lines.sum())).astype(np.int32)})
    return {"customers": customers, "products": products, "orders": orders, "order_items": items}


SCHEMAS = {
    "customers": "customer_id bigint, segment string, credit decimal(10,2), signup date",
    "products": "product_id string, price decimal(8,2), category string",
    "orders": "order_id bigint, customer_id bigint, status string, ordered_at timestamp_ntz",
    "order_items": "item_id bigint, order_id bigint, product_id string, quantity int",
}


def shop_metadata() -> Metadata:
    meta = Metadata()
    meta.add_table("customers", pk="customer_id",
                   constraints={"segment": Constraint(accepted_values=SEGMENTS, not_null=True),
                                "credit": Constraint(min=0)})
    meta.add_table("products", pk="product_id", constraints={"price": Constraint(min=0)})
    meta.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"},
                   constraints={"status": Constraint(accepted_values=STATUSES, not_null=True)})
    meta.add_table("order_items", pk="item_id",
                   fk={"order_id": "orders.order_id", "product_id": "products.product_id"},
                   constraints={"quantity": Constraint(min=1, max=5, dtype="int")})
    return meta


def create_shop(spark: Any, database: str, seed: int = 0, **sizes: int) -> dict[str, pd.DataFrame]:
    """Write the shop into Hive database `database` (created, replaced if there) and return its frames."""
    frames = shop_frames(seed, **sizes)
    spark.sql(f"DROP DATABASE IF EXISTS {database} CASCADE")
    spark.sql(f"CREATE DATABASE {database}")
    for name, frame in frames.items():
        data = frame.copy()
        if name == "customers":
            data["signup"] = data["signup"].dt.date
        df = spark.createDataFrame(data, schema=SCHEMAS[name])
        df.write.format("parquet").saveAsTable(f"{database}.{name}")
    return frames


_SOURCES = """version: 2
sources:
  - name: shop
    schema: "{{ var('shop_schema', 'dbt_real') }}"
    tables:
      - name: customers
        columns:
          - name: customer_id
            tests: [unique, not_null]
          - name: segment
            tests:
              - not_null
              - accepted_values: {arguments: {values: ['retail', 'smb', 'enterprise']}}
      - name: products
        columns:
          - name: product_id
            tests: [unique, not_null]
      - name: orders
        columns:
          - name: order_id
            tests: [unique, not_null]
          - name: customer_id
            tests:
              - relationships: {arguments: {to: "source('shop', 'customers')", field: customer_id}}
          - name: status
            tests:
              - accepted_values: {arguments: {values: ['placed', 'shipped', 'returned']}}
      - name: order_items
        columns:
          - name: item_id
            tests: [unique, not_null]
          - name: order_id
            tests:
              - relationships: {arguments: {to: "source('shop', 'orders')", field: order_id}}
          - name: product_id
            tests:
              - relationships: {arguments: {to: "source('shop', 'products')", field: product_id}}
models:
  - name: customer_orders
    columns:
      - name: customer_id
        tests: [unique, not_null]
"""

_MODEL = """select c.customer_id, c.segment, count(o.order_id) as n_orders
from {{ source('shop', 'customers') }} c
left join {{ source('shop', 'orders') }} o on o.customer_id = c.customer_id
group by c.customer_id, c.segment
"""


def write_shop_project(folder: Any, build_schema: str = "dbt_build") -> None:
    """A dbt project over the shop's sources with a `spark` target (`method: session`, dbt-spark): its
    tests are the keys, relationships and accepted values of the shop; one model reads two sources."""
    from pathlib import Path

    root = Path(folder)
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text("name: shop\nversion: '1.0'\nprofile: shop\nmodel-paths: [models]\n"
                                          "models:\n  shop:\n    +materialized: view\n")
    (root / "models" / "sources.yml").write_text(_SOURCES)
    (root / "models" / "customer_orders.sql").write_text(_MODEL)
    (root / "profiles.yml").write_text(
        "shop:\n  target: spark\n  outputs:\n    spark:\n      type: spark\n      method: session\n"
        f"      host: NA\n      schema: {build_schema}\n")
