"""What every engine process of bench/relational_compare.py shares: arguments, reading a dataset written by
bench/relational_data.py, timing, peak memory, writing synthetic CSVs, and recording a refusal or crash as a result.

Imports only the standard library and pandas, so it runs in every engine's own virtual environment.
An engine script defines `fit(tables, schema, args) -> model` and `sample(model, scale, args) -> {table: frame}`
and calls `main(name, fit, sample, version=...)`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd


def rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size so far (Linux reports KiB)."""
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


class TreeMonitor(threading.Thread):
    """Samples this process and all its descendants from /proc every `interval` s: the peak of their summed
    RSS, and the CPU seconds the descendants used. Needed because an engine may train in a worker process it
    never waits for (MOSTLY AI's local server Popen()s its jobs), which getrusage(RUSAGE_CHILDREN) misses."""

    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak_rss_mb = interval, 0.0
        self._cpu: dict[int, float] = {}  # descendant pid -> last seen utime + stime (s)
        self._lock = threading.Lock()
        self._tick = os.sysconf("SC_CLK_TCK")
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _children(self) -> dict[int, list[int]]:
        tree: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
        return tree

    def sample(self) -> None:
        tree, me = self._children(), os.getpid()
        stack, pids = list(tree.get(me, [])), [me]
        while stack:
            pid = stack.pop()
            pids.append(pid)
            stack.extend(tree.get(pid, []))
        rss = 0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/statm") as fh:
                    rss += int(fh.read().split()[1]) * self._page
                if pid != me:
                    with open(f"/proc/{pid}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                    with self._lock:
                        self._cpu[pid] = (int(fields[11]) + int(fields[12])) / self._tick
            except (OSError, IndexError, ValueError):
                continue  # the process ended between listing and reading
        self.peak_rss_mb = max(self.peak_rss_mb, round(rss / 2**20, 1))

    def descendants_cpu_s(self) -> float:
        with self._lock:
            return sum(self._cpu.values())

    def run(self) -> None:
        while True:
            self.sample()
            time.sleep(self.interval)


MONITOR = TreeMonitor()


def cpu_s() -> float:
    """CPU seconds used so far by this process and its descendants: on a shared machine a steadier measure of
    work than wall time, which depends on what else runs. Up to 2 x wall time with 2 threads."""
    MONITOR.sample()
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime + MONITOR.descendants_cpu_s()


def current_rss_mb() -> float:
    """Resident set size now, from /proc (the baseline before training: imports and data)."""
    with open("/proc/self/statm") as fh:
        return round(int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True, help="dataset folder: <table>.csv + schema.json")
    ap.add_argument("--out", type=Path, required=True, help="folder for the synthetic <table>.csv")
    ap.add_argument("--timings", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=None, help="engine default when omitted")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--throughput-rows", type=int, default=100_000,
                    help="after the scale-1 sample, sample about this many rows to time throughput")
    ap.add_argument("--throughput-max-s", type=float, default=120.0,
                    help="skip (shrink) the throughput sample when the scale-1 rate says it would take longer")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="engine-specific setting (JSON value), repeatable")
    args = ap.parse_args(argv)
    args.options = {k: _json_or_text(v) for k, v in (o.split("=", 1) for o in args.option)}
    return args


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def read_dataset(folder: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The real tables with their declared types (dates parsed) and the neutral schema."""
    schema = json.loads((folder / "schema.json").read_text())
    tables = {}
    for name, spec in schema["tables"].items():
        frame = pd.read_csv(folder / f"{name}.csv")
        for col, meta in spec["columns"].items():
            if meta["sdtype"] == "datetime":
                frame[col] = pd.to_datetime(frame[col], format=meta.get("datetime_format"))
        tables[name] = frame
    return tables, schema


def write_tables(tables: dict[str, pd.DataFrame], folder: Path, schema: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in schema["tables"]:
        frame = tables[name]
        frame.to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%d")


def _total(tables: dict[str, pd.DataFrame]) -> int:
    return int(sum(len(f) for f in tables.values()))


def main(engine: str, fit: Callable[..., Any], sample: Callable[..., dict[str, pd.DataFrame]],
         version: Callable[[], dict[str, str]], refusal_types: tuple[type[BaseException], ...] = (),
         argv: list[str] | None = None) -> None:
    """Fit, sample at scale 1 (scored), sample ~throughput_rows (timed), record everything; never raise."""
    args = parse_args(argv)
    MONITOR.start()
    result: dict[str, Any] = {"engine": engine, "dataset": args.data.name, "status": "ok", "epochs": args.epochs,
                              "seed": args.seed, "threads": args.threads, "options": args.options}
    phase = "setup"
    try:
        result["versions"] = version()
        tables, schema = read_dataset(args.data)
        real_rows = _total(tables)
        result["real_rows"] = real_rows
        result["rss_before_fit_mb"] = current_rss_mb()
        phase = "fit"
        t0, c0 = time.perf_counter(), cpu_s()
        model = fit(tables, schema, args)
        result["fit_s"] = round(time.perf_counter() - t0, 3)
        result["fit_cpu_s"] = round(cpu_s() - c0, 3)
        result["rss_after_fit_peak_mb"] = max(rss_mb(), MONITOR.peak_rss_mb)
        phase = "sample"
        t0, c0 = time.perf_counter(), cpu_s()
        synth = sample(model, 1.0, args)
        elapsed = time.perf_counter() - t0
        rows = _total(synth)
        result.update(sample_s=round(elapsed, 3), sample_cpu_s=round(cpu_s() - c0, 3), sample_rows=rows,
                      sample_rows_per_s=round(rows / max(elapsed, 1e-9), 1))
        write_tables(synth, args.out, schema)
        phase = "throughput"
        rate = rows / max(elapsed, 1e-9)
        target = min(args.throughput_rows, rate * args.throughput_max_s)
        scale = target / max(real_rows, 1)
        if scale >= 2.0:  # worth a second, larger draw: per-call overhead no longer dominates
            del synth
            t0, c0 = time.perf_counter(), cpu_s()
            big = sample(model, scale, args)
            elapsed, cpu = time.perf_counter() - t0, cpu_s() - c0
            rows = _total(big)
            result["throughput"] = {"scale": round(scale, 3), "rows": rows, "seconds": round(elapsed, 3),
                                    "cpu_s": round(cpu, 3), "rows_per_s": round(rows / max(elapsed, 1e-9), 1),
                                    "rows_per_cpu_s": round(rows / max(cpu, 1e-9), 1)}
        else:
            result["throughput"] = {"skipped": f"scale {scale:.2f} < 2 (rows/s at scale 1: {rate:.0f})"}
    except refusal_types as exc:
        result.update(status="refused", phase=phase, error_type=f"{type(exc).__module__}.{type(exc).__name__}",
                      error=str(exc)[:4000])
    except Exception as exc:  # noqa: BLE001 - a crash is a benchmark result, written down with its traceback
        result.update(status="failed", phase=phase, error_type=f"{type(exc).__module__}.{type(exc).__name__}",
                      error=str(exc)[:4000], traceback=traceback.format_exc()[-6000:])
    MONITOR.sample()
    result["peak_rss_self_mb"] = rss_mb()
    result["peak_rss_tree_mb"] = MONITOR.peak_rss_mb  # this process + descendants, sampled every 0.25 s
    result["peak_rss_mb"] = max(result["peak_rss_self_mb"], result["peak_rss_tree_mb"])
    args.timings.parent.mkdir(parents=True, exist_ok=True)
    args.timings.write_text(json.dumps(result, indent=2, default=str))
