"""`synthohive seed / fit / generate` end to end on the example shop in DuckDB: real dbt, real tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from synthohive_dbt import pipeline
from synthohive_dbt.cli import cli
from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.dbt.example import copy_example_project
from synthohive_dbt.pipeline.progress import NullReporter
from tests.pipeline.conftest import EXAMPLE_TESTS, Shop

RAW = ["raw_customers", "raw_employees", "raw_order_items", "raw_orders", "raw_payments", "raw_products"]
MODELS = ["stg_customers", "stg_employees", "stg_orders"]
# tests on those three models alone (dbt's cautious selection), plus the fail probe that reads stg_customers
MODEL_TESTS = 4 + 3 + 5 + 1


def run(*args: Any) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.slow
def test_seed_sources_mode_passes_every_dbt_test(duck_shop: Shop, tmp_path: Path) -> None:
    real_orders = duck_shop.scalar("select count(*) from main_raw.raw_orders")
    real_customers = duck_shop.scalar("select count(*) from main_raw.raw_customers")
    real_ltv = duck_shop.scalar("select sum(lifetime_value) from main.dim_customers")
    report = tmp_path / "report.html"
    res = run("seed", "--project-dir", duck_shop.dir, "--mode", "sources", "--target-schema", "synthetic",
              "--epochs", 2, "--seed", 3, "--report", report, "--log-format", "json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["tests"] == EXAMPLE_TESTS + 1 == summary["tests_passed"], summary
    assert summary["failed"] == [] and summary["success"] is True
    # roots keep their real size (scale 1); children follow the learned children-per-parent counts
    assert sorted(summary["rows"]) == RAW and summary["rows"]["raw_customers"] == real_customers
    assert abs(summary["rows"]["raw_orders"] - real_orders) < 0.15 * real_orders
    assert duck_shop.tables("synthetic") == RAW
    # models were built on the synthetic sources, in synthohive's own schema; the real ones are untouched
    assert "dim_customers" in duck_shop.tables("synthetic_build")
    assert duck_shop.scalar("select count(*) from synthetic_build.dim_customers") == \
        duck_shop.scalar("select count(*) from synthetic.raw_customers")
    assert duck_shop.scalar("select count(*) from main_raw.raw_orders") == real_orders
    assert duck_shop.scalar("select sum(lifetime_value) from main.dim_customers") == real_ltv
    # no real personal data reached the synthetic schema
    assert duck_shop.scalar("select count(*) from synthetic.raw_customers s join main_raw.raw_customers r "
                            "on s.email = r.email") == 0
    assert report.is_file() and report.with_suffix(".json").is_file()
    # the report is rendered once, after dbt ran: its outcomes are in it
    scores = json.loads(report.with_suffix(".json").read_text())
    assert len(scores["dbt_tests"]) == summary["tests"] and scores["scores"]["dbt_tests"] == 1.0
    assert "unique_stg_orders_order_id" in report.read_text()
    events = json_lines(res.stderr)
    assert len([e for e in events if str(e.get("message") or "").startswith("quality report")]) == 1
    assert {"step", "progress", "write", "outcome", "summary"} <= {e["event"] for e in events}
    fitted = {e["table"] for e in events if e["event"] == "progress" and e["stage"] == "fit"}
    assert fitted == set(RAW)
    assert all(e["status"] in ("pass", "success") for e in events if e["event"] == "outcome")


@pytest.mark.slow
def test_fit_then_generate_mirror_mode(duck_shop: Shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "shop.shm"
    select = ["--select", " ".join(MODELS)]
    res = run("fit", "--project-dir", duck_shop.dir, *select, "--epochs", 2, "--seed", 1, "--out", model, "-q")
    assert res.exit_code == 0, res.output
    assert model.is_file() and res.stdout == ""

    # generate reads no real rows: make reading impossible and it still works
    def no_reading(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("generate must not read real data")

    monkeypatch.setattr("synthohive_dbt.pipeline.run.read_tables", no_reading)
    # no --mode/--select: the model recorded what `fit` was given, and generate uses it
    res = run("generate", "--project-dir", duck_shop.dir, "--model", model, "--target-schema", "synth_ci",
              "--rows", 120, "--log-format", "json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["tests"] == MODEL_TESTS == summary["tests_passed"], summary
    assert summary["rows"]["stg_customers"] == 120 and sorted(summary["rows"]) == MODELS
    assert duck_shop.tables("synth_ci") == MODELS
    assert duck_shop.scalar("select count(*) from synth_ci.stg_customers") == 120

    # a failing dbt test: exit status 1 and the outcome table names it
    res = run("generate", "--project-dir", duck_shop.dir, *select, "--model", model, "--target-schema", "fail_probe",
              "--rows", 50)
    assert res.exit_code == 1, res.output
    failed = [line for line in res.stdout.splitlines() if "fail_probe" in line and "fail " in line]
    assert failed, res.stdout
    assert f"dbt tests: {MODEL_TESTS - 1}/{MODEL_TESTS} passed, 1 failed or errored" in " ".join(res.stdout.split())

    # interrupted while writing: the previous synthetic schema stays exactly as it was
    class Interrupt(NullReporter):
        def write(self, event: str, table: str, rows: int) -> None:
            if event == "loaded":
                raise KeyboardInterrupt

    options = pipeline.ProjectOptions(project_dir=duck_shop.dir, select=tuple(MODELS))
    with pytest.raises(KeyboardInterrupt):
        pipeline.generate(options, model, pipeline.SampleOptions(rows=77),
                          pipeline.OutputOptions(target_schema="synth_ci"), Interrupt())
    assert duck_shop.scalar("select count(*) from synth_ci.stg_customers") == 120


@pytest.mark.slow
def test_refusals_come_before_any_training(duck_shop: Shop) -> None:
    # --epochs is huge: these runs can only be quick if they refuse before reading and training
    res = run("seed", "--project-dir", duck_shop.dir, "--target-schema", "main_raw", "--epochs", 100000)
    assert res.exit_code == 1
    text = " ".join(res.output.split())
    assert "schema 'main_raw' holds real relations of this dbt project (table raw_customers" in text
    assert "nothing was written" in text and "pass --force to replace the same-named relations" in text
    res = run("seed", "--project-dir", duck_shop.dir, "--mode", "sources", "--target-schema", "s2",
              "--build-schema", "main", "--epochs", 100000)
    assert res.exit_code == 1
    text = " ".join(res.output.split())
    assert "with models building into schema 'main', dbt would write over real or synthetic relations" in text
    assert "model.synthohive_example.dim_customers -> main.dim_customers" in text


@pytest.mark.slow
def test_sources_mode_without_source_redirect_is_refused(tmp_path: Path) -> None:
    """Mirror mode needs no override (tests/pipeline/test_init_e2e.py); sources mode says how to install it."""
    project_dir = copy_example_project(tmp_path / "shop")
    (project_dir / "macros" / "source.sql").unlink()
    DbtProject(project_dir).deps()
    res = run("seed", "--project-dir", project_dir, "--mode", "sources", "--target-schema", "synthetic",
              "--epochs", 100000)
    assert res.exit_code == 1
    text = " ".join(res.output.split())
    assert "does not redirect source() to the synthetic schema" in text
    assert "run `synthohive init` in the project" in text
    assert "{{ return(synthohive.source(source_name, table_name)) }}" in text
    shutil.rmtree(project_dir)


@pytest.mark.slow
def test_fit_with_differential_privacy_reports_the_spend(duck_shop: Shop, tmp_path: Path) -> None:
    from synthohive_dbt.relational.synthesizer import Synthesizer

    model = tmp_path / "dp.shm"
    res = run("fit", "--project-dir", duck_shop.dir, "--select", " ".join(MODELS), "--epochs", 1, "--seed", 1,
              "--dp-epsilon", 1.5, "--out", model, "--log-format", "json")
    assert res.exit_code == 0, res.output
    steps = [e for e in json_lines(res.stderr) if "differential privacy" in e.get("message", "")]
    assert len(steps) == 1 and 0 < steps[0]["epsilon"] <= 1.5, steps
    report = Synthesizer.load(model).privacy_report()
    assert report is not None and report["epsilon_total"] == steps[0]["epsilon"]
    assert set(report["tables"]) <= set(MODELS) and report["tables"]


def test_generate_takes_the_fit_mode_and_selection_unless_given_again() -> None:
    fitted = {"mode": "sources", "select": ["raw_orders"], "exclude": []}
    bare = pipeline.ProjectOptions(mode="mirror", mode_given=False)
    assert bare.with_fit_choices(fitted) == pipeline.ProjectOptions(mode="sources", mode_given=False,
                                                                    select=("raw_orders",))
    given = pipeline.ProjectOptions(mode="mirror", select=("stg_orders",))
    assert given.with_fit_choices(fitted) == given
    assert bare.with_fit_choices({}) == bare  # a model saved before provenance existed
