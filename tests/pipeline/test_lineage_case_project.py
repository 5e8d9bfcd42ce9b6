"""Sources mode end to end on DuckDB: a relationships test on `case when x = '0' then null else x end` is
carried back to raw `x` with '0' excepted, so the synthetic raw column holds generated parent keys and '0'
(at its real share), and the project's own `dbt test` finds no orphan. The raw key is `PATIENT_ID` while the
SQL and YAML say `patient_id` (DuckDB folds case)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.io import read_table
from synthohive_dbt.io.warehouse import run_sql
from tests.helpers.profiles import profiles_yml

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
RAW = "raw_clinic"
FILES = {
    "dbt_project.yml": 'name: clinic\nversion: "1.0"\nconfig-version: 2\nprofile: clinic\n'
                       "models:\n  clinic:\n    +materialized: view\n",
    "profiles.yml": profiles_yml("clinic", "clinic.duckdb"),
    "packages.yml": f"packages:\n  - local: {REPO}\n",
    "macros/source.sql": "{% macro source(source_name, table_name) %}\n"
                         "  {{ return(synthohive.source(source_name, table_name)) }}\n{% endmacro %}\n",
    "models/sources.yml": f"version: 2\nsources:\n  - name: clinic\n    schema: {RAW}\n"
                          "    tables:\n      - name: patients\n      - name: visits\n",
    "models/stg_patients.sql": "select patient_id, age from {{ source('clinic', 'patients') }}",
    "models/stg_visits.sql": "select visit_id,\n"
                             "  case when patient_ref = '0' then null else patient_ref end as patient_id,\n"
                             "  kind_code::integer as kind\n"
                             "from {{ source('clinic', 'visits') }}",
    "models/models.yml": """version: 2
models:
  - name: stg_patients
    columns:
      - name: patient_id
        data_tests: [unique, not_null]
  - name: stg_visits
    columns:
      - name: visit_id
        data_tests: [unique, not_null]
      - name: patient_id
        data_tests:
          - relationships: {to: ref('stg_patients'), field: patient_id}
      - name: kind
        data_tests:
          - accepted_values: {values: [1, 2, 3], quote: false}
""",
}


def _project(root: Path) -> DbtProject:
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    project = DbtProject(root)
    rng = np.random.default_rng(1)
    ids = [f"P-{i:05d}" for i in range(80)]
    refs = rng.choice(ids, 300).astype(object)
    refs[rng.random(300) < 0.3] = "0"
    engine = project.engine()
    try:
        with engine.begin() as conn:
            run_sql(conn, f"CREATE SCHEMA {RAW}")
            run_sql(conn, f'CREATE TABLE {RAW}.patients ("PATIENT_ID" VARCHAR, "Age" INTEGER)')
            run_sql(conn, f"CREATE TABLE {RAW}.visits (visit_id INTEGER, patient_ref VARCHAR, kind_code VARCHAR)")
            values = ", ".join(f"('{p}', {int(a)})" for p, a in zip(ids, rng.integers(1, 90, len(ids))))
            run_sql(conn, f"INSERT INTO {RAW}.patients VALUES {values}")
            kinds = rng.choice(["1", "2", "3"], len(refs))
            values = ", ".join(f"({i}, '{r}', '{k}')" for i, (r, k) in enumerate(zip(refs, kinds)))
            run_sql(conn, f"INSERT INTO {RAW}.visits VALUES {values}")
    finally:
        engine.dispose()
    project.deps()
    result = project.build()
    assert all(o.status == "pass" for o in result.tests()), [(o.name, o.status) for o in result.tests()]
    return project


def test_relationship_through_case_passes_on_synthetic_sources(tmp_path: Path) -> None:
    project = _project(tmp_path / "clinic")
    res = CliRunner().invoke(cli, ["seed", "--project-dir", str(project.project_dir), "--mode", "sources",
                                   "--backend", "AR", "--seed", "3", "--target-schema", "synthetic"])
    assert res.exit_code == 0, res.output
    engine = project.engine()
    try:
        visits = read_table(engine, ("synthetic", "visits"))
        patients = read_table(engine, ("synthetic", "patients"))
    finally:
        engine.dispose()
    ref = visits["patient_ref"]
    linked = ref.notna() & (ref != "0")
    assert 0.15 < float((ref == "0").mean()) < 0.45  # '0' kept at about its real 30%, not remapped
    assert linked.any() and ref[linked].isin(patients["PATIENT_ID"]).all()  # no orphan
