"""Issue #12's cases at once (tests/helpers/published_project.py), through the real CLI, in both modes, on DuckDB
and PostgreSQL, with CTGAN and AR: every dbt test that passes on the real data passes on the synthetic data,
the model filtering a lookup by the literal 'Rock' is filled, lookups keep their labels, every model is at
least a tenth of its real size (sources mode), and no real UUID, password, phone or token is written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.dbt import outcomes_from_run_results
from synthohive_dbt.io import list_tables, read_table
from synthohive_dbt.io.ownership import MARKER_TABLE
from tests.helpers.published_project import (
    CATEGORIES,
    GENRES,
    LABELS,
    SECRET_COLUMNS,
    SQL,
    Published,
    build_published,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def published(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Published:
    root = tmp_path_factory.mktemp(f"published_{request.param}") / "published"
    if request.param == "duckdb":
        return build_published(root)
    server = request.getfixturevalue("postgres_server")
    env = server.dbt_env(dbname=server.create_database(), schema="analytics")
    os.environ.update(env)  # the CLI's dbt reads the profile's env_var()s from the process environment
    return build_published(root, target="pg", env=env)


def _seed(published: Published, *args: str) -> tuple[int, str]:
    target = ["--target", published.project.target] if published.project.target else []
    res = CliRunner().invoke(cli, ["seed", "--project-dir", str(published.dir), *target, "--epochs", "3",
                                   "--seed", "5", *args], env={"COLUMNS": "400"})
    return res.exit_code, " ".join(res.output.split())


def _last_outcomes(published: Published) -> dict[str, str]:
    """Test name -> status, from dbt's run_results.json files of the newest run (build, then the extra test)."""
    run = sorted((published.dir / "target" / "synthohive").iterdir(), key=lambda p: p.name)[-1]
    statuses: dict[str, str] = {}
    for path in sorted(run.rglob("run_results.json"), key=lambda p: len(p.parts), reverse=True):
        statuses.update({o.name: o.status for o in outcomes_from_run_results(path) if o.resource_type == "test"})
    return statuses


def _synthetic(engine: sa.Engine, schemas: list[str]) -> dict[tuple[str, str], pd.DataFrame]:
    with engine.connect() as conn:
        names = [(s, t) for s in schemas for t in list_tables(conn, s) if t != MARKER_TABLE]
    return {rel: read_table(engine, rel) for rel in names}


@pytest.mark.parametrize("backend", ["CTGAN", "AR"])
@pytest.mark.parametrize("mode", ["mirror", "sources"])
def test_published_project(published: Published, mode: str, backend: str) -> None:
    schema = f"s_{mode}_{backend.lower()}"
    code, out = _seed(published, "--mode", mode, "--backend", backend, "--target-schema", schema)
    assert code == 0, out

    passing = published.real_passing
    assert len(passing) == len(published.real_tests) >= 30
    statuses = _last_outcomes(published)
    assert {name: statuses.get(name, "not run") for name in passing if statuses.get(name) != "pass"} == {}
    assert f"dbt tests: {len(passing)}/{len(passing)} passed" in out
    if mode == "sources":
        assert f"model sizes: {len(SQL)}/{len(SQL)} within 1/10 of real" in out
    assert re.search(r"inferred foreign key\(s\).*issues\.repo_id -> repos\.id", out), out

    built = f"{schema}_build" if mode == "sources" else schema
    engine = published.project.engine()
    try:
        tables = _synthetic(engine, [schema, built] if mode == "sources" else [schema])
    finally:
        engine.dispose()
    assert len(tables[(built, "rock_tracks")]) > 0  # `where s.name = 'Rock'` found its rows
    assert "Rock" in set(tables[(schema, "styles")]["name"])
    # declarations and values beat the name heuristics: labels stay labels, not people
    assert set(tables[(schema, "genres")]["name"]) <= set(GENRES)
    assert set(tables[(schema, "categories")]["name"]) <= set(CATEGORIES)  # meta: {pii: false}
    assert set(tables[(schema, "labels")]["name"]) <= set(LABELS)  # no declaration: the values say labels
    assert set(tables[(schema, "tracks")]["length_category"]) <= {"Short", "Medium", "Long"}

    real = {str(v) for table, cols in SECRET_COLUMNS.items() for c in cols for v in published.frames[table][c]}
    leaked = {f"{s}.{t}.{c}": sorted(hits)[:3] for (s, t), frame in tables.items() for c in frame.columns
              if (hits := {str(v) for v in frame[c].dropna()} & real)}
    assert leaked == {}, leaked
