"""Spark end to end on a real local[2] session with a Derby Hive metastore (tests/helpers/spark.py): fit from
Hive tables (three levels and a two-parent table), sampling on the executors, save_to_hive and its refusals."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from synthohive_dbt import Synthesizer
from synthohive_dbt.errors import ConfigError, DataError, LockedTargetError, UnsafeTargetError, WarehouseError
from synthohive_dbt.io.spark import read_database
from synthohive_dbt.io.spark_hive import OWNER_PROPERTY, first_duplicate
from synthohive_dbt.io.warehouses.filelock import try_file_lock
from tests.helpers.spark_shop import SEGMENTS, STATUSES, create_shop, shop_metadata

pytestmark = pytest.mark.spark

TINY = {"embedding_dim": 16, "generator_dims": (32,), "discriminator_dims": (32,), "pac": 1}
BUDGET = 150  # rows of the largest table read for training: order_items (~560 rows) is cut on the cluster


@pytest.fixture(scope="module")
def real_db(spark: Any) -> str:
    create_shop(spark, "real_db")
    return "real_db"


@pytest.fixture(scope="module")
def synth(spark: Any, real_db: str) -> Synthesizer:
    s = Synthesizer(metadata=shop_metadata(), spark_session=spark, backend="CTGAN", model_kwargs=TINY)
    return s.fit(database=real_db, max_rows=BUDGET, epochs=2, batch_size=50, seed=7)


@pytest.fixture(scope="module")
def sample(synth: Synthesizer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("spark-sample") / "out"
    return synth.sample(scale=3.0, seed=11, partitions=2, min_rows_per_partition=10, output_path_base=out)


def _frames(paths: dict[str, str]) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(p) for t, p in paths.items()}


def test_fit_reads_hive_cut_on_the_cluster_with_keys_consistent(spark: Any, real_db: str, synth: Synthesizer) -> None:
    read = read_database(spark, real_db, shop_metadata(), max_rows=BUDGET, seed=7)
    f = read.frames
    assert len(f["order_items"]) < read.real_rows["order_items"]
    assert len(f["customers"]) < read.real_rows["customers"]
    assert len(f["products"]) == read.real_rows["products"]  # a small lookup root stays whole
    assert f["orders"]["customer_id"].isin(f["customers"]["customer_id"]).all()
    assert f["order_items"]["order_id"].isin(f["orders"]["order_id"]).all()
    # every child of a kept parent is kept: children per parent stay true
    real_items = spark.table("real_db.order_items").toPandas()
    kept = real_items[real_items["order_id"].isin(f["orders"]["order_id"])]
    assert len(kept) == len(f["order_items"])
    assert read_database(spark, real_db, shop_metadata(), max_rows=BUDGET, seed=7).frames["orders"].equals(f["orders"])
    assert '"decimal(10,2)"' in synth.spark_schemas["customers"] and '"date"' in synth.spark_schemas["customers"]
    assert '"timestamp_ntz"' in synth.spark_schemas["orders"]
    assert synth.plans and synth.spark_database == "real_db"


def test_nested_types_are_refused_per_column(spark: Any) -> None:
    spark.sql("DROP DATABASE IF EXISTS nested_db CASCADE")
    spark.sql("CREATE DATABASE nested_db")
    spark.sql("CREATE TABLE nested_db.events (id bigint, tags array<string>, attrs map<string,int>) USING parquet")
    from synthohive_dbt.config import Metadata

    meta = Metadata()
    meta.add_table("events", pk="id")
    with pytest.raises(DataError, match=r"events\.tags \(array<string>\); events\.attrs \(map<string,int>\)"):
        read_database(spark, "nested_db", meta)


def test_distributed_sample_keeps_keys_and_constraints(sample: dict[str, str]) -> None:
    assert {Path(p).name for p in sample.values()} == {"customers", "products", "orders", "order_items"}
    assert len(list(Path(sample["order_items"]).glob("part-*.parquet"))) == 2  # drawn by both partitions
    assert len(list(Path(sample["products"]).glob("part-*.parquet"))) == 2
    f = _frames(sample)
    for table, key in [("customers", "customer_id"), ("products", "product_id"), ("orders", "order_id"),
                       ("order_items", "item_id")]:
        assert len(f[table]) > 0 and f[table][key].is_unique and f[table][key].notna().all(), table
    assert f["orders"]["customer_id"].isin(f["customers"]["customer_id"]).all()
    assert f["order_items"]["order_id"].isin(f["orders"]["order_id"]).all()
    assert f["order_items"]["product_id"].isin(f["products"]["product_id"]).all()
    assert f["order_items"]["quantity"].between(1, 5).all()
    assert f["orders"]["status"].isin(STATUSES).all() and f["customers"]["segment"].isin(SEGMENTS).all()
    assert (f["customers"]["credit"].astype(float) >= 0).all()


def test_sample_files_have_the_real_spark_schema(spark: Any, sample: dict[str, str]) -> None:
    for table in sample:
        assert spark.read.parquet(sample[table]).schema == spark.table(f"real_db.{table}").schema, table


def test_same_seed_and_partitions_give_identical_tables(synth: Synthesizer, sample: dict[str, str],
                                                        tmp_path: Path) -> None:
    again = synth.sample(scale=3.0, seed=11, partitions=2, min_rows_per_partition=10,
                         output_path_base=tmp_path / "again")
    first, second = _frames(sample), _frames(again)
    for table in first:
        pd.testing.assert_frame_equal(first[table], second[table], obj=table)


def test_a_loaded_model_samples_the_same_on_the_executors(spark: Any, synth: Synthesizer, sample: dict[str, str],
                                                          tmp_path: Path) -> None:
    synth.save(tmp_path / "model.shm")
    loaded = Synthesizer.load(tmp_path / "model.shm", spark_session=spark)
    assert loaded.spark_schemas == synth.spark_schemas and loaded.spark_database == "real_db"
    again = loaded.sample(scale=3.0, seed=11, partitions=2, min_rows_per_partition=10,
                          output_path_base=tmp_path / "loaded")
    for table, frame in _frames(sample).items():
        pd.testing.assert_frame_equal(frame, pd.read_parquet(again[table]), obj=table)
    with pytest.raises(UnsafeTargetError, match="holds the real tables"):
        loaded.save_to_hive(again, target_db="real_db")
    with pytest.raises(ConfigError, match="exactly one of data"):
        loaded.fit()


def test_save_to_hive_publishes_owned_tables_and_replaces_its_own(spark: Any, synth: Synthesizer,
                                                                  sample: dict[str, str]) -> None:
    names = synth.save_to_hive(sample, target_db="synthetic_db")
    assert set(names) == set(sample)
    items = spark.table("synthetic_db.order_items").toPandas()
    orders = spark.table("synthetic_db.orders").toPandas()
    assert items["order_id"].isin(orders["order_id"]).all() and len(items) == len(pd.read_parquet(sample["order_items"]))
    assert spark.table("synthetic_db.customers").schema == spark.table("real_db.customers").schema
    props = {r["key"]: r["value"] for r in spark.sql("SHOW TBLPROPERTIES synthetic_db.orders").collect()}
    assert OWNER_PROPERTY in props
    synth.save_to_hive(sample, target_db="synthetic_db")  # a second run replaces its own tables
    tables = sorted(r["tableName"] for r in spark.sql("SHOW TABLES IN synthetic_db").collect())
    assert tables == sorted(sample)  # no staged or set-aside leftovers
    assert spark.table("real_db.orders").count() > 0


@pytest.mark.parametrize("name", ["x; DROP DATABASE real_db CASCADE", "synthetic_db`.`t", "1abc", "", "a-b"])
def test_unsafe_target_names_are_refused_before_any_sql(spark: Any, synth: Synthesizer, sample: dict[str, str],
                                                       name: str) -> None:
    before = sorted(r["namespace"] for r in spark.sql("SHOW DATABASES").collect())
    with pytest.raises(UnsafeTargetError, match="not allowed"):
        synth.save_to_hive(sample, target_db=name)
    assert sorted(r["namespace"] for r in spark.sql("SHOW DATABASES").collect()) == before
    assert spark.catalog.tableExists("real_db.orders")


def test_databases_with_real_or_foreign_tables_are_refused(spark: Any, synth: Synthesizer,
                                                           sample: dict[str, str]) -> None:
    with pytest.raises(UnsafeTargetError, match="holds the real tables"):
        synth.save_to_hive(sample, target_db="real_db")
    spark.sql("DROP DATABASE IF EXISTS shared_db CASCADE")
    spark.sql("CREATE DATABASE shared_db")
    spark.sql("CREATE TABLE shared_db.orders (x int) USING parquet")
    spark.sql("INSERT INTO shared_db.orders VALUES (1)")
    spark.sql("CREATE VIEW shared_db.report AS SELECT x FROM shared_db.orders")
    with pytest.raises(UnsafeTargetError, match=r"shared_db\.orders, shared_db\.report"):
        synth.save_to_hive(sample, target_db="shared_db")
    assert sorted(r["tableName"] for r in spark.sql("SHOW TABLES IN shared_db").collect()) == ["orders", "report"]
    assert spark.table("shared_db.orders").collect()[0]["x"] == 1


def test_catalog_qualified_databases_are_read_and_published(spark: Any, synth: Synthesizer, sample: dict[str, str],
                                                             tmp_path: Path) -> None:
    """`catalog.database` (the session catalog under its own name here; Unity Catalog's `main.sales` alike): read,
    published, replaced, compared with the database fit read, and locked as the same database."""
    qualified = Synthesizer(metadata=shop_metadata(), spark_session=spark, backend="CTGAN", model_kwargs=TINY)
    qualified.fit(database="spark_catalog.real_db", max_rows=BUDGET, epochs=1, batch_size=50, seed=7)
    assert qualified.spark_schemas == synth.spark_schemas
    with pytest.raises(UnsafeTargetError, match="holds the real tables"):
        synth.save_to_hive(sample, target_db="spark_catalog.REAL_DB")  # the same database, spelled otherwise
    with pytest.raises(UnsafeTargetError, match="holds the real tables"):
        qualified.save_to_hive(sample, target_db="real_db")
    names = synth.save_to_hive(sample, target_db="spark_catalog.catalog_db")
    assert names["orders"] == "`spark_catalog`.`catalog_db`.`orders`"
    assert spark.table(names["orders"]).count() == len(pd.read_parquet(sample["orders"]))
    synth.save_to_hive(sample, target_db="spark_catalog.catalog_db")  # replaced: the renames stay in the catalog
    assert sorted(r["tableName"] for r in spark.sql("SHOW TABLES IN catalog_db").collect()) == sorted(sample)
    props = {r["key"]: r["value"] for r in spark.sql("SHOW TBLPROPERTIES catalog_db.orders").collect()}
    assert OWNER_PROPERTY in props
    folder = Path(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:"))
    release, _ = try_file_lock(folder / ".synthohive-catalog_db.lock", hint="test")
    assert release is not None
    try:
        with pytest.raises(LockedTargetError, match="spark_catalog.Catalog_DB"):
            synth.save_to_hive(sample, target_db="spark_catalog.Catalog_DB")
    finally:
        release()
    before = sorted(r["namespace"] for r in spark.sql("SHOW DATABASES").collect())
    with pytest.raises(ConfigError, match="Spark has no catalog 'nocat'"):
        synth.save_to_hive(sample, target_db="nocat.some_db")
    with pytest.raises(ConfigError, match="Spark has no catalog 'nocat'"):
        synth.fit(database="nocat.real_db")
    for name in ("a.b.c", "spark_catalog.", ".real_db", "spark_catalog.real db"):
        with pytest.raises(UnsafeTargetError, match="catalog.database"):
            synth.save_to_hive(sample, target_db=name)
    assert sorted(r["namespace"] for r in spark.sql("SHOW DATABASES").collect()) == before


def test_a_second_run_on_the_same_database_is_told_who_holds_it(spark: Any, synth: Synthesizer,
                                                                sample: dict[str, str]) -> None:
    folder = Path(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:"))
    release, _ = try_file_lock(folder / ".synthohive-locked_db.lock", hint="test")
    assert release is not None
    try:
        with pytest.raises(LockedTargetError, match="another synthohive run is writing Spark database 'locked_db'"):
            synth.save_to_hive(sample, target_db="locked_db")
    finally:
        release()
    assert not spark.catalog.databaseExists("locked_db")


def test_delta_without_its_jars_says_what_to_install(synth: Synthesizer, sample: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="install delta-spark and its jars"):
        synth.save_to_hive(sample, target_db="delta_db", format="delta")


class _FailingRename:
    """The real session, except that moving a staged table onto `orders` fails (a metastore error mid-switch)."""

    def __init__(self, spark: Any) -> None:
        self._spark = spark

    def __getattr__(self, name: str) -> Any:
        return getattr(self._spark, name)

    def sql(self, query: str) -> Any:
        if "__synthohive_new_" in query and query.endswith("RENAME TO `switch_db`.`orders`"):
            raise RuntimeError("metastore unavailable")
        return self._spark.sql(query)


def test_a_failed_switch_restores_every_previous_table(spark: Any, synth: Synthesizer, sample: dict[str, str],
                                                       tmp_path: Path) -> None:
    other = synth.sample(scale=1.0, seed=12, partitions=2, min_rows_per_partition=10, output_path_base=tmp_path / "o")
    synth.save_to_hive(sample, target_db="switch_db")
    before = {t: spark.table(f"switch_db.{t}").count() for t in sample}
    ids = spark.table("switch_db.customers").toPandas()["customer_id"].sort_values().tolist()
    synth.spark_session = _FailingRename(spark)
    try:
        with pytest.raises(WarehouseError, match="switching the synthetic tables .* previous tables were restored"):
            synth.save_to_hive(other, target_db="switch_db")
    finally:
        synth.spark_session = spark
    assert sorted(r["tableName"] for r in spark.sql("SHOW TABLES IN switch_db").collect()) == sorted(sample)
    assert {t: spark.table(f"switch_db.{t}").count() for t in sample} == before
    assert spark.table("switch_db.customers").toPandas()["customer_id"].sort_values().tolist() == ids


def test_a_value_drawn_in_two_partitions_is_found_on_the_cluster(spark: Any, tmp_path: Path) -> None:
    """Unique learned or faked columns are unique within a partition only: the sample is checked before it is
    published (Synthesizer._check_unique_across_partitions), counting on the cluster."""
    folder = tmp_path / "users"
    folder.mkdir()
    pd.DataFrame({"email": ["a@x.org", "b@x.org", None]}).to_parquet(folder / "part-00000.parquet")
    pd.DataFrame({"email": ["c@x.org", None]}).to_parquet(folder / "part-00001.parquet")
    assert first_duplicate(spark, folder, "email") is None  # nulls are not values
    pd.DataFrame({"email": ["d@x.org", "b@x.org"]}).to_parquet(folder / "part-00002.parquet")
    assert first_duplicate(spark, folder, "email") == "b@x.org"


def test_instants_are_read_as_utc_whatever_the_session_time_zone(spark: Any) -> None:
    spark.sql("DROP DATABASE IF EXISTS tz_db CASCADE")
    spark.sql("CREATE DATABASE tz_db")
    spark.sql("CREATE TABLE tz_db.events (id bigint, at timestamp) USING parquet")
    spark.sql("INSERT INTO tz_db.events VALUES (1, TIMESTAMP '2024-03-01 12:00:00 UTC')")
    from synthohive_dbt.config import Metadata

    meta = Metadata()
    meta.add_table("events", pk="id")
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        frame = read_database(spark, "tz_db", meta).frames["events"]
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)
    assert frame["at"].iloc[0] == pd.Timestamp("2024-03-01 12:00:00")


def test_a_staged_hive_write_has_the_executors_draw_its_tables(spark: Any, synth: Synthesizer,
                                                               sample: dict[str, str], tmp_path: Path) -> None:
    """`synthohive generate --target spark`: a model loaded without a session samples into the Hive staged write
    (an ExecutorSink), so the tables are drawn on the executors, each partition writing its own files, and
    published in the real types: the same rows as the folder path for the same seed and partitions. A failure
    in a partition leaves nothing behind."""
    from synthohive_dbt.io.relation import Column
    from synthohive_dbt.io.warehouses.spark import HiveStagedWrite

    synth.save(tmp_path / "model.shm")
    loaded = Synthesizer.load(tmp_path / "model.shm")  # no session: the sink brings it
    columns = {t: [Column(name, kind) for name, kind in spark.table(f"real_db.{t}").dtypes] for t in sample}
    events: list[tuple[str, str, int]] = []
    with HiveStagedWrite(spark, "exec_db", columns, run_id="r1", on_progress=lambda *e: events.append(e)) as staged:
        loaded.sample(scale=3.0, seed=11, partitions=2, min_rows_per_partition=10, sink=staged)
        drawn = sorted(p.parent.name for p in staged.partition_folder().glob("*/part-*.parquet"))
    assert drawn == sorted([*sample] * 2)  # one file per partition and table (a shared table's second is empty)
    for table, folder in sample.items():
        key = columns[table][0].name
        got = spark.table(f"exec_db.{table}").toPandas().sort_values(key)
        want = pd.read_parquet(folder).sort_values(key)
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), obj=table,
                                      check_dtype=False)
        assert spark.table(f"exec_db.{table}").schema == spark.table(f"real_db.{table}").schema
    assert staged.counts == {t: len(pd.read_parquet(f)) for t, f in sample.items()}
    assert ("loaded", "order_items", staged.counts["order_items"]) in events
    assert loaded.last_sample_stats.tables["order_items"].rows == staged.counts["order_items"]

    written: list[str] = []

    def refuse(table: str, folder: str, rows: int) -> None:  # fails after every partition wrote its files
        written.extend(str(p) for p in staged.partition_folder().glob("*/part-*.parquet"))
        raise RuntimeError("the metastore went away")

    with pytest.raises(RuntimeError, match="the metastore went away"):
        with HiveStagedWrite(spark, "exec_db2", columns, run_id="r2", on_progress=lambda *e: None) as staged:
            staged.adopt = refuse  # type: ignore[method-assign]
            loaded.sample(scale=3.0, seed=11, partitions=2, min_rows_per_partition=10, sink=staged)
    assert len(written) == 2 * len(sample)
    assert not staged._folder.exists() and not spark.catalog.databaseExists("exec_db2")


def test_executors_are_started_ahead_of_a_sample_and_a_failure_only_logs(spark: Any,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    """`warm_executors` imports modules in every executor slot in the background (Spark then reuses those Python
    workers: the gain is measured in bench/spark_sampling.py). A module that fails to import is logged (the
    sample itself would report the real failure), never raised from the background thread."""
    from synthohive_dbt.io.spark_hive import warm_executors

    with caplog.at_level("INFO", logger="synthohive_dbt.io.spark_hive"):
        thread = warm_executors(spark, ["colorsys"])
        thread.join(timeout=120)
        assert not thread.is_alive()
        assert "ahead of the sample failed" not in caplog.text
        thread = warm_executors(spark, ["synthohive_no_such_module"])
        thread.join(timeout=120)
        assert not thread.is_alive()
    assert "starting the Spark executors ahead of the sample failed" in caplog.text
    assert "synthohive_no_such_module" in caplog.text


def test_an_error_in_a_partition_comes_back_as_itself(spark: Any, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """A learned rule the output breaks: warned and counted on the driver (the executors' log is not the
    user's), and under strict rules the partition's ConstraintViolationError, not a JVM traceback."""
    import numpy as np

    from synthohive_dbt.config import Metadata, RowRule
    from synthohive_dbt.errors import ConstraintViolationError

    rng = np.random.default_rng(0)
    meta = Metadata()
    meta.add_table("orders", pk="id").add_row_rule(RowRule(expression="price > 1000", origin="learned"))
    frame = pd.DataFrame({"id": np.arange(400), "price": rng.integers(1, 50, 400).astype(float)})
    synth = Synthesizer(metadata=meta, spark_session=spark, backend="CTGAN", model_kwargs=TINY)
    synth.fit(data={"orders": frame}, epochs=1, batch_size=100, seed=3)
    with caplog.at_level("WARNING"):
        synth.sample(num_rows={"orders": 400}, seed=1, partitions=2, min_rows_per_partition=10,
                     output_path_base=tmp_path / "lenient")
    assert synth.last_sample_stats.tables["orders"].broken_rules["price > 1000"] > 0
    assert "break the learned rule `price > 1000` (drawn on the Spark executors)" in caplog.text
    synth.strict_rules = True
    with pytest.raises(ConstraintViolationError, match=r"(?s)price > 1000.*in partition \d, on the Spark executors"):
        synth.sample(num_rows={"orders": 400}, seed=1, partitions=2, min_rows_per_partition=10,
                     output_path_base=tmp_path / "strict")
    assert not (tmp_path / "strict").exists()


def test_run_files_go_where_executors_and_driver_both_reach(spark: Any, tmp_path: Path) -> None:
    """Local mode: this machine's temp folder, or `spark.synthohive.stagingDir` when set; on a cluster the
    setting is required (a driver-local folder is invisible to executors), and only a mounted local path will
    do (the files are written through the local filesystem)."""
    from synthohive_dbt.io.spark_hive import STAGING_DIR, run_folder

    from synthohive_dbt.io.spark_hive import spark_path

    here = run_folder(spark, "t-")
    here.rmdir()
    assert here.parent == Path(tempfile.gettempdir())
    spark.conf.set(STAGING_DIR, f"file:{tmp_path / 'shared'}")
    try:
        assert run_folder(spark, "t-").parent == tmp_path / "shared"
        for wrong, says in [("s3a://bucket/tmp", "mounted at the same path"), ("file://otherhost/x", "mounted"),
                            ("shared/staging", "relative path")]:
            spark.conf.set(STAGING_DIR, wrong)
            with pytest.raises(ConfigError, match=says):
                run_folder(spark, "t-")
    finally:
        spark.conf.unset(STAGING_DIR)
    # Spark reads such a folder as a file: URI, never from the cluster's default filesystem (HDFS on YARN)
    assert spark_path(tmp_path / "shared") == (tmp_path / "shared").resolve().as_uri()
    assert spark_path("s3a://bucket/x") == "s3a://bucket/x"

    class _OnACluster:
        """The real session, as a cluster master reports itself."""

        conf = spark.conf

        class sparkContext:  # noqa: N801 - the attribute's name
            master = "spark://head:7077"

    with pytest.raises(ConfigError, match=r"(?s)runs on a cluster \(spark://head:7077\).*synthohive\.stagingDir"):
        run_folder(_OnACluster(), "t-")


def test_two_attempts_at_one_partition_never_share_a_file(tmp_path: Path) -> None:
    """A retried or speculative task runs a partition twice at once: each attempt writes a hidden file of its
    own and renames it into place when done, so the folder only ever holds whole files."""
    from synthohive_dbt.io.spark_hive import PartitionSink

    first, second = PartitionSink(str(tmp_path), 3, {}), PartitionSink(str(tmp_path), 3, {})
    first.write("t", pd.DataFrame({"id": [1, 2]}))
    second.write("t", pd.DataFrame({"id": [1, 2]}))
    first.write("t", pd.DataFrame({"id": [3]}))
    hidden = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert len(hidden) == 2 and all(n.startswith(".part-00003.parquet.") for n in hidden)  # nothing readable yet
    first.close("t", ["id"])
    assert pd.read_parquet(tmp_path / "t")["id"].tolist() == [1, 2, 3]  # Spark and pyarrow skip dot-files
    second.write("t", pd.DataFrame({"id": [3]}))
    second.close("t", ["id"])
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["part-00003.parquet"]
    assert pd.read_parquet(tmp_path / "t" / "part-00003.parquet")["id"].tolist() == [1, 2, 3]
