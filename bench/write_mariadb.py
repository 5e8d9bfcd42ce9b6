"""Write throughput on MySQL/MariaDB: synthohive's staged, atomic writer against bare loads in the same run.

    .venv/bin/python -m tests.helpers.mariadb     # in another shell: a throwaway server; prints its URL
    .venv/bin/python bench/write_mariadb.py --mariadb-url mysql+pymysql://... [--rows 200000] [--repeat 3]

Writes into the server at --mariadb-url (or $SYNTHOHIVE_BENCH_MARIADB_URL; a scratch server: it creates the
schemas raw, synth and bare), builds the frame of bench/write_throughput.py (`rows` x 6 mixed columns with
NULLs), and times:
  - synthohive MariaDB: write_tables (staging schema + multi-row INSERTs + count check + one RENAME TABLE swap)
  - bare executemany:  CREATE TABLE + pymysql executemany of plain tuples, nothing else (the floor of the
                       driver path synthohive takes)
  - to_sql MariaDB:    DataFrame.to_sql(method="multi", chunksize=1000) on 20,000 rows only
Writes bench/results/write_mariadb.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from write_throughput import DDL, TO_SQL_ROWS, best_of, make_frame  # noqa: E402
from synthohive_dbt.io import real_columns, write_tables  # noqa: E402
from synthohive_dbt.io.warehouse import run_sql  # noqa: E402

MYSQL_DDL = DDL.replace("TIMESTAMP", "DATETIME(6)")  # MariaDB's TIMESTAMP drops microseconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mariadb-url", default=os.environ.get("SYNTHOHIVE_BENCH_MARIADB_URL"),
                    help="mysql+pymysql://user:password@host:port/ of a scratch server")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "write_mariadb.json")
    args = ap.parse_args()
    if not args.mariadb_url:
        ap.error("--mariadb-url (or SYNTHOHIVE_BENCH_MARIADB_URL) is required: start a throwaway server with "
                 "`python -m tests.helpers.mariadb`")
    frame = make_frame(args.rows)
    engine = sa.create_engine(args.mariadb_url)
    with engine.begin() as conn:
        for schema in ("raw", "bare"):
            run_sql(conn, f"CREATE SCHEMA IF NOT EXISTS {schema}")
        run_sql(conn, "DROP TABLE IF EXISTS raw.facts")
        run_sql(conn, f"CREATE TABLE raw.facts ({MYSQL_DDL})")
    cols = real_columns(engine, {"facts": ("raw", "facts")})
    results = {"synthohive_mariadb_s": best_of(
        args.repeat, lambda: write_tables(engine, {"facts": frame}, "synth", columns=cols))}

    rows = [tuple(None if v is None or v != v else v for v in r)
            for r in frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)]

    def bare() -> None:
        with engine.begin() as conn:
            run_sql(conn, "DROP TABLE IF EXISTS bare.facts")
            run_sql(conn, f"CREATE TABLE bare.facts ({MYSQL_DDL})")
            cursor = conn.connection.driver_connection.cursor()
            cursor.executemany("INSERT INTO bare.facts VALUES (%s, %s, %s, %s, %s, %s)", rows)
            cursor.close()

    results["bare_executemany_s"] = best_of(args.repeat, bare)
    small = frame.iloc[:TO_SQL_ROWS]
    results["to_sql_mariadb_s"] = best_of(1, lambda: small.to_sql("facts_to_sql", engine, schema="bare",
                                                                  if_exists="replace", index=False,
                                                                  method="multi", chunksize=1000))
    engine.dispose()
    n = args.rows
    report = {
        "rows": n, "columns": 6, "repeat_best_of": args.repeat,
        "seconds": {k: round(v, 3) for k, v in results.items()},
        "rows_per_second": {
            "synthohive_mariadb": round(n / results["synthohive_mariadb_s"]),
            "bare_executemany_mariadb": round(n / results["bare_executemany_s"]),
            "to_sql_mariadb": round(TO_SQL_ROWS / results["to_sql_mariadb_s"]),
        },
        "synthohive_time_over_bare_executemany": round(results["synthohive_mariadb_s"] / results["bare_executemany_s"],
                                                       2),
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "platform": platform.platform(), "load_average_1m": round(os.getloadavg()[0], 2)},
        "note": "synthohive times include the staging schema, the row-count check and the atomic RENAME swap; "
                "the bare load does only CREATE TABLE + INSERT",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
