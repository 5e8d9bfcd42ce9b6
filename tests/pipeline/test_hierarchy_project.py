"""A self-reference end to end (tests/helpers/hierarchy_project.py): `stg_employees.manager_id` has dbt's
`relationships` test to `stg_employees.employee_id`; in mirror mode (AR) and in sources mode (CTGAN, the test carried
back to the raw table by lineage) the run lists the hierarchy's shape, the synthetic org chart keeps one root and
the real depth, and dbt's own tests pass on it."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.io import read_table
from synthohive_dbt.relational.hierarchy import shape_of
from tests.helpers.hierarchy_project import build_hierarchy

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("mode", "backend", "table"), [("mirror", "AR", "stg_employees"),
                                                      ("sources", "CTGAN", "employees")])
def test_one_tree_is_kept_and_dbt_relationships_pass(tmp_path, mode: str, backend: str, table: str) -> None:
    project = build_hierarchy(tmp_path / "org")
    res = CliRunner().invoke(cli, ["seed", "--project-dir", str(project.project_dir), "--mode", mode,
                                   "--backend", backend, "--epochs", "3", "--seed", "5",
                                   "--target-schema", "synth_org"], env={"COLUMNS": "400"})
    out = " ".join(res.output.split())
    assert res.exit_code == 0, out
    assert (f"shape {table}: manager_id -> employee_id: 1 root, depth 4, rows per level 1/6/20/64/134"
            in out), out
    engine = project.engine()
    try:
        frame = read_table(engine, ("synth_org", table))
    finally:
        engine.dispose()
    shape = shape_of(frame, ["manager_id"], ["employee_id"])
    assert (shape.roots, shape.depth, shape.levels) == (1, 4, [1, 6, 20, 64, 134])
    assert frame["manager_id"].dropna().isin(frame["employee_id"]).all()
    assert int(np.sum(frame["manager_id"].isna())) == 1
    if mode == "sources":
        return  # `inspect` reads the project's manifest: the same whatever the mode of a run
    manifest = str(project.project_dir / "target" / "manifest.json")
    inspected = CliRunner().invoke(cli, ["inspect", "--manifest", manifest,
                                         "--project-dir", str(project.project_dir)], env={"COLUMNS": "400"})
    listed = " ".join(inspected.output.split())
    assert inspected.exit_code == 0, listed
    assert ("learned rule (on 225 sampled rows) stg_employees: shape manager_id -> employee_id: 1 root, depth 4"
            in listed), listed
