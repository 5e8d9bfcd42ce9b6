"""The quality cost of differential privacy on adult.csv: our CTGAN at several epsilons and without DP,
the same epochs for each, every output scored by SDMetrics' QualityReport (the neutral scorer of
ctgan_adult_compare.py).

Run by hand (SDMetrics lives in the reference environment, see bench/README.md):
    bench/.venv-ref/bin/python bench/dp_adult.py [--epsilons 1 3 10] [--set max_steps=600 ...]

Every run uses the engine's defaults (300 generator steps), DP or not, so the difference is the cost of DP
alone. DP-SGD computes one gradient per row (Opacus), so a DP step costs several plain steps; the noise is
calibrated to the planned step count. Results go to bench/results/dp_adult.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ctgan_adult_compare import DATA, HERE, ROOT, WORK, run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="config override, every run")
    ap.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 3.0, 10.0])
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    real = pd.read_csv(DATA, skipinitialspace=True)
    ours = [str(ROOT / ".venv" / "bin" / "python"), str(HERE / "ctgan_adult.py"),
            *(x for item in args.set for x in ("--set", item))]
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
               "overrides": args.set, "runs": {}}
    for eps in [None, *args.epsilons]:
        name = "no DP" if eps is None else f"epsilon {eps:g}"
        extra = [] if eps is None else ["--set", f"dp_epsilon={eps}"]
        results["runs"][name] = run(f"dp_{eps}", [*ours, *extra], real)
        print(name, {k: results["runs"][name][k] for k in ("quality", "fit_s", "sample_rows_per_s")}, flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "dp_adult.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
