"""Distributed sampling on Spark `local[N]` against the single-process path, at several sizes, in one run.

    python bench/spark_sampling.py                       # 1M and 10M rows, local[2], results/spark_sampling.json
    python bench/spark_sampling.py --rows 100000 --out /tmp/quick.json

One small model (customers -> orders, CTGAN, a few hundred steps) is trained once and saved. Each mode and size
then runs in a fresh process, so its peak RSS is its own: it loads the model and samples `rows` rows (both
tables together) to Parquet twice, either in this process (`Synthesizer.sample(output_path_base=...)`) or on a
`local[N]` Spark session (`spark_session=`, N partitions: executors load the model from its broadcast bytes).
The first sample is "cold" (on Spark: the session's first Python job, its workers start and import torch and
the engine), the second "warm" (another seed; the workers are reused, as in a notebook, a long-lived cluster
or a CI job that samples again). The session itself is built before the clock starts, in both runs.
Reported per run: seconds, rows/s, rows/s per core, the driver's peak RSS (the Python process only; the
executors' Python workers are separate processes) and the JVM's peak heap used (all heap pools), apart.
Needs Java 17 and the spark extra. Run by hand; never a test. Throughput is only comparable on a quiet machine:
each run records the 1-minute load average before it started.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
ORDERS_PER_CUSTOMER = 3.0  # mean of the training data's children per parent: rows = customers * (1 + 3)


def training_data(seed: int = 0, n: int = 2000) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame({"customer_id": np.arange(1, n + 1), "segment": rng.choice(["a", "b", "c"], n),
                              "age": rng.integers(18, 90, n)})
    per = rng.poisson(ORDERS_PER_CUSTOMER, n)
    orders = pd.DataFrame({"order_id": np.arange(1, per.sum() + 1),
                           "customer_id": np.repeat(customers["customer_id"].to_numpy(), per),
                           "amount": rng.gamma(2, 30, per.sum()).round(2),
                           "status": rng.choice(["placed", "shipped", "returned"], per.sum())})
    return {"customers": customers, "orders": orders}


def train(path: Path) -> None:
    from synthohive_dbt import Metadata, Synthesizer

    meta = Metadata()
    meta.add_table("customers", pk="customer_id")
    meta.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    synth = Synthesizer(metadata=meta, backend="CTGAN")
    synth.fit(training_data(), epochs=5, batch_size=500, seed=1)
    synth.save(path)


def _rows(path: Path) -> int:
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def jvm_peak_heap_mb(spark: object) -> float:
    jvm = spark._jvm  # type: ignore[attr-defined]
    pools = jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
    heap = jvm.java.lang.management.MemoryType.HEAP
    return round(sum(p.getPeakUsage().getUsed() for p in pools if p.getType().equals(heap)) / 2**20, 1)


def one(mode: str, rows: int, model: Path, out: Path, cores: int) -> list[dict[str, object]]:
    """Two measurements in this (fresh) process: the first sample (cold: on Spark, the executors' Python
    workers start and import the engine) and a second one with another seed (warm: the workers are reused, as
    in a notebook, a long-lived cluster or a CI job that samples again)."""
    from synthohive_dbt import Synthesizer

    synth = Synthesizer.load(model)
    customers = max(1, round(rows / (1 + ORDERS_PER_CUSTOMER)))
    spark = None
    if mode == "spark":
        from pyspark.sql import SparkSession

        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        spark = (SparkSession.builder.master(f"local[{cores}]").config("spark.driver.host", "127.0.0.1")
                 .config("spark.driver.bindAddress", "127.0.0.1").config("spark.ui.enabled", "false")
                 .config("spark.ui.showConsoleProgress", "false")
                 .config("spark.driver.memory", "1g").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        synth.spark_session = spark
    results = []
    for run, seed in (("cold", 5), ("warm", 6)):
        result: dict[str, object] = {"mode": mode, "run": run, "rows_asked": rows,
                                     "cores": cores if mode == "spark" else 1,
                                     "load_avg_1m_before": round(os.getloadavg()[0], 2)}  # other work on the machine
        started = time.perf_counter()
        options = {"partitions": cores} if mode == "spark" else {}
        paths = synth.sample(num_rows={"customers": customers}, seed=seed, output_path_base=out / run, **options)
        seconds = time.perf_counter() - started
        written = sum(_rows(Path(p)) for p in paths.values())  # from the files' footers: reading would cost RSS
        result.update(rows=written, seconds=round(seconds, 2), rows_per_s=round(written / seconds),
                      rows_per_s_per_core=round(written / seconds / int(result["cores"])),  # type: ignore[arg-type]
                      driver_peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
        if spark is not None:
            result["jvm_peak_heap_mb"] = jvm_peak_heap_mb(spark)
        shutil.rmtree(out / run, ignore_errors=True)
        results.append(result)
    if spark is not None:
        spark.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "spark_sampling.json")
    parser.add_argument("--one", nargs=4, metavar=("MODE", "ROWS", "MODEL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        mode, rows, model, out = args.one
        print(json.dumps(one(mode, int(rows), Path(model), Path(out), args.cores)))
        return
    work = Path(tempfile.mkdtemp(prefix="synthohive-bench-spark-"))
    try:
        model = work / "model.shm"
        train(model)
        runs = []
        for rows in args.rows:
            for mode in ("single", "spark"):
                out = work / f"{mode}-{rows}"
                res = subprocess.run([sys.executable, __file__, "--cores", str(args.cores), "--one", mode, str(rows),
                                      str(model), str(out)], capture_output=True, text=True, check=False)
                line = next((s for s in reversed(res.stdout.splitlines()) if s.startswith("[")), None)
                if res.returncode != 0 or line is None:
                    raise SystemExit(f"{mode} at {rows} rows failed:\n{res.stderr[-3000:]}")
                for run in json.loads(line):
                    runs.append(run)
                    print(run, flush=True)
                shutil.rmtree(out, ignore_errors=True)
        by = {(r["mode"], r["run"], r["rows_asked"]): r for r in runs}
        summary = {f"{n} {run}": {
            "spark_per_core_over_single": round(by[("spark", run, n)]["rows_per_s_per_core"]
                                                / by[("single", run, n)]["rows_per_s"], 2),
            "spark_speedup": round(by[("spark", run, n)]["rows_per_s"] / by[("single", run, n)]["rows_per_s"], 2)}
            for n in args.rows for run in ("cold", "warm")}
        doc = {"what": "rows/s of distributed sampling (Spark local[N]) against the single-process path",
               "command": " ".join(["python bench/spark_sampling.py", *sys.argv[1:]]),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
               "runs": runs, "summary": summary}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=2) + "\n")
        print(json.dumps(summary, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
