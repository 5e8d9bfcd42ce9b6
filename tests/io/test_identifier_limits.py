"""Identifier length is a warehouse's own rule: PostgreSQL cuts names past 63 bytes (refused), DuckDB does
not (a public project's 73-byte column name is read and written as it is)."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from synthohive_dbt.errors import WarehouseError
from synthohive_dbt.io import read_table
from synthohive_dbt.io.warehouse import run_sql
from synthohive_dbt.io.warehouses.duckdb import DuckDBWarehouse
from synthohive_dbt.io.warehouses.postgres import PostgresWarehouse

LONG = "custom_will_you_now_or_later_require_visa_sponsorship_to_work_in_the_us_"


def test_postgres_refuses_a_name_it_would_cut_and_duckdb_keeps_it(tmp_path) -> None:
    assert len(LONG.encode()) > 63
    with pytest.raises(WarehouseError, match="longer than 63 bytes"):
        PostgresWarehouse().quote(LONG)
    assert DuckDBWarehouse().quote(LONG) == f'"{LONG}"'
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}")
    try:
        with engine.begin() as conn:
            run_sql(conn, "CREATE SCHEMA raw")
            run_sql(conn, f'CREATE TABLE raw.answers (id INTEGER, "{LONG}" VARCHAR)')
            run_sql(conn, "INSERT INTO raw.answers VALUES (1, 'yes')")
        frame = read_table(engine, ("raw", "answers"))
    finally:
        engine.dispose()
    assert list(frame.columns) == ["id", LONG] and frame[LONG].tolist() == ["yes"]
    assert isinstance(frame, pd.DataFrame)
