"""Reading under a row budget: sampled at the roots, children follow their parents, nothing dangles."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from synthohive_dbt.config import Metadata
from synthohive_dbt.errors import WarehouseError
from synthohive_dbt.io import read_tables
from synthohive_dbt.io.copy import copy_frame
from synthohive_dbt.io.warehouse import reflect_columns
from synthohive_dbt.io.warehouses import warehouse_for
from tests.helpers.warehouses import IO_WAREHOUSES, execute

DDL = {
    "customers": "customer_id INTEGER, name VARCHAR(30)",
    "products": "sku VARCHAR(10), price DOUBLE PRECISION",
    "orders": "order_id INTEGER, customer_id INTEGER, placed DATE",
    "order items": '"order id" INTEGER, line INTEGER, sku VARCHAR(10), qty INTEGER',
    "employees": "employee_id INTEGER, manager_id INTEGER, team VARCHAR(10)",
}
FKS = [
    ("orders", ["customer_id"], "customers", ["customer_id"]),
    ("order items", ["order id"], "orders", ["order_id"]),
    ("order items", ["sku"], "products", ["sku"]),
    ("employees", ["manager_id"], "employees", ["employee_id"]),
]
PKS = {"customers": ["customer_id"], "products": ["sku"], "orders": ["order_id"],
       "order items": ["order id", "line"], "employees": ["employee_id"]}


def _frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(7)
    customers = pd.DataFrame({"customer_id": np.arange(1, 501), "name": [f"c{i}" for i in range(500)]})
    products = pd.DataFrame({"sku": [f"P{i:03d}" for i in range(50)], "price": rng.uniform(1, 99, 50)})
    per_customer = rng.integers(0, 7, 500)
    orders = pd.DataFrame({"order_id": np.arange(1, per_customer.sum() + 1),
                           "customer_id": np.repeat(customers["customer_id"].to_numpy(), per_customer),
                           "placed": pd.to_datetime("2023-01-01") + pd.to_timedelta(
                               rng.integers(0, 365, per_customer.sum()), unit="D")})
    per_order = rng.integers(1, 5, len(orders))
    items = pd.DataFrame({"order id": np.repeat(orders["order_id"].to_numpy(), per_order),
                          "line": np.concatenate([np.arange(1, k + 1) for k in per_order]),
                          "sku": rng.choice(products["sku"].to_numpy(), per_order.sum()),
                          "qty": rng.integers(1, 9, per_order.sum())})
    ids = np.arange(1, 401)
    managers = np.where(ids <= 5, np.nan, rng.integers(1, np.maximum(ids, 2)).astype(float))
    employees = pd.DataFrame({"employee_id": ids, "manager_id": pd.array(managers, dtype="Int64"),
                              "team": rng.choice(["a", "b", "c"], 400)})
    return {"customers": customers, "products": products, "orders": orders, "order items": items,
            "employees": employees}


@pytest.fixture(scope="module", params=IO_WAREHOUSES)
def warehouse(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    if request.param == "duckdb":
        engine = sa.create_engine(f"duckdb:///{tmp_path_factory.mktemp('s') / 's.duckdb'}")
    elif request.param == "postgres":
        server = request.getfixturevalue("postgres_server")
        engine = sa.create_engine(server.sqlalchemy_url(server.create_database()))
    else:
        engine = sa.create_engine(request.getfixturevalue("mariadb_server").reset())
    wh = warehouse_for(engine)
    with engine.begin() as conn:
        execute(conn, "CREATE SCHEMA shop")
        for name, frame in _frames().items():
            execute(conn, f'CREATE TABLE shop."{name}" ({DDL[name]})')
            copy_frame(conn, wh.qualified("shop", name), frame, reflect_columns(conn, "shop", name),
                       schema="shop", table_name=name)
    yield engine
    engine.dispose()


TABLES = {name: ("shop", name) for name in DDL}


def test_without_budget_every_row_is_read_typed(warehouse: sa.Engine) -> None:
    out = read_tables(warehouse, TABLES, foreign_keys=FKS, primary_keys=PKS)
    full = _frames()
    assert {n: len(f) for n, f in out.items()} == {n: len(f) for n, f in full.items()}
    assert str(out["employees"]["manager_id"].dtype) == "Int64"
    assert out["orders"]["placed"].dtype == "datetime64[us]"
    assert out["orders"]["order_id"].tolist() == sorted(full["orders"]["order_id"].tolist())


def test_budget_samples_roots_and_keeps_every_child_of_kept_parents(warehouse: sa.Engine) -> None:
    full = _frames()
    out = read_tables(warehouse, TABLES, foreign_keys=FKS, primary_keys=PKS, max_rows=300, seed=3)
    cust, orders, items, emps = out["customers"], out["orders"], out["order items"], out["employees"]

    # customers drive orders and order items: their share is 300 / rows(order items)
    assert len(cust) == math.ceil(500 * 300 / len(full["order items"]))
    assert len(out["products"]) == 50  # a small lookup root is not cut
    assert 100 < len(items) < 600

    # nothing dangles
    assert set(orders["customer_id"]) <= set(cust["customer_id"])
    assert set(items["order id"]) <= set(orders["order_id"])
    assert set(items["sku"]) <= set(out["products"]["sku"])
    assert set(emps["manager_id"].dropna()) <= set(emps["employee_id"])

    # children per parent are complete, not cut
    want = full["orders"][full["orders"]["customer_id"].isin(cust["customer_id"])]
    assert sorted(orders["order_id"]) == sorted(want["order_id"])
    want_items = full["order items"][full["order items"]["order id"].isin(orders["order_id"])]
    assert len(items) == len(want_items)

    # the self-referencing root keeps its share plus the ancestors it needs
    assert 300 <= len(emps) < 400


def test_budget_sampling_is_deterministic_per_seed(warehouse: sa.Engine) -> None:
    a = read_tables(warehouse, TABLES, foreign_keys=FKS, primary_keys=PKS, max_rows=300, seed=11)
    b = read_tables(warehouse, TABLES, foreign_keys=FKS, primary_keys=PKS, max_rows=300, seed=11)
    c = read_tables(warehouse, TABLES, foreign_keys=FKS, primary_keys=PKS, max_rows=300, seed=12)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert a["customers"]["customer_id"].tolist() != c["customers"]["customer_id"].tolist()


def test_metadata_gives_keys_and_foreign_keys(warehouse: sa.Engine) -> None:
    meta = Metadata()
    meta.add_table("customers", pk="customer_id")
    meta.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    out = read_tables(warehouse, {"customers": ("shop", "customers"), "orders": ("shop", "orders")},
                      foreign_keys=meta, max_rows=100, seed=0)
    assert len(out["orders"]) >= 90
    assert set(out["orders"]["customer_id"]) <= set(out["customers"]["customer_id"])
    assert len(out["customers"]) < 100


def test_bad_budget_and_missing_table_say_what_and_where(warehouse: sa.Engine) -> None:
    with pytest.raises(WarehouseError, match="max_rows must be at least 1, got 0"):
        read_tables(warehouse, TABLES, max_rows=0)
    with pytest.raises(WarehouseError, match="table shop.nope does not exist"):
        read_tables(warehouse, {"nope": ("shop", "nope")})
