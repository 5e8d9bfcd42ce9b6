"""Never touch what synthohive did not write: foreign relations and dependent views refuse a run, --force
replaces only same-named relations, --adopt takes over an unmarked schema, leftovers of killed runs go,
and one run per target holds a lock that dies with its holder. On real DuckDB, the test PostgreSQL and the
test MariaDB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from synthohive_dbt.errors import LockedTargetError, UnsafeTargetError
from synthohive_dbt.io import inspect_target, read_table, real_columns, write_tables
from synthohive_dbt.io.ownership import MARKER_TABLE
from synthohive_dbt.io.warehouses import warehouse_for
from tests.helpers.catalog import catalog_snapshot, changed
from tests.helpers.warehouses import IO_WAREHOUSES, execute, warehouse_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=IO_WAREHOUSES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return warehouse_url(request, tmp_path)


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    eng = sa.create_engine(url)
    execute(eng, "CREATE SCHEMA raw", "CREATE TABLE raw.customers (id INTEGER, name VARCHAR(20))",
            "CREATE TABLE raw.orders (id INTEGER, customer_id INTEGER)")
    yield eng
    eng.dispose()


def _cols(engine: sa.Engine) -> dict:
    return real_columns(engine, {"customers": ("raw", "customers"), "orders": ("raw", "orders")})


def _frames(n: int = 3) -> dict[str, pd.DataFrame]:
    return {"customers": pd.DataFrame({"id": range(n), "name": [f"c{i}" for i in range(n)]}),
            "orders": pd.DataFrame({"id": range(2 * n), "customer_id": [i % n for i in range(2 * n)]})}


def test_an_unrelated_table_in_the_target_refuses_the_run_and_nothing_changes(engine: sa.Engine) -> None:
    write_tables(engine, _frames(), "synth", columns=_cols(engine))
    execute(engine, "CREATE TABLE synth.finance_ledger (entry INTEGER)", "INSERT INTO synth.finance_ledger VALUES (1)")
    before = catalog_snapshot(engine)
    with pytest.raises(UnsafeTargetError) as err:
        write_tables(engine, _frames(5), "synth", columns=_cols(engine))
    assert "holds relations synthohive did not write: table finance_ledger" in str(err.value)
    assert "nothing was written" in str(err.value)
    assert changed(before, catalog_snapshot(engine)) == {"added": [], "removed": [], "changed": []}


def test_a_view_elsewhere_reading_a_target_table_refuses_even_with_force(engine: sa.Engine) -> None:
    write_tables(engine, _frames(), "synth", columns=_cols(engine))
    execute(engine, "CREATE SCHEMA reporting", "CREATE VIEW reporting.v_customers AS SELECT * FROM synth.customers")
    before = catalog_snapshot(engine)
    for force in (False, True):
        with pytest.raises(UnsafeTargetError) as err:
            write_tables(engine, _frames(5), "synth", columns=_cols(engine), force=force)
        assert "view reporting.v_customers (reads synth.customers)" in str(err.value)
        assert "never dropped, even with --force" in str(err.value)
    assert changed(before, catalog_snapshot(engine)) == {"added": [], "removed": [], "changed": []}


def test_force_replaces_only_same_named_relations_and_keeps_the_others(engine: sa.Engine) -> None:
    execute(engine, "CREATE SCHEMA synth", "CREATE TABLE synth.customers (id INTEGER, name VARCHAR(20))",
         "INSERT INTO synth.customers VALUES (42, 'real')", "CREATE TABLE synth.keepme (x INTEGER)",
         "INSERT INTO synth.keepme VALUES (7)")
    plan = inspect_target(engine, "synth", ["customers", "orders"], force=True)
    assert plan.force_replace == ["customers"] and plan.create == ["orders"]
    assert plan.kept_foreign == ["table keepme"] and not plan.refused
    before = catalog_snapshot(engine)
    write_tables(engine, _frames(), "synth", columns=_cols(engine), force=True)
    diff = changed(before, catalog_snapshot(engine))
    assert diff == {"added": [("synth", MARKER_TABLE), ("synth", "orders")], "removed": [],
                    "changed": [("synth", "customers")]}
    assert read_table(engine, ("synth", "keepme"))["x"].tolist() == [7]


def test_adopt_takes_over_a_schema_written_without_a_marker(engine: sa.Engine) -> None:
    execute(engine, "CREATE SCHEMA synth", "CREATE TABLE synth.customers (id INTEGER, name VARCHAR(20))",
         "CREATE TABLE synth.old_table (x INTEGER)")
    with pytest.raises(UnsafeTargetError, match="--adopt"):
        write_tables(engine, _frames(), "synth", columns=_cols(engine))
    plan = inspect_target(engine, "synth", ["customers", "orders"], adopt=True)
    assert plan.adopted == ["customers", "old_table"] and plan.replace == ["customers"]
    assert plan.drop_stale == ["old_table"]
    write_tables(engine, _frames(), "synth", columns=_cols(engine), adopt=True)
    with engine.connect() as conn:
        names = sorted(r.name for r in warehouse_for(engine).list_relations(conn, "synth"))
    assert names == sorted([MARKER_TABLE, "customers", "orders"])
    write_tables(engine, _frames(2), "synth", columns=_cols(engine))  # ours now: no --adopt needed again


def test_a_failed_load_leaves_no_staging_schema(engine: sa.Engine) -> None:
    write_tables(engine, _frames(), "synth", columns=_cols(engine))
    bad = _frames()
    bad["orders"] = bad["orders"].astype({"customer_id": object})
    bad["orders"].loc[0, "customer_id"] = "not a number"
    with pytest.raises(Exception, match="rolled back"):
        write_tables(engine, bad, "synth", columns=_cols(engine))
    with engine.connect() as conn:
        assert not warehouse_for(engine).schema_exists(conn, "synth__synthohive_staging")
    assert len(read_table(engine, ("synth", "customers"))) == 3


HOLDER = textwrap.dedent("""
    import sys, time, sqlalchemy as sa
    from synthohive_dbt.io.warehouses import warehouse_for
    engine = sa.create_engine(sys.argv[1])
    with warehouse_for(engine).run_lock(engine, "synth"):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
    print("released", flush=True)
""")


def _hold_lock(url: str, seconds: float, tmp_path: Path) -> subprocess.Popen[str]:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    proc = subprocess.Popen([sys.executable, str(script), url, str(seconds)], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_run_is_told_who_holds_the_target_and_may_wait(url: str, tmp_path: Path) -> None:
    engine = sa.create_engine(url)
    wh = warehouse_for(engine)
    holder = _hold_lock(url, 60, tmp_path)
    try:
        with pytest.raises(LockedTargetError) as err:
            with wh.run_lock(engine, "synth"):
                pass
        msg = str(err.value)
        assert "another synthohive run is writing" in msg and f"pid {holder.pid}" in msg and "--wait" in msg
    finally:
        holder.send_signal(signal.SIGKILL)  # the lock dies with its holder: nothing stale is left
        holder.wait(timeout=30)
    with wh.run_lock(engine, "synth", wait=10):
        pass
    short = _hold_lock(url, 2, tmp_path)
    started = time.monotonic()
    waited: list[str] = []
    with wh.run_lock(engine, "synth", wait=30, on_wait=lambda h: waited.append(str(h))):
        assert time.monotonic() - started > 0.5
    short.wait(timeout=30)
    assert waited and f"pid {short.pid}" in waited[0]
    engine.dispose()


def test_a_foreign_key_elsewhere_to_a_target_table_refuses_even_with_force(engine: sa.Engine) -> None:
    if engine.dialect.name == "duckdb":
        pytest.skip("DuckDB cannot create a foreign key across schemas")
    write_tables(engine, _frames(), "synth", columns=_cols(engine))
    execute(engine, "ALTER TABLE synth.customers ADD PRIMARY KEY (id)", "CREATE SCHEMA ledger",
            "CREATE TABLE ledger.notes (customer_id INTEGER, "
            "FOREIGN KEY (customer_id) REFERENCES synth.customers (id))")
    before = catalog_snapshot(engine)
    for force in (False, True):
        with pytest.raises(UnsafeTargetError) as err:
            write_tables(engine, _frames(5), "synth", columns=_cols(engine), force=force)
        assert "of table ledger.notes (reads synth.customers)" in str(err.value)
    assert changed(before, catalog_snapshot(engine)) == {"added": [], "removed": [], "changed": []}


@pytest.mark.mariadb
def test_mariadb_names_a_lock_holder_it_cannot_trace_by_its_connection(mariadb_db: str) -> None:
    """Without performance_schema (MariaDB's default) the holder's pid is unknown: its connection id is said."""
    from synthohive_dbt.io.warehouses.mariadb import _client_pid

    engine = sa.create_engine(mariadb_db)
    try:
        with engine.connect() as conn:
            assert _client_pid(conn, 987654) == "? (connection 987654)"
    finally:
        engine.dispose()


@pytest.mark.mariadb
def test_mariadb_a_view_whose_sql_is_hidden_refuses_the_run(mariadb_server: Any, mariadb_db: str) -> None:
    """A user who may read a view but not SHOW it cannot tell what it reads: the run is refused, not risked."""
    admin = sa.create_engine(mariadb_db)
    execute(admin, "CREATE SCHEMA raw", "CREATE TABLE raw.customers (id INTEGER, name VARCHAR(20))",
            "CREATE TABLE raw.orders (id INTEGER, customer_id INTEGER)", "CREATE SCHEMA reporting",
            "CREATE TABLE reporting.base (x INTEGER)", "CREATE VIEW reporting.v AS SELECT x FROM reporting.base")
    user, password = "limited", "pw-limited"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE USER IF NOT EXISTS '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'")
        for schema in ("raw", "synth", "synth__synthohive_staging"):
            conn.exec_driver_sql(f"GRANT ALL PRIVILEGES ON `{schema}`.* TO '{user}'@'127.0.0.1'")
        conn.exec_driver_sql(f"GRANT SELECT ON reporting.v TO '{user}'@'127.0.0.1'")
    engine = sa.create_engine(f"mysql+pymysql://{user}:{password}@{mariadb_server.host}:{mariadb_server.port}/"
                              "?charset=utf8mb4")
    try:
        write_tables(engine, _frames(), "synth", columns=_cols(engine))  # nothing to replace: nothing to check
        with pytest.raises(UnsafeTargetError, match=r"view reporting\.v \(reads synth\.\? - its SQL is hidden from "
                                                    r"this user: grant SHOW VIEW"):
            write_tables(engine, _frames(5), "synth", columns=_cols(engine))
        with admin.begin() as conn:
            conn.exec_driver_sql(f"GRANT SHOW VIEW ON reporting.v TO '{user}'@'127.0.0.1'")
        write_tables(engine, _frames(5), "synth", columns=_cols(engine))  # now seen: it reads none of ours
        assert len(read_table(engine, ("synth", "customers"))) == 5
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP USER '{user}'@'127.0.0.1'")
        admin.dispose()
