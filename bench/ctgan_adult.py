"""Fit our CTGAN (or TVAE) on adult.csv; write the synthetic table (CSV) and the timings (JSON).

The contract of bench/ctgan_adult_compare.py, which runs this in its own process and scores the CSV with
SDMetrics:

    .venv/bin/python bench/ctgan_adult.py --data D --out CSV --timings JSON [--model ctgan|tvae|ar]
        [--budget S] [--epochs N] [--threads T] [--set field=value ...]

Defaults are the engine's own (no budget, thread count or epoch override), so the numbers are what a user
gets. Timings on a shared machine are noisy: the load average before and after is recorded with them.
`run()` is importable for quick experiments; its fidelity is our own KS/TV scorer, not SDMetrics.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import pandas as pd

from synthohive_dbt.models.registry import CHOICES, backend_class
from synthohive_dbt.models.scoring import column_scores, quality
from synthohive_dbt.transform import TransformerSettings

DATA = Path(os.environ.get("SYNTHOHIVE_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")) / "data" / "adult.csv"


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run(model: str = "ctgan", data_path: Path = DATA, n_sample: int = 100_000, seed: int = 0,
        **overrides: Any) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Fit on the real table, time sampling of `n_sample` rows, score with our fast scorer.
    Returns (real frame, synthetic frame of n_sample rows, results dict)."""
    load_before = os.getloadavg()
    real = pd.read_csv(data_path, skipinitialspace=True)
    cls = backend_class(model)  # any spelling: "ctgan", "CTGAN"
    kw = dict(overrides)
    if isinstance(kw.get("transformer"), dict):
        kw["transformer"] = TransformerSettings(**kw["transformer"])
    m = cls(seed=seed, **kw)
    t0 = time.perf_counter()
    m.fit(real, table="adult")
    fit_s = time.perf_counter() - t0
    m.sample(1000, seed=seed)  # warm-up (allocator, lazy imports)
    t1 = time.perf_counter()
    synth = m.sample(n_sample, seed=seed + 1)
    sample_s = time.perf_counter() - t1
    scores = column_scores(m.transformer, real, synth)
    results = {
        "engine": f"synthohive {model}", "rows": len(real), "overrides": overrides,
        "epochs_run": m.history[-1]["epoch"] if m.history else None,
        "fit_s": round(fit_s, 2), "sample_rows": n_sample,
        "sample_rows_per_s": round(n_sample / sample_s),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "worker_processes": len(_children()),
        "validation_best_score": m.best_score,
        "quality_ours": {k: round(v, 4) for k, v in quality(m.transformer, real, synth.iloc[:len(real)]).items()},
        "fidelity_per_column": {k: round(v, 4) for k, v in scores.items()},
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "history": m.history,
        "privacy_spent": None if m.privacy_spent is None else m.privacy_spent.to_dict(),
    }
    return real, synth, results


def _children() -> list[str]:
    """Child processes of this one (the target is none: no worker pools)."""
    path = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    return path.read_text().split() if path.exists() else []


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, required=True, help="synthetic CSV (as many rows as the real table)")
    ap.add_argument("--timings", type=Path, required=True, help="JSON with fit/sample timings")
    ap.add_argument("--model", default="ctgan", choices=[c.lower() for c in CHOICES])
    ap.add_argument("--budget", type=float, default=None, help="time_budget_s override")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="any other config override, e.g. --set batch_size=1000 (JSON values)")
    a = ap.parse_args()
    overrides: dict[str, Any] = {}
    if a.budget is not None:
        overrides["time_budget_s"] = a.budget
    if a.epochs is not None:
        overrides["epochs"] = a.epochs
    for item in a.set:
        key, _, value = item.partition("=")
        overrides[key] = _parse_value(value)
    real, synth, res = run(a.model, a.data, seed=a.seed, **overrides)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    synth.iloc[:len(real)].to_csv(a.out, index=False)
    a.timings.parent.mkdir(parents=True, exist_ok=True)
    a.timings.write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v for k, v in res.items() if k not in ("history", "fidelity_per_column")}, indent=1))


if __name__ == "__main__":
    main()
