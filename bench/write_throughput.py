"""Write throughput: synthohive's staged, atomic writer against a bare COPY (and to_sql) in the same run.

    .venv/bin/python -m tests.helpers.postgres    # in another shell: a throwaway server; prints its URL
    .venv/bin/python bench/write_throughput.py --postgres-url postgresql://... [--rows 1000000] [--repeat 3]

Writes into the PostgreSQL server at --postgres-url (or $SYNTHOHIVE_BENCH_PG_URL; a scratch server: it creates
schemas raw and synth and tables in public), builds one frame of `rows` x 6 mixed
columns (bigint, double, text, date, timestamp, boolean, with NULLs), and times:
  - synthohive PostgreSQL: write_tables (staging schema + COPY + count check + schema swap)
  - raw COPY (pandas CSV): one CREATE TABLE + pandas.to_csv + psycopg2 copy_expert, nothing else
  - raw COPY (Arrow CSV):  the same with pyarrow's CSV writer (what synthohive uses), nothing else
  - synthohive DuckDB:    write_tables into a DuckDB file (Arrow register + INSERT, staging + swap)
  - to_sql PostgreSQL:    DataFrame.to_sql(method="multi") on 20,000 rows only (it is slow)
Writes bench/results/write_throughput.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import psycopg2
import pyarrow.csv as pacsv
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthohive_dbt.io import real_columns, write_tables  # noqa: E402
from synthohive_dbt.io.copy import to_arrow  # noqa: E402
from synthohive_dbt.io.warehouse import run_sql  # noqa: E402

TO_SQL_ROWS = 20_000
DDL = ("id BIGINT, amount DOUBLE PRECISION, label VARCHAR(40), day DATE, seen_at TIMESTAMP, "
       "active BOOLEAN")


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3, 1, rows)
    amount[rng.random(rows) < 0.05] = np.nan
    labels = np.array(["alpha", "beta", "gamma, with comma", 'quote "q"', "ünïcode", ""], dtype=object)
    label = labels[rng.integers(0, len(labels), rows)]
    label[rng.random(rows) < 0.05] = None
    base = np.datetime64("2020-01-01")
    return pd.DataFrame({
        "id": np.arange(rows, dtype=np.int64),
        "amount": amount,
        "label": label,
        "day": pd.to_datetime(base + rng.integers(0, 1500, rows).astype("timedelta64[D]")),
        "seen_at": pd.to_datetime(base + rng.integers(0, 10**8, rows).astype("timedelta64[s]")),
        "active": pd.array(rng.random(rows) < 0.5, dtype="boolean"),
    })


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def postgres_results(url: str, frame: pd.DataFrame, repeat: int) -> dict[str, float]:
    """Times of every PostgreSQL writer into the scratch server at `url`."""
    results: dict[str, float] = {}
    dsn = url.replace("postgresql+psycopg2://", "postgresql://", 1)  # libpq reads the plain form
    engine = sa.create_engine(dsn.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.begin() as conn:
        run_sql(conn, "CREATE SCHEMA raw")
        run_sql(conn, f"CREATE TABLE raw.facts ({DDL})")
    cols = real_columns(engine, {"facts": ("raw", "facts")})
    results["synthohive_postgres_s"] = best_of(
        repeat, lambda: write_tables(engine, {"facts": frame}, "synth", columns=cols))

    def pandas_csv() -> io.StringIO:
        buf = io.StringIO()
        frame.to_csv(buf, index=False, header=False)
        buf.seek(0)
        return buf

    def arrow_csv() -> io.BytesIO:
        buf = io.BytesIO()
        pacsv.write_csv(to_arrow(frame), buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        buf.seek(0)
        return buf

    def raw_copy(csv: Callable[[], IO[Any]]) -> Callable[[], None]:
        """A bare COPY of the frame, written as CSV by `csv` (timed with the COPY)."""
        def run() -> None:
            conn = psycopg2.connect(dsn)
            try:
                with conn.cursor() as cur:
                    cur.execute("DROP TABLE IF EXISTS public.facts_raw")
                    cur.execute(f"CREATE TABLE public.facts_raw ({DDL})")
                    cur.copy_expert("COPY public.facts_raw FROM STDIN WITH (FORMAT csv)", csv())
                conn.commit()
            finally:
                conn.close()
        return run

    results["raw_copy_pandas_csv_postgres_s"] = best_of(repeat, raw_copy(pandas_csv))
    results["raw_copy_arrow_csv_postgres_s"] = best_of(repeat, raw_copy(arrow_csv))

    small = frame.iloc[:TO_SQL_ROWS]  # rows/s is computed from len(small), the rows it really wrote

    def to_sql() -> None:
        small.to_sql("facts_tosql", engine, schema="public", if_exists="replace", index=False,
                     method="multi", chunksize=5_000)

    results["to_sql_postgres_s"] = best_of(1, to_sql)
    engine.dispose()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--postgres-url", default=os.environ.get("SYNTHOHIVE_BENCH_PG_URL"),
                    help="postgresql://user:password@host:port/db of a scratch server")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "write_throughput.json")
    args = ap.parse_args()
    if not args.postgres_url:
        ap.error("--postgres-url (or SYNTHOHIVE_BENCH_PG_URL) is required: start a throwaway server with "
                 "`python -m tests.helpers.postgres`")
    frame = make_frame(args.rows)
    results = postgres_results(args.postgres_url, frame, args.repeat)

    with tempfile.TemporaryDirectory() as tmp:
        duck = sa.create_engine(f"duckdb:///{tmp}/bench.duckdb")
        with duck.begin() as conn:
            run_sql(conn, "CREATE SCHEMA raw")
            run_sql(conn, f"CREATE TABLE raw.facts ({DDL})")
        dcols = real_columns(duck, {"facts": ("raw", "facts")})
        results["synthohive_duckdb_s"] = best_of(
            args.repeat, lambda: write_tables(duck, {"facts": frame}, "synth", columns=dcols))
        duck.dispose()

    rows = args.rows
    report = {
        "rows": rows, "columns": 6, "repeat_best_of": args.repeat,
        "seconds": {k: round(v, 3) for k, v in results.items()},
        "rows_per_second": {
            "synthohive_postgres": round(rows / results["synthohive_postgres_s"]),
            "raw_copy_pandas_csv_postgres": round(rows / results["raw_copy_pandas_csv_postgres_s"]),
            "raw_copy_arrow_csv_postgres": round(rows / results["raw_copy_arrow_csv_postgres_s"]),
            "synthohive_duckdb": round(rows / results["synthohive_duckdb_s"]),
            "to_sql_postgres": round(min(rows, TO_SQL_ROWS) / results["to_sql_postgres_s"]),  # rows it wrote
        },
        "to_sql_rows": min(rows, TO_SQL_ROWS),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "synthohive_time_over_raw_arrow_copy": round(
            results["synthohive_postgres_s"] / results["raw_copy_arrow_csv_postgres_s"], 2),
        "synthohive_time_over_raw_pandas_copy": round(
            results["synthohive_postgres_s"] / results["raw_copy_pandas_csv_postgres_s"], 2),
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "platform": platform.platform()},
        "note": "synthohive times include the staging schema, the row-count check and the atomic swap",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
