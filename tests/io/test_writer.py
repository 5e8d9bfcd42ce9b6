"""Writing synthetic tables: odd identifiers, real column types, refusal of real schemas, atomic swap. On real
DuckDB, the test PostgreSQL and the test MariaDB."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy as sa

from synthohive_dbt.errors import UnsafeTargetError, WarehouseError
from synthohive_dbt.io import (
    StagedWrite,
    list_tables,
    read_table,
    real_columns,
    reflect_columns,
    validate_schema_name,
    write_tables,
)
from synthohive_dbt.io.ownership import MARKER_TABLE
from synthohive_dbt.io.writer import staging_schema_for
from tests.helpers.warehouses import IO_WAREHOUSES, execute, warehouse_url

ODD_TABLE = 'order "items" 2024'
ODD_DDL = (
    '"select" INTEGER, "we""ird name" VARCHAR(40), "a :b %c" DATE, "prix ünï" DOUBLE PRECISION, '
    '"created at" TIMESTAMP, "is_ok" BOOLEAN, "amount" NUMERIC(10,2), "Group" BIGINT'
)


@pytest.fixture(params=IO_WAREHOUSES)
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[sa.Engine]:
    eng = sa.create_engine(warehouse_url(request, tmp_path))
    execute(eng, "CREATE SCHEMA raw", f'CREATE TABLE raw."{ODD_TABLE.replace(chr(34), chr(34) * 2)}" ({ODD_DDL})',
            f'INSERT INTO raw."{ODD_TABLE.replace(chr(34), chr(34) * 2)}" VALUES '
            "(1, 'a,b \"q\"', '2020-01-02', 1.5, '2020-01-01 10:00:00.123456', true, 12.34, 9007199254740993), "
            "(NULL, '', NULL, NULL, NULL, NULL, NULL, NULL)")
    yield eng
    eng.dispose()


def _synthetic() -> pd.DataFrame:
    return pd.DataFrame({
        "select": pd.array([7, None, 9], dtype="Int64"),
        'we"ird name': ["", None, "ünïcødé, \"quoted\"\nnewline"],
        "a :b %c": pd.to_datetime(["2021-03-04", None, "1999-12-31"]),
        "prix ünï": [0.1, None, -2.5e10],
        "created at": pd.to_datetime(["2021-03-04 05:06:07.891011", None, "2000-01-01 00:00:00"], format="ISO8601"),
        "is_ok": pd.array([False, None, True], dtype="boolean"),
        "amount": [1.25, None, 99999.99],
        "Group": pd.array([9007199254740993, None, -1], dtype="Int64"),
    })


def test_roundtrip_with_odd_identifiers_keeps_real_types_and_values(engine: sa.Engine) -> None:
    real = read_table(engine, ("raw", ODD_TABLE))
    assert real["Group"].tolist()[0] == 9007199254740993  # a nullable big int stays exact
    assert str(real["select"].dtype) == "Int64" and str(real["is_ok"].dtype) == "boolean"
    assert real["we\"ird name"].tolist() == ['a,b "q"', ""]

    cols = real_columns(engine, {ODD_TABLE: ("raw", ODD_TABLE)})
    events: list[tuple[str, str, int]] = []
    counts = write_tables(engine, {ODD_TABLE: _synthetic()}, "synth", columns=cols,
                          on_progress=lambda *a: events.append(a))
    assert counts == {ODD_TABLE: 3}
    assert [e[0] for e in events] == ["staging", "loading", "loaded", "swapping", "done"]
    assert [c.sql_type for c in reflect_columns(engine, "synth", ODD_TABLE)] == [c.sql_type for c in cols[ODD_TABLE]]

    back = read_table(engine, ("synth", ODD_TABLE))
    want = _synthetic()
    assert back["select"].tolist() == [7, pd.NA, 9]
    assert back['we"ird name'].tolist() == want['we"ird name'].tolist()  # '' and NULL stay distinct
    assert back["a :b %c"].tolist() == want["a :b %c"].tolist()
    assert back["created at"].tolist() == want["created at"].tolist()
    assert back["is_ok"].tolist() == [False, pd.NA, True]
    assert back["amount"].tolist()[0] == 1.25 and back["amount"].tolist()[2] == 99999.99
    assert back["Group"].tolist() == [9007199254740993, pd.NA, -1]
    assert "synth__synthohive_staging" not in _schemas(engine)


def test_second_write_replaces_only_what_synthohive_wrote(engine: sa.Engine) -> None:
    cols = real_columns(engine, {ODD_TABLE: ("raw", ODD_TABLE)})
    write_tables(engine, {ODD_TABLE: _synthetic()}, "synth", columns=cols)
    write_tables(engine, {ODD_TABLE: _synthetic().iloc[:1]}, "synth", columns=cols)
    assert list_tables(engine, "synth") == sorted([ODD_TABLE, MARKER_TABLE])
    assert len(read_table(engine, ("synth", ODD_TABLE))) == 1
    execute(engine, "CREATE TABLE synth.leftover (x INTEGER)")
    with pytest.raises(UnsafeTargetError, match="holds relations synthohive did not write: table leftover"):
        write_tables(engine, {ODD_TABLE: _synthetic()}, "synth", columns=cols)
    assert len(read_table(engine, ("synth", ODD_TABLE))) == 1


def test_failed_load_leaves_the_old_target_untouched(engine: sa.Engine) -> None:
    cols = real_columns(engine, {ODD_TABLE: ("raw", ODD_TABLE)})
    write_tables(engine, {ODD_TABLE: _synthetic()}, "synth", columns=cols)
    bad = _synthetic().astype({"a :b %c": object})
    bad.loc[0, "a :b %c"] = "not a date"
    with pytest.raises(WarehouseError, match="loading table .* into staging schema 'synth__synthohive_staging' failed and was "
                                             "rolled back"):
        write_tables(engine, {ODD_TABLE: bad}, "synth", columns=cols)
    assert len(read_table(engine, ("synth", ODD_TABLE))) == 3


def test_refuses_a_target_holding_real_tables(engine: sa.Engine) -> None:
    cols = real_columns(engine, {ODD_TABLE: ("raw", ODD_TABLE)})
    execute(engine, "CREATE TABLE raw.customers (id INTEGER)")
    with pytest.raises(UnsafeTargetError) as err:
        write_tables(engine, {ODD_TABLE: _synthetic()}, "raw", columns=cols)
    msg = str(err.value)
    assert f"schema 'raw' already holds table {ODD_TABLE}, not written by synthohive" in msg
    assert "holds relations synthohive did not write: table customers" in msg
    assert "--force" in msg and "--adopt" in msg
    assert len(read_table(engine, ("raw", ODD_TABLE))) == 2  # nothing was touched


def test_frame_with_wrong_columns_is_refused_before_any_sql(engine: sa.Engine) -> None:
    cols = real_columns(engine, {ODD_TABLE: ("raw", ODD_TABLE)})
    with pytest.raises(WarehouseError, match=r"missing: \['Group'\], unexpected: \['group'\]"):
        write_tables(engine, {ODD_TABLE: _synthetic().rename(columns={"Group": "group"})}, "synth", columns=cols)
    assert "synth__synthohive_staging" not in _schemas(engine)


@pytest.mark.parametrize("name", ["", "a b", "x;drop schema raw", 'q"t', "1abc", "ä", "a" * 64])
def test_schema_names_outside_the_allow_list_are_refused(name: str) -> None:
    with pytest.raises(UnsafeTargetError, match="is not allowed|bytes long"):
        validate_schema_name(name)


def test_names_too_long_for_staging_are_refused() -> None:
    with pytest.raises(UnsafeTargetError, match="staging schema .* is 83 bytes long; the limit is 63"):
        staging_schema_for("s" * 63)


def _schemas(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.exec_driver_sql("SELECT schema_name FROM information_schema.schemata")}


@pytest.mark.mariadb
def test_mariadb_writes_the_same_under_ansi_quotes_and_no_backslash_escapes(mariadb_db: str) -> None:
    """A server's sql_mode may make "x" a name and \\ a plain character: names and values still land as they are."""
    mode = "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES,NO_BACKSLASH_ESCAPES')"
    engine = sa.create_engine(mariadb_db, connect_args={"init_command": mode})
    try:
        execute(engine, "CREATE SCHEMA raw", 'CREATE TABLE raw."we""ird %s" ("a b" VARCHAR(40), "x" INTEGER)')
        cols = real_columns(engine, {'we"ird %s': ("raw", 'we"ird %s')})
        frame = pd.DataFrame({"a b": ["back\\slash", "quo'te", 'dq"', None, "%s %(x)s"],
                              "x": pd.array([1, None, 3, 4, 5], dtype="Int64")})
        for _ in range(2):  # the second replaces the first
            write_tables(engine, {'we"ird %s': frame}, "synth", columns=cols)
        back = read_table(engine, ("synth", 'we"ird %s'))
    finally:
        engine.dispose()
    assert back["a b"].tolist() == frame["a b"].tolist() and back["x"].tolist() == [1, pd.NA, 3, 4, 5]


def test_staged_write_streams_chunks_and_an_interrupt_keeps_the_old_target(engine: sa.Engine) -> None:
    """Chunks are loaded as they come (the sampler's sink), counted, and swapped in at the end; an error half-way
    discards the staging schema and the target keeps its previous tables."""
    cols = real_columns(engine, {ODD_TABLE: ("raw", ODD_TABLE)})
    with StagedWrite(engine, "synth", cols) as staged:
        for _ in range(3):
            staged.write(ODD_TABLE, _synthetic())
        staged.close(ODD_TABLE, [])
    assert staged.counts == {ODD_TABLE: 9} and len(read_table(engine, ("synth", ODD_TABLE))) == 9
    with pytest.raises(KeyboardInterrupt), StagedWrite(engine, "synth", cols) as staged:
        staged.write(ODD_TABLE, _synthetic())
        raise KeyboardInterrupt
    assert len(read_table(engine, ("synth", ODD_TABLE))) == 9
    assert staging_schema_for("synth") not in {s.lower() for s in sa.inspect(engine).get_schema_names()}


def test_a_chunk_that_fails_on_the_loading_thread_is_raised_and_discards_the_run(engine: sa.Engine) -> None:
    """Chunks load on a background thread while the next is sampled: a bad one half-way is raised in the caller
    (by a later write or at the end), nothing is swapped in, and no staging schema is left."""
    cols = real_columns(engine, {ODD_TABLE: ("raw", ODD_TABLE)})
    write_tables(engine, {ODD_TABLE: _synthetic()}, "synth", columns=cols)
    bad = _synthetic().astype({"a :b %c": object})
    bad.loc[1, "a :b %c"] = "not a date"
    with pytest.raises(WarehouseError, match=f"loading table '{ODD_TABLE}' into staging schema"), \
            StagedWrite(engine, "synth", cols) as staged:
        for frame in (_synthetic(), bad, *[_synthetic()] * 5):
            staged.write(ODD_TABLE, frame)
        staged.close(ODD_TABLE, [])
    assert len(read_table(engine, ("synth", ODD_TABLE))) == 3
    assert staging_schema_for("synth") not in {s.lower() for s in sa.inspect(engine).get_schema_names()}
