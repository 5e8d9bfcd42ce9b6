"""Identifier length is a warehouse's own rule: PostgreSQL cuts names past 63 bytes (refused), DuckDB does
not (a public project's 73-byte column name is read and written as it is), MariaDB allows 64 characters
(however many bytes) and refuses a trailing space or a character beyond U+FFFF."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from synthohive_dbt.errors import WarehouseError
from synthohive_dbt.io import read_table, real_columns, write_tables
from synthohive_dbt.io.warehouse import run_sql
from synthohive_dbt.io.warehouses.duckdb import DuckDBWarehouse
from synthohive_dbt.io.warehouses.mariadb import MariaDBWarehouse
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


def test_mariadb_counts_characters_and_doubles_backticks() -> None:
    wh = MariaDBWarehouse()
    with pytest.raises(WarehouseError, match="longer than 64 characters"):
        wh.quote(LONG)
    assert wh.quote("é" * 64) == f"`{'é' * 64}`"  # 128 bytes, 64 characters: allowed
    assert wh.quote('we`ird "name"') == '`we``ird "name"`'
    for bad in ("trailing ", "emoji \U0001F600"):
        with pytest.raises(WarehouseError, match="ends with a space or holds a character beyond"):
            wh.quote(bad)


@pytest.mark.mariadb
def test_mariadb_reads_and_writes_a_64_character_unicode_name(mariadb_db: str) -> None:
    name = "é" * 60 + "`x`"[:3] + "y"
    assert len(name) == 64
    engine = sa.create_engine(mariadb_db)
    wh = MariaDBWarehouse()
    try:
        with engine.begin() as conn:
            run_sql(conn, "CREATE SCHEMA raw")
            run_sql(conn, f"CREATE TABLE raw.{wh.quote(name)} (id INTEGER, {wh.quote(name)} VARCHAR(10))")
        cols = real_columns(engine, {name: ("raw", name)})
        write_tables(engine, {name: pd.DataFrame({"id": [1, 2], name: ["a", None]})}, "synth", columns=cols)
        back = read_table(engine, ("synth", name))
    finally:
        engine.dispose()
    assert list(back.columns) == ["id", name] and back[name].tolist() == ["a", None]
