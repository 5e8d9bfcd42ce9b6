"""Spark and Hive as a target: synthetic rows written by the executors, then published as Hive tables.

`run_partitions` runs a producer once per partition on the executors (an RDD of the partition numbers and
`mapPartitions`; on Spark Connect, which has no RDDs, `spark.range` + `mapInPandas`). The saved model travels
as its artifact bytes (JSON + safetensors, never a pickle of a model) in a broadcast variable, or on Spark
Connect inside the function; the producer (relational/distributed.py) is handed down as a callable, since io/
may not import the engine. Each partition writes `<out>/<table>/part-<p>.parquet` itself, with the table's
real Spark schema when one was recorded at fit (decimal(p,s), timestamp_ntz, date), so only file names and
row counts come back to the driver.

`save_to_hive` registers such folders as tables of one database, and never touches what synthohive did not
write: the database name is checked against an allow-list before any SQL; a database holding the real tables,
or any relation without synthohive's table property (`synthohive.owned`), is refused with the list; one run
at a time per database (an flock'ed file in the warehouse folder). Spark can neither rename a database nor
move tables atomically, so each table is first written complete under a staged name, and only when all are
written is each table switched (the old one renamed aside, the staged one renamed in); the old tables are
dropped once every switch succeeded, and a failed switch renames back what was switched. Between the first
and the last switch (a few metastore calls per table, milliseconds each on a local metastore) a reader can
see tables of two runs side by side.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from synthohive_dbt.errors import (
    ConfigError,
    LockedTargetError,
    SynthohiveError,
    UnsafeTargetError,
    WarehouseError,
)
from synthohive_dbt.io.spark import (
    canonical_database,
    connect_is_local,
    database_sql,
    is_connect,
    master_of,
    parallelism_of,
    pyspark_functions,
    qualified,
    quote,
    renamed,
    validate_database_name,
)
from synthohive_dbt.io.warehouses.filelock import try_file_lock

log = logging.getLogger(__name__)

OWNER_PROPERTY = "synthohive.owned"
"""The table property that marks a table synthohive wrote (its value: the run id)."""
FORMATS = ("parquet", "orc", "delta")
_NEW, _OLD = "__synthohive_new_", "__synthohive_old_"
DELTA_HINT = ("install delta-spark and its jars: pip install delta-spark, then build the session with "
              "delta.configure_spark_with_delta_pip(builder) (or spark.jars.packages=io.delta:delta-spark_2.13:"
              "<version>) and spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension")

#: produce(artifact bytes, partition index, sink) writes one partition's rows through `sink` and returns a
#: JSON-able report of them (the sampling statistics), which travels back to the driver
Producer = Callable[[bytes, int, Any], Any]


class PartitionSink:
    """Writes a partition's chunks to `<out>/<table>/part-<p>.parquet`, cast to the table's Arrow schema. Each
    file is written under a hidden name of its own and renamed into place when the table is closed, so two
    attempts at one partition (a retried or speculative task) never write into one file, and a file Spark
    reads is always whole (Spark skips names starting with a dot)."""

    def __init__(self, out: str, part: int, schemas: Mapping[str, str]) -> None:
        self.out, self.part, self.schemas = Path(out), part, schemas
        self._writers: dict[str, tuple[pq.ParquetWriter, pa.Schema, Path]] = {}
        self.rows: dict[str, int] = {}
        self._attempt = uuid.uuid4().hex[:12]

    def _paths(self, table: str) -> tuple[Path, Path]:
        folder = self.out / table
        folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{self.part:05d}.parquet"
        return folder / f".{name}.{self._attempt}.tmp", folder / name

    def write(self, table: str, frame: pd.DataFrame) -> None:
        arrow = _cast(pa.Table.from_pandas(frame, preserve_index=False), self.schemas.get(table), table)
        if table not in self._writers:
            writing, _ = self._paths(table)
            self._writers[table] = (pq.ParquetWriter(writing, arrow.schema), arrow.schema, writing)
        writer, schema, _ = self._writers[table]
        writer.write_table(arrow if arrow.schema == schema else arrow.cast(schema))
        self.rows[table] = self.rows.get(table, 0) + len(frame)

    def close(self, table: str, columns: list[str]) -> None:
        writing, final = self._paths(table)
        if table in self._writers:
            writer, _, writing = self._writers.pop(table)
            writer.close()
        else:  # nothing drawn here: an empty file keeps the table's columns and types
            empty = _cast(pa.Table.from_pandas(pd.DataFrame(columns=columns), preserve_index=False),
                          self.schemas.get(table), table)
            pq.write_table(empty, writing)
            self.rows.setdefault(table, 0)
        os.replace(writing, final)


@functools.lru_cache(maxsize=64)
def _arrow_schema(spark_schema_json: str) -> pa.Schema:
    """The Arrow schema of a recorded Spark schema (cached: every chunk of a table asks)."""
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import StructType

    return to_arrow_schema(StructType.fromJson(json.loads(spark_schema_json)))


def _cast(table: pa.Table, spark_schema_json: str | None, name: str) -> pa.Table:
    """The chunk in the real Spark schema (by column name); without a recorded schema, as pandas made it."""
    if spark_schema_json is None:
        return table
    target = _arrow_schema(spark_schema_json)
    cols = []
    for f in target:
        if f.name not in table.column_names:
            raise WarehouseError(f"table {name!r}: the sample has no column {f.name!r} of the real Spark schema",
                                 hint="refit the model on the current tables")
        try:
            cols.append(pc.cast(table[f.name], f.type, safe=False))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise WarehouseError(f"table {name!r}, column {f.name!r}: sampled {table[f.name].type} values cannot "
                                 f"be written as {f.type}: {exc}",
                                 hint="report this with the column's Spark type") from exc
    return pa.Table.from_arrays(cols, schema=target)


def run_partitions(spark: Any, artifact: bytes, produce: Producer, partitions: int, out: str | Path,
                   schemas: Mapping[str, str]) -> tuple[dict[str, int], list[Any]]:
    """Run `produce` for partitions 0..n-1 on the executors; returns rows written per table and each
    partition's report, in partition order. `out` must be a path every executor can write (local mode: any
    folder; a cluster: a shared filesystem)."""
    out = str(out)
    schemas = dict(schemas)

    def one(model: bytes, part: int) -> tuple[int, str, str]:
        sink = PartitionSink(out, part, schemas)
        try:
            report = produce(model, part, sink)
        except SynthohiveError as exc:  # comes back as itself, not as a JVM traceback retried by Spark
            report = {_FAILED: {"class": type(exc).__name__, "message": str(exc).split("\n  fix: ")[0],
                                "hint": exc.hint}}
        return part, json.dumps(sink.rows), json.dumps(report)

    if is_connect(spark):  # no RDDs or broadcasts: the model's bytes travel with the function
        def run_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            for batch in batches:
                for part in batch["id"].tolist():
                    yield pd.DataFrame([one(artifact, int(part))], columns=["part", "rows", "report"])

        done = [(int(r["part"]), r["rows"], r["report"]) for r in spark.range(0, partitions, 1, partitions)
                .mapInPandas(run_batches, "part long, rows string, report string").collect()]
    else:
        broadcast = spark.sparkContext.broadcast(artifact)

        def run(parts: Iterator[int]) -> Iterator[tuple[int, str, str]]:
            for part in parts:
                yield one(broadcast.value, part)

        try:  # a plain RDD job: no Arrow or SQL plan for n tiny results, and its first run starts ~2 s sooner
            done = spark.sparkContext.parallelize(range(partitions), partitions).mapPartitions(run).collect()
        finally:
            broadcast.destroy()
    reports = [(part, json.loads(report)) for part, _, report in sorted(done)]
    for part, report in reports:
        if isinstance(report, dict) and _FAILED in report:
            raise _raised(report[_FAILED], part)
    rows: dict[str, int] = {}
    for _, written, _ in done:
        for table, n in json.loads(written).items():
            rows[table] = rows.get(table, 0) + int(n)
    return rows, [report for _, report in reports]


_FAILED = "synthohive_error"


def _raised(failure: Mapping[str, Any], part: int) -> SynthohiveError:
    """The error a partition raised, as its own class (the errors module's, else the root)."""
    from synthohive_dbt import errors

    kind = getattr(errors, str(failure.get("class")), None)
    message = f"{failure.get('message')} (in partition {part}, on the Spark executors)"
    if isinstance(kind, type) and issubclass(kind, SynthohiveError) and kind.__init__ is SynthohiveError.__init__:
        return kind(message, hint=failure.get("hint"))
    return SynthohiveError(message, hint=failure.get("hint"))


STAGING_DIR = "spark.synthohive.stagingDir"
"""A Spark setting (a profile's `server_side_parameters`, or `spark.conf.set`): the folder, mounted at the same
path on the driver and every executor, where a run's Parquet files are written before they become tables."""


def staging_root(spark: Any) -> Path | None:
    """The folder a run's Parquet files go under (`spark.synthohive.stagingDir`), None for this machine's temp
    folder (local mode on this machine only). On a cluster, or a Spark Connect server elsewhere, without the
    setting, or with a setting that is no absolute local path, ConfigError: a folder the executors do not see
    as the driver does would lose the files. Cheap: checked before any real data is read, so a run does not
    train and then find it cannot write."""
    configured = (spark.conf.get(STAGING_DIR, "") or "").strip()
    master = master_of(spark)
    elsewhere = not master.startswith("local") or (is_connect(spark) and not connect_is_local(spark))
    if not configured and elsewhere:
        where = f"a cluster ({master})" if not master.startswith("local") else "a Spark Connect server elsewhere"
        raise ConfigError(f"Spark runs on {where}: the synthetic tables' Parquet files need a folder every "
                          "executor and the driver can reach, and none is set",
                          hint=f"set {STAGING_DIR} to a shared mount (profile server_side_parameters, or "
                               "spark.conf.set), or pass output_path_base= on such storage")
    if not configured:
        return None
    parsed = urlparse(configured)
    if parsed.scheme not in ("", "file") or parsed.netloc not in ("", "localhost"):
        raise ConfigError(f"{STAGING_DIR}={configured!r}: the files are written through the local filesystem, so "
                          "it must be a folder mounted at the same path on the driver and every executor",
                          hint="mount that storage (NFS, a FUSE mount of HDFS/S3) and give its local path")
    if not Path(parsed.path).is_absolute():
        raise ConfigError(f"{STAGING_DIR}={configured!r} is a relative path: each executor would resolve it in "
                          "its own working folder", hint="give the shared mount's absolute path")
    return Path(parsed.path)


def spark_path(path: str | Path) -> str:
    """A local folder as Spark must read it: a `file:` URI (a bare path would be looked up on the cluster's
    default filesystem, HDFS on YARN); a URI is passed as given."""
    text = str(path)
    return text if "://" in text else Path(text).resolve().as_uri()


def run_folder(spark: Any, prefix: str) -> Path:
    """A fresh folder for one run's Parquet files that the executors and the driver both reach (`staging_root`)."""
    root = staging_root(spark)
    try:
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    except OSError as exc:
        raise ConfigError(f"cannot create a folder for the synthetic tables' files under "
                          f"{str(root or tempfile.gettempdir())!r}: {exc}",
                          hint=f"set {STAGING_DIR} to a writable folder") from exc


def warm_executors(spark: Any, modules: Sequence[str]) -> threading.Thread:
    """Start, in the background, one task per executor slot that imports `modules` (the engine, torch), so
    that the sampling job that follows finds its Python workers started and the imports done: Spark reuses
    its Python workers (`spark.python.worker.reuse`, on by default). On a session that has run no Python yet
    this is most of a first sample's fixed cost (~3 s at local[2] here), now spent while the driver loads the
    model and checks the target. A failure here only costs that time again: the sample reports real ones."""
    names = list(modules)

    def load() -> None:
        for name in names:
            importlib.import_module(name)

    def run() -> None:
        try:
            slots = parallelism_of(spark)
            if is_connect(spark):
                def load_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
                    load()
                    yield from batches

                spark.range(0, slots, 1, slots).mapInPandas(load_batches, "id long").count()
            else:
                spark.sparkContext.setLocalProperty("spark.job.description", "synthohive: starting the executors")
                spark.sparkContext.parallelize(range(slots), slots).foreachPartition(lambda _: load())
        except Exception as exc:  # py4j/Spark errors vary (a stopped session among them); see the docstring
            log.info("starting the Spark executors ahead of the sample failed (the sample starts them): %s", exc)

    from pyspark import InheritableThread  # the caller's job group and scheduler pool, its own job description

    thread = InheritableThread(run, session=spark if is_connect(spark) else None, name="synthohive-warm-executors",
                               daemon=True)
    thread.start()
    return thread


def first_duplicate(spark: Any, folder: str | Path, column: str) -> Any | None:
    """A value of `column` that occurs twice in the Parquet folder (counted on the cluster), else None."""
    F = pyspark_functions()
    rows = (spark.read.parquet(spark_path(folder)).where(F.col(quote(column)).isNotNull()).groupBy(quote(column))
            .count().where(F.col("count") > 1).limit(1).collect())
    return rows[0][0] if rows else None


# ------------------------------------------------------------------------------------------------ publishing
def check_format(spark: Any, fmt: str) -> str:
    """`fmt` if this session can write it; Delta needs delta-spark and its jars (DELTA_HINT)."""
    if fmt not in FORMATS:
        raise ConfigError(f"save_to_hive(format={fmt!r}) is not one of {list(FORMATS)}", hint="use 'parquet'")
    if fmt == "delta":
        extensions = spark.conf.get("spark.sql.extensions", "") or ""
        if importlib.util.find_spec("delta") is None or "DeltaSparkSessionExtension" not in extensions:
            raise ConfigError("save_to_hive(format='delta'): this Spark session cannot write Delta tables",
                              hint=DELTA_HINT)
    return fmt


def save_to_hive(spark: Any, paths: Mapping[str, str], target_db: str, *, schemas: Mapping[str, str] | None = None,
                 protected: tuple[str, ...] = (), fmt: str = "parquet", run_id: str = "run",
                 locked: bool = False) -> dict[str, str]:
    """Publish the Parquet folders `paths` (table -> folder) as tables of `target_db`; returns table ->
    `db`.`table`. `protected`: databases that hold real tables (refused as targets). `locked`: the caller
    already holds `try_lock(spark, target_db)` (the dbt pipeline holds it for its whole run)."""
    validate_database_name(target_db, what="target database", catalog=True)
    target = canonical_database(spark, target_db)
    for db in protected:
        if canonical_database(spark, db) == target:
            raise UnsafeTargetError(f"target database {target_db!r} holds the real tables synthohive read",
                                    hint="choose another target database, e.g. 'synthetic_db'")
    for table in paths:
        quote(table)
    check_format(spark, fmt)
    release = (lambda: None) if locked else _lock(spark, target_db)
    try:
        if _database_exists(spark, target_db):
            refuse_foreign(spark, target_db)
            _clean_leftovers(spark, target_db)
        else:
            spark.sql(f"CREATE DATABASE {database_sql(target_db)} WITH DBPROPERTIES ('{OWNER_PROPERTY}' = 'true')")
        staged = _stage(spark, paths, target_db, schemas or {}, fmt, run_id)
        _switch(spark, target_db, staged, run_id)
    finally:
        release()
    return {t: qualified(target_db, t) for t in paths}


def _database_exists(spark: Any, db: str) -> bool:
    return bool(spark.catalog.databaseExists(db))


def _relations(spark: Any, db: str) -> list[str]:
    return [r["tableName"] for r in spark.sql(f"SHOW TABLES IN {database_sql(db)}").collect() if not r["isTemporary"]]


def _owned(spark: Any, db: str, name: str) -> bool:
    props = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {qualified(db, name)}").collect()}
    return OWNER_PROPERTY in props


def owned_tables(spark: Any, db: str) -> list[str]:
    """The relations of `db` that carry synthohive's table property (what a run may replace)."""
    return sorted(n for n in _relations(spark, db) if _owned(spark, db, n))


def refuse_foreign(spark: Any, db: str) -> None:
    """UnsafeTargetError listing every relation of `db` without synthohive's table property."""
    foreign = sorted(n for n in _relations(spark, db) if not _owned(spark, db, n))
    if foreign:
        raise UnsafeTargetError(
            f"Spark database {db!r} holds relation(s) synthohive did not write: "
            + ", ".join(f"{db}.{n}" for n in foreign) + "; nothing was written or dropped",
            hint="choose another target database, or move those relations elsewhere")


def _clean_leftovers(spark: Any, db: str) -> None:
    """Staged or set-aside tables of an interrupted run (ours): staged ones dropped, set-aside ones restored
    where the table is gone, else dropped."""
    names = set(_relations(spark, db))
    for name in sorted(names):
        if _NEW in name:
            spark.sql(f"DROP TABLE IF EXISTS {qualified(db, name)}")
            log.info("removed %s.%s, staged by an interrupted run", db, name)
        elif _OLD in name:
            base = name.split(_OLD, 1)[0]
            if base in names:
                spark.sql(f"DROP TABLE IF EXISTS {qualified(db, name)}")
            else:
                spark.sql(f"ALTER TABLE {qualified(db, name)} RENAME TO {renamed(db, base)}")
            log.info("cleaned up %s.%s, set aside by an interrupted run", db, name)


def _stage(spark: Any, paths: Mapping[str, str], db: str, schemas: Mapping[str, str], fmt: str,
           run_id: str) -> dict[str, str]:
    """Every table written complete under a staged name; on any failure the staged tables are dropped."""
    F = pyspark_functions()
    staged: dict[str, str] = {}
    try:
        for table, path in paths.items():
            df = spark.read.parquet(spark_path(path))
            if table in schemas:
                from pyspark.sql.types import StructType

                real = StructType.fromJson(json.loads(schemas[table]))
                df = df.select(*[F.col(quote(f.name)).cast(f.dataType).alias(f.name) for f in real.fields])
            name = f"{table}{_NEW}{run_id}"
            (df.writeTo(qualified(db, name)).using(fmt).tableProperty(OWNER_PROPERTY, run_id).create())
            staged[table] = name
    except BaseException:
        for name in staged.values():
            spark.sql(f"DROP TABLE IF EXISTS {qualified(db, name)}")
        raise
    return staged


def _switch(spark: Any, db: str, staged: Mapping[str, str], run_id: str) -> None:
    """Each table switched to its staged copy (the old one renamed aside); on a failure every step done is
    undone in reverse, the staged copies dropped; the set-aside tables are dropped once all switched."""
    existing = set(_relations(spark, db))
    aside: list[tuple[str, str]] = []  # (table, its old copy's name)
    moved: list[tuple[str, str]] = []  # (table, the staged name it came from)
    try:
        for table, name in staged.items():
            if table in existing:
                old = f"{table}{_OLD}{run_id}"
                spark.sql(f"ALTER TABLE {qualified(db, table)} RENAME TO {renamed(db, old)}")
                aside.append((table, old))
            spark.sql(f"ALTER TABLE {qualified(db, name)} RENAME TO {renamed(db, table)}")
            moved.append((table, name))
    except BaseException as exc:
        for table, name in reversed(moved):
            spark.sql(f"ALTER TABLE {qualified(db, table)} RENAME TO {renamed(db, name)}")
        for table, old in reversed(aside):
            spark.sql(f"ALTER TABLE {qualified(db, old)} RENAME TO {renamed(db, table)}")
        for name in staged.values():
            spark.sql(f"DROP TABLE IF EXISTS {qualified(db, name)}")
        raise WarehouseError(f"switching the synthetic tables of Spark database {db!r} failed ({exc}); the "
                             "previous tables were restored", hint="fix the cause and run again") from exc
    for _, old in aside:
        spark.sql(f"DROP TABLE IF EXISTS {qualified(db, old)}")


def lock_path(spark: Any, db: str) -> Path:
    """The lock file of target database `db`: in the (local) warehouse folder, else in this machine's temp folder
    (a remote warehouse: runs on other machines are then not kept apart; said in the log)."""
    where = spark.conf.get("spark.sql.warehouse.dir", "") or ""
    parsed = urlparse(where)
    folder = Path(parsed.path) if parsed.scheme in ("", "file") and parsed.path else None
    if folder is None or not folder.is_dir():
        log.warning("the Spark warehouse %s is not a local folder: the run lock on %r only keeps apart runs on "
                    "this machine", where, db)
        folder = Path(tempfile.gettempdir())
    return folder / f".synthohive-{canonical_database(spark, db)}.lock"


def try_lock(spark: Any, db: str) -> tuple[Callable[[], None] | None, Any]:
    """(release, None) with the lock of `db` held, or (None, its holder): an flock'ed file (`lock_path`)."""
    return try_file_lock(lock_path(spark, db), hint="synthohive needs write access to the Spark warehouse folder")


def _lock(spark: Any, db: str) -> Callable[[], None]:
    """One run per target database (`try_lock`), or LockedTargetError naming the holder."""
    release, holder = try_lock(spark, db)
    if release is None:
        raise LockedTargetError(f"another synthohive run is writing Spark database {db!r} ({holder})",
                                hint="wait for it to finish, then run again")
    return release


__all__ = ["DELTA_HINT", "OWNER_PROPERTY", "STAGING_DIR", "PartitionSink", "check_format", "first_duplicate",
           "lock_path", "owned_tables", "refuse_foreign", "run_folder", "run_partitions", "save_to_hive",
           "spark_path", "staging_root", "try_lock", "warm_executors"]
