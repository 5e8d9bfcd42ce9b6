"""Odd column names on a real dbt project (DuckDB, and PostgreSQL where marked): upper-case seed headers
named in lower case in YAML, `quote: true` columns named like SQL keywords, unicode, an embedded double
quote, a test on an expression, and relationships to a disabled and to a missing model.

What dbt itself cannot build is left out: a seed header with an embedded double quote fails in `dbt seed`
(dbt-duckdb 1.11 quotes seed columns without doubling the quote: `"ünï "quote""`), so that column is made by
a model instead, and carries no dbt test (dbt's `quote: true` would render the same broken SQL).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.helpers.profiles import profiles_yml
from synthohive_dbt.cli import cli
from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.io import Relation, quote_ident, read_table
from synthohive_dbt.manifest import read_manifest
from synthohive_dbt.errors import ManifestError
from synthohive_dbt.pipeline.project import ProjectTables, load_raw_manifest, resolve

ODD = 'ünï "quote"'
PROFILES = profiles_yml("clinic", "clinic.duckdb")
PROJECT = """name: clinic
version: "1.0"
profile: clinic
seeds:
  clinic:
    patients: {+quote_columns: false}
    visits: {+quote_columns: true}
"""
SCHEMA = """version: 2
seeds:
  - name: patients
    columns:
      - name: patient
        data_tests: [unique, not_null]
  - name: visits
    columns:
      - name: visit_id
        data_tests:
          - unique
          - not_null
          - relationships:
              arguments: {to: "ref('absent')", field: id}
      - name: patient
        data_tests:
          - relationships:
              arguments: {to: "ref('patients')", field: patient}
          - relationships:
              arguments: {to: "ref('gone')", field: id}
      - name: Select
        quote: true
        data_tests: [not_null]
      - name: order
        quote: true
        data_tests:
          - not_null
          - accepted_values:
              arguments: {values: [1, 2, 3], quote: false}
      - name: ünï quote
        quote: true
        data_tests: [not_null]
    data_tests:
      - not_null:
          arguments: {column_name: 'upper("Select")'}
models:
  - name: odd
    columns:
      - name: visit_id
        data_tests:
          - unique
          - relationships:
              arguments: {to: "ref('visits')", field: visit_id}
      - name: MiXed
        quote: true
        data_tests: [not_null]
"""
ODD_SQL = ('select visit_id, visit_id * 2 as "ünï ""quote""", \'x\' || visit_id as "MiXed" '
           "from {{ ref('visits') }}\n")


def write_project(root: Path, rows: int = 24) -> Path:
    """The clinic project: two seeds, a model, a disabled model, and the YAML above."""
    (root / "seeds").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "dbt_project.yml").write_text(PROJECT)
    (root / "profiles.yml").write_text(PROFILES)
    (root / "models" / "schema.yml").write_text(SCHEMA, encoding="utf-8")
    (root / "models" / "odd.sql").write_text(ODD_SQL, encoding="utf-8")
    (root / "models" / "gone.sql").write_text("{{ config(enabled=false) }}\nselect 1 as id\n")
    patients = rows // 3
    (root / "seeds" / "patients.csv").write_text(
        "PATIENT,name\n" + "".join(f"{i},name{i}\n" for i in range(1, patients + 1)))
    (root / "seeds" / "visits.csv").write_text(
        "visit_id,patient,Select,order,ünï quote\n"
        + "".join(f"{100 + i},{1 + i % patients},{'xyz'[i % 3]},{1 + i % 3},u{i % 4}\n" for i in range(rows)),
        encoding="utf-8")
    return root


def build(root: Path, *, target: str | None = None, env: dict[str, str] | None = None) -> DbtProject:
    project = DbtProject(root, profiles_dir=root, target=target, env=env)
    project.seed()
    result = project.build(exclude=["resource_type:seed"])
    assert result.success, [(o.name, o.message) for o in result.failed]
    return project


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    return build(write_project(tmp_path_factory.mktemp("identifiers") / "clinic"))


def reasons(tables: ProjectTables) -> dict[str, str]:
    return {n.test.split(".")[2]: n.reason for n in tables.read.not_modelled}


def check_resolved(tables: ProjectTables, patient: str) -> None:
    """Keys, foreign keys and constraints on the real column names; what cannot be modelled, said."""
    meta = tables.metadata
    patients, visits, odd = meta.tables["patients"], meta.tables["visits"], meta.tables["odd"]
    assert patients.pk == [patient] and patients.constraint(patient).unique
    assert visits.pk == ["visit_id"]
    assert [(fk.columns, fk.parent, fk.parent_columns) for fk in visits.fk] == [(["patient"], "patients",
                                                                                  [patient])]
    for col in ("Select", "order", "ünï quote"):
        assert visits.constraint(col).not_null, col
    assert visits.constraint("order").accepted_values == [1, 2, 3]
    assert odd.columns == ["visit_id", ODD, "MiXed"] and odd.constraint("MiXed").not_null
    assert [(fk.columns, fk.parent, fk.parent_columns) for fk in odd.fk] == [(["visit_id"], "visits",
                                                                              ["visit_id"])]
    meta.validate_schema()
    why = reasons(tables)
    assert why["relationships_visits_patient__id__ref_gone_"].startswith(
        "parent model `gone` is disabled, so the foreign key visits.patient -> gone.id is not modelled")
    assert why["relationships_visits_visit_id__id__ref_absent_"].startswith(
        "parent ref `absent` does not exist in the project, so the foreign key visits.visit_id -> absent.id is "
        "not modelled")
    assert "checks `upper(\"Select\")`, an SQL expression rather than a column of visits" in \
        why["not_null_visits_upper_Select_"]


def check_every_column_reads(project: DbtProject, tables: ProjectTables) -> None:
    """Every column the metadata names is a real column, read with SQL that quotes it once."""
    engine = project.engine()
    try:
        for name, table in tables.metadata.tables.items():
            real = tables.tables[name].real
            frame = read_table(engine, Relation(real.schema, real.name))
            named = {*table.pk, *table.constraints, *(c for fk in table.fk for c in fk.columns)}
            assert named <= set(frame.columns), (name, named, list(frame.columns))
    finally:
        engine.dispose()


def test_odd_names_land_on_the_real_duckdb_columns(clinic: DbtProject) -> None:
    manifest = read_manifest(clinic.parse())
    assert manifest.metadata.tables["patients"].pk == ["patient"]  # the manifest's spelling, before the warehouse
    tables = resolve(clinic, "mirror")
    check_resolved(tables, patient="PATIENT")  # DuckDB kept the seed header's case
    check_every_column_reads(clinic, tables)
    assert quote_ident(ODD) == '"ünï ""quote"""'


@pytest.mark.postgres
def test_odd_names_land_on_the_real_postgres_columns(tmp_path: Path, postgres_server: Any) -> None:
    env = postgres_server.dbt_env(dbname=postgres_server.create_database(), schema="clinic")
    project = build(write_project(tmp_path / "clinic"), target="pg", env=env)
    tables = resolve(project, "mirror")
    check_resolved(tables, patient="patient")  # PostgreSQL folded the unquoted PATIENT header
    check_every_column_reads(project, tables)


@pytest.mark.slow
def test_seed_end_to_end_on_odd_names(clinic: DbtProject) -> None:
    """`synthohive seed` learns, writes and dbt-tests the synthetic clinic (about 10 s)."""
    res = CliRunner().invoke(cli, ["seed", "--project-dir", str(clinic.project_dir), "--profiles-dir",
                                   str(clinic.project_dir), "--target-schema", "synth", "--epochs", "2",
                                   "--seed", "1", "--log-format", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["success"] is True and summary["failed"] == [], summary
    assert summary["tests"] == summary["tests_passed"] == 13, summary
    engine = clinic.engine()
    try:
        frame = read_table(engine, Relation("synth", "odd"))
        assert list(frame.columns) == ["visit_id", ODD, "MiXed"] and len(frame) > 0
        patients = read_table(engine, Relation("synth", "patients"))
        assert list(patients.columns) == ["PATIENT", "name"]
    finally:
        engine.dispose()


SOURCES_SCHEMA = """version: 2
sources:
  - name: raw
    schema: main
    tables:
      - name: raw_patients
        columns:
          - name: patient
      - name: raw_visits
models:
  - name: stg_patients
    columns:
      - name: patient_id
        data_tests: [unique, not_null]
  - name: stg_visits
    columns:
      - name: visit_id
        data_tests: [unique]
      - name: patient_id
        data_tests:
          - not_null
          - relationships:
              arguments: {to: "ref('stg_patients')", field: patient_id}
          - relationships:
              arguments: {to: "ref('retired')", field: id}
"""


def test_sources_mode_carries_tests_back_to_the_real_raw_names(tmp_path: Path) -> None:
    """`patient_id` on a model is `PATIENT` (declared `patient`) in the raw seed; `Visit_Id` is read unquoted."""
    root = tmp_path / "clinic_src"
    (root / "seeds").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "dbt_project.yml").write_text(PROJECT.replace("    patients: {+quote_columns: false}\n"
                                                          "    visits: {+quote_columns: true}\n",
                                                          "    +quote_columns: true\n"))
    (root / "profiles.yml").write_text(PROFILES)
    (root / "models" / "schema.yml").write_text(SOURCES_SCHEMA)
    (root / "models" / "stg_patients.sql").write_text(
        "select \"PATIENT\" as patient_id, name from {{ source('raw', 'raw_patients') }}\n")
    (root / "models" / "stg_visits.sql").write_text(
        "select visit_id, Patient as patient_id from {{ source('raw', 'raw_visits') }}\n")
    (root / "models" / "retired.sql").write_text("{{ config(enabled=false) }}\nselect 1 as id\n")
    (root / "seeds" / "raw_patients.csv").write_text("PATIENT,name\n1,a\n2,b\n3,c\n")
    (root / "seeds" / "raw_visits.csv").write_text("Visit_Id,Patient\n10,1\n11,2\n12,1\n")
    tables = resolve(build(root), "sources")
    meta = tables.metadata
    patients, visits = meta.tables["raw_patients"], meta.tables["raw_visits"]
    assert patients.pk == ["PATIENT"] and patients.constraint("PATIENT").not_null
    assert visits.pk == ["Visit_Id"]
    assert [(fk.columns, fk.parent, fk.parent_columns) for fk in visits.fk] == [(["Patient"], "raw_patients",
                                                                                  ["PATIENT"])]
    assert visits.constraint("Patient").not_null
    meta.validate_schema()
    assert reasons(tables)["relationships_stg_visits_patient_id__id__ref_retired_"].startswith(
        "on downstream model model.clinic.stg_visits: parent model `retired` is disabled, so the foreign key "
        "stg_visits.patient_id -> retired.id is not modelled")


@pytest.mark.slow
@pytest.mark.postgres
def test_seed_end_to_end_on_odd_names_in_postgres(tmp_path: Path, postgres_server: Any) -> None:
    """The same run on PostgreSQL: COPY into quoted names, dbt tests on `quote: true` columns (about 10 s)."""
    env = postgres_server.dbt_env(dbname=postgres_server.create_database(), schema="clinic")
    project = build(write_project(tmp_path / "clinic"), target="pg", env=env)
    res = CliRunner(env=env).invoke(cli, ["seed", "--project-dir", str(project.project_dir), "--profiles-dir",
                                          str(project.project_dir), "--target", "pg", "--target-schema", "synth",
                                          "--epochs", "2", "--seed", "1", "--log-format", "json"],
                                    catch_exceptions=False)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["success"] is True and summary["tests"] == summary["tests_passed"] == 13, summary
    engine = project.engine()
    try:
        assert list(read_table(engine, Relation("synth", "odd")).columns) == ["visit_id", ODD, "MiXed"]
        assert list(read_table(engine, Relation("synth", "patients")).columns) == ["patient", "name"]
    finally:
        engine.dispose()


@pytest.mark.parametrize(("text", "message"), [
    ('{"nodes": {"model.a.b": {"config": "x"}', r"cannot read .*manifest.json: Expecting"),
    ('["not", "a", "manifest"]', r"manifest.json: top level is a list, not a JSON object"),
    ('{"nodes": []}', r"manifest.json: the manifest has no 'nodes' object \(found list\)"),
    ('{"nodes": {"model.a.b": {"depends_on": {"nodes": "model.a.c"}}}}',
     r"manifest.json: nodes\['model.a.b'\].depends_on.nodes is not a list of unique_ids"),
])
def test_a_broken_manifest_stops_the_pipeline_with_the_file_named(tmp_path: Path, text: str, message: str) -> None:
    """The pipeline reads the raw JSON too (state manifests, relations): the same checks as the reader."""
    path = tmp_path / "manifest.json"
    path.write_text(text)
    with pytest.raises(ManifestError, match=message + ".*\n  fix: .*dbt parse"):
        load_raw_manifest(path)
