"""The reader's rules one at a time, on small hand-made manifests and strings."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthohive_dbt.config import Constraint
from synthohive_dbt.manifest import read_manifest
from synthohive_dbt.manifest.findings import KeyRule
from synthohive_dbt.manifest.keys import choose_primary_key, entity_names
from synthohive_dbt.manifest.pii import pii_columns
from synthohive_dbt.manifest.refs import parse_fk_expression, parse_ref_call, relation_parts
from synthohive_dbt.manifest.tables import unique_names
from tests.helpers import manifest_builders as b
from tests.helpers.manifests import write_manifest


def read(tmp_path: Path, *nodes, select=None):
    return read_manifest(write_manifest(tmp_path, b.manifest(*nodes)), select=select)


@pytest.mark.parametrize("text, expected", [
    ("{{ get_where_subquery(ref('orders')) }}", ("ref", "orders", None, None, None)),
    ('ref("pkg", "orders")', ("ref", "orders", None, "pkg", None)),
    ("ref('orders', v=2)", ("ref", "orders", None, None, "2")),
    ("ref('orders', version='3')", ("ref", "orders", None, None, "3")),
    ("source('shop', 'orders')", ("source", "orders", "shop", None, None)),
    ("{{ get_where_subquery(source(\"shop\",\"orders\")) }}", ("source", "orders", "shop", None, None)),
])
def test_parse_ref_call(text: str, expected: tuple) -> None:
    t = parse_ref_call(text)
    assert t is not None
    assert (t.kind, t.name, t.source_name, t.package, t.version) == expected


@pytest.mark.parametrize("text", [None, "", "orders", "source('only_one')", 42])
def test_parse_ref_call_rejects(text) -> None:
    assert parse_ref_call(text) is None


def test_relation_names_and_fk_expressions() -> None:
    assert relation_parts('"DB"."main"."Orders"') == ("db", "main", "orders")
    assert relation_parts("main.orders") == ("main", "orders")
    assert relation_parts('"my ""odd"" table"') == ('my "odd" table',)
    assert parse_fk_expression("orders (order_id)") == (("orders",), ["order_id"])
    assert parse_fk_expression("main.orders(a, b)") == (("main", "orders"), ["a", "b"])
    assert parse_fk_expression("orders") is None


def test_entity_names() -> None:
    assert {"issues", "issue"} <= entity_names("github__issues")
    assert {"order", "orders"} <= entity_names("stg_orders")
    assert "category" in entity_names("dim_categories")


@pytest.mark.parametrize("table, uniques, not_null, fks, expected", [
    ("users", ["email", "user_id"], {"email"}, set(), "user_id"),           # the table's id beats not_null
    ("accounts", ["customer_id", "account_id"], {"customer_id", "account_id"}, {"customer_id"}, "account_id"),
    ("events", ["event_uuid", "id"], {"event_uuid"}, set(), "event_uuid"),  # both the table's id: not_null
    ("things", ["code", "name"], set(), set(), "code"),                    # no id-like name: declaration order
    ("profiles", ["user_id", "handle"], {"user_id", "handle"}, {"user_id"}, "user_id"),  # an id, even an FK
    ("validations", ["valid", "code"], set(), set(), "valid"),             # `valid` is not taken for an id
])
def test_primary_key_among_several_unique_columns(table, uniques, not_null, fks, expected) -> None:
    keys = [KeyRule("t", (c,), f"test.{c}") for c in uniques]
    assert choose_primary_key(table, keys, uniques, not_null, fks).columns == [expected]


def test_primary_key_preference_order() -> None:
    declared = KeyRule("t", ("a", "b"), "model.t", origin="primary_key")
    unique = KeyRule("t", ("id",), "test.u")
    combo = KeyRule("t", ("x", "y"), "test.c")
    manifest = KeyRule("t", ("m",), "model.t", origin="manifest")
    choice = choose_primary_key("t", [unique, declared, combo, manifest], [], set(), set())
    assert (choice.columns, choice.reason) == (["a", "b"], "primary_key constraint")
    assert choice.unused == [combo]
    assert choose_primary_key("t", [combo, unique, manifest], [], set(), set()).columns == ["id"]
    assert choose_primary_key("t", [manifest, combo], [], set(), set()).columns == ["x", "y"]
    assert choose_primary_key("t", [manifest], [], set(), set()).columns == ["m"]
    assert choose_primary_key("t", [], [], set(), set()).columns == []


def test_unique_names_three_way_collision() -> None:
    nodes = [b.source("shop", "orders"), b.source("legacy", "orders"), b.model("orders", resource_type="seed"),
             b.model("customers")]
    assert unique_names(nodes) == {
        "model.proj.customers": "customers",
        "seed.proj.orders": "orders__seed",
        "source.proj.legacy.orders": "source__proj__legacy__orders",
        "source.proj.shop.orders": "source__proj__shop__orders",
    }
    assert unique_names(reversed(nodes)) == unique_names(nodes)


def test_pii_marks() -> None:
    node = b.model("users", ["id", "email", "phone", "nickname", "note"])
    node["columns"]["email"]["meta"] = {"pii": True}
    node["columns"]["phone"]["config"] = {"meta": {"sensitive": "yes"}, "tags": []}
    node["columns"]["nickname"]["tags"] = ["PII"]
    node["columns"]["note"]["meta"] = {"pii": False}
    assert pii_columns(node, ["id", "email", "phone", "nickname", "note"], ["id"]) == ["email", "phone", "nickname"]
    table_level = b.model("users", ["id", "email", "org_id"], meta={"contains_pii": True})
    assert pii_columns(table_level, ["id", "email", "org_id"], ["id", "org_id"]) == ["email"]  # keys excluded
    named = b.model("users", ["id", "email"], config={"meta": {"pii": ["email", "ssn"]}})
    assert pii_columns(named, ["id", "email"], []) == ["email", "ssn"]


def test_test_kinds_and_namespaces(tmp_path: Path) -> None:
    t = b.model("t", ["id", "code", "price", "email", "sku", "n", "status"])
    nodes = [
        t,
        b.test("u_id", "unique", t, {"column_name": "id"}),
        b.test("between", "expect_column_values_to_be_between", t,
               {"column_name": "price", "min_value": 0, "max_value": "100", "strictly": True,
                "row_condition": "id > 0"}, namespace="dbt_expectations", config={"where": "code <> 'x'"}),
        b.test("re", "expect_column_values_to_match_regex", t, {"column_name": "email", "regex": "@", "flags": "i"},
               namespace="dbt_expectations"),
        b.test("bad_re", "expect_column_values_to_match_regex", t, {"column_name": "code", "regex": "(["},
               namespace="dbt_expectations"),
        b.test("like", "expect_column_values_to_match_like_pattern", t,
               {"column_name": "sku", "like_pattern": "AB_%"}, namespace="dbt_expectations"),
        b.test("in_set", "expect_column_values_to_be_in_set", t, {"column_name": "n", "value_set": [1, 2]},
               namespace="dbt_expectations"),
        b.test("lit", "accepted_values", t, {"column_name": "status", "values": ["'a'", "TRUE", "2.5", "x"],
                                             "quote": False}),
        b.test("foreign_range", "accepted_range", t, {"column_name": "n", "min_value": 0}, namespace="my_pkg"),
        b.test("warn_unique", "unique", t, {"column_name": "code"}, config={"severity": "warn"}),
        b.test("no_bounds", "accepted_range", t, {"column_name": "n"}, namespace="dbt_utils"),
    ]
    r = read(tmp_path, *nodes)
    table = r.metadata.tables["t"]
    assert table.pk == ["id"]  # the warn-only unique on `code` is no key candidate
    [warn, between] = sorted(table.conditional_constraints, key=lambda c: c.column)
    assert between.column == "price"
    assert between.constraint == Constraint(min=0, max=100, min_inclusive=False, max_inclusive=False,
                                            where="(code <> 'x') and (id > 0)")
    assert (warn.column, warn.constraint.unique, warn.constraint.severity) == ("code", True, "warn")
    assert table.constraint("email").regex == "(?i)@"
    assert table.constraint("sku").regex == "^AB..*$"
    assert table.constraint("n").accepted_values == [1, 2]
    assert table.constraint("status").accepted_values == ["a", True, 2.5, "x"]
    reasons = {n.test.split(".")[-1]: n.reason for n in r.not_modelled}
    assert reasons["bad_re"].startswith("the regex is not valid in Python: constraint regex '([' does not compile")
    assert reasons["foreign_range"] == ("test `my_pkg.accepted_range` comes from package 'my_pkg', not from the "
                                        "project / dbt_utils; its arguments may differ")
    assert reasons["no_bounds"] == "range test with neither min_value nor max_value"
    assert len(reasons) == 3


def test_source_test_resolved_from_file_key_name(tmp_path: Path) -> None:
    orders, customers = b.source("shop", "orders", ["id"]), b.source("shop", "customers", ["id"])
    other = b.source("crm", "leads", ["id"])
    # a dbt 1.6-style source test: no attached_node, no `model` argument, two dependencies
    t = b.test("source_unique_shop_orders_id", "unique", None, {"column_name": "id"}, attached=False,
               deps=[orders["unique_id"], other["unique_id"]], file_key_name="sources.shop")
    r = read(tmp_path, orders, customers, other, t)
    assert r.metadata.tables["orders"].pk == ["id"]
    assert r.metadata.tables["leads"].pk == []


def test_unresolvable_and_contradicting_tests_are_listed(tmp_path: Path) -> None:
    a, c = b.model("a", ["id", "x"]), b.model("c", ["id"])
    d = b.model("d", ["id"])
    nodes = [a, c, d,
             b.test("rel_two_parents", "relationships", a, {"column_name": "x", "to": "ref('zzz')", "field": "id"},
                    deps=[a["unique_id"], c["unique_id"], d["unique_id"]]),
             b.test("min5", "accepted_range", a, {"column_name": "x", "min_value": 5}, namespace="dbt_utils"),
             b.test("max3", "accepted_range", a, {"column_name": "x", "max_value": 3}, namespace="dbt_utils"),
             b.test("orphan", "not_null", None, {"column_name": "id"}, attached=False, deps=[])]
    r = read(tmp_path, *nodes)
    reasons = {n.test.split(".")[-1]: n.reason for n in r.not_modelled}
    assert reasons["rel_two_parents"].startswith("cannot tell which node `to: ref('zzz')` is from the test's "
                                                 "depends_on.nodes")
    # tests are read in unique_id order: max3 first, then min5 contradicts it
    assert reasons["min5"].startswith("contradicts another constraint on column 'x' of 'a': constraint has "
                                      "min 5.0 > max 3.0")
    assert reasons["orphan"].startswith("cannot tell which table the test checks")
    assert r.metadata.tables["a"].constraint("x") == Constraint(max=3)


def test_relationship_to_an_ephemeral_model_is_listed_not_raised(tmp_path: Path) -> None:
    eph = b.model("helper", ["id"])
    eph["config"]["materialized"] = "ephemeral"
    child = b.model("orders", ["helper_id"])
    rel = b.test("rel_eph", "relationships", child, {"column_name": "helper_id", "to": "ref('helper')",
                                                     "field": "id"}, deps=[eph["unique_id"], child["unique_id"]])
    r = read(tmp_path, eph, child, rel)
    assert list(r.metadata.tables) == ["orders"] and r.metadata.tables["orders"].fk == []
    assert r.not_modelled[0].reason == ("foreign key orders(helper_id) -> model.proj.helper: the parent is not a "
                                        "table (ephemeral or disabled), so the key is dropped")


def test_model_level_constraints_other_kinds(tmp_path: Path) -> None:
    parent = b.model("parent", ["a", "b"])
    t = b.model("t", ["a", "b", "v"], constraints=[
        {"type": "unique", "columns": ["a", "b"]},
        {"type": "not_null", "columns": ["a", "b"]},
        {"type": "check", "expression": "v > 0", "columns": ["v"]},
        {"type": "foreign_key", "columns": ["a", "b"], "to": "ref('parent')", "to_columns": ["a", "b"]},
        {"type": "foreign_key", "columns": ["v"], "to": "ref('nowhere')", "to_columns": ["a"]},
    ])
    parent["constraints"] = [{"type": "primary_key", "columns": ["a", "b"]}]
    r = read(tmp_path, parent, t)
    table = r.metadata.tables["t"]
    assert table.pk == ["a", "b"]  # the composite unique constraint
    assert table.constraint("a") == Constraint(not_null=True)
    assert [fk.label for fk in table.fk] == ["(a, b) -> parent(a, b)"]
    assert {n.reason for n in r.not_modelled} == {
        "check constraint `v > 0` on the model is not modelled",
        "foreign_key constraint to \"ref('nowhere')\" matches no model, seed, snapshot or source on the model"}
    r.metadata.validate_schema()


def test_describe_constraint() -> None:
    from synthohive_dbt.manifest.render import describe_constraint

    assert describe_constraint(Constraint(not_null=True, unique=True, data_type="int")) == "not null, unique, int"
    assert describe_constraint(Constraint(min=0, max_expr="n * 2", max_inclusive=False, where="a > 1",
                                          severity="warn")) == "0 <= x < (n * 2), where a > 1, (warn only)"
    assert describe_constraint(Constraint(accepted_values=list(range(10)))) == "in [0, 1, 2, 3, 4, 5, 6, 7, ...]"
