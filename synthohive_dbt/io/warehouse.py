"""Reading warehouse tables into typed pandas frames, and the column facts the writer copies.

Types matter twice: the model must see integers as integers (not floats because of a NULL), and the
synthetic table must get the very column types of the real one, so dbt's tests and models behave the same.
`reflect_columns` returns each column's DDL type as the warehouse itself spells it (PostgreSQL
`format_type`, DuckDB `information_schema`, other dialects through SQLAlchemy's inspector).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Engine

from synthohive_dbt.errors import WarehouseError
from synthohive_dbt.io.relation import Column, Relation
from synthohive_dbt.io.warehouses import run_sql, warehouse_for  # run_sql: re-exported for callers


def dialect_of(bind: Engine | Connection) -> str:
    """'duckdb', 'postgresql' or the SQLAlchemy dialect name of anything else."""
    return bind.dialect.name


def reflect_columns(bind: Engine | Connection, schema: str, table: str) -> list[Column]:
    """The columns of schema.table in order; WarehouseError naming the relation when it does not exist."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return reflect_columns(conn, schema, table)
    rows = warehouse_for(bind).reflect_columns(bind, schema, table)
    if not rows:
        raise WarehouseError(f"table {schema}.{table} does not exist or has no columns",
                             hint="check the schema and table name (case matters when quoted), and that "
                                  "the dbt sources/seeds were built in this warehouse")
    return rows


def list_tables(bind: Engine | Connection, schema: str) -> list[str]:
    """Names of the tables and views in a schema (empty when the schema does not exist)."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return list_tables(conn, schema)
    return [r.name for r in warehouse_for(bind).list_relations(bind, schema)]


def schema_exists(bind: Engine | Connection, schema: str) -> bool:
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return schema_exists(conn, schema)
    return warehouse_for(bind).schema_exists(bind, schema)


def count_rows(bind: Engine | Connection, relation: Relation) -> int:
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return count_rows(conn, relation)
    return warehouse_for(bind).row_count(bind, *relation)


def select_frame(conn: Connection, sql: str, columns: Sequence[Column]) -> pd.DataFrame:
    """Run a SELECT and return a frame typed by the real columns (DuckDB through Arrow, others by DB-API)."""
    try:
        if dialect_of(conn) == "duckdb":
            raw = conn.connection.driver_connection
            arrow = raw.sql(sql).to_arrow_table()
            frame = arrow.to_pandas(types_mapper=_arrow_nullable, date_as_object=False)
        else:
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                cursor.execute(sql)
                names = [d[0] for d in cursor.description]
                frame = pd.DataFrame(cursor.fetchall(), columns=names, dtype=object)
            finally:
                cursor.close()
    except WarehouseError:
        raise
    except Exception as exc:  # the driver's own error type varies by dialect
        raise WarehouseError(f"reading from the warehouse failed: {exc}\n  query: {sql[:300]}",
                             hint="check that the table exists and this user may read it") from exc
    return typed_frame(frame, columns)


def _arrow_nullable(t: pa.DataType) -> Any:
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    return None


def typed_frame(frame: pd.DataFrame, columns: Sequence[Column]) -> pd.DataFrame:
    """Cast each column to the pandas dtype of its SQL family: Int64, float64, boolean, object, datetime64.

    Nullable integers stay integers (Int64); DATE becomes datetime64 at midnight (pandas has no date
    dtype; the writer casts it back to DATE from the real column's type).
    """
    out = {}
    families = {c.name: c.family for c in columns}
    for name in frame.columns:
        s = frame[name]
        fam = families.get(name)
        try:
            if fam == "int":
                s = s if isinstance(s.dtype, pd.Int64Dtype) else _as_int64(s)
            elif fam == "float":
                s = pd.to_numeric(s).astype("float64")
            elif fam == "bool":
                s = s.astype("boolean")
            elif fam in ("date", "datetime"):
                s = _as_datetime_ns(s)
            elif fam == "str":
                s = s.astype(object).where(s.notna(), None)
        except (TypeError, ValueError) as exc:
            raise WarehouseError(f"column {name!r} cannot be read as {fam}: {exc}",
                                 hint="check the column's declared type in the warehouse") from exc
        out[name] = s
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _as_int64(s: pd.Series) -> pd.Series:
    """Nullable Int64, exact for big integers (going through float64 would round above 2**53)."""
    if s.dtype == object:
        try:
            return pd.Series(pd.array(s.where(s.notna(), None).tolist(), dtype="Int64"), index=s.index)
        except (TypeError, ValueError):
            pass  # e.g. Decimal values: fall back to numeric conversion
    return pd.to_numeric(s).astype("Int64")


def _as_datetime_ns(s: pd.Series) -> pd.Series:
    """datetime64[ns] (tz kept): one unit for every reader, whatever the driver returned."""
    s = s if pd.api.types.is_datetime64_any_dtype(s) else pd.to_datetime(s)
    tz = getattr(s.dtype, "tz", None)
    return s.astype(pd.DatetimeTZDtype("ns", tz) if tz is not None else "datetime64[ns]")


def read_table(bind: Engine | Connection, relation: Relation | tuple[str, str], *,
               columns: Sequence[str] | None = None, limit: int | None = None) -> pd.DataFrame:
    """One whole table (or its first `limit` rows, ordered by nothing) as a typed frame."""
    relation = Relation(*relation)
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return read_table(conn, relation, columns=columns, limit=limit)
    cols = reflect_columns(bind, *relation)
    if columns is not None:
        missing = [c for c in columns if c not in {x.name for x in cols}]
        if missing:
            raise WarehouseError(f"table {relation}: column(s) {missing} do not exist",
                                 hint=f"the table has {[c.name for c in cols]}")
        cols = [c for c in cols if c.name in set(columns)]
    wh = warehouse_for(bind)
    select = ", ".join(wh.quote(c.name) for c in cols)
    sql = f"SELECT {select} FROM {wh.qualified(*relation)}" + (f" LIMIT {int(limit)}" if limit else "")
    return select_frame(bind, sql, cols)


__all__ = ["Column", "Relation", "count_rows", "dialect_of", "list_tables", "read_table", "reflect_columns",
           "run_sql", "schema_exists", "select_frame", "typed_frame"]
