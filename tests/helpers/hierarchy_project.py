"""An org chart: one table referencing itself (`employees.manager_id -> employees.employee_id`).

`org_chart(...)` draws a real-looking hierarchy with a known shape (roots, depth, reports per level);
`build_hierarchy(root, target, env)` writes a dbt project whose model `stg_employees` selects the raw table and
declares dbt's `relationships` test from the model to itself, fills the raw table (schema `raw_org`), runs
`dbt deps` + `dbt build` on the real data and returns it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthohive_dbt.dbt import DbtProject
from tests.helpers.messy_project import REPO, SOURCE_MACRO, load_and_build
from tests.helpers.profiles import profiles_yml

RAW = "raw_org"
REPORTS = (5, 4, 3, 2)  # about this many reports per manager at depth 0, 1, 2, 3: 1 + 5 + 20 + 60 + 120 rows


def org_chart(seed: int = 0, roots: int = 1, reports: tuple[int, ...] = REPORTS) -> pd.DataFrame:
    """`roots` trees, each manager at depth d having reports[d] -1..+1 reports (some none below the top)."""
    rng = np.random.default_rng(seed)
    parent = [-1] * roots
    level = list(range(roots))
    for k in reports:
        below = []
        for p in level:
            for _ in range(max(0, k + int(rng.integers(-1, 2)))):
                parent.append(p)
                below.append(len(parent) - 1)
        level = below
    n = len(parent)
    ids = rng.permutation(np.arange(1000, 1000 + n))  # key order says nothing about the level
    manager = pd.array([ids[p] if p >= 0 else None for p in parent], dtype="Int64")
    title_by_depth = np.array(["ceo", "vp", "director", "manager", "engineer", "engineer"])
    depth = np.zeros(n, dtype=int)
    for i, p in enumerate(parent):
        depth[i] = 0 if p < 0 else depth[p] + 1
    return pd.DataFrame({"employee_id": ids, "manager_id": manager, "title": title_by_depth[np.minimum(depth, 5)],
                         "salary": np.round(200_000 / (1 + depth) + rng.normal(0, 5000, n), 2)})


PROJECT = """name: org
version: "1.0"
config-version: 2
profile: org
models:
  org:
    +materialized: table
"""
SOURCES = f"""version: 2
sources:
  - name: org
    schema: {RAW}
    tables:
      - name: employees
"""
MODELS = """version: 2
models:
  - name: stg_employees
    columns:
      - name: employee_id
        data_tests: [unique, not_null]
      - name: manager_id
        data_tests:
          - relationships:
              arguments:
                to: ref('stg_employees')
                field: employee_id
"""
MODEL_SQL = """select employee_id, manager_id, title, salary from {{ source('org', 'employees') }}
"""
DDL = {"employees": "employee_id INTEGER, manager_id INTEGER, title VARCHAR(20), salary DOUBLE PRECISION"}


def build_hierarchy(root: Path, *, target: str | None = None, env: dict[str, str] | None = None) -> DbtProject:
    for d in ("models", "macros"):
        (root / d).mkdir(parents=True)
    (root / "dbt_project.yml").write_text(PROJECT)
    (root / "profiles.yml").write_text(profiles_yml("org", "org.duckdb"))
    (root / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    (root / "models" / "sources.yml").write_text(SOURCES)
    (root / "models" / "models.yml").write_text(MODELS)
    (root / "models" / "stg_employees.sql").write_text(MODEL_SQL)
    (root / "macros" / "source.sql").write_text(SOURCE_MACRO)
    return load_and_build(root, {"employees": org_chart()}, RAW, DDL, target=target, env=env)
