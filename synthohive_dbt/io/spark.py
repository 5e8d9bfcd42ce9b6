"""Spark and Hive as a source: the metadata's tables read from the Spark catalog, sampled on the cluster.

A table above the training budget is cut on the cluster, consistently across foreign keys, with the algorithm
of io/subsample.py (`root_fractions`: each table over budget is charged to its largest root ancestor): a cut
root keeps the keys whose seeded hash falls under its share (xxhash64 of the key columns and the seed, so the
choice does not depend on how the table is partitioned), a self-reference pulls the kept rows' ancestors in,
and every child keeps exactly the rows whose parents were kept (a semi-join on the cluster). Only the sample
travels to the driver (`toPandas`, through Arrow), sorted by the primary key so a seed gives the same frames.

Spark types that pandas holds differently are converted on the cluster for training (decimal(p,s) to double,
date to timestamp) and each table's real Spark schema is recorded (`SparkRead.schemas`, JSON), so what is
written back has the real types (io/spark_hive.py). Nested types (array, map, struct), binary, intervals and
variants are refused, one line per column: a model cannot learn them, and carrying them unchanged would copy
real values into the synthetic tables.

pyspark is imported only here and in io/spark_hive.py (the import contract), and only when Spark is used.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synthohive_dbt.config import Metadata
from synthohive_dbt.errors import ConfigError, DataError, UnsafeTargetError, WarehouseError
from synthohive_dbt.graph import topological_order
from synthohive_dbt.io.subsample import foreign_key_edges, root_fractions

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""Databases synthohive reads or writes in Spark: plain identifiers only, checked before any SQL."""
_WITH_CATALOG = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$")
SESSION_CATALOG = "spark_catalog"

_HASH_RANGE = 1 << 30  # a kept key's hash modulo this falls under share * this
_MAX_ANCESTOR_ROUNDS = 100  # a self-reference deeper than this is not closed over (said in a warning)
_UNLEARNABLE = ("array", "map", "struct", "binary", "interval", "variant", "calendarinterval")


def validate_database_name(name: str, *, what: str = "database", catalog: bool = False) -> str:
    """`name` if it is a plain identifier, else UnsafeTargetError; nothing has touched Spark yet. With
    `catalog`, `catalog.database` too (the Python API's three-part names: `fit(database="main.sales")`; a
    dbt-spark schema has no catalog), each part a plain identifier."""
    parts = name.split(".") if catalog and isinstance(name, str) else [name]
    if not isinstance(name, str) or len(parts) > 2 or len(name) > 257 \
            or not all(NAME_PATTERN.match(p) and len(p) <= 128 for p in parts):
        allowed = "a plain name or catalog.database, each part" if catalog else "only"
        raise UnsafeTargetError(
            f"Spark {what} name {name!r} is not allowed: {allowed} letters, digits and '_' (not first), at most "
            "128", hint="choose a database name such as 'synthetic_db'" + (
                " or 'spark_catalog.synthetic_db'" if catalog else ""))
    return name


def quote(name: str) -> str:
    """A Spark SQL identifier quoted once (backticks, embedded backticks doubled)."""
    if not name or "\x00" in name:
        raise WarehouseError(f"identifier {name!r} is empty or holds a NUL character",
                             hint="rename the table or column in the catalog")
    return "`" + name.replace("`", "``") + "`"


def _parts(database: str) -> tuple[str | None, str]:
    """(catalog or None, database): `catalog.database` only in the validated form (two plain identifiers);
    any other name is one database name (a Hive database name cannot hold a dot anyway)."""
    match = _WITH_CATALOG.match(database)
    return (match.group(1), match.group(2)) if match else (None, database)


def database_sql(database: str) -> str:
    """A database as Spark SQL: `db`, or `catalog`.`db`, each part quoted once."""
    catalog, name = _parts(database)
    return quote(name) if catalog is None else f"{quote(catalog)}.{quote(name)}"


def qualified(database: str, table: str) -> str:
    return f"{database_sql(database)}.{quote(table)}"


def renamed(database: str, table: str) -> str:
    """The name `ALTER TABLE ... RENAME TO` takes for `table` in `database`: without the catalog (Spark renames
    within the table's own catalog, and its session catalog refuses a three-part new name)."""
    return f"{quote(_parts(database)[1])}.{quote(table)}"


def canonical_database(spark: Any, database: str) -> str:
    """One spelling per database, for comparing names and naming its lock: lower case, and without the
    catalog when that is the session's current one (`spark_catalog.real_db` is `real_db`). A catalog Spark
    does not know is refused here, before any SQL (Spark would take it for a namespace)."""
    catalog, name = _parts(database)
    if catalog is None:
        return name.lower()
    current = str(spark.catalog.currentCatalog())
    if catalog.lower() == current.lower():
        return name.lower()
    if catalog.lower() != SESSION_CATALOG and not _known_catalog(spark, catalog):
        raise ConfigError(f"Spark has no catalog {catalog!r} (database {database!r})",
                          hint=f"register it (spark.sql.catalog.{catalog}=<class>), or name a database of the "
                               f"current catalog {current!r} without a catalog")
    return f"{catalog.lower()}.{name.lower()}"


def _known_catalog(spark: Any, catalog: str) -> bool:
    if _setting(spark, f"spark.sql.catalog.{catalog}"):
        return True
    return any(str(c.name).lower() == catalog.lower() for c in spark.catalog.listCatalogs())


def pyspark_functions() -> Any:
    """pyspark.sql.functions, or one line saying how to install the spark extra."""
    try:
        from pyspark.sql import functions
    except ImportError as exc:
        raise ConfigError("Spark was asked for but pyspark is not installed",
                          hint="pip install 'synthohive-dbt[spark]' (PySpark 4.x and Java 17)") from exc
    return functions


def is_connect(spark: Any) -> bool:
    """A Spark Connect session (`SparkSession.builder.remote("sc://...")`): no SparkContext, RDDs or broadcast
    variables on this side, only DataFrames."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def master_of(spark: Any) -> str:
    """Where the session's executors run (`local[2]`, `yarn`, `spark://...`); a Spark Connect server may not
    say (then "remote")."""
    if not is_connect(spark):
        return str(spark.sparkContext.master)
    return _setting(spark, "spark.master") or "remote"


def parallelism_of(spark: Any) -> int:
    """How many tasks the session runs at once: its default parallelism (on Spark Connect, the setting, else
    the cores of a `local[N]` master, else the shuffle partitions when a number, else 8). Never raises: a
    server may refuse to show a setting (Databricks serverless) or set them to "auto"."""
    if not is_connect(spark):
        return max(1, int(spark.sparkContext.defaultParallelism))
    configured = _setting(spark, "spark.default.parallelism")
    if configured.isdigit():
        return max(1, int(configured))
    local = re.fullmatch(r"local\[(\d+|\*)(?:,\s*\d+)?\]", master_of(spark))
    if local:
        return int(local.group(1)) if local.group(1).isdigit() else max(1, os.cpu_count() or 1)
    shuffle = _setting(spark, "spark.sql.shuffle.partitions")
    return max(1, int(shuffle)) if shuffle.isdigit() else 8


def connect_is_local(spark: Any) -> bool:
    """A Spark Connect client talking to a server on this machine (`remote("local")`, `sc://localhost`), so
    both see one filesystem."""
    host = str(getattr(getattr(spark, "client", None), "host", "") or "")
    return host in ("localhost", "127.0.0.1", "::1")


def _setting(spark: Any, key: str) -> str:
    try:
        return str(spark.conf.get(key, "") or "").strip()
    except Exception as exc:  # a server refusing to show a setting: pyspark's error types vary by version
        log.info("Spark setting %s could not be read (%s); using a default", key, exc)
        return ""


@dataclass
class SparkRead:
    """What `read_database` brings to the driver: frames to learn from and what to write back with."""

    frames: dict[str, pd.DataFrame]
    schemas: dict[str, str]  # table -> the real Spark schema (StructType JSON)
    real_rows: dict[str, int] = field(default_factory=dict)  # rows in the catalog, before any cut


def read_database(spark: Any, database: str, metadata: Metadata, *, max_rows: int | None = None,
                  seed: int = 0) -> SparkRead:
    """The metadata's tables from `database` in the Spark catalog, cut on the cluster under `max_rows`
    (the target size of the largest table; None reads everything), foreign keys kept consistent."""
    validate_database_name(database, catalog=True)
    canonical_database(spark, database)
    names = list(metadata.tables)
    return read_relations(spark, {n: (database, n) for n in names}, foreign_key_edges(metadata),
                          {n: list(metadata.tables[n].pk) for n in names}, max_rows=max_rows, seed=seed)


def read_relations(spark: Any, relations: Mapping[str, tuple[str, str]], edges: Sequence[Any],
                   pks: Mapping[str, Sequence[str]], *, max_rows: int | None = None, seed: int = 0) -> SparkRead:
    """Tables (logical name -> (database, table) in the Spark catalog) read as `read_database` does; `edges`
    are `io.subsample.ForeignKeyEdge`s between them, `pks` their primary keys. The dbt pipeline's reader
    (`io.warehouses.spark`)."""
    F = pyspark_functions()
    if max_rows is not None and max_rows < 1:
        raise ConfigError(f"max_rows must be at least 1, got {max_rows}", hint="pass a positive row budget")
    names = list(relations)
    missing = [f"{db}.{t}" for n, (db, t) in relations.items() if not spark.catalog.tableExists(qualified(db, t))]
    if missing:
        raise DataError(f"the Spark catalog has no table(s) {missing}",
                        hint="check the database (schema) and table names, or create the tables; SHOW TABLES IN "
                             "<database> lists what is there")
    frames = {n: spark.table(qualified(*relations[n])) for n in names}
    schemas = {n: frames[n].schema.json() for n in names}
    _refuse_unlearnable(frames, ", ".join(sorted({db for db, _ in relations.values()})))
    edges = [e for e in edges if e.child in frames and e.parent in frames]
    parents = {n: sorted({e.parent for e in edges if e.child == n}) for n in names}
    counts = {n: int(frames[n].count()) for n in names}
    fractions = root_fractions(counts, parents, max_rows) if max_rows is not None else {}
    pks = {n: list(pks.get(n, ())) for n in names}
    kept: dict[str, Any] = {}
    cut: set[str] = set()
    for name in topological_order(names, parents):
        df = frames[name]
        real_parents = [p for p in parents[name] if p != name]
        if not real_parents and fractions.get(name, 1.0) < 1.0:
            df = _cut_root(F, df, name, fractions[name], _key_columns(name, pks, edges),
                           [e for e in edges if e.child == name and e.parent == name], seed)
            cut.add(name)
        else:
            for e in edges:
                if e.child == name and e.parent != name and e.parent in cut:
                    df = _keep_children_of(F, df, kept[e.parent], e.child_columns, e.parent_columns)
                    cut.add(name)
        kept[name] = df
    out = {n: _to_pandas(F, kept[n], pks[n]) for n in names}
    return SparkRead(out, schemas, counts)


def _key_columns(name: str, pks: Mapping[str, list[str]], edges: list[Any]) -> list[str]:
    if pks[name]:
        return pks[name]
    refs = [list(e.parent_columns) for e in edges if e.parent == name and e.child != name]
    return refs[0] if refs else []


def _share(F: Any, cols: list[str], seed: int) -> Any:
    """A column in [0, 1): the seeded hash of `cols`, the same wherever the row lives."""
    return F.pmod(F.xxhash64(F.lit(int(seed)), *[F.col(quote(c)) for c in cols]), F.lit(_HASH_RANGE)) / _HASH_RANGE


def _cut_root(F: Any, df: Any, name: str, fraction: float, key_cols: list[str], self_fks: list[Any],
              seed: int) -> Any:
    """The root's rows whose key hash falls under `fraction`, closed over its self-references."""
    cols = key_cols or list(df.columns)
    chosen = df.where(_share(F, cols, seed) < F.lit(fraction))
    for e in self_fks:  # pull in the ancestors (employee -> manager) until nothing new comes
        for _ in range(_MAX_ANCESTOR_ROUNDS):
            wanted = chosen.select(*[F.col(quote(c)).alias(p) for c, p in zip(e.child_columns, e.parent_columns)])
            wanted = wanted.dropna().distinct()
            new = df.join(wanted, list(e.parent_columns), "left_semi").join(chosen.select(*cols), cols, "left_anti")
            if new.isEmpty():
                break
            chosen = chosen.unionByName(new).localCheckpoint()
    return chosen


def _keep_children_of(F: Any, df: Any, parent: Any, child_cols: tuple[str, ...], parent_cols: tuple[str, ...]) -> Any:
    """Rows of `df` whose foreign key is null or names a kept parent row (children per parent stay true)."""
    hit = "__synthohive_kept__"
    keys = parent.select(*[F.col(quote(p)).alias(f"__k{i}") for i, p in enumerate(parent_cols)]).dropna().distinct()
    keys = keys.withColumn(hit, F.lit(True))
    cond = [df[quote(c)] == keys[f"__k{i}"] for i, c in enumerate(child_cols)]
    nulls = F.lit(False)
    for c in child_cols:
        nulls = nulls | F.col(quote(c)).isNull()
    joined = df.join(keys, cond, "left")
    return joined.where(nulls | F.col(hit).isNotNull()).select(*[df[quote(c)] for c in df.columns])


def _refuse_unlearnable(frames: Mapping[str, Any], database: str) -> None:
    bad = [f"{name}.{f.name} ({f.dataType.simpleString()})" for name, df in frames.items()
           for f in df.schema.fields if f.dataType.typeName() in _UNLEARNABLE]
    if bad:
        raise DataError(f"Spark database {database!r}: column(s) of a type synthohive cannot learn: "
                        + "; ".join(bad),
                        hint="leave them out of the dbt models synthohive reads, or flatten them in a view "
                             "(to_json(col) or one column per field) and point the metadata at the view")


def _to_pandas(F: Any, df: Any, pk: list[str]) -> pd.DataFrame:
    """The sample on the driver: decimals as doubles, dates as timestamps, instants (timestamp with local time
    zone) as naive UTC whatever the session's time zone (through microseconds since the epoch, which is also
    how they are written back), sorted by the primary key."""
    cols, instants = [], []
    for f in df.schema.fields:
        kind = f.dataType.typeName()
        c = F.col(quote(f.name))
        if kind == "decimal":
            c = c.cast("double")
        elif kind == "date":
            c = c.cast("timestamp_ntz")
        elif kind == "timestamp":
            c = F.unix_micros(c)
            instants.append(f.name)
        cols.append(c.alias(f.name))
    order = pk or [f.name for f in df.schema.fields]
    frame = df.orderBy(*[F.col(quote(c)).asc_nulls_first() for c in order]).select(*cols).toPandas()
    for name in instants:
        frame[name] = pd.to_datetime(frame[name], unit="us")
    return frame.reset_index(drop=True)


__all__ = ["NAME_PATTERN", "SESSION_CATALOG", "SparkRead", "canonical_database", "database_sql", "qualified",
           "quote", "read_database", "read_relations", "renamed", "validate_database_name"]
