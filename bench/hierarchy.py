"""Shapes of self-references (issue 15): roots, depth, rows per level and children per node, real vs synthetic.

Three org charts (tests/helpers/hierarchy_project.py's generator): `ceo` one root, depth 4, 225 rows; `forest`
6 roots, depth 3, 177 rows; `large` one root, depth 6, 6,746 rows. Each is fitted with AR and CTGAN (small
budgets: the shape does not depend on the model) and sampled at scale 1 and 2, twice: "before" with the
popularity forest (cardinality.forest, what models saved before the shape was learned still draw) and "after"
with the learned shape (relational/hierarchy.py). children KS = KS distance between the real and synthetic
numbers of children per row (leaves included); at scale 2 the real distribution is compared as is.

    PYTHONPATH=. .venv/bin/python bench/hierarchy.py

Results: bench/results/hierarchy.json.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from synthohive_dbt import Synthesizer  # noqa: E402
from synthohive_dbt.config import Metadata  # noqa: E402
from synthohive_dbt.metrics import ks_statistic  # noqa: E402
from synthohive_dbt.relational.hierarchy import children_per_node, shape_of  # noqa: E402
from synthohive_dbt.relational.cardinality import match_parents  # noqa: E402
from tests.helpers.hierarchy_project import org_chart  # noqa: E402

OUT = HERE / "results" / "hierarchy.json"
DATA = {"ceo": dict(seed=0), "forest": dict(seed=2, roots=6, reports=(3, 3, 2)),
        "large": dict(seed=1, reports=(6, 5, 4, 4, 3, 3))}


def _parents(frame: pd.DataFrame) -> np.ndarray:
    return match_parents(frame[["manager_id"]], frame[["employee_id"]])


def _measure(real: pd.DataFrame, out: pd.DataFrame) -> dict:
    shape = shape_of(out, ["manager_id"], ["employee_id"])
    return {"rows": len(out), "roots": shape.roots, "depth": shape.depth, "levels": shape.levels,
            "children_ks": round(ks_statistic(children_per_node(_parents(real)), children_per_node(_parents(out))),
                                 4),
            "dangling": int((~out["manager_id"].dropna().isin(out["employee_id"])).sum())}


def main() -> None:
    real = {name: org_chart(**kw) for name, kw in DATA.items()}
    results: dict = {"real": {}}
    for name, frame in real.items():
        s = shape_of(frame, ["manager_id"], ["employee_id"])
        results["real"][name] = {"rows": len(frame), "roots": s.roots, "depth": s.depth, "levels": s.levels}
    for backend in ("AR", "CTGAN"):
        meta = Metadata()
        for name in real:
            meta.add_table(name, pk="employee_id", fk={"manager_id": f"{name}.employee_id"})
        started = time.perf_counter()
        synth = Synthesizer(meta, backend=backend).fit(real, epochs=5, batch_size=500, seed=0)
        fit_s = time.perf_counter() - started
        after = dict(synth.plans)
        before = {n: replace(p, foreign_keys=[replace(f, hierarchy=None) for f in p.foreign_keys])
                  for n, p in after.items()}
        res: dict = {"fit_s": round(fit_s, 1)}
        for label, plans in (("before", before), ("after", after)):
            synth.plans = plans
            for scale in (1.0, 2.0):
                started = time.perf_counter()
                out = synth.sample(scale=scale, seed=1, evaluate=False)
                took = time.perf_counter() - started
                res[f"{label}_scale{scale:g}"] = {**{n: _measure(real[n], out[n]) for n in real},
                                                   "sample_s": round(took, 2)}
        synth.plans = after
        results[backend] = res
        print(backend, json.dumps(res, indent=1))
    OUT.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
