"""`synthohive report` end to end on the example shop in DuckDB: a saved model, synthetic tables written by
`generate`, the real tables read through the dbt profile, real dbt for the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.pipeline.report import load_gates
from tests.helpers.example_shop import Shop

MODELS = ["stg_customers", "stg_employees", "stg_orders"]
MODEL_TESTS = 4 + 3 + 5 + 1  # dbt's cautious selection on the three models, plus the fail probe
ROWS = 150


def run(*args: Any) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def written(duck_shop: Shop, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model of three models of the shop (2 epochs) and its sample in schema synth_report."""
    model = tmp_path_factory.mktemp("report_cmd") / "shop.shm"
    res = run("fit", "--project-dir", duck_shop.dir, "--select", " ".join(MODELS), "--epochs", 2, "--seed", 1,
              "--out", model, "-q", "--resume")  # nothing to resume: trains from the start
    assert res.exit_code == 0, res.output
    assert not model.with_name(model.name + ".checkpoint").exists()  # removed once the model is saved
    res = run("generate", "--project-dir", duck_shop.dir, "--model", model, "--target-schema", "synth_report",
              "--rows", ROWS, "--skip-dbt", "-q")
    assert res.exit_code == 0, res.output
    assert duck_shop.tables("synth_report") == MODELS
    return model


@pytest.mark.slow
def test_report_end_to_end_with_dbt_tests_and_gates(duck_shop: Shop, written: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "quality.html"
    res = run("report", "--project-dir", duck_shop.dir, "--model", written, "--synthetic-schema", "synth_report",
              "--out", out, "--dbt-test", "--min-overall", 0.1,
              "--log-format", "json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["html"] == str(out) and summary["json"] == str(out.with_suffix(".json"))
    assert summary["tables"] == MODELS and summary["success"] is True and summary["gates_passed"] is True
    html = out.read_text()
    assert all(f"<h3>{t}</h3>" in html for t in MODELS)
    assert 'alt="distribution of stg_customers.' in html and "unique_stg_orders_order_id" in html
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["training"] and 'id="training"' in html  # the saved model's own curves
    assert all(r["epochs"] <= 2 and r["stop_reason"] for r in data["training"].values())
    assert sorted(data["tables"]) == MODELS
    # real rows come from the real models, synthetic ones from the schema generate wrote
    assert data["tables"]["stg_customers"]["rows_real"] == duck_shop.scalar("select count(*) from main.stg_customers")
    assert data["tables"]["stg_customers"]["rows_synthetic"] == ROWS
    assert 0.0 < data["scores"]["overall"] <= 1.0
    assert data["scores"]["referential_integrity"] == 1.0  # keys are valid by construction
    assert len(data["dbt_tests"]) == MODEL_TESTS and data["scores"]["dbt_tests"] == 1.0
    assert any(r["child"] == "stg_orders" and r["parent"] == "stg_customers" for r in data["relationships"])



@pytest.mark.slow
def test_report_refuses_a_schema_without_the_tables(duck_shop: Shop, written: Path, tmp_path: Path) -> None:
    engine = duck_shop.project.engine()
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("create schema if not exists synth_partial"))
            conn.execute(sa.text("create or replace table synth_partial.stg_customers as "
                                 "select * from synth_report.stg_customers"))
    finally:
        engine.dispose()
    res = run("report", "--project-dir", duck_shop.dir, "--model", written, "--synthetic-schema", "synth_partial",
              "--out", tmp_path / "r.html")
    assert res.exit_code == 1
    err = flat(res.stderr)
    assert "schema 'synth_partial' has no table(s) stg_employees, stg_orders" in err
    assert "(the schema holds: stg_customers)" in err
    assert "synthohive generate --model <model> --target-schema synth_partial" in err
    assert not (tmp_path / "r.html").exists()

    res = run("report", "--project-dir", duck_shop.dir, "--model", written, "--synthetic-schema", "nowhere",
              "--out", tmp_path / "r.html")
    assert res.exit_code == 1 and "schema 'nowhere' does not exist" in flat(res.stderr)

    # the real schema is not a synthetic copy
    res = run("report", "--project-dir", duck_shop.dir, "--model", written, "--synthetic-schema", "main",
              "--out", tmp_path / "r.html")
    assert res.exit_code == 1
    assert "main.stg_customers is a real relation of this project" in flat(res.stderr)

    res = run("report", "--project-dir", duck_shop.dir, "--model", written, "--out", tmp_path / "r.html")
    assert res.exit_code == 1 and "give exactly one of --synthetic-schema and --synthetic-dir" in flat(res.stderr)


@pytest.mark.slow
def test_report_from_a_folder_of_files(duck_shop: Shop, written: Path, tmp_path: Path) -> None:
    folder = tmp_path / "synthetic"
    folder.mkdir()
    engine = duck_shop.project.engine()
    try:
        with engine.connect() as conn:
            frames = {t: pd.read_sql(sa.text(f"select * from synth_report.{t}"), conn) for t in MODELS}
    finally:
        engine.dispose()
    frames["stg_customers"].to_csv(folder / "stg_customers.csv", index=False)  # CSV: types from the real table
    frames["stg_orders"].to_parquet(folder / "stg_orders.parquet")
    res = run("report", "--project-dir", duck_shop.dir, "--model", written, "--synthetic-dir", folder,
              "--out", tmp_path / "f.html", "-q")
    assert res.exit_code == 1
    err = flat(res.stderr)
    assert f"folder '{folder}' has no file for table(s) stg_employees" in err
    assert "found: ['stg_customers.csv', 'stg_orders.parquet']" in err

    frames["stg_employees"].to_parquet(folder / "stg_employees.parquet")
    gates = tmp_path / "gates.yml"
    gates.write_text("min_overall: 1.0\nmin_column_shape: null\nmax_null_rate_delta: null\n"
                     "min_dcr_p5_ratio: null\nmax_exact_copy_excess: null\n")
    out = tmp_path / "f.html"
    res = run("report", "--project-dir", duck_shop.dir, "--model", written, "--synthetic-dir", folder,
              "--out", out, "--gates", gates)
    # a gate that cannot pass: the files are still written and named, the misses listed, exit status 1
    assert res.exit_code == 1, res.output
    assert f"report: {out}" in res.stdout and out.is_file()
    err = flat(res.stderr)
    assert f"the synthetic data in folder '{folder}' missed 1 check(s)" in err
    assert "all tables: overall =" in err and "(threshold 1)" in err and f"open {out}" in err
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["gates"]["passed"] is False and data["gates"]["thresholds"]["min_overall"] == 1.0
    assert [m["gate"] for m in data["gates"]["misses"]] == ["overall"]
    assert data["tables"]["stg_customers"]["rows_synthetic"] == ROWS
    # the CSV's dates were read as dates, so they were scored as dates, not skipped as text
    kinds = {c["column"]: c["kind"] for c in data["columns"] if c["table"] == "stg_customers"}
    assert "datetime" in kinds.values(), kinds


def test_gates_from_files_and_flags(tmp_path: Path) -> None:
    assert load_gates(None) is None
    only = load_gates(None, 0.8)
    assert only is not None and only.min_overall == 0.8
    assert only.min_column_shape is None and only.max_orphan_rate is None and not only.dbt_tests_must_pass
    default = load_gates("default", 0.9)
    assert default is not None and default.min_overall == 0.9 and default.min_column_shape == 0.7
    js = tmp_path / "g.json"
    js.write_text('{"min_scores": {"cardinality": 0.8}}')
    gates = load_gates(js)
    assert gates is not None and gates.min_scores == {"cardinality": 0.8} and gates.min_overall == 0.75
    bad = tmp_path / "bad.yml"
    bad.write_text("min_overal: 0.8\n")
    with pytest.raises(ConfigError, match=r"gates file '.*bad.yml' is not valid: min_overal: Extra inputs"):
        load_gates(bad)
    with pytest.raises(ConfigError, match="cannot read the gates file"):
        load_gates(tmp_path / "missing.yml")
    listed = tmp_path / "list.yml"
    listed.write_text("- 1\n")
    with pytest.raises(ConfigError, match="holds a list, not a mapping"):
        load_gates(listed)


@pytest.mark.slow
def test_report_on_a_dp_trained_model_shows_the_spend(duck_shop: Shop, tmp_path: Path) -> None:
    """`synthohive report` measures through the same entry point as `sample()`, so a model trained with
    differential privacy is reported with its spend, not as "DP off"."""
    model = tmp_path / "dp.shm"
    res = run("fit", "--project-dir", duck_shop.dir, "--select", " ".join(MODELS), "--epochs", 1, "--seed", 1,
              "--dp-epsilon", 1.5, "--out", model, "-q")
    assert res.exit_code == 0, res.output
    res = run("generate", "--project-dir", duck_shop.dir, "--model", model, "--target-schema", "synth_dp",
              "--rows", ROWS, "--skip-dbt", "-q")
    assert res.exit_code == 0, res.output
    out = tmp_path / "dp.html"
    res = run("report", "--project-dir", duck_shop.dir, "--model", model, "--synthetic-schema", "synth_dp",
              "--out", out, "-q")
    assert res.exit_code == 0, res.output
    spent = json.loads(out.with_suffix(".json").read_text())["differential_privacy"]
    assert spent is not None and 0 < spent["epsilon_total"] <= 1.5, spent
    assert set(spent["tables"]) <= set(MODELS) and spent["tables"]
    page = flat(out.read_text())
    assert "Spent: <b>epsilon" in page and "Not covered by this epsilon" in page
    assert "Off: the models were trained without differential privacy" not in page
