"""dbt in a worker process (`synthohive_dbt.dbt.worker`) and dbt run on a manifest handed over (no parse).

A real dbt project on a real DuckDB file: the worker runs `dbt test` with a manifest it did not parse, and a
failing test comes back failing, a passing one passing, and a generic test compiles (its kwargs travel with
the manifest). Its errors come back typed, with the worker's own words when it died.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.dbt.runner import manifest_object, with_sources_in
from synthohive_dbt.dbt.worker import DbtWorker, runs_out_of_process
from synthohive_dbt.errors import DbtError

PROJECT = "name: probe\nversion: '1.0'\nprofile: probe\nseed-paths: [seeds]\ntest-paths: [tests]\n"
PROFILES = "probe:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: probe.duckdb\n      schema: main\n"
SEEDS_YML = ("version: 2\nseeds:\n  - name: people\n    columns:\n      - name: id\n        data_tests: [unique]\n")


def _project(root: Path) -> DbtProject:
    (root / "seeds").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "dbt_project.yml").write_text(PROJECT)
    (root / "profiles.yml").write_text(PROFILES)
    (root / "seeds" / "people.csv").write_text("id,name\n1,a\n2,b\n")
    (root / "seeds" / "people.yml").write_text(SEEDS_YML)
    (root / "tests" / "always_fails.sql").write_text("select * from {{ ref('people') }} where id = 1\n")
    (root / "tests" / "never_fails.sql").write_text("select * from {{ ref('people') }} where id > 2\n")
    project = DbtProject(root, profiles_dir=root)
    project.seed()
    project.parse()
    return project


def test_a_manifest_handed_over_runs_tests_without_a_parse_in_a_worker(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    manifest = json.loads((project.target_path / "manifest.json").read_text())
    (project.target_path / "manifest.json").unlink()
    with DbtWorker(project, "duckdb") as worker:
        worker.prepare(manifest)
        res = worker.invoke(["test", "--log-level", "none"])
    status = {o.name: o.status for o in res.tests()}
    assert status == {"always_fails": "fail", "never_fails": "pass", "unique_people_id": "pass"}, status
    assert not res.success
    # dbt parsed nothing and wrote no manifest; the run's results are where dbt puts them
    assert not (project.target_path / "manifest.json").exists()
    results = json.loads((project.target_path / "run_results.json").read_text())
    assert len(results["results"]) == 3


def test_sources_moved_in_a_manifest_dict() -> None:
    manifest = {"sources": {"source.p.raw.t": {"schema": "raw", "relation_name": '"db"."raw"."t"'}}}
    moved = with_sources_in(manifest, {"source.p.raw.t": "ci"})
    assert moved["sources"]["source.p.raw.t"] == {"schema": "ci", "relation_name": '"db"."ci"."t"'}
    assert manifest["sources"]["source.p.raw.t"]["schema"] == "raw"  # the original is left as it was
    with pytest.raises(DbtError, match="source.p.raw.gone is not in the manifest"):
        with_sources_in(manifest, {"source.p.raw.gone": "ci"})


def test_a_manifest_dbt_cannot_read_is_a_typed_error_from_the_worker(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "dbt_project.yml").write_text(PROJECT)
    (root / "profiles.yml").write_text(PROFILES)
    bad = {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v99.json"}}
    with pytest.raises(DbtError, match="cannot be read by this dbt"):
        manifest_object(bad)
    with DbtWorker(DbtProject(root, profiles_dir=root), "duckdb") as worker:
        worker.prepare(bad)
        with pytest.raises(DbtError, match="cannot be read by this dbt") as err:
            worker.invoke(["test"])
    assert "rerun `synthohive fit`" in str(err.value)


def test_a_worker_that_dies_says_what_it_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "dbt_project.yml").write_text(PROJECT)
    (root / "profiles.yml").write_text(PROFILES)
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'worker could not start: no module dbt' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    worker = DbtWorker(DbtProject(root, profiles_dir=root), "postgres")
    folder = worker._dir
    try:
        worker.prepare({})
        with pytest.raises(DbtError, match=r"status 3\) without a result: worker could not start"):
            worker.invoke(["test"])
    finally:
        worker.close()
    assert not folder.exists()


def test_dbt_stays_in_process_where_it_must() -> None:
    assert not runs_out_of_process("duckdb") and not runs_out_of_process("spark")
    assert runs_out_of_process("postgres") and runs_out_of_process("snowflake")
