"""A dbt project whose raw tables declare no keys (only not_null and accepted_values), joined by its models.

It reproduces a silent false success seen on a public project: with the raw `id`s generated anew and the
child column keeping the real ones, every model that joins them was empty while every declared test passed.
Raw tables (schema `raw_gh`): `repos(id, topic, stars)` with UUID ids, `issues(id, repo_id, state, comments)`
with integer ids; the model
`issues_by_repo` (a table) joins them on `issues.repo_id = repos.id`. `build_keyless(root, target, env)`
writes the project, fills the raw tables, runs `dbt deps` + `dbt build` on the real data, and returns it.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from synthohive_dbt.dbt import DbtProject
from tests.helpers.messy_project import REPO, SOURCE_MACRO, load_and_build
from tests.helpers.profiles import profiles_yml

RAW = "raw_gh"
PROJECT = """name: keyless
version: "1.0"
config-version: 2
profile: keyless
models:
  keyless:
    +materialized: table
"""
GH_TABLES = """      - name: repos
        columns:
          - name: id
            data_tests: [not_null]
          - name: topic
            data_tests: [not_null]
      - name: issues
        columns:
          - name: id
            data_tests: [not_null]
          - name: repo_id
            data_tests: [not_null]
          - name: state
            data_tests:
              - accepted_values:
                  arguments: {values: [open, closed]}
"""
"""The raw `repos` and `issues` tables as sources declare them: no key, only not_null (and the issue states)."""
SOURCES = f"""version: 2
sources:
  - name: gh
    schema: {RAW}
    tables:
{GH_TABLES}"""
MODELS = """version: 2
models:
  - name: issues_by_repo
    columns:
      - name: topic
        data_tests: [not_null]
"""
MODEL_SQL = """select i.id as issue_id, i.state, i.comments, r.topic, r.stars
from {{ source('gh', 'issues') }} i
join {{ source('gh', 'repos') }} r on i.repo_id = r.id
"""
DDL = {"repos": "id VARCHAR(36), topic VARCHAR(30), stars INTEGER",
       "issues": "id INTEGER, repo_id VARCHAR(36), state VARCHAR(10), comments INTEGER"}


def real_frames(seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    topics = ["data", "web", "cli", "ml", "docs", "infra", "sdk", "ui"]
    ids = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(30)]
    repos = pd.DataFrame({"id": ids, "topic": rng.choice(topics, 30),
                          "stars": rng.integers(0, 900, 30)})
    issues = pd.DataFrame({"id": np.arange(70001, 70241), "repo_id": rng.choice(repos["id"], 240),
                           "state": rng.choice(["open", "closed"], 240), "comments": rng.integers(0, 12, 240)})
    return {"repos": repos, "issues": issues}


def build_keyless(root: Path, *, target: str | None = None, env: dict[str, str] | None = None) -> DbtProject:
    (root / "models").mkdir(parents=True)
    (root / "macros").mkdir()
    (root / "dbt_project.yml").write_text(PROJECT)
    (root / "profiles.yml").write_text(profiles_yml("keyless", "keyless.duckdb"))
    (root / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    (root / "models" / "sources.yml").write_text(SOURCES)
    (root / "models" / "models.yml").write_text(MODELS)
    (root / "models" / "issues_by_repo.sql").write_text(MODEL_SQL)
    (root / "macros" / "source.sql").write_text(SOURCE_MACRO)
    return load_and_build(root, real_frames(), RAW, DDL, target=target, env=env)
