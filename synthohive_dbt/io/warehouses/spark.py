"""Spark with a Hive metastore (dbt-spark `method: session`): the warehouse is this process's SparkSession.

The pipeline speaks to every warehouse through a SQLAlchemy engine and `Warehouse`; here the engine is a thin
DB-API adapter over the session (`spark.sql`, named parameters passed as Spark's own `:name` markers, so no
value is spliced into SQL), created by `session_engine` from the profile. What differs from a SQL warehouse
is all in `SparkWarehouse`:

- reading: a table over the training budget is cut **on the cluster** (`io.spark.read_relations`), and only
  the sample reaches the driver;
- ownership: the table property `synthohive.owned`, not a marker table (`owned_by_properties`);
- writing: `staged_write` collects the synthetic chunks as Parquet files, then `io.spark_hive.save_to_hive`
  publishes them (each table staged complete, then switched; see there for the short window);
- the run lock: an flock'ed file in the warehouse folder, the one `save_to_hive` uses.

The session: the one already running in this process (a notebook, spark-submit, the tests), else one built
as dbt-spark builds it (`enableHiveSupport`, the profile's `server_side_parameters` as settings, master
`local[*]` unless they name `spark.master`). dbt then runs in-process and `getOrCreate` hands it the same
session: a Derby metastore allows one process. Without `spark.sql.warehouse.dir` and
`spark.hadoop.javax.jdo.option.ConnectionURL`, Spark's defaults apply: `spark-warehouse/` and `metastore_db/`
in the working directory.

pyspark is imported on use only (the import contract).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.dialects import registry
from sqlalchemy.engine.default import DefaultDialect

from synthohive_dbt.errors import ConfigError, WarehouseError
from synthohive_dbt.io.relation import Column, Dependent, RelationInfo
from synthohive_dbt.io.warehouses.base import LockHolder, Warehouse, view_reads

log = logging.getLogger(__name__)

DIALECT = "spark"
SESSION_SETTINGS = {"spark.sql.ansi.enabled": "false"}  # what dbt-spark sets on every cursor; set it first
BUILD_DEFAULTS = {"spark.ui.showConsoleProgress": "false"}  # a session synthohive builds (the profile may override)
paramstyle = "named"  # DB-API module attribute: Spark's own `:name` parameter markers


# ------------------------------------------------------------------------------------------ DB-API adapter
class Error(Exception):
    """DB-API error root (SQLAlchemy wraps these)."""


class DatabaseError(Error):
    pass


class OperationalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class InterfaceError(Error):
    pass


class Warning(Exception):  # noqa: A001 - DB-API names it so
    pass


class _Cursor:
    """`spark.sql` behind the DB-API cursor calls SQLAlchemy and `run_sql` make."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        try:
            df = self.spark.sql(sql, args=dict(parameters)) if parameters else self.spark.sql(sql)
            rows = df.collect()
        except Exception as exc:  # pyspark's AnalysisException, ParseException, Py4JJavaError...
            raise DatabaseError(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) \
                from exc
        fields = df.schema.fields
        self.description = [(f.name, f.dataType.simpleString(), None, None, None, None, f.nullable)
                            for f in fields] if fields else None
        self._rows = [tuple(r) for r in rows]
        self.rowcount = len(self._rows)

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def close(self) -> None:
        self._rows = []


class _Connection:
    """No transactions in Spark: commit and rollback do nothing (the writer's safety is `save_to_hive`'s)."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def cursor(self) -> _Cursor:
        return _Cursor(self.spark)

    def commit(self) -> None:
        return None

    def rollback(self) -> None:
        return None

    def close(self) -> None:
        return None  # the session outlives the engine: dbt and later steps use it


class SparkSessionDialect(DefaultDialect):
    """The SQLAlchemy dialect of `_Connection`: named parameters, no statement caching concerns, no server."""

    name = DIALECT
    driver = "session"
    paramstyle = "named"
    supports_statement_cache = True
    supports_native_boolean = True
    default_paramstyle = "named"

    @classmethod
    def import_dbapi(cls) -> Any:
        return sys.modules[__name__]

    def initialize(self, connection: Any) -> None:
        self.default_schema_name = None
        self.default_isolation_level = None

    def get_isolation_level(self, dbapi_connection: Any) -> str:
        return "AUTOCOMMIT"

    def set_isolation_level(self, dbapi_connection: Any, level: str) -> None:
        return None

    def get_default_isolation_level(self, dbapi_conn: Any) -> str:
        return "AUTOCOMMIT"

    def do_ping(self, dbapi_connection: Any) -> bool:
        return True


registry.register("synthohive_spark", __name__, "SparkSessionDialect")


def spark_session(settings: Mapping[str, str] | None = None) -> Any:
    """This process's SparkSession, or one built as dbt-spark builds it (Hive support, `settings`)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError("the dbt profile is a Spark target, but pyspark is not installed",
                          hint="pip install 'synthohive-dbt[spark]' (PySpark 4.x, dbt-spark, and Java 17)") from exc
    active = SparkSession.getActiveSession()
    settings = dict(settings or {})
    if active is not None:
        ignored = sorted(k for k in settings if k.startswith(("spark.master", "spark.hadoop.", "spark.driver.")))
        if ignored:
            log.info("a SparkSession is already running in this process: the profile's %s do not apply", ignored)
        for key, value in SESSION_SETTINGS.items():
            active.conf.set(key, value)
        return active
    builder = SparkSession.builder.enableHiveSupport().appName("synthohive")
    if "spark.master" not in settings:
        builder = builder.master("local[*]")
    if str(settings.get("spark.master", "local")).startswith("local"):
        # the executors' Python workers sample with synthohive: this interpreter's, not whatever `python3` is
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in {**BUILD_DEFAULTS, **settings, **SESSION_SETTINGS}.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # Java missing, a port taken, a metastore another process holds
        raise WarehouseError(f"starting a local Spark session failed: {str(exc).strip().splitlines()[0]}",
                             hint="Spark needs Java 17 (JAVA_HOME); a Derby metastore allows one process, so stop "
                                  "other Spark processes using this folder's metastore_db") from exc


def session_engine(settings: Mapping[str, str], source: str) -> Engine:
    """A SQLAlchemy engine whose connections run `spark.sql` on this process's session."""
    spark = spark_session(settings)
    from synthohive_dbt.io.spark import master_of

    log.info("%s: using Spark %s at %s (warehouse %s)", source, spark.version, master_of(spark),
             spark.conf.get("spark.sql.warehouse.dir", "?"))
    return create_engine("synthohive_spark://", creator=lambda: _Connection(spark), pool_pre_ping=False)


def _spark(bind: Engine | Connection) -> Any:
    if isinstance(bind, Connection):
        return bind.connection.driver_connection.spark
    with bind.connect() as conn:
        return conn.connection.driver_connection.spark


# ------------------------------------------------------------------------------------------------ warehouse
class SparkWarehouse(Warehouse):
    dialect = DIALECT
    folds_case = True  # the Hive metastore stores database and table names in lower case
    takes_over_relations = False  # save_to_hive replaces only tables carrying synthohive.owned
    publishing = "written as Parquet files, staged as tables, then each table switched in"
    type_names = {"smallint": "SMALLINT", "integer": "INT", "bigint": "BIGINT", "real": "FLOAT",
                  "double": "DOUBLE", "decimal": "DECIMAL", "boolean": "BOOLEAN", "date": "DATE", "time": "STRING",
                  "timestamp": "TIMESTAMP_NTZ", "timestamptz": "TIMESTAMP", "interval": "STRING",
                  "uuid": "STRING", "json": "STRING", "bytes": "BINARY", "text": "STRING", "varchar": "VARCHAR"}

    def quote(self, name: str) -> str:
        from synthohive_dbt.io.spark import quote

        return quote(name)

    # -- catalog ---------------------------------------------------------------------------------------------
    def reflect_columns(self, conn: Connection, schema: str, table: str) -> list[Column]:
        spark = _spark(conn)
        if not spark.catalog.tableExists(self.qualified(schema, table)):
            return []
        return [Column(f.name, f.dataType.simpleString(), f.nullable)
                for f in spark.table(self.qualified(schema, table)).schema.fields]

    def list_relations(self, conn: Connection, schema: str) -> list[RelationInfo]:
        spark = _spark(conn)
        if not spark.catalog.databaseExists(schema):
            return []
        views = {r["viewName"] for r in spark.sql(f"SHOW VIEWS IN {self.quote(schema)}").collect()
                 if not r["isTemporary"]}
        return sorted((RelationInfo(r["tableName"], "view" if r["tableName"] in views else "table")
                       for r in spark.sql(f"SHOW TABLES IN {self.quote(schema)}").collect() if not r["isTemporary"]),
                      key=lambda r: r.name)

    def schema_exists(self, conn: Connection, schema: str) -> bool:
        return bool(_spark(conn).catalog.databaseExists(schema))

    def dependents(self, conn: Connection, schema: str, names: Sequence[str]) -> list[Dependent]:
        """Views of any database whose SQL reads schema.names (the metastore records no dependencies)."""
        spark = _spark(conn)
        wanted = {n.lower() for n in names}
        out = []
        for db in (r[0] for r in spark.sql("SHOW DATABASES").collect()):
            for view in spark.sql(f"SHOW VIEWS IN {self.quote(db)}").collect():
                if view["isTemporary"]:
                    continue
                rows = spark.sql(f"DESCRIBE TABLE EXTENDED {self.qualified(db, view['viewName'])}").collect()
                sql = next((str(r[1]) for r in rows if r[0] == "View Text"), "")
                for on in sorted(view_reads(sql, dialect="spark", view_schema=db, schema=schema, wanted=wanted)):
                    out.append(Dependent(db, view["viewName"], "view", f"{schema}.{on}"))
        return out

    def current_database(self, conn: Connection) -> str:
        return str(_spark(conn).catalog.currentDatabase())

    # -- reading: on the cluster ----------------------------------------------------------------------------
    def select(self, conn: Connection, sql: str) -> pd.DataFrame:
        return _spark(conn).sql(sql).toPandas()

    def read_tables(self, conn: Connection, relations: Mapping[str, tuple[str, str]], edges: Sequence[Any],
                    pks: Mapping[str, Sequence[str]], max_rows: int | None, seed: int) -> dict[str, pd.DataFrame]:
        from synthohive_dbt.io.spark import read_relations

        return read_relations(_spark(conn), relations, edges, pks, max_rows=max_rows, seed=seed).frames

    # -- ownership: a table property ------------------------------------------------------------------------
    def owned_by_properties(self, conn: Connection, schema: str) -> dict[str, str] | None:
        from synthohive_dbt.io.spark_hive import owned_tables

        spark = _spark(conn)
        if not spark.catalog.databaseExists(schema):
            return None
        return {self.key(n): "synthetic" for n in owned_tables(spark, schema)}

    def record_in_properties(self, conn: Connection, schema: str, relations: Sequence[RelationInfo], *,
                             role: str, run_id: str) -> bool:
        from synthohive_dbt.io.spark_hive import OWNER_PROPERTY

        spark = _spark(conn)
        for rel in relations:
            kind = "VIEW" if rel.kind == "view" else "TABLE"
            spark.sql(f"ALTER {kind} {self.qualified(schema, rel.name)} SET TBLPROPERTIES "
                      f"('{OWNER_PROPERTY}' = '{role}_{_plain(run_id)}')")
        return True

    # -- writing: Parquet files, then save_to_hive ----------------------------------------------------------
    def load(self, conn: Connection, target_sql: str, frame: pd.DataFrame, columns: Sequence[Column], *,
             schema: str | None = None, table: str | None = None) -> int:
        raise WarehouseError("Spark tables are written through save_to_hive (Warehouse.staged_write), not loaded "
                             "row by row", hint="report this: the pipeline should not reach Warehouse.load on Spark")

    def staged_write(self, bind: Engine, target: str, columns: Mapping[str, Sequence[Column]], *,
                     run_id: str, on_progress: Callable[[str, str, int], None],
                     on_note: Callable[[str], None], force: bool = False, adopt: bool = False) -> HiveStagedWrite:
        # force/adopt never reach here: the plan refuses them (takes_over_relations), and save_to_hive refuses
        # any relation without synthohive's property whatever the flags
        return HiveStagedWrite(_spark(bind), target, columns, run_id=run_id, on_progress=on_progress)

    def check_can_write(self, bind: Engine) -> None:
        from synthohive_dbt.io.spark_hive import staging_root

        staging_root(_spark(bind))

    def prepare_to_sample(self, bind: Engine, modules: Sequence[str]) -> None:
        from synthohive_dbt.io.spark_hive import warm_executors

        warm_executors(_spark(bind), modules)

    # -- one run per target database --------------------------------------------------------------------------
    def lock_scope(self, engine: Engine, schema: str) -> str:
        return f"Spark database {schema!r}"

    def try_lock(self, engine: Engine, schema: str) -> tuple[Callable[[], None] | None, LockHolder | None]:
        from synthohive_dbt.io.spark import validate_database_name
        from synthohive_dbt.io.spark_hive import try_lock

        return try_lock(_spark(engine), validate_database_name(schema, what="target database"))


def _plain(text: str) -> str:
    """A run id as Spark accepts it inside a table name or property (letters, digits, '_')."""
    return "".join(ch if ch.isalnum() and ch.isascii() else "_" for ch in text)


class HiveStagedWrite:
    """A sampling sink that keeps each table as Parquet files in a temporary folder, in the table's real Spark
    types, and on a clean exit publishes them all with `save_to_hive` (which stages every table complete, then
    switches; the run lock is the caller's). Leaving by an exception deletes the files: nothing reached the
    metastore.

    It is an `ExecutorSink` (relational/sinks.py): it offers its session, so `synthohive generate` draws the
    tables on the executors, each partition writing its own files into `partition_folder()`, and only file
    names and counts come back (`adopt`). Chunks handed to `write` (a sample drawn on the driver) land in the
    same folder layout."""

    def __init__(self, spark: Any, target: str, columns: Mapping[str, Sequence[Column]], *, run_id: str,
                 on_progress: Callable[[str, str, int], None]) -> None:
        from synthohive_dbt.io.spark import quote, validate_database_name

        self.spark, self.target = spark, validate_database_name(target, what="target database")
        self.columns = {name: list(cols) for name, cols in columns.items()}
        for name in self.columns:
            quote(name)
        self.run_id, self.notify = _plain(run_id), on_progress
        self.schemas = {name: _schema_json(spark, cols, name) for name, cols in self.columns.items()}
        self.counts: dict[str, int] = {}
        self.results = self.counts
        self._folder: Path | None = None
        self._sink: Any = None
        self._adopted: dict[str, tuple[str, int]] = {}  # table -> (folder written by the executors, rows)

    def __enter__(self) -> HiveStagedWrite:
        from synthohive_dbt.io.spark_hive import PartitionSink, refuse_foreign, run_folder

        if self.spark.catalog.databaseExists(self.target):
            refuse_foreign(self.spark, self.target)
        self._folder = run_folder(self.spark, "synthohive-hive-")
        self._sink = PartitionSink(str(self._folder), 0, self.schemas)
        self.notify("staging", str(self._folder), 0)
        return self

    def write(self, table: str, frame: pd.DataFrame) -> None:
        assert self._sink is not None, "HiveStagedWrite.write outside its `with` block"
        self._known(table)
        names = [c.name for c in self.columns[table]]
        self.notify("loading", table, len(frame))
        self._sink.write(table, frame[names] if set(names) <= set(frame.columns) else frame)

    def close(self, table: str, columns: Sequence[str]) -> None:
        assert self._sink is not None
        self._sink.close(table, [c.name for c in self.columns[table]])
        self.notify("loaded", table, self._sink.rows.get(table, 0))

    # -- ExecutorSink: whole tables drawn on the executors ---------------------------------------------------
    @property
    def spark_session(self) -> Any:
        return self.spark

    def partition_folder(self) -> Path:
        assert self._folder is not None, "HiveStagedWrite.partition_folder outside its `with` block"
        return self._folder / "executors"

    def spark_schema(self, table: str) -> str | None:
        return self.schemas[self._known(table)]

    def adopt(self, table: str, folder: str, rows: int) -> None:
        self._adopted[self._known(table)] = (folder, rows)
        self.notify("loaded", table, rows)

    def _known(self, table: str) -> str:
        if table not in self.columns:
            raise WarehouseError(f"table {table!r}: no column types given for it",
                                 hint="pass its columns when the staged write is opened")
        return table

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        from synthohive_dbt.io.spark_hive import save_to_hive

        assert self._folder is not None and self._sink is not None
        try:
            if kind is not None:
                return
            rows = {**self._sink.rows, **{name: n for name, (_, n) in self._adopted.items()}}
            missing = [n for n in self.columns if n not in rows]
            if missing:
                raise WarehouseError(f"table(s) {missing} were never written", hint="every table must be written")
            total = sum(rows.values())
            self.notify("swapping", self.target, total)
            paths = {name: self._adopted[name][0] if name in self._adopted else str(self._folder / name)
                     for name in self.columns}
            save_to_hive(self.spark, paths, self.target, schemas=self.schemas, run_id=self.run_id, locked=True)
            self.counts.update(rows)
            self.notify("done", self.target, total)
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)


def _schema_json(spark: Any, columns: Sequence[Column], table: str) -> str:
    """The Spark schema (StructType JSON) of `columns`, whose types are Spark DDL types."""
    from pyspark.sql.types import StructField, StructType, _parse_datatype_string

    fields = []
    for c in columns:
        try:
            fields.append(StructField(c.name, _parse_datatype_string(c.sql_type), c.nullable))
        except Exception as exc:  # pyspark's parse error types vary by version
            raise WarehouseError(f"table {table!r}, column {c.name!r}: {c.sql_type!r} is not a Spark type",
                                 hint="refit the model on the Spark tables (`synthohive fit --target ...`)") from exc
    return StructType(fields).json()


__all__ = ["HiveStagedWrite", "SparkSessionDialect", "SparkWarehouse", "session_engine", "spark_session"]
