"""Fit the reference `ctgan` (PyPI, sdv-dev) on adult.csv. Runs ONLY in bench/.venv-ref (never a dependency).

Writes the synthetic frame (CSV) and timings (JSON). Used by ctgan_adult_compare.py; not imported by the package.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import pandas as pd

DISCRETE = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "sex",
            "native-country", "income"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--out", required=True)
    ap.add_argument("--timings", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch
    from ctgan import CTGAN

    torch.manual_seed(args.seed)
    real = pd.read_csv(args.data, skipinitialspace=True)
    model = CTGAN(epochs=args.epochs, verbose=False)
    t0 = time.perf_counter()
    model.fit(real, DISCRETE)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    synth = model.sample(len(real))
    sample_s = time.perf_counter() - t0
    synth.to_csv(args.out, index=False)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump({"engine": "ctgan (PyPI reference)", "epochs": args.epochs, "fit_s": fit_s,
               "sample_rows_per_s": len(real) / sample_s, "peak_rss_mb": peak_mb,
               "torch_threads": torch.get_num_threads()}, open(args.timings, "w"), indent=2)


if __name__ == "__main__":
    main()
