"""The reader on every corpus manifest, against keys and constraints read from the manifests by hand."""

from __future__ import annotations

import json

import pytest

from synthohive_dbt.config import Constraint
from synthohive_dbt.manifest import read_manifest
from synthohive_dbt.manifest.loader import load_manifest
from synthohive_dbt.manifest.testkinds import interpret_test
from tests.helpers.manifests import corpus_manifest

ORDER_STATUSES = ["placed", "shipped", "completed", "return_pending", "returned"]


def fk_labels(result, name: str) -> list[str]:
    return [fk.label for fk in result.metadata.tables[name].fk]


def test_jaffle_shop_classic_keys_foreign_keys_and_constraints() -> None:
    r = read_manifest(corpus_manifest("jaffle_shop_classic"))
    t = r.metadata.tables
    assert sorted(t) == ["customers", "orders", "raw_customers", "raw_orders", "raw_payments",
                         "stg_customers", "stg_orders", "stg_payments"]
    assert {n: t[n].pk for n in t} == {
        "customers": ["customer_id"], "orders": ["order_id"], "stg_customers": ["customer_id"],
        "stg_orders": ["order_id"], "stg_payments": ["payment_id"],
        "raw_customers": [], "raw_orders": [], "raw_payments": []}
    assert fk_labels(r, "orders") == ["(customer_id) -> customers(customer_id)"]
    assert sum(len(tc.fk) for tc in t.values()) == 1
    assert t["orders"].constraint("status").accepted_values == ORDER_STATUSES
    assert t["stg_orders"].constraint("status").accepted_values == ORDER_STATUSES
    assert t["stg_payments"].constraint("payment_method").accepted_values == [
        "credit_card", "coupon", "bank_transfer", "gift_card"]
    assert sorted(c for c, k in t["orders"].constraints.items() if k.not_null) == [
        "amount", "bank_transfer_amount", "coupon_amount", "credit_card_amount", "customer_id",
        "gift_card_amount", "order_id"]
    assert t["orders"].constraint("order_id") == Constraint(not_null=True, unique=True)
    assert t["orders"].columns == ["amount", "bank_transfer_amount", "coupon_amount", "credit_card_amount",
                                   "customer_id", "gift_card_amount", "order_date", "order_id", "status"]
    assert t["orders"].unique_id == "model.jaffle_shop.orders" and t["orders"].resource_type == "model"
    assert r.tables["raw_orders"].resource_type == "seed"
    assert r.not_modelled == []
    r.metadata.validate_schema()  # the whole schema is trainable as read


def test_jaffle_shop_contract_json() -> None:
    contract = read_manifest(corpus_manifest("jaffle_shop_classic")).to_contract()
    assert json.loads(json.dumps(contract)) == contract
    orders = contract["tables"]["model.jaffle_shop.orders"]
    assert orders["resource_type"] == "model" and orders["name"] == "orders"
    assert orders["primary_key"] == ["order_id"]
    assert orders["foreign_keys"] == [{"columns": ["customer_id"], "parent": "model.jaffle_shop.customers",
                                       "parent_columns": ["customer_id"]}]
    assert orders["columns"]["status"] == {"not_null": False, "unique": False, "accepted_values": ORDER_STATUSES,
                                           "min": None, "max": None, "data_type": None}
    assert orders["columns"]["order_id"]["unique"] is True and orders["columns"]["order_id"]["not_null"] is True
    assert set(orders) == {"resource_type", "name", "primary_key", "foreign_keys", "columns"}
    assert contract["not_modelled"] == []


def test_duckdb_analytics_kit() -> None:
    r = read_manifest(corpus_manifest("duckdb_analytics_kit"))
    t = r.metadata.tables
    assert len(t) == 14  # 8 models, 4 seeds, 2 sources; the 2 snapshots only when selected
    assert {n: tc.pk for n, tc in t.items() if tc.pk} == {
        "dim_customers": ["customer_id"], "dim_products": ["product_id"], "fct_orders": ["order_id"],
        "stg_customers": ["customer_id"], "stg_order_items": ["order_item_id"], "stg_orders": ["order_id"],
        "stg_products": ["product_id"]}
    assert fk_labels(r, "fct_orders") == ["(customer_id) -> dim_customers(customer_id)"]
    assert fk_labels(r, "stg_order_items") == ["(order_id) -> stg_orders(order_id)",
                                               "(product_id) -> stg_products(product_id)"]
    assert fk_labels(r, "stg_orders") == ["(customer_id) -> stg_customers(customer_id)"]
    assert t["stg_customers"].constraint("email").not_null
    assert r.tables["customers_snapshot"].unique_id == "source.dbt_duckdb_analytics_kit.snapshots.customers_snapshot"
    assert {n.test.split(".")[-1]: n.reason for n in r.not_modelled} == {
        name: "singular data test: its logic is SQL the reader does not interpret"
        for name in ("assert_dim_customers_has_no_duplicates", "assert_fct_orders_matches_stg_orders",
                     "validate_order_dates", "validate_price_positive")}
    r.metadata.validate_schema()


def test_duckdb_analytics_kit_snapshot_only_when_selected() -> None:
    r = read_manifest(corpus_manifest("duckdb_analytics_kit"),
                      select=["snapshot.dbt_duckdb_analytics_kit.customers_snapshot", "source:snapshots"])
    assert sorted((n, i.resource_type) for n, i in r.tables.items()) == [
        ("customers_snapshot__snapshot", "snapshot"), ("customers_snapshot__source", "source"),
        ("products_snapshot", "source")]


def test_dbt_utils_integration_composite_key_and_ranges() -> None:
    path = corpus_manifest("dbt_utils_integration")
    r = read_manifest(path)
    t = r.metadata.tables
    assert t["data_unique_combination_of_columns"].pk == ["month", "product"]
    assert t["test_get_relations_by_prefix_and_union"].pk == ["user_id"]
    assert [n for n, tc in t.items() if tc.pk] == ["data_unique_combination_of_columns",
                                                   "test_get_relations_by_prefix_and_union"]
    # accepted_range on data_test_accepted_range.id, three tests:
    #   inclusive: false, min -2, max 11.1 | inclusive: true, min 0, where "id <> -1" | inclusive: true, min -1, max 11
    rng = t["data_test_accepted_range"]
    assert rng.constraint("id") == Constraint(min=-1, max=11, min_inclusive=True, max_inclusive=True)
    [conditional] = rng.conditional_constraints
    assert conditional.column == "id" and conditional.test.endswith("accepted_range_id__True__0.a8369ec7f6")
    assert conditional.constraint == Constraint(min=0, min_inclusive=True, where="id <> -1")
    manifest = load_manifest(path)
    exclusive = manifest.nodes["test.dbt_utils_integration_tests.dbt_utils_accepted_range_data_test_accepted_"
                               "range_id__False__11_1___2.ce5aac49d1"]
    [rule] = interpret_test(manifest, exclusive, "seed.dbt_utils_integration_tests.data_test_accepted_range")
    assert rule.constraint == Constraint(min=-2, max=11.1, min_inclusive=False, max_inclusive=False)
    # relationships_where keeps from_condition as the foreign key's where
    [fk] = t["data_test_relationships_where_table_2"].fk
    assert (fk.columns, fk.parent, fk.parent_columns, fk.where) == (
        ["id"], "data_test_relationships_where_table_1", ["id"], "id <> 4")
    assert any("does not declare unique" in n and "data_test_relationships_where_table_1" in n for n in r.notes)
    assert t["test_get_column_values"].constraint("count_a").accepted_values == ["1"]
    assert t["test_get_column_values"].constraint("count_g").accepted_values == ["5"]
    assert t["test_star_no_columns"].constraint("canary_column").not_null
    # 113 tests: 1 disabled (an equality test), 16 modelled (7 accepted_values, 3 accepted_range, 3 not_null,
    # 1 unique, 1 unique_combination_of_columns, 1 relationships_where), 96 listed with a reason
    # the 5 expression_is_true tests are row rules; 2 mutually_exclusive_ranges and 3 sequential_values
    # group rules (one range on `coalesce(valid_to, ...)` and one with `gaps: required` stay not modelled)
    assert len(r.not_modelled) == 86
    assert sorted(g.label for tc in t.values() for g in tc.group_rules) == [
        "my_even_sequence steps by 2", "my_even_sequence steps by 2 per col_a", "my_timestamp steps by 1 hour",
        "ranges [lower_bound, upper_bound) do not overlap, each starting where the previous ends",
        "ranges [valid_from, valid_to) do not overlap per subscription_id"]
    assert [x.expression for x in t["data_test_expression_is_true"].row_rules] == [
        "not (col_b = 0.5) or (col_a = 0.5)", "col_a + col_b = 1", "not (col_a = 0.5) or (col_b = 0.5)"]
    reasons = {n.test: n.reason for n in r.not_modelled}
    assert "dbt_utils.equal_rowcount" in reasons["test.dbt_utils_integration_tests.dbt_utils_equal_rowcount_test_"
                                                 "equal_rowcount_ref_test_equal_rowcount_.c6aa77bbf0"]
    assert reasons["test.dbt_utils_integration_tests.test_slugify"].startswith("singular data test")
    assert sum("`dbt_utils.equality`" in x for x in reasons.values()) == 28
    # the 29th enabled equality test checks an ephemeral model, which has no table to generate
    assert reasons["test.dbt_utils_integration_tests.dbt_utils_equality_test_equal_column_subset_first_name__"
                   "last_name__email__ref_data_people_.3f31c2f0d2"] == (
        "checks model.dbt_utils_integration_tests.test_equal_column_subset, a node without a table "
        "(ephemeral or disabled)")


def test_fivetran_github_collisions_and_no_keys() -> None:
    r = read_manifest(corpus_manifest("fivetran_github"))
    t = r.metadata.tables
    assert len(t) == 62  # 34 materialized models (9 ephemeral left out), 14 seeds, 14 sources
    assert all(tc.pk == [] and tc.fk == [] for tc in t.values())
    # each source's identifier is also a seed's name: both are qualified, each keeps its unique_id
    assert t["github_issue_data__seed"].unique_id == "seed.github_integration_tests.github_issue_data"
    assert t["github_issue_data__source"].unique_id == "source.github.github.issue"
    assert sum(n.endswith("__source") for n in t) == 14 and sum(n.endswith("__seed") for n in t) == 14
    assert "github_issue_data" not in t
    assert sum(k.not_null for tc in t.values() for k in tc.constraints.values()) == 20
    assert t["github__daily_metrics"].constraint("day").not_null
    assert t["stg_github__user"].constraint("user_id") == Constraint(not_null=True)
    assert r.not_modelled == []


def test_fivetran_shopify() -> None:
    r = read_manifest(corpus_manifest("fivetran_shopify"))
    t = r.metadata.tables
    assert len(t) == 393  # 211 materialized models, 95 seeds, 87 sources
    keyed = {n: tc.pk for n, tc in t.items() if tc.pk}
    assert len(keyed) == 58  # one per enabled unique test; none of them shares a table
    assert keyed["shopify__orders"] == ["orders_unique_key"]
    assert keyed["shopify__transactions"] == ["transactions_unique_id"]
    assert keyed["stg_shopify_gql__order"] == ["unique_key"]
    assert t["shopify__orders"].constraint("orders_unique_key") == Constraint(not_null=True, unique=True)
    assert sum(k.not_null for tc in t.values() for k in tc.constraints.values()) == 140
    assert t["shopify_order_data__source"].unique_id == "source.shopify.shopify.order"
    assert r.not_modelled == []  # the 22 disabled tests never run, so they are not listed


@pytest.mark.parametrize("name", ["jaffle_shop_classic", "duckdb_analytics_kit", "dbt_utils_integration",
                                  "fivetran_github", "fivetran_shopify"])
def test_every_corpus_manifest_gives_a_valid_contract(name: str) -> None:
    r = read_manifest(corpus_manifest(name))
    contract = r.to_contract()
    assert set(contract) == {"tables", "not_modelled"}
    assert len(contract["tables"]) == len(r.metadata.tables)
    for uid, entry in contract["tables"].items():
        assert entry["resource_type"] in ("model", "seed", "source")
        assert r.table(uid).name == entry["name"]
        for fk in entry["foreign_keys"]:
            assert fk["parent"] in contract["tables"]
    r.metadata.topological_order()
