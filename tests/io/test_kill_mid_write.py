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

from synthohive_dbt.io import read_table, real_columns, write_tables
from synthohive_dbt.io.warehouse import run_sql

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
    with engine.begin() as conn:
        run_sql(conn, "CREATE SCHEMA raw")
        run_sql(conn, "CREATE TABLE raw.facts (id BIGINT, label VARCHAR(40), amount DOUBLE PRECISION)")
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


@pytest.mark.postgres
def test_sigkill_mid_write_keeps_the_old_target_postgres(postgres_db: str, tmp_path: Path) -> None:
    engine = _prepare(postgres_db)
    seen = _kill_while_loading(postgres_db, 1_500_000, tmp_path)
    assert "finished" not in seen
    _assert_old_target(engine)
    new = pd.DataFrame({"id": [9], "label": ["new"], "amount": [9.0]})
    write_tables(engine, {"facts": new}, "synth", columns=real_columns(engine, {"facts": ("raw", "facts")}))
    assert read_table(engine, ("synth", "facts"))["label"].tolist() == ["new"]
