"""A self-reference end to end in mirror mode (tests/helpers/hierarchy_project.py): `stg_employees.manager_id`
has dbt's `relationships` test to `stg_employees.employee_id`; the run lists the hierarchy's shape, the synthetic
org chart keeps one root and the real depth, and dbt's own tests pass on it."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.io import read_table
from synthohive_dbt.relational.hierarchy import shape_of
from tests.helpers.hierarchy_project import build_hierarchy

pytestmark = pytest.mark.slow


def test_mirror_mode_keeps_one_tree_and_dbt_relationships_pass(tmp_path) -> None:
    project = build_hierarchy(tmp_path / "org")
    res = CliRunner().invoke(cli, ["seed", "--project-dir", str(project.project_dir), "--mode", "mirror",
                                   "--backend", "AR", "--epochs", "3", "--seed", "5",
                                   "--target-schema", "synth_org"], env={"COLUMNS": "400"})
    out = " ".join(res.output.split())
    assert res.exit_code == 0, out
    assert ("shape stg_employees: manager_id -> employee_id: 1 root, depth 4, rows per level 1/6/20/64/134"
            in out), out
    engine = project.engine()
    try:
        frame = read_table(engine, ("synth_org", "stg_employees"))
    finally:
        engine.dispose()
    shape = shape_of(frame, ["manager_id"], ["employee_id"])
    assert (shape.roots, shape.depth, shape.levels) == (1, 4, [1, 6, 20, 64, 134])
    assert frame["manager_id"].dropna().isin(frame["employee_id"]).all()
    assert int(np.sum(frame["manager_id"].isna())) == 1
    manifest = str(project.project_dir / "target" / "manifest.json")
    inspected = CliRunner().invoke(cli, ["inspect", "--manifest", manifest,
                                         "--project-dir", str(project.project_dir)], env={"COLUMNS": "400"})
    listed = " ".join(inspected.output.split())
    assert inspected.exit_code == 0, listed
    assert ("learned rule (on 225 sampled rows) stg_employees: shape manager_id -> employee_id: 1 root, depth 4"
            in listed), listed
