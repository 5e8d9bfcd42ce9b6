"""The command line on Spark: `synthohive fit` / `generate` with dbt_project_example's `--target spark` (dbt-spark
`method: session`), in the test session's own SparkSession, and the project's dbt tests on the synthetic Hive
tables; and a target database holding a table synthohive did not write refused before any training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.dbt.example import copy_example_project
from synthohive_dbt.io.warehouses import warehouse_for

pytestmark = [pytest.mark.spark]

SCHEMA = "cli_shop"  # the profile's schema: the raw tables live in cli_shop_raw (the example's seeds schema)
SELECTED = ["customers", "employees", "orders", "payments"]  # three levels; fewer tables, a shorter dbt run
RAW = ["raw_customers", "raw_employees", "raw_order_items", "raw_orders", "raw_payments", "raw_products"]


def run(*args: Any) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def spark_shop(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project on Spark: its seed CSVs written as Parquet (with the types `dbt seed` gives them) and
    registered as the tables of Hive database `cli_shop_raw` (`dbt seed` on dbt-spark takes over a minute here,
    a Spark write per table several seconds), and `dbt deps` run."""
    pytest.importorskip("dbt.adapters.spark", reason="dbt-spark is not installed: pip install -e '.[spark]'")
    project_dir = copy_example_project(tmp_path_factory.mktemp("cli_spark") / "shop")
    types = _seed_column_types(project_dir)
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {SCHEMA}_raw")
    for name in RAW:
        folder = project_dir.parent / "raw" / name
        folder.mkdir(parents=True)
        table = pa.Table.from_pandas(pd.read_csv(project_dir / "seeds" / f"{name}.csv"), preserve_index=False)
        for column, spelled in types.get(name, {}).items():
            i = table.schema.get_field_index(column)
            table = table.set_column(i, column, _as_seeded(table[column], spelled))
        pq.write_table(table, folder / "part-0.parquet")
        spark.sql(f"CREATE TABLE {SCHEMA}_raw.{name} USING parquet LOCATION '{folder}'")
    DbtProject(project_dir, target="spark", env=_env()).deps()
    return project_dir


def _as_seeded(values: pa.ChunkedArray, spelled: str) -> pa.ChunkedArray:
    """A CSV column in the type the project's `+column_types` gives its seed (date, integer, numeric(p,s))."""
    if spelled == "date":
        return pc.cast(pc.strptime(values, format="%Y-%m-%d", unit="s"), pa.date32())
    if spelled.startswith("numeric("):
        precision, scale = (int(p) for p in spelled[len("numeric("):-1].split(","))
        return pc.cast(values, pa.decimal128(precision, scale), safe=False)
    return pc.cast(values, {"integer": pa.int32(), "boolean": pa.bool_()}[spelled])


def _seed_column_types(project_dir: Path) -> dict[str, dict[str, str]]:
    import yaml

    seeds = yaml.safe_load((project_dir / "dbt_project.yml").read_text())["seeds"]["synthohive_example"]
    return {name: dict(conf.get("+column_types") or {}) for name, conf in seeds.items() if isinstance(conf, dict)}


def _env() -> dict[str, str]:
    return {"SYNTHOHIVE_SPARK_SCHEMA": SCHEMA}


@pytest.fixture()
def spark_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _env().items():
        monkeypatch.setenv(key, value)


@pytest.mark.slow
def test_fit_then_generate_on_spark_passes_the_projects_dbt_tests(spark: Any, spark_shop: Path, spark_env: None,
                                                                   tmp_path: Path) -> None:
    model = tmp_path / "shop.synthohive"
    common = ["--project-dir", spark_shop, "--target", "spark"]
    res = run("fit", *common, "--select", " ".join(f"source:shop.{t}" for t in SELECTED), "--epochs", 1,
              "--max-rows", 300, "--seed", 3, "--out", model)
    assert res.exit_code == 0, res.output
    # the training budget was cut on the cluster, keys kept consistent: only the sample reached the driver
    assert "raw_payments: fitted on" in res.output and "of its 1041 rows" in res.output, res.output
    res = run("generate", *common, "--model", model, "--target-schema", "cli_synth", "--scale", 0.5,
              "--log-format", "json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["success"] is True and summary["failed"] == [], summary
    # drawn on the executors (the session's two partitions), not on the driver
    assert "on the Spark executors (2 partitions at local[2]" in res.output, res.output
    # keys, not_null, accepted values, relationships between the three tables: all on the synthetic Hive tables
    assert summary["tests"] >= 12 and summary["tests_passed"] == summary["tests"], summary
    names = sorted(f"raw_{t}" for t in SELECTED)
    assert sorted(summary["rows"]) == names
    # Hive tables, in the real types, each marked as synthohive's
    assert sorted(r["tableName"] for r in spark.sql("SHOW TABLES IN cli_synth").collect()) == names
    props = {r["key"]: r["value"] for r in spark.sql("SHOW TBLPROPERTIES cli_synth.raw_orders").collect()}
    assert "synthohive.owned" in props
    real_types = dict(spark.table(f"{SCHEMA}_raw.raw_payments").dtypes)
    assert dict(spark.table("cli_synth.raw_payments").dtypes) == real_types
    assert real_types["amount"] == "decimal(12,2)" and real_types["paid_at"] == "date"
    assert spark.table("cli_synth.raw_orders").count() == summary["rows"]["raw_orders"]
    orphans = spark.sql("SELECT count(*) FROM cli_synth.raw_payments p LEFT ANTI JOIN cli_synth.raw_orders o "
                        "ON p.order_id = o.order_id").collect()[0][0]
    assert orphans == 0


def test_a_database_holding_foreign_tables_is_refused_before_training(spark: Any, spark_shop: Path,
                                                                       spark_env: None) -> None:
    spark.sql("CREATE DATABASE IF NOT EXISTS cli_foreign")
    spark.sql("CREATE TABLE IF NOT EXISTS cli_foreign.ledger (id bigint) USING parquet")
    res = run("seed", "--project-dir", spark_shop, "--target", "spark", "--select", "source:shop.customers",
              "--target-schema", "cli_foreign", "--epochs", 100000)
    assert res.exit_code != 0
    assert "cli_foreign" in res.output and "ledger" in res.output, res.output
    assert "nothing was written" in res.output
    assert [r["tableName"] for r in spark.sql("SHOW TABLES IN cli_foreign").collect()] == ["ledger"]
    # --force cannot take over someone else's Hive tables: refused before any read too
    res = run("seed", "--project-dir", spark_shop, "--target", "spark", "--select", "source:shop.customers",
              "--target-schema", "cli_foreign", "--force", "--epochs", 100000)
    assert res.exit_code != 0 and "--force and --adopt are not available on spark" in res.output, res.output
    # a name that is no plain identifier never reaches Spark SQL
    res = run("seed", "--project-dir", spark_shop, "--target", "spark", "--target-schema", "x`; DROP DATABASE y")
    assert res.exit_code != 0 and "target schema" in res.output, res.output


def test_the_profile_reaches_the_session_through_the_warehouse_interface(spark: Any, spark_shop: Path,
                                                                         spark_env: None) -> None:
    engine = DbtProject(spark_shop, target="spark", env=_env()).engine()
    assert warehouse_for(engine).dialect == "spark"
    with engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT count(*) FROM cli_shop_raw.raw_customers WHERE customer_id > :n"),
                            {"n": 0}).scalar() == 200


def test_a_failed_write_leaves_nothing_in_the_metastore(spark: Any, spark_shop: Path, spark_env: None) -> None:
    """The pipeline's staged write on Spark: chunks go to Parquet files first; a failure before the switch leaves
    no table (and no file) behind, and a clean exit publishes through save_to_hive with the real types."""
    from synthohive_dbt.io import open_staged_write
    from synthohive_dbt.io.relation import Column

    engine = DbtProject(spark_shop, target="spark", env=_env()).engine()
    columns = {"t": [Column("id", "bigint"), Column("amount", "decimal(12,2)")]}
    frame = pd.DataFrame({"id": [1, 2], "amount": [1.5, 2.25]})
    with pytest.raises(RuntimeError, match="boom"):
        with open_staged_write(engine, "cli_half", columns, run_id="r1") as staged:
            staged.write("t", frame)
            folder = staged._folder
            raise RuntimeError("boom")
    assert not folder.exists()
    assert not spark.catalog.databaseExists("cli_half") or not spark.sql("SHOW TABLES IN cli_half").collect()
    with open_staged_write(engine, "cli_half", columns, run_id="r2") as staged:
        staged.write("t", frame)
        staged.close("t", [])
    assert staged.counts == {"t": 2}
    assert dict(spark.table("cli_half.t").dtypes) == {"id": "bigint", "amount": "decimal(12,2)"}


def test_a_staging_folder_the_executors_cannot_reach_is_refused_before_reading(spark: Any, spark_shop: Path,
                                                                              spark_env: None) -> None:
    """The run's Parquet files need a folder the driver and every executor reach: a setting that cannot be one
    stops `seed` before any real row is read or any model trained, not after."""
    from synthohive_dbt.io.spark_hive import STAGING_DIR

    spark.conf.set(STAGING_DIR, "s3a://bucket/synthohive")
    try:
        res = run("seed", "--project-dir", spark_shop, "--target", "spark", "--select", "source:shop.customers",
                  "--target-schema", "cli_unreachable", "--epochs", 100000)
    finally:
        spark.conf.unset(STAGING_DIR)
    assert res.exit_code != 0
    assert "mounted at the same path on the driver and every executor" in res.output, res.output
    assert "reading 1 real table" not in res.output and "training" not in res.output, res.output
    assert not spark.catalog.databaseExists("cli_unreachable")
