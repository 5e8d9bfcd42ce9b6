"""Sources mode through CASE / IF / NULLIF, casts as "castable to T", and raw names in another case.

Small hand-made manifests with compiled SQL (no dbt run), in the DuckDB and the PostgreSQL dialect: a raw
`patients` table, a raw `visits` table whose `patient_ref` holds '0' for "no patient", and staging models that
null the '0' before their relationships test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from synthohive_dbt.config import CastTarget, Constraint
from synthohive_dbt.manifest.align import align_to_warehouse
from synthohive_dbt.manifest.lineage import SourcesModeResult, project_to_sources
from synthohive_dbt.manifest.lineage_sql import RelationLineage, RowLink, SqlLineage, parse_model_sql
from tests.helpers import manifest_builders as b
from tests.helpers.manifests import write_manifest

PATIENTS = b.source("clinic", "patients", ["id", "name"])
VISITS = b.source("clinic", "visits", ["visit_id", "patient_ref", "kind", "phone", "visited"])
STG_PATIENTS_SQL = 'select id as patient_id, name from "db"."clinic"."patients"'


def _model(name: str, sql: str, deps: list[dict[str, Any]], columns: list[str]) -> dict[str, Any]:
    return b.model(name, columns, compiled_code=sql, language="sql",
                   depends_on={"nodes": [d["unique_id"] for d in deps]})


def _project(tmp_path: Path, visits_sql: str, tests: list[tuple[str, str, dict[str, Any]]],
             dialect: str = "duckdb", patients: dict[str, Any] = PATIENTS,
             visits: dict[str, Any] = VISITS) -> SourcesModeResult:
    """stg_patients (a rename of the raw key) and stg_visits (`visits_sql`), with tests on stg_visits."""
    stg_patients = _model("stg_patients", STG_PATIENTS_SQL, [patients], ["patient_id", "name"])
    stg_visits = _model("stg_visits", visits_sql, [visits], ["visit_id", "patient_id", "kind"])
    nodes: list[dict[str, Any]] = [patients, visits, stg_patients, stg_visits,
                                   b.test("unique_stg_patients_patient_id", "unique", stg_patients,
                                          {"column_name": "patient_id"})]
    for name, kind, kwargs in tests:
        deps = [stg_visits["unique_id"]] + ([stg_patients["unique_id"]] if kind == "relationships" else [])
        nodes.append(b.test(name, kind, stg_visits, kwargs, deps=deps))
    raw = b.manifest(*nodes)
    raw["metadata"]["adapter_type"] = dialect
    return project_to_sources(write_manifest(tmp_path, raw))


REL = ("rel_patient", "relationships", {"column_name": "patient_id", "to": "ref('stg_patients')",
                                        "field": "patient_id"})
NULLING = {
    "case": "case when v.patient_ref = '0' then null else v.patient_ref end",
    "simple case": "case v.patient_ref when '0' then null else v.patient_ref end",
    "case without else": "case when v.patient_ref <> '0' then v.patient_ref end",
    "nullif": "nullif(v.patient_ref, '0')",
    "if": "if(v.patient_ref = '0', null, v.patient_ref)",
    "iff": "iff(v.patient_ref = '0', null, v.patient_ref)",
}


def _typed(node: dict[str, Any], **types: str) -> dict[str, Any]:
    """The raw node with declared column types (what a source's YAML `data_type` says)."""
    return {**node, "columns": {c: b.column(c, data_type=types.get(c)) for c in node["columns"]}}


def _visits(expr: str) -> str:
    return f'select v.visit_id, {expr} as patient_id, v.kind from "db"."clinic"."visits" as v'


@pytest.mark.parametrize("dialect, form", [(d, f) for d in ("duckdb", "postgres") for f in sorted(NULLING)
                                           if d == "duckdb" or f not in ("if", "iff")])  # PostgreSQL has no IF
def test_relationship_through_a_null_switch_keeps_the_excepted_value(tmp_path: Path, form: str,
                                                                     dialect: str) -> None:
    result = _project(tmp_path, _visits(NULLING[form]), [REL], dialect=dialect)
    entry = result.of_test("test.proj.rel_patient")
    assert (entry.status, entry.detail) == ("carried", "visits(patient_ref) -> patients(id) except ['0']")
    [fk] = result.metadata.tables["visits"].fk
    assert (fk.columns, fk.parent, fk.parent_columns, fk.except_values) == (["patient_ref"], "patients", ["id"],
                                                                          ["0"])
    result.metadata.validate_schema()


def test_several_excepted_values_and_a_cast_around_the_switch(tmp_path: Path) -> None:
    expr = "case when v.patient_ref in ('0', '') or v.patient_ref is null then null else v.patient_ref::int end"
    patients = _typed(PATIENTS, id="integer")
    result = _project(tmp_path, _visits(expr), [REL], patients=patients)
    [fk] = result.metadata.tables["visits"].fk
    assert fk.except_values == ["0", ""]
    # the model casts the raw text: every value but the excepted ones must convert
    assert result.metadata.tables["visits"].constraint("patient_ref").castable_to == [
        CastTarget(data_type="INT", dtype="int", model="model.proj.stg_visits", except_values=["0", ""])]


def test_other_tests_through_a_null_switch(tmp_path: Path) -> None:
    expr = "nullif(v.kind, 'none')"
    sql = f'select v.visit_id, v.patient_ref as patient_id, {expr} as kind from "db"."clinic"."visits" as v'
    tests = [("av_kind", "accepted_values", {"column_name": "kind", "values": ["new", "follow_up"]}),
             ("nn_kind", "not_null", {"column_name": "kind"}),
             ("unique_kind", "unique", {"column_name": "kind"})]
    result = _project(tmp_path, sql, tests)
    visits = result.metadata.tables["visits"]
    # null passes accepted_values, so the raw column may also hold the value the model nulls
    assert visits.constraint("kind").accepted_values == ["new", "follow_up", "none"]
    # unique ignores nulls: the raw column is unique where it is not the excepted value
    [cond] = visits.conditional_constraints
    assert (cond.column, cond.constraint.unique, cond.constraint.where) == ("kind", True, "NOT kind IN ('none')")
    status, detail = result.of_test("test.proj.nn_kind").status, result.of_test("test.proj.nn_kind").detail
    assert status == "not_modelled"
    assert "turns ['none'] into null, and a raw constraint cannot forbid those values" in detail


@pytest.mark.parametrize("expr, why", [
    ("case when v.patient_ref = '0' then 'none' else v.patient_ref end", "maps '0' to the constant 'none'"),
    ("case when v.kind = 'x' then null else v.patient_ref end", "decides on `v.kind = 'x'`"),
    ("case when v.patient_ref = '0' then v.kind else v.patient_ref end", "returns several different expressions"),
    ("case when trim(v.patient_ref) = '' then null else v.patient_ref end", "decides on `TRIM(v.patient_ref) = ''`"),
    ("nullif(v.patient_ref, v.kind)", "decides on `v.patient_ref = v.kind`"),
])
def test_switches_lineage_cannot_carry_say_why(tmp_path: Path, expr: str, why: str) -> None:
    result = _project(tmp_path, _visits(expr), [REL])
    entry = result.of_test("test.proj.rel_patient")
    assert entry.status == "not_modelled" and why in entry.detail, entry.detail
    assert result.metadata.tables["visits"].fk == []


def test_a_null_default_in_a_case_is_a_coalesce(tmp_path: Path) -> None:
    sql = ('select v.visit_id, v.patient_ref as patient_id, case when v.kind is null then \'new\' else v.kind end '
           'as kind from "db"."clinic"."visits" as v')
    result = _project(tmp_path, sql, [("nn_kind", "not_null", {"column_name": "kind"})])
    assert result.of_test("test.proj.nn_kind").status == "holds"


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_casts_make_raw_columns_castable(tmp_path: Path, dialect: str) -> None:
    cast_try = "try_cast(v.visited as date)" if dialect == "duckdb" else "cast(v.visited as date)"
    sql = (f'select v.visit_id::bigint as visit_id, v.patient_ref as patient_id, v.kind::varchar as kind, '
           f'cast(v.phone as bigint) as phone, {cast_try} as visited from "db"."clinic"."visits" as v')
    result = _project(tmp_path, sql, [], dialect=dialect)
    visits = result.metadata.tables["visits"]
    model = "model.proj.stg_visits"
    assert visits.constraint("phone").castable_to == [CastTarget(data_type="BIGINT", dtype="int", model=model)]
    assert visits.constraint("visit_id").castable_to == [CastTarget(data_type="BIGINT", dtype="int", model=model)]
    assert visits.constraint("visited").castable_to == [
        CastTarget(data_type="DATE", dtype="date", model=model, strict=dialect != "duckdb")]
    assert visits.constraint("kind").castable_to == []  # anything converts to text
    details = sorted(c.detail for c in result.casts)
    assert details[0] == f"visits.phone: castable to BIGINT (in {model})"
    assert {c.raw for c in result.casts} == {("source.proj.clinic.visits",)}


def test_a_cast_of_a_typed_column_that_always_converts_is_no_constraint(tmp_path: Path) -> None:
    visits = _typed(VISITS, visit_id="integer", visited="timestamp")
    sql = ('select v.visit_id::bigint as visit_id, v.patient_ref as patient_id, cast(v.visited as date) as kind '
           'from "db"."clinic"."visits" as v')
    result = _project(tmp_path, sql, [], visits=visits)
    assert result.casts == []


def test_tests_carried_to_raw_names_in_another_case(tmp_path: Path) -> None:
    """The SQL says `patient_ref`; a DuckDB seed holds `PATIENT_REF`: the carried foreign key and constraints
    land on the real spelling."""
    sql = _visits("nullif(v.patient_ref, '0')")
    tests = [REL, ("av_kind", "accepted_values", {"column_name": "kind", "values": ["new"]})]
    result = _project(tmp_path, sql, tests)
    aligned = align_to_warehouse(result, {"visits": ["VISIT_ID", "PATIENT_REF", "Kind"], "patients": ["ID", "name"]})
    visits = aligned.metadata.tables["visits"]
    [fk] = visits.fk
    assert (fk.columns, fk.parent_columns, fk.except_values) == (["PATIENT_REF"], ["ID"], ["0"])
    assert visits.constraint("Kind") == Constraint(accepted_values=["new"])
    assert aligned.metadata.tables["patients"].pk == ["ID"]
    assert not [n for n in aligned.not_modelled if "does not have" in n.reason]


def test_postgres_quoted_names_keep_their_case(tmp_path: Path) -> None:
    """PostgreSQL folds unquoted names to lower case and keeps quoted ones: `"Kind"` is the column Kind,
    `kind` the column kind, even when the table has both."""
    sql = ('select v.visit_id, v.patient_ref as patient_id, v."Kind" as kind, v.kind as kind_lower '
           'from "db"."clinic"."visits" as v')
    tests = [("av_kind", "accepted_values", {"column_name": "kind", "values": ["new"]}),
             ("av_kind_lower", "accepted_values", {"column_name": "kind_lower", "values": ["old"]}),
             ("nn_patient", "not_null", {"column_name": "PATIENT_ID"})]
    result = _project(tmp_path, sql, tests, dialect="postgres")
    aligned = align_to_warehouse(result, {"visits": ["visit_id", "patient_ref", "Kind", "kind"],
                                          "patients": ["id", "name"]})
    visits = aligned.metadata.tables["visits"]
    assert visits.constraint("Kind").accepted_values == ["new"]
    assert visits.constraint("kind").accepted_values == ["old"]
    assert visits.constraint("patient_ref").not_null  # the test names PATIENT_ID, the model patient_id


def test_duckdb_folds_quoted_names_too() -> None:
    def resolve(_table: Any) -> RelationLineage:
        return RelationLineage("raw", raw="source.p.s.raw", rows={"source.p.s.raw": RowLink()})

    tree = parse_model_sql('select "PATIENT" as patient_id, Patient_Id as other from raw', "duckdb")
    rel = SqlLineage("duckdb", resolve, lambda _t, _c: None).query(tree, {}, "m")
    assert [o.column.lower() for o in rel.lookup("PATIENT_ID").origins] == ["patient"]  # type: ignore[union-attr]
    assert [o.column.lower() for o in rel.lookup("other").origins] == ["patient_id"]  # type: ignore[union-attr]
