"""Safe on any warehouse, end to end: the messy project (tests/helpers/messy_project.py) on DuckDB and on the
test PostgreSQL server, through the real CLI.

1. A target holding a same-named table synthohive did not write, an unrelated table, and a view elsewhere
   reading a target table: the run exits 1 naming all three, and the catalog (every relation, every row
   count) is identical before and after. `--force` does not override the view.
2. With the view gone, `--dry-run --force` lists the plan and `--force` changes exactly what it listed.
3. On a clean target, every shape comes back (all-null columns, 0/1/2-row tables, NaN/±inf, sentinel dates,
   odd identifiers) and every dbt test that passes on the real data passes on the synthetic data.
4. A second run while another holds the target's lock exits 1 naming the holder.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.io import read_table
from synthohive_dbt.io.ownership import MARKER_TABLE
from synthohive_dbt.io.warehouse import run_sql
from tests.helpers.catalog import catalog_snapshot, changed
from tests.helpers.messy_project import ODD, SENTINEL_TO, UNKNOWN_DAY, Messy, build_messy
from tests.helpers.profiles import WAREHOUSES, build_on_warehouse

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TABLES = ["customers", "odd_names", "orders", "refunds", "regions", "settings"]


@pytest.fixture(scope="module", params=WAREHOUSES)
def messy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Messy:
    return build_on_warehouse(request, tmp_path_factory, "messy", build_messy)


def _seed(messy: Messy, *args: object) -> tuple[int, str]:
    target = ["--target", messy.project.target] if messy.project.target else []
    res = CliRunner().invoke(cli, ["seed", "--project-dir", str(messy.dir), *target, "--mode", "sources",
                                   "--backend", "AR", "--seed", "3", *map(str, args)])
    return res.exit_code, " ".join(res.output.split())


def _sql(messy: Messy, *statements: str) -> None:
    engine = messy.engine()
    try:
        with engine.begin() as conn:
            for s in statements:
                run_sql(conn, s)
    finally:
        engine.dispose()


def _snapshot(messy: Messy) -> dict:
    engine = messy.engine()
    try:
        return catalog_snapshot(engine)
    finally:
        engine.dispose()


def test_foreign_objects_refuse_the_run_and_nothing_changes(messy: Messy) -> None:
    _sql(messy, "CREATE SCHEMA synth", "CREATE TABLE synth.customers (id INTEGER)",
         "INSERT INTO synth.customers VALUES (1), (2)", "CREATE TABLE synth.finance_ledger (entry INTEGER)",
         "CREATE SCHEMA reporting", "CREATE VIEW reporting.v_customers AS SELECT * FROM synth.customers")
    before = _snapshot(messy)
    for force in ([], ["--force"]):
        code, out = _seed(messy, "--target-schema", "synth", *force)
        assert code == 1, out
        assert "nothing was written" in out
        assert "view reporting.v_customers (reads synth.customers)" in out
        if not force:
            assert "already holds table customers, not written by synthohive" in out
            assert "did not write: table finance_ledger" in out
    assert changed(before, _snapshot(messy)) == {"added": [], "removed": [], "changed": []}

    _sql(messy, "DROP VIEW reporting.v_customers")
    code, out = _seed(messy, "--target-schema", "synth", "--force", "--dry-run")
    assert code == 0, out
    assert "synth: replace (not ours; --force): customers" in out
    assert "synth: create: " + ", ".join(t for t in TABLES if t != "customers") in out
    assert "synth: keep untouched (not ours): table finance_ledger" in out
    before = _snapshot(messy)
    code, out = _seed(messy, "--target-schema", "synth", "--force")
    assert code == 0, out
    diff = changed(before, _snapshot(messy))
    assert diff["removed"] == []
    assert diff["changed"] == [("synth", "customers")]
    in_target = sorted(name for schema, name in diff["added"] if schema == "synth")
    assert in_target == sorted([MARKER_TABLE, *(t for t in TABLES if t != "customers")])
    assert {schema for schema, _ in diff["added"]} <= {"synth", "synth_build"}  # and dbt's models in the build schema


def test_a_clean_target_gets_every_shape_and_every_real_passing_test_passes(messy: Messy) -> None:
    code, out = _seed(messy, "--target-schema", "synth_clean")
    assert code == 0, out
    engine = messy.engine()
    try:
        synth = {t: read_table(engine, ("synth_clean", t)) for t in TABLES}
        built = read_table(engine, ("synth_clean_build", "fct_orders"))
    finally:
        engine.dispose()
    real = messy.frames
    assert list(synth["odd_names"].columns) == ["id", "Select", "order", ODD]
    assert list(synth["orders"].columns) == ["order_id", "CUSTOMER_ID", "AMOUNT", "valid_to", "status"]
    assert synth["customers"]["legacy_code"].isna().all() and synth["customers"]["score_unused"].isna().all()
    assert built["legacy_code"].isna().all() and len(built) > 0
    assert len(synth["refunds"]) == 0 and len(synth["settings"]) == 1 and len(synth["regions"]) == 2
    assert synth["settings"]["setting_key"].tolist() == ["currency"]
    amount = synth["orders"]["AMOUNT"]
    values = [v for v in amount.tolist() if v is not None and v is not pd.NA]
    assert any(isinstance(v, float) and math.isnan(v) for v in values), "NaN was lost"
    assert math.inf in values and -math.inf in values, "an infinity was lost"
    assert amount.isna().sum() > 0, "NULL was lost (or turned NaN)"  # Float64: NaN is a value, NA is NULL
    sentinel = (synth["orders"]["valid_to"] == pd.Timestamp(SENTINEL_TO)).mean()
    real_sentinel = (real["orders"]["valid_to"] == SENTINEL_TO).mean()  # python datetimes: year 9999 fits
    assert abs(sentinel - real_sentinel) < 0.15, (sentinel, real_sentinel)  # about 40% in the real data
    assert (synth["customers"]["signup_on"] == pd.Timestamp(UNKNOWN_DAY)).any()
    assert len(synth["orders"]) > 0 and synth["orders"]["order_id"].is_unique

    outcomes = {o.name: o.status for o in _last_build_outcomes(messy)}
    assert len(messy.real_passing) >= 20
    assert {name: outcomes.get(name, "not run") for name in messy.real_passing
            if outcomes.get(name) != "pass"} == {}

    # a second run replaces its own tables; on PostgreSQL the build schema's views read them, are ours, and are
    # dropped with them and rebuilt by dbt
    code, out = _seed(messy, "--target-schema", "synth_clean", "--dry-run")
    assert code == 0 and "synth_clean: replace (written by synthohive): " + ", ".join(TABLES) in out, out
    if messy.project.target == "pg":
        assert "also dropped, ours and rebuilt by dbt: view synth_clean_build.stg_customers" in out
    code, out = _seed(messy, "--target-schema", "synth_clean", "--seed", "4")
    assert code == 0, out


def _last_build_outcomes(messy: Messy) -> list:
    """dbt's own run_results.json of the newest run (each run keeps its artifacts in a workspace of its own)."""
    from synthohive_dbt.dbt import outcomes_from_run_results

    runs = sorted((messy.dir / "target" / "synthohive").iterdir(), key=lambda p: p.name)
    return outcomes_from_run_results(runs[-1] / "build" / "run_results.json")


def test_a_second_run_on_a_locked_target_names_the_holder(messy: Messy, tmp_path: Path) -> None:
    holder = tmp_path / "hold.py"
    holder.write_text(textwrap.dedent("""
        import sys, time
        from synthohive_dbt.dbt import DbtProject
        from synthohive_dbt.io.warehouses import warehouse_for
        project = DbtProject(sys.argv[1], target=sys.argv[2] or None)
        engine = project.engine()
        with warehouse_for(engine).run_lock(engine, "synth_locked"):
            print("locked", flush=True)
            time.sleep(120)
    """))
    proc = subprocess.Popen([sys.executable, str(holder), str(messy.dir), messy.project.target or ""],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        started = datetime.now()
        code, out = _seed(messy, "--target-schema", "synth_locked")
        assert code == 1, out
        assert "another synthohive run is writing" in out and f"pid {proc.pid}" in out and "--wait" in out
        assert (datetime.now() - started).total_seconds() < 60  # refused at once, before any training
    finally:
        proc.kill()
        proc.wait(timeout=30)
