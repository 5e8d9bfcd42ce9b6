"""Fit our CTGAN (or TVAE) on adult.csv and record fit seconds, sampling rows/s, peak RSS and our own
per-column KS/TV fidelity to bench/results/ctgan_adult_ours.json. Run by hand:

    .venv/bin/python bench/ctgan_adult.py [--model ctgan|tvae] [--budget 50] [--threads 2]

Timings on a shared 2-core machine are noisy. `run()` is importable for a side-by-side reference run.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from synthohive_dbt.models import CTGAN, TVAE
from synthohive_dbt.models.scoring import column_scores

DATA = Path("/work/shared/data/adult.csv")
OUT = Path(__file__).parent / "results" / "ctgan_adult_ours.json"


def run(model: str = "ctgan", budget_s: float | None = 50.0, epochs: int = 300, threads: int = 2,
        n_sample: int = 100_000, seed: int = 0, data_path: Path = DATA,
        **overrides: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Fit on the real table, sample, score. Returns (synthetic frame, results dict)."""
    torch.set_num_threads(threads)
    real = pd.read_csv(data_path, skipinitialspace=True)
    cls = {"ctgan": CTGAN, "tvae": TVAE}[model]
    m = cls(epochs=epochs, time_budget_s=budget_s, seed=seed, **overrides)
    t0 = time.perf_counter()
    m.fit(real, table="adult")
    fit_s = time.perf_counter() - t0
    m.sample(1000, seed=seed)  # warm-up
    t1 = time.perf_counter()
    synth = m.sample(n_sample, seed=seed + 1)
    sample_s = time.perf_counter() - t1
    scores = column_scores(m.transformer, real, synth)
    results = {
        "model": model, "rows": len(real), "threads": threads, "time_budget_s": budget_s,
        "epochs_run": m.history[-1]["epoch"] if m.history else None,
        "fit_seconds": round(fit_s, 2), "sample_rows": n_sample,
        "sample_rows_per_s": round(n_sample / sample_s),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "validation_best_score": m.best_score,
        "fidelity_mean": round(sum(scores.values()) / len(scores), 4),
        "fidelity_per_column": {k: round(v, 4) for k, v in scores.items()},
        "history": m.history,
        "note": "shared 2-core CPU: timings are noisy; fidelity = 1 - KS (continuous) / 1 - TV (discrete)",
    }
    return synth, results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="ctgan")
    ap.add_argument("--budget", type=float, default=50.0)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    _, res = run(a.model, a.budget, a.epochs, a.threads)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v for k, v in res.items() if k != "history"}, indent=1))


if __name__ == "__main__":
    main()
