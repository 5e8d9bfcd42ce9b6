"""Side-by-side single-table benchmark on adult.csv: our CTGAN (or AR / TVAE) vs the reference `ctgan` from PyPI.

Run by hand (see bench/README.md):  bash bench/setup_reference_env.sh && \
    bench/.venv-ref/bin/python bench/ctgan_adult_compare.py [--ref-epochs 300] [--skip-reference]
    bench/.venv-ref/bin/python bench/ctgan_adult_compare.py --skip-reference --ours-args "--model ar"

Each engine runs in its own process (its own virtual environment), on the same machine, one after the other, so
fit time, sampling speed and peak RSS are comparable. Both outputs are scored by ONE neutral metric code:
SDMetrics' single-table QualityReport (column shapes: KS / TV complement; column pair trends), installed only in
the benchmark environment. Results go to bench/results/ctgan_adult.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = Path(os.environ.get("SYNTHOHIVE_SHARED_DIR", ROOT.parent / "shared")) / "data" / "adult.csv"
WORK = HERE / "work"
DISCRETE = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "sex",
            "native-country", "income"]


def score(real: pd.DataFrame, synth: pd.DataFrame) -> dict[str, float]:
    """SDMetrics QualityReport: the same code scores every engine."""
    from sdmetrics.reports.single_table import QualityReport

    meta = {"columns": {c: {"sdtype": "categorical" if c in DISCRETE else "numerical"} for c in real.columns}}
    report = QualityReport()
    report.generate(real, synth[real.columns], meta, verbose=False)
    props = report.get_properties().set_index("Property")["Score"].to_dict()
    return {"quality": float(report.get_score()), "column_shapes": float(props["Column Shapes"]),
            "column_pair_trends": float(props["Column Pair Trends"])}


def run(engine: str, cmd: list[str], real: pd.DataFrame) -> dict:
    out, timings = WORK / f"{engine}.csv", WORK / f"{engine}.json"
    load_before = list(os.getloadavg())
    t0 = time.perf_counter()
    subprocess.run([*cmd, "--data", str(DATA), "--out", str(out), "--timings", str(timings)], check=True)
    result = json.loads(timings.read_text())
    result["wall_s"] = time.perf_counter() - t0
    result["loadavg_before"], result["loadavg_after"] = load_before, list(os.getloadavg())
    result.update(score(real, pd.read_csv(out, skipinitialspace=True)))
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref-epochs", type=int, default=300)
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--ours-args", default="", help="extra arguments for bench/ctgan_adult.py")
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    real = pd.read_csv(DATA, skipinitialspace=True)
    path = HERE / "results" / "ctgan_adult.json"
    # Earlier engines' results are kept, so re-running only ours does not drop a 20-minute reference run.
    previous = json.loads(path.read_text())["engines"] if path.exists() else {}
    results = {"machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform()},
               "data": {"rows": len(real), "columns": real.shape[1]}, "engines": previous}
    extra = args.ours_args.split()
    model = extra[extra.index("--model") + 1] if "--model" in extra else "ctgan"
    ours = [str(ROOT / ".venv" / "bin" / "python"), str(HERE / "ctgan_adult.py"), *extra]
    name = f"synthohive {model.upper()}"
    results["engines"][name] = run(f"ours_{model}", ours, real)
    print(json.dumps(results["engines"][name], indent=2), flush=True)
    if not args.skip_reference:
        ref = [sys.executable, str(HERE / "_reference_ctgan.py"), "--epochs", str(args.ref_epochs)]
        results["engines"][f"ctgan 0.12 ({args.ref_epochs} epochs)"] = run("reference", ref, real)
    (HERE / "results").mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
