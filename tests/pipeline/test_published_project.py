"""Issue #12's cases at once (tests/helpers/published_project.py), through the real CLI, in both modes, on DuckDB
and PostgreSQL, with CTGAN and AR: every dbt test that passes on the real data passes on the synthetic data,
the model filtering a lookup by the literal 'Rock' is filled, lookups keep their labels, every model is at
least a tenth of its real size (sources mode), and no real UUID, password, phone or token is written."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from synthohive_dbt.cli import cli
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
from tests.helpers.profiles import WAREHOUSES, build_on_warehouse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=WAREHOUSES)
def published(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Published:
    return build_on_warehouse(request, tmp_path_factory, "published", build_published)


@dataclass
class Run:
    code: int
    output: str
    outcomes: dict[tuple[str, str], str]  # (resource type, name) -> status, from the JSON log
    summary: dict


def _seed(published: Published, *args: str) -> Run:
    target = ["--target", published.project.target] if published.project.target else []
    res = CliRunner().invoke(cli, ["seed", "--project-dir", str(published.dir), *target, "--epochs", "3",
                                   "--seed", "5", "--log-format", "json", *args])
    records = [json.loads(line) for line in res.stderr.splitlines() if line.startswith("{")]
    outcomes = {(r["resource_type"], r["name"]): r["status"] for r in records if r.get("event") == "outcome"}
    summary = json.loads(res.stdout.strip().splitlines()[-1]) if res.stdout.strip().startswith("{") else {}
    return Run(res.exit_code, res.output, outcomes, summary)


def _synthetic(engine: sa.Engine, schemas: list[str]) -> dict[tuple[str, str], pd.DataFrame]:
    with engine.connect() as conn:
        names = [(s, t) for s in schemas for t in list_tables(conn, s) if t != MARKER_TABLE]
    return {rel: read_table(engine, rel) for rel in names}


@pytest.mark.parametrize("backend", ["CTGAN", "AR"])
@pytest.mark.parametrize("mode", ["mirror", "sources"])
def test_published_project(published: Published, mode: str, backend: str) -> None:
    schema = f"s_{mode}_{backend.lower()}"
    run = _seed(published, "--mode", mode, "--backend", backend, "--target-schema", schema)
    assert run.code == 0, run.output[-5000:]

    passing = published.real_passing
    assert len(passing) == len(published.real_tests) >= 30
    tests = {name: status for (kind, name), status in run.outcomes.items() if kind == "test"}
    assert {name: tests.get(name, "absent") for name in passing if tests.get(name) != "pass"} == {}
    assert run.summary["tests"] == run.summary["tests_passed"] == len(passing)
    sizes = {name: status for (kind, name), status in run.outcomes.items() if kind == "model size"}
    assert sizes == ({name: "pass" for name in SQL} if mode == "sources" else {})
    inferred = {f"{fk['table']}.{fk['column']} -> {fk['parent']}.{fk['parent_column']}"
                for fk in run.summary["inferred_keys"]}
    assert {"issues.repo_id -> repos.id", "labels.issue_id -> issues.id"} <= inferred, inferred
    raw = set(published.frames)  # raw tables and seeds reference only raw tables and seeds
    assert not [fk for fk in run.summary["inferred_keys"] if fk["table"] in raw and fk["parent"] not in raw]

    built = f"{schema}_build" if mode == "sources" else schema
    engine = published.project.engine()
    try:
        tables = _synthetic(engine, [schema, built] if mode == "sources" else [schema])
    finally:
        engine.dispose()
    assert len(tables[(built, "rock_tracks")]) > 0  # `where s.name = 'Rock'` found its rows
    if mode == "sources":  # lineage names 'Rock' for styles.name: it is written (mirror mode reads no SQL)
        assert "Rock" in set(tables[(schema, "styles")]["name"])
    # declarations and values beat the name heuristics: labels stay labels, not people
    assert set(tables[(schema, "genres")]["name"]) <= set(GENRES)
    assert set(tables[(schema, "categories")]["name"]) <= set(CATEGORIES)  # meta: {pii: false}
    assert set(tables[(schema, "labels")]["name"]) <= set(LABELS)  # no declaration: the values say labels
    assert set(tables[(schema, "tracks")]["length_category"]) <= {"Short", "Medium", "Long"}
    assert tables[(schema, "patients")]["phone"].str.fullmatch(r"\d{10}").all()  # faked in the real format
    assert tables[(schema, "sessions")]["session_uuid"].is_unique  # an undeclared identifier, generated anew

    real = {str(v) for table, cols in SECRET_COLUMNS.items() for c in cols for v in published.frames[table][c]}
    leaked = {f"{s}.{t}.{c}": sorted(hits)[:3] for (s, t), frame in tables.items() for c in frame.columns
              if (hits := {str(v) for v in frame[c].dropna()} & real)}
    assert leaked == {}, leaked


def test_inspect_says_what_is_faked_before_any_run(published: Published) -> None:
    """Read through the profile: secrets and phones are faked; lookups of labels, genres and categories are not."""
    target = ["--target", published.project.target] if published.project.target else []
    res = CliRunner().invoke(cli, ["inspect", "--manifest", str(published.dir / "target" / "manifest.json"),
                                   "--project-dir", str(published.dir), *target, "--json"])
    assert res.exit_code == 0, res.output
    decisions = {(d["table"].split("__")[0], d["column"]): d for d in json.loads(res.stdout)["pii"]}
    assert decisions[("patients", "password")]["kind"] == "secret" and decisions[("patients", "password")]["faked"]
    assert decisions[("patients", "phone")]["kind"] == "phone" and decisions[("patients", "phone")]["faked"]
    assert decisions[("categories", "name")]["source"] == "not_pii"  # meta: {pii: false}
    for table in ("genres", "labels", "styles", "categories"):
        assert not decisions[(table, "name")]["faked"], decisions[(table, "name")]
