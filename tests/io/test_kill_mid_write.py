"""SIGKILL a writer while it loads a big table into staging: the previous target must be unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from synthohive_dbt.io import inspect_target, read_table, real_columns, write_tables
from tests.helpers.warehouses import IO_WAREHOUSES, execute, warehouse_url

WRITER = textwrap.dedent("""
    import sys, numpy as np, pandas as pd, sqlalchemy as sa
    from synthohive_dbt.io import real_columns, write_tables
    url, rows = sys.argv[1], int(sys.argv[2])
    engine = sa.create_engine(url)
    cols = real_columns(engine, {"facts": ("raw", "facts")})
    frame = pd.DataFrame({"id": np.arange(rows), "label": np.repeat("synthetic-row", rows),
                          "amount": np.linspace(0, 1, rows)})
    def progress(event, table, n):
        print(event, table, n, flush=True)
    write_tables(engine, {"facts": frame}, "synth", columns=cols, on_progress=progress)
    print("finished", flush=True)
""")


def _prepare(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    execute(engine, "CREATE SCHEMA raw",
            "CREATE TABLE raw.facts (id BIGINT, label VARCHAR(40), amount DOUBLE PRECISION)")
    old = pd.DataFrame({"id": [1, 2, 3], "label": ["old", "old", "old"], "amount": [0.5, 1.5, 2.5]})
    write_tables(engine, {"facts": old}, "synth", columns=real_columns(engine, {"facts": ("raw", "facts")}))
    engine.dispose()  # DuckDB: release the file so the child process can open it
    return engine


def _kill_while_loading(url: str, rows: int, tmp_path: Path) -> list[str]:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen([sys.executable, str(script), url, str(rows)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    seen = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        seen.append(line.strip())
        if line.startswith("loading facts"):
            time.sleep(0.3)  # well inside the load of the big table
            os.kill(proc.pid, signal.SIGKILL)
            break
        assert time.monotonic() < deadline, f"writer never started loading: {seen}"
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, (seen, proc.stderr.read() if proc.stderr else "")
    return seen


def _assert_old_target(engine: sa.Engine) -> None:
    frame = read_table(engine, ("synth", "facts"))
    assert frame["label"].tolist() == ["old", "old", "old"]
    assert frame["id"].tolist() == [1, 2, 3]


def test_sigkill_mid_write_keeps_the_old_target_duckdb(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'kill.duckdb'}"
    _prepare(url)
    seen = _kill_while_loading(url, 3_000_000, tmp_path)
    assert "finished" not in seen and not any(s.startswith("swapping") for s in seen)
    engine = sa.create_engine(url)
    _assert_old_target(engine)
    # and the next run recovers from the leftovers and swaps normally
    new = pd.DataFrame({"id": [9], "label": ["new"], "amount": [9.0]})
    write_tables(engine, {"facts": new}, "synth", columns=real_columns(engine, {"facts": ("raw", "facts")}))
    assert read_table(engine, ("synth", "facts"))["label"].tolist() == ["new"]


@pytest.fixture(params=[p for p in IO_WAREHOUSES if p != "duckdb"])
def server_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return warehouse_url(request, tmp_path)


def test_sigkill_mid_write_keeps_the_old_target_on_a_server(server_url: str, tmp_path: Path) -> None:
    url = server_url
    engine = _prepare(url)
    seen = _kill_while_loading(url, 1_500_000, tmp_path)
    assert "finished" not in seen
    _assert_old_target(engine)
    new = pd.DataFrame({"id": [9], "label": ["new"], "amount": [9.0]})
    write_tables(engine, {"facts": new}, "synth", columns=real_columns(engine, {"facts": ("raw", "facts")}))
    assert read_table(engine, ("synth", "facts"))["label"].tolist() == ["new"]


SWAPPER = textwrap.dedent("""
    import sys, time, pandas as pd, sqlalchemy as sa
    from synthohive_dbt.io import real_columns, write_tables, writer
    from synthohive_dbt.io.warehouses import warehouse_for
    url, where = sys.argv[1], sys.argv[2]
    engine = sa.create_engine(url)
    recorded = writer.record_owned
    def record_then_hang(conn, wh, schema, relations, *, role, **kw):  # inside the swap: die there
        recorded(conn, wh, schema, relations, role=role, **kw)
        if role == "synthetic":
            print("recorded", schema, flush=True)
            time.sleep(600)
    if where == "inside":
        writer.record_owned = record_then_hang
    wh = type(warehouse_for(engine))
    dropped = wh.drop_relation
    def drop_then_hang(self, conn, schema, relation, **kw):  # the first drop of the swap (MariaDB: after RENAME)
        dropped(self, conn, schema, relation, **kw)
        print("dropped", relation.name, flush=True)
        time.sleep(600)
    if where == "after":
        wh.drop_relation = drop_then_hang
    def progress(event, table, n):
        print(event, table, n, flush=True)
        if event == "swapping" and where == "before":
            time.sleep(600)
    frame = pd.DataFrame({"id": [7, 8], "label": ["new", "new"], "amount": [1.0, 2.0]})
    write_tables(engine, {"facts": frame}, "synth", columns=real_columns(engine, {"facts": ("raw", "facts")}),
                 on_progress=progress)
""")


def _kill_at(url: str, where: str, marker: str, tmp_path: Path) -> None:
    script = tmp_path / "swapper.py"
    script.write_text(SWAPPER)
    proc = subprocess.Popen([sys.executable, str(script), url, where], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=Path(__file__).parents[2])
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line.strip())
        if line.startswith(marker):
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, (seen, proc.stderr.read() if proc.stderr else "")


def _schemas(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.exec_driver_sql("SELECT schema_name FROM information_schema.schemata")}


@pytest.fixture(params=IO_WAREHOUSES)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return warehouse_url(request, tmp_path)


@pytest.mark.parametrize("where,marker", [("before", "swapping"), ("inside", "recorded"), ("after", "dropped")])
def test_sigkill_at_the_swap_leaves_nothing_after_the_next_start(fresh_url: str, where: str, marker: str,
                                                                 tmp_path: Path) -> None:
    """Killed at the swap: before it, with the new tables recorded as ours but not yet committed or renamed in,
    or at the first drop (MariaDB: just after its one RENAME). The target is whole, old or new, never a mix; the
    next run removes the staging schema and swaps."""
    url = fresh_url
    engine = _prepare(url)
    _kill_at(url, where, marker, tmp_path)
    engine = sa.create_engine(url)
    labels = read_table(engine, ("synth", "facts"))["label"].tolist()
    if labels != ["new", "new"] or where != "after":
        _assert_old_target(engine)  # the swap is one transaction, or one RENAME: all or nothing
    assert inspect_target(engine, "synth", ["facts"]).replace == ["facts"]  # whichever, the marker says ours
    assert "synth__synthohive_staging" in _schemas(engine)  # the killed run could not clean up after itself
    notes: list[str] = []
    new = pd.DataFrame({"id": [9], "label": ["next"], "amount": [9.0]})
    write_tables(engine, {"facts": new}, "synth", columns=real_columns(engine, {"facts": ("raw", "facts")}),
                 on_note=notes.append)
    left = "(0 table(s))" if labels == ["new", "new"] else "(1 table(s))"  # after a RENAME: old markers only
    assert notes == [f"removed the staging schema 'synth__synthohive_staging' left by an interrupted run {left}"]
    assert "synth__synthohive_staging" not in _schemas(engine)
    assert read_table(engine, ("synth", "facts"))["label"].tolist() == ["next"]
    engine.dispose()


FULL_DISK = textwrap.dedent("""
    import resource, signal, sys, numpy as np, pandas as pd, sqlalchemy as sa
    from synthohive_dbt.errors import WarehouseError
    from synthohive_dbt.io import real_columns, write_tables
    url, limit = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    engine = sa.create_engine(url)
    rows = 400_000
    frame = pd.DataFrame({"id": np.arange(rows), "label": np.repeat("synthetic-row-with-some-text", rows),
                          "amount": np.linspace(0, 1, rows)})
    try:
        write_tables(engine, {"facts": frame}, "synth", columns=real_columns(engine, {"facts": ("raw", "facts")}))
    except WarehouseError as exc:
        print("refused:", str(exc).splitlines()[0][:200], flush=True)
        sys.exit(3)
    print("finished", flush=True)
""")


def test_a_write_failing_for_space_leaves_nothing_visible(tmp_path: Path) -> None:
    """DuckDB: the file may not grow past its current size plus a little (RLIMIT_FSIZE in a child process)."""
    path = tmp_path / "full.duckdb"
    url = f"duckdb:///{path}"
    _prepare(url)
    script = tmp_path / "full.py"
    script.write_text(FULL_DISK)
    res = subprocess.run([sys.executable, str(script), url, str(path.stat().st_size + 64 * 1024)],
                         capture_output=True, text=True, cwd=Path(__file__).parents[2], timeout=300)
    assert res.returncode == 3, (res.stdout, res.stderr[-2000:])
    assert "failed and was rolled back" in res.stdout
    engine = sa.create_engine(url)
    _assert_old_target(engine)
    write_tables(engine, {"facts": pd.DataFrame({"id": [9], "label": ["next"], "amount": [9.0]})}, "synth",
                 columns=real_columns(engine, {"facts": ("raw", "facts")}))
    assert "synth__synthohive_staging" not in _schemas(engine)
    assert read_table(engine, ("synth", "facts"))["label"].tolist() == ["next"]
    engine.dispose()
