"""Issue #11, "take what real tables hold", at the warehouse boundary: what a real table holds is read into
pandas and written back through `to_arrow` (the writer's path for DuckDB and for PostgreSQL COPY) unchanged:
SQL NULL and float NaN stay apart, +inf / -inf stay, dates and timestamps from year 1 to 9999 keep their
microseconds, all-null and empty columns keep their types."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from synthohive_dbt.io.copy import copy_frame, to_arrow
from synthohive_dbt.io.warehouse import Column, read_table, reflect_columns

_DDL = ("x DOUBLE PRECISION, n NUMERIC(12, 3), ts TIMESTAMP, d DATE, tz TIMESTAMPTZ, s VARCHAR, "
        "empty_i INTEGER, empty_s VARCHAR")
_ROWS = [  # x, n, ts, d, tz, s
    ("'NaN'", "7.125", "'0001-01-01 00:00:00.000001'", "'0001-01-01'", "'0001-01-01 00:00:00+00'", "'a'"),
    ("NULL", "NULL", "NULL", "NULL", "NULL", "NULL"),
    ("'Infinity'", "1.5", "'9999-12-31 23:59:59.999999'", "'9999-12-31'", "'9999-12-31 00:00:00+00'", "''"),
    ("'-Infinity'", "-2.25", "'2020-02-29 12:34:56.789012'", "'2020-02-29'", "'2020-02-29 12:00:00+00'", "'b'"),
    ("0.5", "0", "'1969-12-31 23:59:59.5'", "'1970-01-01'", "'1970-01-01 00:00:00+00'", "'c'"),
]


def _create(engine: sa.Engine, schema: str, name: str, rows: list[tuple[str, ...]]) -> None:
    ddl = _DDL if engine.dialect.name == "postgresql" else _DDL.replace("NUMERIC(12, 3)", "DECIMAL(12, 3)")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.exec_driver_sql(f"CREATE TABLE {schema}.{name} ({ddl})")
        for r in rows:
            conn.exec_driver_sql(f"INSERT INTO {schema}.{name} VALUES ({', '.join(r)}, NULL, NULL)")


def _shape_of(frame: pd.DataFrame) -> dict[str, list[object]]:
    """Each value as a comparable token: 'NULL', 'NaN', floats, ISO strings to the microsecond."""
    out: dict[str, list[object]] = {}
    for col in frame.columns:
        s = frame[col]
        tokens: list[object] = []
        for i in range(len(s)):
            v = s.array[i]
            if v is None or v is pd.NA or v is pd.NaT:
                tokens.append("NULL")
            elif isinstance(v, float) and math.isnan(v):
                tokens.append("NaN")
            elif isinstance(v, (pd.Timestamp, np.datetime64)):
                tokens.append(np.datetime_as_string(np.datetime64(pd.Timestamp(v).tz_localize(None)
                                                                  if pd.Timestamp(v).tz else v, "us")))
            else:
                tokens.append(v)
        out[col] = tokens
    return out


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path) -> sa.Engine:
    if request.param == "duckdb":
        eng = sa.create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}")
    else:
        eng = sa.create_engine(request.getfixturevalue("postgres_db"))
    yield eng
    eng.dispose()


def test_read_keeps_null_nan_inf_and_far_dates(engine: sa.Engine) -> None:
    _create(engine, "src", "t", _ROWS)
    frame = read_table(engine, ("src", "t"))
    assert str(frame["x"].dtype) == "Float64"  # holds NaN next to NULL: nullable floats keep them apart
    assert _shape_of(frame)["x"] == ["NaN", "NULL", math.inf, -math.inf, 0.5]
    assert frame["ts"].dtype == "datetime64[us]" and frame["d"].dtype == "datetime64[us]"
    assert _shape_of(frame)["ts"] == ["0001-01-01T00:00:00.000001", "NULL", "9999-12-31T23:59:59.999999",
                                      "2020-02-29T12:34:56.789012", "1969-12-31T23:59:59.500000"]
    assert _shape_of(frame)["d"][:3] == ["0001-01-01T00:00:00.000000", "NULL", "9999-12-31T00:00:00.000000"]
    assert isinstance(frame["tz"].dtype, pd.DatetimeTZDtype) and frame["tz"].dtype.unit == "us"
    assert frame["empty_i"].isna().all() and str(frame["empty_i"].dtype) == "Int64"
    assert frame["s"].tolist()[:3] == ["a", None, ""]


def test_to_arrow_and_copy_write_them_back_unchanged(engine: sa.Engine) -> None:
    """Through the writer's own path (copy_frame: Arrow view + CAST on DuckDB, CSV COPY on PostgreSQL)."""
    _create(engine, "src", "t", _ROWS)
    frame = read_table(engine, ("src", "t"))
    arrow = to_arrow(frame)
    assert arrow.schema.field("ts").type.unit == "us" and arrow.column("x").null_count == 1
    _create(engine, "dst", "t", [])
    columns: list[Column] = reflect_columns(engine, "dst", "t")
    with engine.begin() as conn:
        copy_frame(conn, "dst.t", frame, columns, schema="dst", table_name="t")
    back = read_table(engine, ("dst", "t"))
    assert _shape_of(back) == _shape_of(frame)
    with engine.connect() as conn:  # the warehouse itself tells NULL from NaN
        nulls, nans = conn.exec_driver_sql(
            "SELECT count(*) FILTER (WHERE x IS NULL), count(*) FILTER (WHERE x = 'NaN') FROM dst.t").one()
    assert (nulls, nans) == (1, 1)


def test_all_null_and_empty_frames_write_with_the_real_column_types(engine: sa.Engine) -> None:
    _create(engine, "src", "t", _ROWS)
    _create(engine, "dst", "t", [])
    empty = read_table(engine, ("src", "t")).iloc[:0]
    columns = reflect_columns(engine, "dst", "t")
    with engine.begin() as conn:
        copy_frame(conn, "dst.t", empty, columns, schema="dst", table_name="t")
        nulls = pd.DataFrame({c.name: pd.Series([None, None], dtype=object) for c in columns})
        copy_frame(conn, "dst.t", nulls, columns, schema="dst", table_name="t")
    back = read_table(engine, ("dst", "t"))
    assert len(back) == 2 and back.isna().all().all()
    assert str(back["empty_i"].dtype) == "Int64" and back["ts"].dtype == "datetime64[us]"
