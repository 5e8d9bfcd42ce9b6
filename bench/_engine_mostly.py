"""Engine process for the MOSTLY AI engine in LOCAL mode (`mostlyai[local]`, Apache-2.0; runs in
bench/.venv-mostly, never in the package's environment). Nothing leaves the machine.

The neutral schema becomes a generator config: each table with its primary key; each child's first foreign key
is its context key (the parent it is generated within, the engine's one-context-per-table rule), any further
foreign key (order_items → products) a non-context key. Options (--option KEY=VALUE) go into every table's
tabular_model_configuration, e.g. model=MOSTLY_AI/Small, max_training_time=5 (minutes), value_protection=false.
--epochs sets max_epochs (engine default otherwise).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _engine_common import main  # noqa: E402


def _roots(schema: dict[str, Any]) -> list[str]:
    children = {r["child_table_name"] for r in schema["relationships"]}
    return [t for t in schema["tables"] if t not in children]


def generator_config(tables: dict[str, pd.DataFrame], schema: dict[str, Any],
                     args: argparse.Namespace) -> dict[str, Any]:
    model_cfg: dict[str, Any] = {"enable_model_report": False, **args.options}
    if args.epochs is not None:
        model_cfg["max_epochs"] = args.epochs
    entries = []
    for name, spec in schema["tables"].items():
        fks = [r for r in schema["relationships"] if r["child_table_name"] == name]
        entry: dict[str, Any] = {"name": name, "data": tables[name], "primary_key": spec["primary_key"],
                                 "tabular_model_configuration": dict(model_cfg)}
        if fks:
            entry["foreign_keys"] = [{"column": r["child_foreign_key"], "referenced_table": r["parent_table_name"],
                                      "is_context": i == 0} for i, r in enumerate(fks)]
        entries.append(entry)
    return {"name": f"bench-{args.data.name}", "random_state": args.seed, "tables": entries}


def fit(tables: dict[str, pd.DataFrame], schema: dict[str, Any], args: argparse.Namespace):
    import torch
    from mostlyai.sdk import MostlyAI

    torch.set_num_threads(args.threads)
    home = args.out.parent / f".mostly-home-{args.data.name}"
    shutil.rmtree(home, ignore_errors=True)  # the engine's own store of generators: start each run empty
    home.mkdir(parents=True)
    mostly = MostlyAI(local=True, local_dir=str(home), quiet=True)
    generator = mostly.train(config=generator_config(tables, schema, args), start=True, wait=True,
                             progress_bar=False)
    sizes = {t: len(tables[t]) for t in _roots(schema)}
    return mostly, generator, sizes, list(schema["tables"])


def sample(model, scale: float, args: argparse.Namespace) -> dict[str, pd.DataFrame]:
    """Subject (root) tables sized by `scale`; children follow; no data report (it is not what we time)."""
    mostly, generator, sizes, names = model
    config = {"random_state": args.seed + 1, "tables": [
        {"name": t, "configuration": {"enable_data_report": False,
                                      **({"sample_size": max(1, round(sizes[t] * scale))} if t in sizes else {})}}
        for t in names]}
    dataset = mostly.generate(generator, config=config, start=True, wait=True, progress_bar=False)
    return dataset.data()


def version() -> dict[str, str]:
    from importlib.metadata import version as v

    os.environ.setdefault("MOSTLY_TELEMETRY", "0")
    return {"mostlyai": v("mostlyai"), "mostlyai-engine": v("mostlyai-engine"), "torch": v("torch")}


if __name__ == "__main__":
    main("mostlyai", fit, sample, version)
