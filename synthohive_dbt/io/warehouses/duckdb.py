"""DuckDB: an embedded file. The file is the unit of locking; views are found by reading their SQL.

DuckDB does not record which views read a table (dropping the table leaves the view to break silently), so
`dependents` parses every view's definition from `duckdb_views()` with sqlglot and reads foreign keys from
`duckdb_constraints()`. A view whose SQL cannot be parsed counts as a dependent when it names the schema
at all: refusing too much is recoverable, dropping a user's view is not.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Engine

from synthohive_dbt.errors import WarehouseError
from synthohive_dbt.io.warehouses.filelock import try_file_lock
from synthohive_dbt.io.relation import Column, Dependent, RelationInfo
from synthohive_dbt.io.warehouses.base import LockHolder, Warehouse, fetch, run_sql, view_reads

_KINDS = {"BASE TABLE": "table", "VIEW": "view", "LOCAL TEMPORARY": "temporary table"}
_FK_TARGET = re.compile(r"REFERENCES\s+(.+?)\s*\(", re.IGNORECASE | re.DOTALL)


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"
    folds_case = True
    type_names = {"smallint": "SMALLINT", "integer": "INTEGER", "bigint": "BIGINT", "real": "REAL",
                  "double": "DOUBLE", "decimal": "DECIMAL", "boolean": "BOOLEAN", "date": "DATE", "time": "TIME",
                  "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMP WITH TIME ZONE", "interval": "INTERVAL",
                  "uuid": "UUID", "json": "VARCHAR", "bytes": "BLOB", "text": "VARCHAR", "varchar": "VARCHAR",
                  "arrays": "suffix"}  # JSON needs an extension that may not load offline: text holds it

    def reflect_columns(self, conn: Connection, schema: str, table: str) -> list[Column]:
        rows = fetch(conn, "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
                           "WHERE table_catalog = current_database() AND table_schema = :s AND table_name = :t "
                           "ORDER BY ordinal_position", {"s": schema, "t": table})
        if not rows:  # DuckDB matches names case-insensitively; so must we
            rows = fetch(conn, "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
                               "WHERE table_catalog = current_database() AND lower(table_schema) = lower(:s) "
                               "AND lower(table_name) = lower(:t) ORDER BY ordinal_position", {"s": schema, "t": table})
        return [Column(name=r[0], sql_type=str(r[1]), nullable=bool(r[2])) for r in rows]

    def list_relations(self, conn: Connection, schema: str) -> list[RelationInfo]:
        rows = fetch(conn, "SELECT table_name, table_type FROM information_schema.tables "
                           "WHERE table_catalog = current_database() AND lower(table_schema) = lower(:s) "
                           "ORDER BY 1", {"s": schema})
        return [RelationInfo(r[0], _KINDS.get(str(r[1]), str(r[1]).lower())) for r in rows]

    def schema_exists(self, conn: Connection, schema: str) -> bool:
        rows = fetch(conn, "SELECT count(*) FROM information_schema.schemata WHERE catalog_name = current_database() "
                           "AND lower(schema_name) = lower(:s)", {"s": schema})
        return bool(rows[0][0])

    def dependents(self, conn: Connection, schema: str, names: Sequence[str]) -> list[Dependent]:
        wanted = {n.lower() for n in names}
        out: list[Dependent] = []
        views = fetch(conn, "SELECT schema_name, view_name, sql FROM duckdb_views() "
                            "WHERE NOT internal AND database_name = current_database()", {})
        for view_schema, view, sql in views:
            reads = view_reads(str(sql or ""), dialect="duckdb", view_schema=str(view_schema), schema=schema,
                               wanted=wanted)
            for on in sorted(reads):
                if not (view_schema.lower() == schema.lower() and view.lower() == on):
                    out.append(Dependent(view_schema, view, "view", f"{schema}.{on}"))
        fks = fetch(conn, "SELECT schema_name, table_name, constraint_text FROM duckdb_constraints() "
                          "WHERE constraint_type = 'FOREIGN KEY' AND database_name = current_database()", {})
        for fk_schema, fk_table, text_ in fks:
            ref = _fk_reference(str(text_), str(fk_schema))
            if ref and ref[0] == schema.lower() and ref[1] in wanted and not (
                    fk_schema.lower() == schema.lower() and fk_table.lower() in wanted):
                out.append(Dependent(fk_schema, fk_table, "foreign key of table", f"{schema}.{ref[1]}"))
        return sorted(set(out), key=str)

    def load(self, conn: Connection, target_sql: str, frame: pd.DataFrame, columns: Sequence[Column], *,
             schema: str | None = None, table: str | None = None) -> int:
        from synthohive_dbt.io.copy import to_arrow  # copy.py delegates here: import on use

        names = [c.name for c in columns]
        data = frame[names] if list(frame.columns) != names else frame
        raw = conn.connection.driver_connection
        view = f"_synthohive_load_{os.getpid()}_{id(data):x}"
        raw.register(view, to_arrow(data))
        try:
            casts = ", ".join(f"CAST(v.{self.quote(c.name)} AS {c.sql_type})" for c in columns)
            col_list = ", ".join(self.quote(n) for n in names)
            raw.execute(f"INSERT INTO {target_sql} ({col_list}) "
                        f"SELECT {casts} FROM {self.quote(view)} v")
        finally:
            raw.unregister(view)
        return len(data)

    # -- reading: through Arrow, so integers stay exact with NULLs and a NULL stays apart from a float NaN ------
    def select(self, conn: Connection, sql: str) -> pd.DataFrame:
        arrow = conn.connection.driver_connection.sql(sql).to_arrow_table()
        return arrow.to_pandas(types_mapper=_arrow_nullable, date_as_object=False)

    def put_keyset(self, conn: Connection, name: str, keys: pd.DataFrame, like: tuple[str, str],
                   columns: Sequence[Column]) -> str:
        conn.connection.driver_connection.register(name, keys.reset_index(drop=True))
        return self.quote(name)

    def drop_keyset(self, conn: Connection, name: str) -> None:
        conn.connection.driver_connection.unregister(name)

    # -- the lock: an flock'ed file beside the database file --------------------------------------------------
    def lock_scope(self, engine: Engine, schema: str) -> str:
        path = _database_file(engine)
        return f"the DuckDB file {path} (schema {schema!r})" if path else f"schema {schema!r}"

    def try_lock(self, engine: Engine, schema: str) -> tuple[Callable[[], None] | None, LockHolder | None]:
        path = _database_file(engine)
        if path is None:  # an in-memory database lives and dies with this process: nobody else can write it
            return (lambda: None), None
        return try_file_lock(path.with_name(path.name + ".synthohive.lock"),
                             hint="synthohive needs write access to the folder of the DuckDB file")


def _database_file(engine: Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith(":memory:"):
        return None
    return Path(database).expanduser().resolve()


def _fk_reference(text_: str, own_schema: str) -> tuple[str, str] | None:
    """(schema, table) in lower case that a DuckDB FOREIGN KEY constraint text references."""
    match = _FK_TARGET.search(text_)
    if not match:
        return None
    parts = [p.strip().strip('"').lower() for p in match.group(1).split(".")]
    return (parts[-2], parts[-1]) if len(parts) >= 2 else (own_schema.lower(), parts[-1])


__all__ = ["DuckDBWarehouse", "run_sql"]


def _arrow_nullable(t: pa.DataType) -> Any:
    """Pandas dtypes that keep what Arrow holds: integers stay exact with nulls (Int64), and floats arrive
    as nullable Float64 so a SQL NULL (<NA>) and a float NaN stay two different values (typed_frame
    narrows a float column back to float64 when it holds no NaN)."""
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    if pa.types.is_floating(t):
        return pd.Float64Dtype()
    return None
