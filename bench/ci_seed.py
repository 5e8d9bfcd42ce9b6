"""CI seeding from a saved model: `synthohive generate` end to end, against a raw COPY of the same rows.

    .venv/bin/python -m tests.helpers.postgres    # in another shell: a throwaway server; prints its URL
    .venv/bin/python bench/ci_seed.py --postgres-url postgresql://... [--sizes 100000 1000000] [--repeat 5]
                                      [--backends AR CTGAN] [--rss-rows 10000000]

What it does, on the scratch server at --postgres-url (or $SYNTHOHIVE_BENCH_PG_URL):
  1. builds the example shop (dbt seed + build) in database `ci_bench_real`, and fits one model per backend
     on it (`synthohive fit`, mirror mode: every seed, source and model, 14 tables);
  2. seeds an EMPTY database `ci_bench_ci` (no real schema at all) with `synthohive generate`, as a CI job would:
     a fresh process each run (imports included), `--skip-dbt` and with the project's `dbt test`, at each size;
     times are the median of --repeat runs; per-step times come from the `--log-format json` events;
  3. copies the very rows written (read back untimed) into empty tables with the fastest plain COPY (CSV
     written by Arrow, `COPY ... FROM STDIN`), timed, in the same run;
  4. measures peak RSS of `generate --skip-dbt` at --rss-rows rows (AR) against the smaller sizes;
  5. fits a project whose child table holds --fit-rows rows (a 10:1 child of a parent, both built in the
     server with generate_series) with the default training budget (`--max-rows`), per backend: wall time and
     peak RSS, and how many rows each table was trained on.
Every measurement records the 1-minute load average just before it. Writes bench/results/ci_seed.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg2
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthohive_dbt.dbt import DbtProject  # noqa: E402
from synthohive_dbt.dbt.example import copy_example_project  # noqa: E402

REAL_DB, CI_DB = "ci_bench_real", "ci_bench_ci"
TARGET = "ci_seed"


def _dsn(url: str, dbname: str | None = None) -> str:
    url = url.replace("postgresql+psycopg2://", "postgresql://", 1)
    if dbname is None:
        return url
    return url.rsplit("/", 1)[0] + "/" + dbname


def _env(url: str, dbname: str) -> dict[str, str]:
    from urllib.parse import urlparse

    u = urlparse(_dsn(url))
    return {"SYNTHOHIVE_PG_HOST": u.hostname or "127.0.0.1", "SYNTHOHIVE_PG_PORT": str(u.port or 5432),
            "SYNTHOHIVE_PG_USER": u.username or "postgres", "SYNTHOHIVE_PG_PASSWORD": u.password or "",
            "SYNTHOHIVE_PG_DBNAME": dbname, "SYNTHOHIVE_PG_SCHEMA": "analytics"}


def _fresh_database(url: str, name: str) -> None:
    conn = psycopg2.connect(_dsn(url))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def _load() -> float:
    return round(os.getloadavg()[0], 2)


_WRAPPER = ("import resource, subprocess, sys, time\n"
            "t = time.perf_counter(); r = subprocess.call(sys.argv[1:]); t = time.perf_counter() - t\n"
            "sys.stderr.write('BENCH %f %d\\n' % (t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
            "sys.exit(r)")
"""Runs the command as its only child: its wall time and its own peak RSS (RUSAGE_CHILDREN of one child)."""


def _run(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """One `synthohive` process: wall time, peak RSS, the JSON events and the summary."""
    load = _load()
    start_wall = time.time()
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, sys.executable, "-m", "synthohive_dbt", *args,
                           "--log-format", "json"], cwd=cwd, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"synthohive {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    bench = next(line for line in proc.stderr.splitlines() if line.startswith("BENCH "))
    seconds, rss_kb = float(bench.split()[1]), int(bench.split()[2])
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    summary = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    return {"seconds": seconds, "peak_rss_mb": round(rss_kb / 1024, 1), "load_1min_before": load,
            "steps": _steps(events, start_wall, start_wall + seconds), "summary": summary}


def _steps(events: list[dict[str, Any]], started: float, ended: float) -> list[dict[str, Any]]:
    """Seconds from each step event to the next (the first: interpreter start and imports; the last: to exit)."""
    marks = [(e["ts"], e.get("message") or e.get("event")) for e in events if e["event"] in ("step", "summary")]
    out = [{"step": "interpreter, imports, options", "seconds": round(marks[0][0] - started, 3)}] if marks else []
    for (ts, msg), nxt in zip(marks, [*(m[0] for m in marks[1:]), ended]):
        out.append({"step": str(msg)[:90], "seconds": round(nxt - ts, 3)})
    return out


def _raw_copy(url: str) -> dict[str, Any]:
    """The rows `generate` wrote into TARGET, copied by the fastest plain COPY: read back untimed into Arrow,
    then timed: CREATE TABLE (LIKE ...) + Arrow CSV + COPY FROM STDIN per table, one transaction."""
    conn = psycopg2.connect(_dsn(url, CI_DB))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                        "AND table_name <> '_synthohive_owned' ORDER BY 1", (TARGET,))
            tables = [r[0] for r in cur.fetchall()]
            data = {}
            for t in tables:  # untimed: the rows as Arrow tables, what a plain loader would start from
                buf = io.StringIO()
                cur.copy_expert(f'COPY "{TARGET}"."{t}" TO STDOUT WITH (FORMAT csv, HEADER true)', buf)
                data[t] = pacsv.read_csv(io.BytesIO(buf.getvalue().encode()),
                                         convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
            cur.execute("DROP SCHEMA IF EXISTS raw_copy CASCADE")
            conn.commit()
        load = _load()
        start = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute("CREATE SCHEMA raw_copy")
            for t, table in data.items():
                cur.execute(f'CREATE TABLE raw_copy."{t}" (LIKE "{TARGET}"."{t}")')
                buf = io.BytesIO()
                pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
                buf.seek(0)
                cur.copy_expert(f'COPY raw_copy."{t}" FROM STDIN WITH (FORMAT csv)', buf)
        conn.commit()
        seconds = time.perf_counter() - start
        rows = sum(t.num_rows for t in data.values())
        with conn.cursor() as cur:
            cur.execute("DROP SCHEMA raw_copy CASCADE")
        conn.commit()
    finally:
        conn.close()
    return {"seconds": round(seconds, 3), "rows": rows, "rows_per_second": round(rows / seconds),
            "load_1min_before": load}


BIG_DB = "ci_bench_big"
_BIG_SOURCES = """version: 2
sources:
  - name: shop
    schema: shop
    tables:
      - name: customers
        columns:
          - name: customer_id
            data_tests: [unique, not_null]
          - name: segment
            data_tests: [{accepted_values: {values: [retail, smb, enterprise]}}]
      - name: orders
        columns:
          - name: order_id
            data_tests: [unique, not_null]
          - name: customer_id
            data_tests: [{relationships: {to: "source('shop', 'customers')", field: customer_id}}]
"""


def _fit_large(url: str, work: Path, rows: int, backend: str) -> dict[str, Any]:
    """`synthohive fit` (default training budget) on a parent of rows/10 and a child of `rows` rows."""
    project = work / "big"
    if not (project / f"built_{rows}").is_file():
        (project / "models").mkdir(parents=True, exist_ok=True)
        (project / "dbt_project.yml").write_text("name: big\nversion: '1.0'\nprofile: big\nmodel-paths: [models]\n")
        example = (work / "shop" / "profiles.yml").read_text()
        pg = example[example.index("    pg:"):example.index("    spark:")]
        (project / "profiles.yml").write_text("big:\n  target: pg\n  outputs:\n" + pg)
        (project / "models" / "sources.yml").write_text(_BIG_SOURCES)
        _fresh_database(url, BIG_DB)
        conn = psycopg2.connect(_dsn(url, BIG_DB))
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE SCHEMA shop")
                cur.execute("SELECT setseed(0.42)")
                cur.execute("CREATE TABLE shop.customers AS SELECT g AS customer_id, "
                            "(ARRAY['retail','smb','enterprise'])[1 + (g %% 7 = 0)::int + (g %% 31 = 0)::int] AS segment, "
                            "DATE '2020-01-01' + (random() * 1500)::int AS signup_date, "
                            "round((random() * 9000 + 500)::numeric, 2) AS credit_limit "
                            "FROM generate_series(1, %s) g", (rows // 10,))
                cur.execute("CREATE TABLE shop.orders AS SELECT g AS order_id, "
                            "1 + floor(random() * %s)::int AS customer_id, "
                            "round((exp(random() * 5) * 3)::numeric, 2) AS amount, "
                            "(ARRAY['placed','shipped','returned'])[1 + floor(random() * 3)::int] AS status, "
                            "TIMESTAMP '2021-01-01' + random() * INTERVAL '900 days' AS ordered_at "
                            "FROM generate_series(1, %s) g", (rows // 10, rows))
            conn.commit()
        finally:
            conn.close()
        (project / f"built_{rows}").write_text("")
    env = _env(url, BIG_DB)
    out = work / f"big_{backend}.shm"
    out.unlink(missing_ok=True)
    run = _run(["fit", "--project-dir", str(project), "--target", "pg", "--backend", backend, "--seed", "0",
                "--out", str(out)], env, work)
    if not out.is_file():
        raise SystemExit(f"synthohive fit on the large project failed: {run['steps'][-3:]}")
    trained = [e for e in run["steps"] if e["step"].startswith("reading")]
    return {"rows": rows + rows // 10, "seconds": round(run["seconds"], 1), "peak_rss_mb": run["peak_rss_mb"],
            "load_1min_before": run["load_1min_before"], "budget_steps": [e["step"] for e in trained][:4]}


def _save(out: Path, report: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rows = sum(runs[0]["summary"].get("rows", {}).values())
    secs = statistics.median(r["seconds"] for r in runs)
    mid = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return {"rows": rows, "median_seconds": round(secs, 3), "all_seconds": [round(r["seconds"], 3) for r in runs],
            "rows_per_second": round(rows / secs), "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "load_1min_before": [r["load_1min_before"] for r in runs], "steps_of_median_run": mid["steps"],
            "tests": mid["summary"].get("tests"), "tests_passed": mid["summary"].get("tests_passed")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postgres-url", default=os.environ.get("SYNTHOHIVE_BENCH_PG_URL"),
                    help="postgresql://user:password@host:port/db of a scratch server")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--backends", nargs="+", default=["AR", "CTGAN"])
    ap.add_argument("--rss-rows", type=int, default=10_000_000, help="0: skip the large memory run")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the built project and models here")
    ap.add_argument("--fit-rows", type=int, default=2_000_000, help="0: skip fitting the large project")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ci_seed.json")
    args = ap.parse_args()
    if not args.postgres_url:
        ap.error("--postgres-url (or SYNTHOHIVE_BENCH_PG_URL) is required: start a throwaway server with "
                 "`python -m tests.helpers.postgres`")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="ci_seed_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    real_env, ci_env = _env(args.postgres_url, REAL_DB), _env(args.postgres_url, CI_DB)
    project_dir = work / "shop"
    if not (project_dir / "dbt_project.yml").is_file():
        _fresh_database(args.postgres_url, REAL_DB)
        copy_example_project(project_dir)
        project = DbtProject(project_dir, target="pg", env=real_env)
        project.deps()
        project.seed()
        assert project.build(exclude=["resource_type:seed"]).success
    common = ["--project-dir", str(project_dir), "--target", "pg"]
    report: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                                          "platform": platform.platform()},
                              "repeat": args.repeat, "fit": {}, "generate": {}, "raw_copy_arrow_csv": {}}
    for backend in args.backends:
        model = work / f"shop_{backend}.shm"
        if not model.is_file():
            run = _run(["fit", *common, "--backend", backend, "--seed", "0", "--out", str(model)], real_env, work)
            report["fit"][backend] = {"seconds": round(run["seconds"], 1), "peak_rss_mb": run["peak_rss_mb"],
                                      "load_1min_before": run["load_1min_before"]}
        else:
            report["fit"][backend] = f"reused {model.name} from an earlier run in --workdir (not timed here)"
    _fresh_database(args.postgres_url, CI_DB)  # the CI database: empty, no real schema
    probe = _run(["generate", *common, "--model", str(work / f"shop_{args.backends[0]}.shm"), "--target-schema",
                  TARGET, "--skip-dbt"], ci_env, work)
    real_rows = sum(probe["summary"]["rows"].values())
    report["rows_at_scale_1"] = real_rows
    for backend in args.backends:
        model = str(work / f"shop_{backend}.shm")
        for size in args.sizes:
            scale = f"{size / real_rows:.6g}"
            for dbt in (False, True):
                key = f"{backend}_{size}_{'dbt_test' if dbt else 'no_dbt'}"
                runs = [_run(["generate", *common, "--model", model, "--target-schema", TARGET, "--scale", scale,
                              *([] if dbt else ["--skip-dbt"])], ci_env, work) for _ in range(args.repeat)]
                report["generate"][key] = _median(runs)
                _save(args.out, report)  # a later step that fails loses nothing measured
                sys.stderr.write(f"{key}: {report['generate'][key]['median_seconds']} s\n")
            if backend == args.backends[0]:
                report["raw_copy_arrow_csv"][str(size)] = _raw_copy(args.postgres_url)
    if args.rss_rows:
        backend = "AR" if "AR" in args.backends else args.backends[0]
        run = _run(["generate", *common, "--model", str(work / f"shop_{backend}.shm"), "--target-schema", TARGET,
                    "--scale", f"{args.rss_rows / real_rows:.6g}", "--skip-dbt"], ci_env, work)
        report["large"] = {"backend": backend, **_median([run])}
        report["raw_copy_arrow_csv"][str(args.rss_rows)] = _raw_copy(args.postgres_url)
    if args.fit_rows:
        report["fit_large"] = {b: _fit_large(args.postgres_url, work, args.fit_rows, b) for b in args.backends}
    report["load_1min_end"] = _load()
    report["command"] = " ".join(["bench/ci_seed.py", "--sizes", *map(str, args.sizes), "--repeat",
                                  str(args.repeat), "--backends", *args.backends, "--rss-rows", str(args.rss_rows),
                                  "--fit-rows", str(args.fit_rows)])
    _save(args.out, report)
    sys.stdout.write(json.dumps({k: v for k, v in report.items() if k != "generate"}, indent=2) + "\n")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
