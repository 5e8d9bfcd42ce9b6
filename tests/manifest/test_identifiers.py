"""Column names from the manifest meet the warehouse's by one rule (metadata.identifiers, metadata.align);
tests that name disabled or missing nodes are listed, never dropped silently; broken node fields fail
with the file and the field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthohive_dbt.errors import ManifestError
from synthohive_dbt.manifest import read_manifest
from synthohive_dbt.manifest.align import align_to_warehouse
from synthohive_dbt.manifest.identifiers import column_key, column_name, match_column, unquote
from tests.helpers import manifest_builders as b
from tests.helpers.manifests import write_manifest


@pytest.mark.parametrize(("text", "plain"), [
    ('"Select"', "Select"), ('"a""b"', 'a"b'), ("`order`", "order"), ("[x y]", "x y"), ("patient", "patient"),
    ('  "PATIENT" ', "PATIENT"), ('"a" || "b"', '"a" || "b"'), ('"', '"'), ('""', ""),
])
def test_unquote_takes_off_one_whole_quoting_only(text: str, plain: str) -> None:
    assert unquote(text) == plain


def test_column_key_is_the_one_comparison() -> None:
    assert column_key('"PATIENT"') == column_key("patient") == column_key("Patient") == "patient"
    assert column_key('"ünï ""quote"""') == 'ünï "quote"'


@pytest.mark.parametrize(("text", "known", "expected"), [
    ("patient", ["PATIENT"], "PATIENT"),  # the declared spelling wins
    ('"Select"', ["Select"], "Select"),
    ('"ünï "quote""', ['ünï "quote"'], 'ünï "quote"'),  # dbt quotes without doubling embedded quotes
    ("ünï", [], "ünï"),
    ('"my col"', [], "my col"),
    ("my col", ["my col"], "my col"),  # a declared name is a column even when it is no bare identifier
    ('upper("Select")', ["Select"], None),
    ("price * qty", ["price", "qty"], None),
    ("coalesce(a, b)", [], None),
])
def test_column_name_tells_columns_from_expressions(text: str, known: list[str], expected: str | None) -> None:
    assert column_name(text, known) == expected


@pytest.mark.parametrize(("name", "real", "expected"), [
    ("patient", ["PATIENT", "name"], "PATIENT"),  # DuckDB keeps the seed header's case
    ("PATIENT", ["patient"], "patient"),  # PostgreSQL folded it
    ('"Select"', ["Select", "select"], "Select"),  # exact spelling first
    ("Id", ["ID", "id"], "id"),  # ambiguous: what an unquoted name folds to
    ("Id", ["ID", "iD"], None),
    ("gone", ["id"], None),
])
def test_match_column(name: str, real: list[str], expected: str | None) -> None:
    assert match_column(name, real) == expected


def _shop(tmp_path: Path) -> Path:
    patients = b.model("patients", ["patient", "name"], resource_type="seed")
    visits = b.model("visits", ["visit_id", "patient", "Select"], resource_type="seed")
    visits["columns"]["Select"]["quote"] = True
    tests = [
        b.test("unique_patients_patient", "unique", patients, {"column_name": "patient"}),
        b.test("unique_visits_visit_id", "unique", visits, {"column_name": "visit_id"}),
        b.test("not_null_visits_select", "not_null", visits, {"column_name": '"Select"'}),
        b.test("accepted_values_visits_select", "accepted_values", visits,
               {"column_name": '"Select"', "values": ["x", "y"]}, config={"where": "visit_id > 0"}),
        b.test("not_null_visits_upper", "not_null", visits, {"column_name": 'upper("Select")'}),
        b.test("rel_visits_patient", "relationships", visits,
               {"column_name": "patient", "to": "ref('patients')", "field": '"PATIENT"'},
               deps=[patients["unique_id"], visits["unique_id"]]),
        b.test("unique_combo", "unique_combination_of_columns", visits,
               {"combination_of_columns": ["visit_id", "lower(patient)"]}, namespace="dbt_utils"),
    ]
    return write_manifest(tmp_path, b.manifest(patients, visits, *tests))


def test_quoted_names_and_expressions_in_tests(tmp_path: Path) -> None:
    read = read_manifest(_shop(tmp_path))
    visits = read.metadata.tables["visits"]
    assert visits.columns == ["visit_id", "patient", "Select"]
    assert visits.constraint("Select").not_null
    assert [cc.column for cc in visits.conditional_constraints] == ["Select"]
    assert [(fk.columns, fk.parent, fk.parent_columns) for fk in visits.fk] == [(["patient"], "patients",
                                                                                  ["patient"])]
    reasons = {n.test.rsplit(".", 1)[-1]: n.reason for n in read.not_modelled}
    assert "checks `upper(\"Select\")`, an SQL expression rather than a column of visits" in \
        reasons["not_null_visits_upper"]
    assert "['lower(patient)'], SQL expression(s) rather than columns" in reasons["unique_combo"]


def test_align_renames_onto_the_real_columns(tmp_path: Path) -> None:
    read = read_manifest(_shop(tmp_path))
    aligned = align_to_warehouse(read, {"patients": ["PATIENT", "name"],
                                        "visits": ["visit_id", "PATIENT", "Select", "extra"]})
    patients, visits = aligned.metadata.tables["patients"], aligned.metadata.tables["visits"]
    assert patients.pk == ["PATIENT"] and patients.constraint("PATIENT").unique
    assert visits.columns == ["visit_id", "PATIENT", "Select", "extra"]
    assert [(fk.columns, fk.parent_columns) for fk in visits.fk] == [(["PATIENT"], ["PATIENT"])]
    assert visits.constraint("Select").not_null
    aligned.metadata.validate_schema()
    assert len(aligned.not_modelled) == len(read.not_modelled)


def test_align_lists_what_the_warehouse_lacks(tmp_path: Path) -> None:
    read = read_manifest(_shop(tmp_path))
    aligned = align_to_warehouse(read, {"patients": ["patient_no", "name"], "visits": ["visit_id", "patient"]})
    assert aligned.metadata.tables["patients"].pk == []
    assert aligned.metadata.tables["visits"].fk == []
    reasons = [n.reason for n in aligned.not_modelled]
    assert any(r.startswith("the primary key (patient) of patients (main.patients in the warehouse) names "
                            "column(s) ['patient'], which the table does not have (its columns: ['patient_no', "
                            "'name'])") and "fix the column name in the project's YAML" in r for r in reasons)
    assert any("foreign key visits(patient) -> patients(patient): patients has no column ['patient']" in r
               for r in reasons)
    assert any("conditional constraint on column 'Select'" in r for r in reasons)
    assert aligned.metadata.tables["visits"].conditional_constraints == []


def test_align_leaves_unreflected_tables_alone(tmp_path: Path) -> None:
    read = read_manifest(_shop(tmp_path))
    aligned = align_to_warehouse(read, {})
    assert aligned.metadata == read.metadata and aligned.not_modelled == read.not_modelled


def _disabled_parent(tmp_path: Path, *, in_disabled_section: bool) -> Path:
    orders = b.model("orders", ["id", "customer_id"])
    rel = b.test("rel_orders_customer", "relationships", orders,
                 {"column_name": "customer_id", "to": "ref('customers')", "field": "id"},
                 config={"enabled": False}, refs=[{"name": "customers", "package": None, "version": None},
                                                  {"name": "orders", "package": None, "version": None}])
    nn = b.test("nn_orders_id", "not_null", orders, {"column_name": "id"}, config={"enabled": False},
                refs=[{"name": "orders", "package": None, "version": None}])  # disabled by the user
    acc = b.test("eq_orders", "equality", orders, {"compare_model": "ref('old_orders')"}, namespace="dbt_utils",
                 config={"enabled": False}, refs=[{"name": "old_orders", "package": None, "version": None},
                                                  {"name": "orders", "package": None, "version": None}])
    raw = b.manifest(orders, *([acc] if in_disabled_section else [rel, nn, acc]))
    customers = b.model("customers", ["id"], config={"enabled": False, "materialized": "table"})
    raw["disabled"] = {customers["unique_id"]: [customers]}
    if in_disabled_section:
        raw["disabled"].update({rel["unique_id"]: [rel], nn["unique_id"]: [nn]})
    return write_manifest(tmp_path, raw)


@pytest.mark.parametrize("in_disabled_section", [False, True])
def test_tests_on_disabled_or_missing_parents_are_listed(tmp_path: Path, in_disabled_section: bool) -> None:
    read = read_manifest(_disabled_parent(tmp_path, in_disabled_section=in_disabled_section))
    assert read.metadata.tables["orders"].fk == []
    reasons = {n.test: n.reason for n in read.not_modelled}
    assert reasons["test.proj.rel_orders_customer"] == (
        "parent model `customers` is disabled, so the foreign key orders.customer_id -> customers.id is not "
        "modelled (dbt disabled the test); enable model `customers` (config enabled: true) or remove the test "
        "from the YAML")
    assert reasons["test.proj.eq_orders"].startswith(
        "test `equality` on orders references a node that is not built (ref `old_orders` does not exist in the "
        "project), so dbt disabled it")
    assert "test.proj.nn_orders_id" not in reasons  # disabled by the user: it never runs, nothing to say
    assert read.not_modelled[0].table == "model.proj.orders"


def test_enabled_relationship_whose_parent_is_gone(tmp_path: Path) -> None:
    orders = b.model("orders", ["id", "customer_id"])
    rel = b.test("rel", "relationships", orders, {"column_name": "customer_id", "to": "ref('customers')",
                                                  "field": "id"},
                 refs=[{"name": "customers", "package": None, "version": None}])
    read = read_manifest(write_manifest(tmp_path, b.manifest(orders, rel)))
    assert read.not_modelled[0].reason.startswith("parent ref `customers` does not exist in the project, so the "
                                                  "foreign key orders.customer_id -> customers.id is not modelled")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("config", "table", r"nodes\['model.proj.a'\].config is a str, not an object"),
    ("columns", ["id"], r"nodes\['model.proj.a'\].columns is a list, not an object"),
    ("depends_on", {"nodes": "model.proj.b"}, r"nodes\['model.proj.a'\].depends_on.nodes is not a list of "),
    ("constraints", {"type": "not_null"}, r"nodes\['model.proj.a'\].constraints is a dict, not a list"),
])
def test_node_fields_of_the_wrong_type(tmp_path: Path, field: str, value: object, message: str) -> None:
    raw = b.manifest(b.model("a", ["id"]))
    raw["nodes"]["model.proj.a"][field] = value
    path = write_manifest(tmp_path, raw)
    with pytest.raises(ManifestError, match=f"{path}: {message}.*\n  fix: .*run `dbt parse`"):
        read_manifest(path)


@pytest.mark.parametrize(("disabled", "message"), [
    (["x"], r"'disabled' is a list, not an object"),
    ({"model.proj.x": {"name": "x"}}, r"disabled\['model.proj.x'\] is not a list of node objects"),
])
def test_a_broken_disabled_section(tmp_path: Path, disabled: object, message: str) -> None:
    raw = b.manifest(b.model("a", ["id"]))
    raw["disabled"] = disabled
    with pytest.raises(ManifestError, match=message + ".*\n  fix: run `dbt parse`"):
        read_manifest(write_manifest(tmp_path, raw))


def test_names_the_user_wrapped_in_quotes_in_yaml_and_in_constraints(tmp_path: Path) -> None:
    parent = b.model("Accounts", ["ID"])
    parent["columns"] = {'"ID"': b.column('"ID"', constraints=[{"type": "primary_key"}])}
    child = b.model("orders", ["order_id", "Order Date", "account"],
                    constraints=[{"type": "primary_key", "columns": ['"order_id"']},
                                 {"type": "foreign_key", "columns": ["account"], "to": "ref('Accounts')",
                                  "to_columns": ['"ID"']},
                                 {"type": "unique", "columns": ["lower(account)"]}])
    child["columns"]['"Order Date"'] = child["columns"].pop("Order Date")
    child["columns"]['"Order Date"']["name"] = '"Order Date"'
    read = read_manifest(write_manifest(tmp_path, b.manifest(parent, child)))
    orders = read.metadata.tables["orders"]
    assert read.metadata.tables["Accounts"].pk == ["ID"]
    assert orders.columns == ["order_id", "account", "Order Date"] and orders.pk == ["order_id"]
    assert [(fk.columns, fk.parent, fk.parent_columns) for fk in orders.fk] == [(["account"], "Accounts", ["ID"])]
    assert any("unique constraint on the model lists ['lower(account)'], which are not all column names" in n.reason
               for n in read.not_modelled)


def test_a_documented_column_the_table_lacks_is_a_note(tmp_path: Path) -> None:
    read = read_manifest(write_manifest(tmp_path, b.manifest(b.model("a", ["id", "retired_col"]))))
    aligned = align_to_warehouse(read, {"a": ["ID"]})
    assert aligned.metadata.tables["a"].columns == ["ID"] and aligned.not_modelled == []
    assert aligned.notes == ["a (main.a in the warehouse): column(s) ['retired_col'] declared in the YAML are not "
                             "in the table; they are ignored"]
