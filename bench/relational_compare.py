"""Multi-table benchmark: synthohive vs SDV's HMASynthesizer vs the MOSTLY AI engine, side by side.

One command (see bench/README.md):

    bash bench/setup_relational_envs.sh                 # once: one virtual environment per engine
    python3 bench/relational_compare.py                 # everything, full settings
    python3 bench/relational_compare.py --smoke         # every engine on one small dataset, few epochs
    python3 bench/relational_compare.py --datasets shop_5k --engines synthohive,sdv-hma --epochs 50

Per dataset: bench/relational_data.py writes the real tables + a neutral schema (in the repo's .venv); then each
engine runs as its own subprocess in its own virtual environment, one after the other (fit, sample at scale 1,
a larger timed sample, peak RSS), writing synthetic CSVs + a timings JSON; then ONE scorer process
(bench/_score.py, SDMetrics in bench/.venv-ref) scores all of them, plus the real tables as a control.
A refusal or crash is a result (status, phase, error text), not a stop. Only the standard library here, so any
python3 can drive it. Output: bench/results/relational_<label>.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
RESULTS = HERE / "results"
PREPARE_PYTHON = ROOT / ".venv" / "bin" / "python"
SCORER_PYTHON = HERE / ".venv-ref" / "bin" / "python"
DATASETS = ["jaffle_shop_classic", "duckdb_analytics_kit", "shop_2level", "shop_5k", "shop"]


def portable(value: Any) -> Any:
    """`value` with paths inside the repository written relative to it: a result file names no machine's paths."""
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v) for v in value]
    if isinstance(value, str) and value.startswith(f"{ROOT}{os.sep}"):
        return os.path.relpath(value, ROOT)
    return value


@dataclass(frozen=True)
class Engine:
    """How to run one engine: its own interpreter (virtual environment), its script, its epoch settings."""

    python: Path
    script: str
    epochs: int | None  # full run; None = the engine's own default (or it has no epochs)
    smoke_epochs: int | None
    setup: str  # what to run when its environment is missing
    options: tuple[str, ...] = field(default=())


ENGINES: dict[str, Engine] = {
    "synthohive": Engine(ROOT / ".venv" / "bin" / "python", "_engine_ours.py", 300, 5,
                         "make install (the repo's .venv)"),
    "sdv-hma": Engine(HERE / ".venv-sdv" / "bin" / "python", "_engine_sdv.py", None, None,
                      "bash bench/setup_relational_envs.sh sdv"),
    "sdv1-hma": Engine(HERE / ".venv-sdv1" / "bin" / "python", "_engine_sdv.py", None, None,
                       "bash bench/setup_relational_envs.sh sdv1"),
    "mostlyai": Engine(HERE / ".venv-mostly" / "bin" / "python", "_engine_mostly.py", None, 1,
                       "bash bench/setup_relational_envs.sh mostly"),
}
SMOKE = {"datasets": ["jaffle_shop_classic"], "throughput_rows": 20_000, "throughput_max_s": 20.0}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True, timeout=10)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            return round(int(fh.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return None


def prepare(dataset: str, reuse: bool) -> Path:
    folder = WORK / "data" / dataset
    if reuse and (folder / "schema.json").is_file():
        return folder
    subprocess.run([str(PREPARE_PYTHON), str(HERE / "relational_data.py"), "--out", str(WORK / "data"), dataset],
                   check=True)
    return folder


def run_engine(name: str, engine: Engine, data: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One engine on one dataset in its own process; whatever happens comes back as a result dict."""
    if not engine.python.is_file():
        return {"engine": name, "status": "not installed", "error": f"{engine.python} does not exist",
                "hint": engine.setup}
    out = WORK / "synthetic" / data.name / name
    timings = WORK / "synthetic" / data.name / f"{name}.json"
    timings.unlink(missing_ok=True)
    epochs = args.epochs.get(name, engine.smoke_epochs if args.smoke else engine.epochs)
    cmd = [str(engine.python), str(HERE / engine.script), "--data", str(data), "--out", str(out),
           "--timings", str(timings), "--seed", str(args.seed), "--threads", str(args.threads),
           "--throughput-rows", str(args.throughput_rows), "--throughput-max-s", str(args.throughput_max_s)]
    if epochs is not None:
        cmd += ["--epochs", str(epochs)]
    for option in [*engine.options, *args.option.get(name, [])]:
        cmd += ["--option", option]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads),
           "PYTHONWARNINGS": "ignore"}
    print(f"[{data.name}] {name}: {' '.join(cmd[1:])}", flush=True)
    load_before, t0 = loadavg(), time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env, cwd=WORK)
        rc, stderr = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, stderr = None, (exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or "")
    wall = round(time.perf_counter() - t0, 2)
    if timings.is_file():
        result = json.loads(timings.read_text())
    elif rc is None:
        result = {"engine": name, "status": "timeout", "error": f"no result after {args.timeout} s"}
    else:
        result = {"engine": name, "status": "failed", "phase": "process", "error": f"exit code {rc}"}
    result.update(wall_s=wall, loadavg_before=load_before, loadavg_after=loadavg(), command=cmd[1:],
                  synthetic_dir=str(out))
    if result.get("status") != "ok":
        result["stderr_tail"] = stderr[-3000:]
    print(f"[{data.name}] {name}: {result['status']} in {wall} s", flush=True)
    return result


def score(data: Path, runs: dict[str, dict[str, Any]], control: bool) -> dict[str, Any]:
    pairs = [f"{name}={r['synthetic_dir']}" for name, r in runs.items() if r.get("status") == "ok"]
    if control:
        pairs.append(f"real (control)={data}")
    if not pairs:
        return {"engines": {}}
    if not SCORER_PYTHON.is_file():
        return {"error": f"{SCORER_PYTHON} does not exist", "hint": "bash bench/setup_relational_envs.sh score"}
    out = WORK / "synthetic" / data.name / "scores.json"
    print(f"[{data.name}] scoring {len(pairs)} with SDMetrics", flush=True)
    proc = subprocess.run([str(SCORER_PYTHON), str(HERE / "_score.py"), "--data", str(data), "--out", str(out),
                           *pairs], capture_output=True, text=True, cwd=WORK,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        return {"error": f"scorer exit code {proc.returncode}", "stderr_tail": proc.stderr[-3000:]}
    return json.loads(out.read_text())


def summary_row(dataset: str, name: str, run: dict[str, Any], scores: dict[str, Any]) -> dict[str, Any]:
    s = scores.get("engines", {}).get(name, {})
    q, d = s.get("quality_properties", {}), s.get("diagnostic_properties", {})
    tp = run.get("throughput", {})
    return {
        "dataset": dataset, "engine": name, "status": run.get("status"),
        "fit_s": run.get("fit_s"), "fit_cpu_s": run.get("fit_cpu_s"),
        "sample_rows_per_s": tp.get("rows_per_s", run.get("sample_rows_per_s")),
        "sample_rows_per_cpu_s": tp.get("rows_per_cpu_s"),
        "peak_rss_mb": run.get("peak_rss_mb"), "quality": s.get("quality"),
        "column_shapes": q.get("Column Shapes"), "column_pair_trends": q.get("Column Pair Trends"),
        "cardinality": q.get("Cardinality"), "intertable_trends": q.get("Intertable Trends"),
        "diagnostic": s.get("diagnostic"), "relationship_validity": d.get("Relationship Validity"),
        "planted_trend_error": s.get("planted_trends", {}).get("mean_rel_error"),
        "error": (run.get("error") or s.get("error") or "")[:300] or None,
    }


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets for synthohive, checked per dataset: quality at or above the better other engine,
    >= 100k sampled rows/s, and (on shop_5k, the 5k-row 3-table schema) a fit under 10 s."""
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        ours = next((r for r in rows if r["dataset"] == dataset and r["engine"] == "synthohive"), None)
        if ours is None or ours["status"] != "ok":
            continue
        others = [r["quality"] for r in rows if r["dataset"] == dataset and r["quality"] is not None
                  and r["engine"] not in ("synthohive", "real (control)")]
        checks: dict[str, Any] = {
            "quality_vs_best_other": None if not others else {
                "ours": ours["quality"], "best_other": max(others),
                "met": ours["quality"] is not None and ours["quality"] >= max(others)},
            "sample_rows_per_s": {"ours": ours["sample_rows_per_s"], "target": 100_000,
                                  "met": (ours["sample_rows_per_s"] or 0) >= 100_000},
        }
        if dataset == "shop_5k":
            checks["fit_s"] = {"ours": ours["fit_s"], "target": 10, "met": (ours["fit_s"] or 1e9) < 10}
        out.append({"dataset": dataset, **checks})
    return out


def render(rows: list[dict[str, Any]]) -> str:
    cols = ["dataset", "engine", "status", "fit_s", "fit_cpu_s", "sample_rows_per_s", "peak_rss_mb", "quality",
            "column_shapes", "column_pair_trends", "cardinality", "intertable_trends", "diagnostic",
            "planted_trend_error"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join("" if r.get(c) is None else str(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def _keyed(values: list[str], what: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in values:
        if ":" not in v:
            raise SystemExit(f"{what} {v!r} must look like ENGINE:KEY=VALUE (e.g. synthohive:batch_size=250)")
        engine, rest = v.split(":", 1)
        out.setdefault(engine, []).append(rest)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default=None, help=f"comma-separated, from {DATASETS} (default: all; "
                                                     f"--smoke: {SMOKE['datasets']})")
    ap.add_argument("--engines", default=",".join(ENGINES), help=f"comma-separated, from {list(ENGINES)}")
    ap.add_argument("--smoke", action="store_true", help="few epochs, one small dataset: proves the harness")
    ap.add_argument("--epochs", action="append", default=[], metavar="[ENGINE:]N",
                    help="epochs for synthohive (bare N) or for a named engine (mostlyai:3); repeatable")
    ap.add_argument("--option", action="append", default=[], metavar="ENGINE:KEY=VALUE",
                    help="engine setting passed through, e.g. synthohive:time_budget_s=20; repeatable")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch / BLAS threads for every engine")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per engine per dataset")
    ap.add_argument("--throughput-rows", type=int, default=None, help="rows of the timed large sample")
    ap.add_argument("--throughput-max-s", type=float, default=None,
                    help="shrink the timed large sample so it takes about this long at most")
    ap.add_argument("--reuse-data", action="store_true", help="keep already prepared dataset folders")
    ap.add_argument("--no-control", action="store_true", help="do not score the real tables as a control")
    ap.add_argument("--label", default=None, help="results file name: relational_<label>.json")
    args = ap.parse_args(argv)
    args.datasets = args.datasets.split(",") if args.datasets else (SMOKE["datasets"] if args.smoke else DATASETS)
    args.engines = args.engines.split(",")
    for name in [*args.datasets]:
        if name not in DATASETS:
            raise SystemExit(f"unknown dataset {name!r}; choose from {DATASETS}")
    for name in args.engines:
        if name not in ENGINES:
            raise SystemExit(f"unknown engine {name!r}; choose from {list(ENGINES)}")
    args.epochs = {(e.split(":")[0] if ":" in e else "synthohive"): int(e.split(":")[-1]) for e in args.epochs}
    args.option = _keyed(args.option, "--option")
    if args.throughput_rows is None:
        args.throughput_rows = SMOKE["throughput_rows"] if args.smoke else 100_000
    if args.throughput_max_s is None:
        args.throughput_max_s = SMOKE["throughput_max_s"] if args.smoke else 120.0
    args.label = args.label or ("smoke" if args.smoke else "full")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results: dict[str, Any] = {
        "benchmark": "relational", "smoke": args.smoke, "label": args.label, "started": started,
        "command": " ".join([Path(sys.executable).name, *sys.argv]) if argv is None else " ".join(argv),
        "git_commit": git_commit(), "loadavg_start": loadavg(),
        "machine": {"cpus": os.cpu_count(), "memory_gib": memory_gib(), "platform": platform.platform()},
        "settings": {"seed": args.seed, "threads": args.threads, "timeout_s": args.timeout,
                     "epochs": args.epochs, "options": args.option, "throughput_rows": args.throughput_rows,
                     "throughput_max_s": args.throughput_max_s},
        "datasets": {}, "summary": [],
    }
    out_file = RESULTS / f"relational_{args.label}.json"
    RESULTS.mkdir(exist_ok=True)
    (WORK / "synthetic").mkdir(parents=True, exist_ok=True)
    for dataset in args.datasets:
        data = prepare(dataset, args.reuse_data)
        schema = json.loads((data / "schema.json").read_text())
        runs = {name: run_engine(name, ENGINES[name], data, args) for name in args.engines}
        scores = score(data, runs, control=not args.no_control)
        results["datasets"][dataset] = {
            "rows": schema.get("rows"), "tables": len(schema["tables"]),
            "relationships": [f"{r['parent_table_name']} -> {r['child_table_name']}" for r in
                              schema["relationships"]],
            "runs": runs, "scores": scores,
        }
        names = [*args.engines, *([] if args.no_control else ["real (control)"])]
        results["summary"] += [summary_row(dataset, n, runs.get(n, {"status": "control"}), scores) for n in names]
        results["targets"] = targets(results["summary"])
        results["loadavg_end"] = loadavg()
        results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        out_file.write_text(json.dumps(portable(results), indent=2, default=str))  # after each dataset: partial results
    print(render(results["summary"]))
    print(f"\nwritten: {out_file}")


if __name__ == "__main__":
    main()
