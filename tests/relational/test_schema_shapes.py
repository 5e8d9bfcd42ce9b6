"""Two parents, a self-reference, a nullable foreign key, a key made only of foreign keys, a reference to a
unique non-key column, a copied lookup: one schema, fitted once with the real CTGAN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.config import Constraint, Metadata
from synthohive_dbt.relational.synthesizer import Synthesizer
from tests.helpers.tiny_shop import fit


def _data(seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n_prod, n_emp, n_cust = 60, 80, 200
    products = pd.DataFrame({
        "product_id": [f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(n_prod)],
        "sku": [f"SKU-{i:04d}" for i in range(n_prod)],
        "category_id": rng.integers(1, 4, n_prod), "price": rng.integers(1, 20, n_prod) * 5})
    categories = pd.DataFrame({"category_id": [1, 2, 3], "label": ["toys", "books", "food"]})
    manager = np.array([-1] + [int(rng.integers(0, i)) if rng.random() > 0.05 else -1 for i in range(1, n_emp)])
    employees = pd.DataFrame({"emp_id": np.arange(100, 100 + n_emp),
                              "manager_id": pd.array(np.where(manager >= 0, manager + 100, 0), dtype="Int64"),
                              "dept": rng.choice(["ops", "sales"], n_emp)})
    employees.loc[manager < 0, "manager_id"] = pd.NA
    customers = pd.DataFrame({"cust_code": [f"C-{i:06d}" for i in range(n_cust)],
                              "segment": rng.choice(["a", "b"], n_cust)})
    per_cust = rng.integers(0, 5, n_cust)
    n_orders = int(per_cust.sum())
    orders = pd.DataFrame({"order_id": np.arange(1, n_orders + 1),
                           "cust_code": np.repeat(customers["cust_code"].to_numpy(), per_cust),
                           "rep_id": np.where(rng.random(n_orders) < 0.3, np.nan,
                                              rng.choice(employees["emp_id"].to_numpy(), n_orders)),
                           "channel": rng.choice(["web", "store"], n_orders)})
    popularity = rng.pareto(1.5, n_prod) * (rng.random(n_prod) > 0.2)  # 20 % of products never sell
    lines = []
    for oid, k in zip(orders["order_id"], rng.integers(1, 4, n_orders)):
        pick = rng.choice(n_prod, size=k, replace=False, p=popularity / popularity.sum())
        lines += [(oid, products["product_id"].iloc[j]) for j in pick]
    items = pd.DataFrame(lines, columns=["order_id", "product_id"])
    items["qty"] = rng.integers(1, 4, len(items))
    reviews = pd.DataFrame({"review_id": np.arange(1, 151),
                            "sku": rng.choice(products["sku"].to_numpy(), 150), "stars": rng.integers(1, 6, 150)})
    return {"categories": categories, "products": products, "employees": employees, "customers": customers,
            "orders": orders, "order_items": items, "reviews": reviews}


def _metadata() -> Metadata:
    m = Metadata()
    m.add_table("categories", pk="category_id", copy_as_is=True)
    m.add_table("products", pk="product_id", fk={"category_id": "categories.category_id"},
                constraints={"sku": Constraint(unique=True, regex=r"^SKU-\d{4}$")})
    m.add_table("employees", pk="emp_id", fk={"manager_id": "employees.emp_id"})
    m.add_table("customers", pk="cust_code")
    m.add_table("orders", pk="order_id", fk={"cust_code": "customers.cust_code", "rep_id": "employees.emp_id"})
    m.add_table("order_items", pk=["order_id", "product_id"],
                fk={"order_id": "orders.order_id", "product_id": "products.product_id"},
                constraints={"qty": Constraint(min=1, max=3)})
    m.add_table("reviews", pk="review_id", fk={"sku": "products.sku"},
                constraints={"stars": Constraint(accepted_values=[1, 2, 3, 4, 5])})
    return m


@pytest.fixture(scope="module")
def fitted() -> tuple[dict[str, pd.DataFrame], Synthesizer, dict[str, pd.DataFrame]]:
    real = _data()
    synth = fit(_metadata(), real)
    return real, synth, synth.sample(scale=2.0, seed=3)


def test_every_foreign_key_references_a_generated_parent(fitted) -> None:
    _, synth, out = fitted
    for cfg in synth.metadata.tables.values():
        for fk in cfg.fk:
            child = out[cfg.name][fk.columns[0]].dropna()
            parent = out[fk.parent][fk.parent_columns[0]]
            assert child.isin(parent).all(), f"orphans in {cfg.name}.{fk.columns[0]}"


def test_table_with_two_parents_keeps_both_shapes(fitted) -> None:
    real, _, out = fitted
    items = out["order_items"]
    assert not items.duplicated(["order_id", "product_id"]).any()  # composite key of two foreign keys
    # driving parent (orders): 1..3 lines per order as in the real data
    per_order = items["order_id"].value_counts().reindex(out["orders"]["order_id"], fill_value=0)
    assert per_order.min() >= 1 and per_order.max() <= 3
    # secondary parent (products): the real popularity shape, childless products included. Real: ~20 % never
    # sell and the top 10 % of products carry a large share; 120 synthetic products -> standard error ~0.04
    def shape(lines: pd.DataFrame, products: pd.DataFrame) -> tuple[float, float]:
        per = lines["product_id"].value_counts().reindex(products["product_id"], fill_value=0)
        top = per.sort_values(ascending=False).iloc[: max(1, len(per) // 10)].sum() / per.sum()
        return float((per == 0).mean()), float(top)
    (real_zero, real_top), (syn_zero, syn_top) = shape(real["order_items"], real["products"]), \
        shape(items, out["products"])
    assert abs(syn_zero - real_zero) < 0.15 and abs(syn_top - real_top) < 0.2


def test_self_reference_is_a_hierarchy_without_cycles(fitted) -> None:
    real, _, out = fitted
    emp = out["employees"]
    parent = emp.set_index("emp_id")["manager_id"]
    assert parent.dropna().isin(emp["emp_id"]).all()
    cur = parent.copy()
    for _ in range(len(emp)):
        cur = parent.reindex(cur.dropna().to_numpy()).set_axis(cur.dropna().index)
        if cur.dropna().empty:
            break
    assert cur.dropna().empty, "some employees never reach a top manager"
    assert emp["manager_id"].isna().sum() >= 1
    assert abs(emp["manager_id"].isna().mean() - real["employees"]["manager_id"].isna().mean()) < 0.08
    assert str(emp["manager_id"].dtype) == "Int64"


def test_nullable_foreign_key_keeps_its_null_rate(fitted) -> None:
    real, _, out = fitted
    # real ~30 % nulls; ~1200 synthetic orders -> standard error 0.013, tolerance 0.06 (> 4 of them)
    assert abs(out["orders"]["rep_id"].isna().mean() - real["orders"]["rep_id"].isna().mean()) < 0.06


def test_reference_to_unique_non_key_column_and_generated_formats(fitted) -> None:
    _, _, out = fitted
    products = out["products"]
    assert products["sku"].is_unique and products["sku"].str.fullmatch(r"SKU-\d{4}").all()
    assert out["reviews"]["sku"].isin(products["sku"]).all()
    assert products["product_id"].str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                                r"[0-9a-f]{12}").all()
    assert out["customers"]["cust_code"].str.fullmatch(r"C-\d{6}").all()
    assert set(out["reviews"]["stars"]) <= {1, 2, 3, 4, 5}
    assert out["order_items"]["qty"].between(1, 3).all()


def test_lookup_is_copied_not_learned(fitted) -> None:
    real, _, out = fitted
    pd.testing.assert_frame_equal(out["categories"], real["categories"])


def test_two_fits_with_one_seed_are_bit_identical() -> None:
    real = _data(seed=1)
    small = {k: real[k] for k in ("customers", "orders", "employees")}
    meta = Metadata()
    meta.add_table("customers", pk="cust_code")
    meta.add_table("employees", pk="emp_id", fk={"manager_id": "employees.emp_id"})
    meta.add_table("orders", pk="order_id", fk={"cust_code": "customers.cust_code", "rep_id": "employees.emp_id"})
    a = fit(meta, small, seed=5).sample(seed=2)
    b = fit(meta, small, seed=5).sample(seed=2)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
