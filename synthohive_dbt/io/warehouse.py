"""Reading warehouse tables into typed pandas frames, and the column facts the writer copies.

Types matter twice: the model must see integers as integers (not floats because of a NULL), and the
synthetic table must get the very column types of the real one, so dbt's tests and models behave the same.
`reflect_columns` returns each column's DDL type as the warehouse itself spells it (PostgreSQL
`format_type`, DuckDB `information_schema`, MariaDB `information_schema.columns.column_type`, other dialects
through SQLAlchemy's inspector).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine

from synthohive_dbt.errors import WarehouseError
from synthohive_dbt.io.relation import Column, Relation
from synthohive_dbt.io.warehouses import run_sql, warehouse_for  # run_sql: re-exported for callers
from synthohive_dbt.kinds import is_datetime


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


def current_database(bind: Engine | Connection) -> str:
    """The database (catalog) of the connection, as the warehouse names it (what dbt writes in a manifest)."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return current_database(conn)
    return warehouse_for(bind).current_database(bind)


def count_rows(bind: Engine | Connection, relation: Relation) -> int:
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return count_rows(conn, relation)
    return warehouse_for(bind).row_count(bind, *relation)


def select_frame(conn: Connection, sql: str, columns: Sequence[Column]) -> pd.DataFrame:
    """Run a SELECT and return a frame typed by the real columns (each warehouse reads its fastest way)."""
    try:
        frame = warehouse_for(conn).select(conn, sql)
    except WarehouseError:
        raise
    except Exception as exc:  # the driver's own error type varies by warehouse
        raise WarehouseError(f"reading from the warehouse failed: {exc}\n  query: {sql[:300]}",
                             hint="check that the table exists and this user may read it") from exc
    found = re.search(r"\bFROM\s+(\S+)", sql, flags=re.IGNORECASE)
    return typed_frame(frame, columns, source=found.group(1) if found else "")


def typed_frame(frame: pd.DataFrame, columns: Sequence[Column], *, source: str = "") -> pd.DataFrame:
    """Cast each column to the pandas dtype of its SQL family: Int64, float64, boolean, object, datetime64[us].

    Nullable integers stay integers (Int64). Floats are float64 (NaN = NULL, pandas' convention), except
    a column that holds float NaN as a value next to NULLs: it stays Float64, where NULL is <NA> and NaN
    is NaN, so both come back as themselves when written. DATE becomes datetime64[us] at midnight (pandas
    has no date dtype; the writer casts it back to DATE from the real column's type); microseconds keep
    year 1 and year 9999 (a snapshot's open `dbt_valid_to`), which nanoseconds cannot hold.
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
                s = _as_float(s)
            elif fam == "bool":
                s = s.astype("boolean")
            elif fam in ("date", "datetime"):
                s = _as_datetime_us(s)
            elif fam == "str":
                s = s.astype(object).where(s.notna(), None)
        except (TypeError, ValueError, OverflowError) as exc:
            where = f"table {source}, " if source else ""
            raise WarehouseError(f"{where}column {name!r} cannot be read as {fam}: {exc}",
                                 hint="check the column's declared type in the warehouse, or cast the column to "
                                      "that type in the dbt model that builds the table") from exc
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


def _as_float(s: pd.Series) -> pd.Series:
    """float64, or Float64 when the column holds NaN values as well as (or instead of) NULLs.

    Arrow gives Float64 with NULL masked; a DB-API driver gives objects where NULL is None and NaN a
    float (or Decimal) NaN. Either way the NULL mask is taken before anything turns None into NaN.
    """
    if isinstance(s.dtype, pd.Float64Dtype):
        null = s.isna().to_numpy()
        values = s.array._data  # noqa: SLF001 - the masked array's values: NaN stays NaN under the mask
    else:
        null = (np.fromiter((v is None for v in s), dtype=bool, count=len(s)) if s.dtype == object
                else s.isna().to_numpy())
        values = pd.to_numeric(s.where(~null, np.nan) if s.dtype == object else s).to_numpy(np.float64)
    values = np.asarray(values, dtype=np.float64)
    if np.isnan(values[~null]).any():
        return pd.Series(pd.arrays.FloatingArray(values.copy(), null.copy()), index=s.index)
    out = values.copy()
    out[null] = np.nan
    return pd.Series(out, index=s.index)


def _as_datetime_us(s: pd.Series) -> pd.Series:
    """datetime64[us] (tz kept): one unit for every reader, and one that holds years 1 to 9999.

    Drivers return python date / datetime objects (PostgreSQL through psycopg2) or Arrow timestamps of
    any unit; pandas' own parser would force nanoseconds and refuse 0001-01-01 and 9999-12-31.
    """
    if is_datetime(s):
        tz = getattr(s.dtype, "tz", None)
        return s.astype(pd.DatetimeTZDtype("us", tz) if tz is not None else "datetime64[us]")
    values = [None if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)) else v for v in s]
    tz = next((v.tzinfo for v in values if isinstance(v, _dt.datetime) and v.tzinfo is not None), None)
    if tz is not None:
        values = [v.astimezone(_dt.timezone.utc).replace(tzinfo=None) if isinstance(v, _dt.datetime) else v
                  for v in values]
    if any(isinstance(v, str) for v in values):
        values = [None if v is None else _dt.datetime.fromisoformat(v) if isinstance(v, str) else v
                  for v in values]
    arr = np.array(values, dtype="datetime64[us]")
    out = pd.Series(arr, index=s.index)
    return out.dt.tz_localize("UTC") if tz is not None else out


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


__all__ = ["Column", "Relation", "count_rows", "current_database", "list_tables", "read_table", "reflect_columns",
           "run_sql", "schema_exists", "select_frame", "typed_frame"]
