"""The reader on a full, unstripped manifest written by a real `dbt parse` of tests/fixtures/parse_project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthohive_dbt.config import Constraint
from synthohive_dbt.errors import ManifestError
from synthohive_dbt.manifest import read_manifest
from tests.helpers.manifests import write_manifest

P = "synthohive_parse_fixture"


@pytest.fixture(scope="module")
def result(parsed_manifest: Path):
    return read_manifest(parsed_manifest)


def test_tables_and_names(result) -> None:
    assert sorted((n, i.resource_type) for n, i in result.tables.items()) == [
        ("accounts", "model"), ("country_codes", "seed"), ("customers", "model"), ("events", "source"),
        ("order_items", "model"), ("orders", "model"), ("payments", "model"),
        ("raw_customers__seed", "seed"), ("raw_customers__source", "source"),
        ("raw_orders__seed", "seed"), ("raw_orders__source", "source")]  # the ephemeral model has no table
    assert result.tables["raw_orders__source"].unique_id == f"source.{P}.shop.orders"
    assert result.tables["raw_orders__seed"].unique_id == f"seed.{P}.raw_orders"
    assert result.schema_version == 12


def test_column_level_primary_key_contract_types_and_pii(result) -> None:
    customers = result.metadata.tables["customers"]
    assert customers.pk == ["customer_id"]
    assert result.tables["customers"].key_reason == "primary_key constraint"
    assert result.tables["customers"].contract_enforced
    assert customers.constraint("customer_id") == Constraint(data_type="integer", not_null=True, unique=True)
    assert customers.constraint("email") == Constraint(data_type="varchar", unique=True)
    assert customers.constraint("customer_id").dtype == "int"
    assert customers.columns == ["customer_id", "email", "first_name", "country_code"]
    assert customers.pii_columns == ["email", "first_name"]  # meta contains_pii, tag pii
    # a severity: warn test stays out of the unconditional constraint
    assert not customers.constraint("first_name").not_null
    [warn] = customers.conditional_constraints
    assert (warn.column, warn.constraint.not_null, warn.constraint.severity) == ("first_name", True, "warn")
    assert warn.test == f"test.{P}.not_null_customers_first_name.602d132c3b"
    # the column-level foreign_key constraint and the relationships test are one foreign key
    assert [fk.label for fk in customers.fk] == ["(country_code) -> country_codes(code)"]


def test_model_level_constraints(result) -> None:
    orders = result.metadata.tables["orders"]
    assert orders.pk == ["order_id"]
    assert [fk.label for fk in orders.fk] == ["(customer_id) -> customers(customer_id)"]
    assert orders.constraint("order_id") == Constraint(data_type="integer", not_null=True, unique=True)
    assert orders.constraint("status").accepted_values == ["placed", "shipped", "returned"]
    assert orders.constraint("amount") == Constraint(data_type="decimal(10, 2)", min=0, min_inclusive=True)


def test_composite_key_relationships_where_and_expression_bounds(result) -> None:
    items = result.metadata.tables["order_items"]
    assert items.pk == ["order_id", "line_no"]
    [fk] = items.fk
    assert (fk.label, fk.where) == ("(order_id) -> orders(order_id)", "quantity > 0")
    assert any("to_condition: status <> 'returned'" in note for note in result.notes)
    assert items.constraint("quantity") == Constraint(min=0, min_inclusive=False, max_expr="line_no * 100",
                                                      max_inclusive=False)
    [cond] = items.conditional_constraints
    assert cond.column == "unit_price"
    assert cond.constraint == Constraint(min=0, min_inclusive=False, where="quantity > 0")


def test_old_style_fk_expression_quote_false_and_not_modelled(result) -> None:
    payments = result.metadata.tables["payments"]
    assert payments.pk == ["payment_id"]
    assert [fk.label for fk in payments.fk] == ["(order_id) -> orders(order_id)"]  # expression: "orders (order_id)"
    assert payments.constraint("amount") == Constraint(data_type="double", min=0, max=1_000_000)  # "0" is a number
    assert payments.constraint("attempt").accepted_values == [1, 2, 3]  # quote: false -> SQL literals
    [warn] = payments.conditional_constraints
    assert (warn.column, warn.constraint.accepted_values, warn.constraint.severity) == (
        "method", ["card", "cash"], "warn")
    assert {(n.test.split(".")[2], n.reason) for n in result.not_modelled} == {
        ("assert_orders_not_empty", "singular data test: its logic is SQL the reader does not interpret; only "
                                    "`select ... from <one relation> where <row predicate>` is read"),
        ("is_even_payments_attempt",
         "test `is_even` is not modelled (no generator for it); check the generated data with dbt"),
    }  # the unit test in `unit_tests` is not a data test and is not listed
    assert [r.expression for r in payments.row_rules] == ["amount >= 0"]  # expression_is_true: a row rule


def test_several_unique_columns_and_self_reference(result) -> None:
    accounts = result.metadata.tables["accounts"]
    # dbt's own primary_key field lists all three unique+not_null columns; the id named for the table wins
    assert accounts.pk == ["account_id"]
    assert "preferred to customer_id, login_email" in result.tables["accounts"].key_reason
    assert accounts.constraint("login_email") == Constraint(not_null=True, unique=True, regex="^[^@]+@[^@]+$")
    assert accounts.constraint("customer_id").unique
    assert [(fk.label, fk.where) for fk in accounts.fk] == [
        ("(customer_id) -> customers(customer_id)", "customer_id > 0"),
        ("(parent_account_id) -> accounts(account_id)", None)]
    assert accounts.pii_columns == ["login_email"]  # config.meta pii (dbt 1.10+ place)


def test_source_tests_without_attached_node(result) -> None:
    t = result.metadata.tables
    assert t["raw_orders__source"].pk == ["order_id"]
    assert [fk.label for fk in t["raw_orders__source"].fk] == ["(customer_id) -> raw_customers__source(id)"]
    assert t["raw_orders__source"].constraint("status").accepted_values == ["placed", "shipped", "returned"]
    assert t["raw_customers__source"].pk == ["id"]
    assert t["raw_customers__source"].pii_columns == ["email"]
    assert t["events"].constraint("event_id") == Constraint(not_null=True)
    assert t["country_codes"].pk == ["code"]
    [cond] = t["country_codes"].conditional_constraints
    assert cond.constraint == Constraint(min=1, where="code <> 'XX'")
    seed = t["raw_orders__seed"]
    assert seed.columns == ["order_id", "customer_id", "amount"]  # from seed column_types
    assert seed.constraint("amount").data_type == "decimal(10,2)"


def test_whole_schema_validates(result) -> None:
    result.metadata.validate_schema()
    order = result.metadata.topological_order()
    assert order.index("customers") < order.index("orders") < order.index("order_items")


def test_selection_outside_parent_is_a_clear_error(parsed_manifest: Path) -> None:
    with pytest.raises(ManifestError) as info:
        read_manifest(parsed_manifest, select=["shop.orders"])
    msg = str(info.value)
    assert msg.startswith(f"test test.{P}.source_relationships_shop_orders_customer_id__id__source_shop_customers_")
    assert f"table 'raw_orders' (source.{P}.shop.orders) has a foreign key (customer_id) to " \
           f"source.{P}.shop.customers (id), which is not in the selection" in msg
    assert "fix: add 'raw_customers' to the selection (e.g. --select raw_orders raw_customers)" in msg

    with pytest.raises(ManifestError, match="foreign_key constraint on model.synthohive_parse_fixture.orders: "
                                            "table 'orders'"):
        read_manifest(parsed_manifest, select=["orders"])


def test_selection_narrows_and_names_become_plain(parsed_manifest: Path) -> None:
    r = read_manifest(parsed_manifest, select=["orders customers", "country_codes", "source:shop.orders",
                                               "shop.customers"])
    assert sorted(r.metadata.tables) == ["country_codes", "customers", "orders", "raw_customers", "raw_orders"]
    assert [fk.label for fk in r.metadata.tables["raw_orders"].fk] == ["(customer_id) -> raw_customers(id)"]
    # tests of unselected tables are out of scope, not "not modelled"
    assert [n.test.split(".")[2] for n in r.not_modelled] == ["assert_orders_not_empty"]
    # a bare name selects models and seeds, not a source table of that name (as in dbt); names shown by
    # `synthohive inspect` (qualified on a collision) select too
    assert sorted(read_manifest(parsed_manifest, select=["orders", "customers", "country_codes"]).tables) == [
        "country_codes", "customers", "orders"]
    r = read_manifest(parsed_manifest, select=["raw_customers__source", "raw_customers__seed"])
    assert sorted(r.tables) == ["raw_customers__seed", "raw_customers__source"]


def test_selection_errors(parsed_manifest: Path) -> None:
    with pytest.raises(ManifestError, match=r"selection 'ordrs' matches no model, seed, snapshot or source in "
                                            r".*manifest.json\n  fix: did you mean 'orders'"):
        read_manifest(parsed_manifest, select=["ordrs"])
    with pytest.raises(ManifestError, match=rf"selection 'ephemeral_helper' names model.{P}.ephemeral_helper "
                                            r"\(model, ephemeral\), which is not a table"):
        read_manifest(parsed_manifest, select=["ephemeral_helper"])


def test_compiled_relation_form_of_foreign_key(parsed_manifest: Path, tmp_path: Path) -> None:
    raw = json.loads(parsed_manifest.read_text())
    orders = raw["nodes"][f"model.{P}.orders"]
    fk = next(c for c in orders["constraints"] if c["type"] == "foreign_key")
    fk["to"] = raw["nodes"][f"model.{P}.customers"]["relation_name"]  # '"memory"."main"."customers"'
    assert fk["to"].count('"') == 6
    r = read_manifest(write_manifest(tmp_path, raw))
    assert [f.label for f in r.metadata.tables["orders"].fk] == ["(customer_id) -> customers(customer_id)"]


@pytest.mark.parametrize("version", [10, 11])
def test_older_schema_versions_without_primary_key_field(parsed_manifest: Path, tmp_path: Path,
                                                         version: int) -> None:
    raw = json.loads(parsed_manifest.read_text())
    raw["metadata"]["dbt_schema_version"] = f"https://schemas.getdbt.com/dbt/manifest/v{version}.json"
    for key in ("unit_tests", "functions"):
        raw.pop(key, None)
    for node in raw["nodes"].values():
        node.pop("primary_key", None)  # dbt 1.6 (v10) has no such field
    r = read_manifest(write_manifest(tmp_path, raw))
    assert r.schema_version == version
    assert {n: t.pk for n, t in r.metadata.tables.items() if t.pk} == {
        "accounts": ["account_id"], "country_codes": ["code"], "customers": ["customer_id"],
        "order_items": ["order_id", "line_no"], "orders": ["order_id"], "payments": ["payment_id"],
        "raw_customers__source": ["id"], "raw_orders__source": ["order_id"]}
