"""The ONE scorer of bench/relational_compare.py (runs in bench/.venv-ref, which has sdmetrics 0.32).

Every engine's synthetic tables are scored by the same code against the same real tables and schema:
SDMetrics' multi-table QualityReport (Column Shapes, Column Pair Trends, Cardinality, Intertable Trends) and
DiagnosticReport (Data Validity, Data Structure, Relationship Validity), plus the planted-trend probes of
bench/_probes.py for the generated shop. Usage:

    bench/.venv-ref/bin/python bench/_score.py --data DATASET_DIR --out scores.json ENGINE=SYNTH_DIR ...
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _engine_common import read_dataset  # noqa: E402
from _probes import PROBES, compare  # noqa: E402


def sdmetrics_metadata(schema: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(schema)
    for key in ("rows", "METADATA_SPEC_VERSION"):
        spec.pop(key, None)
    return spec


def read_synthetic(folder: Path, schema: dict[str, Any], real: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Synthetic CSVs with the real tables' column order and types (dates parsed, as the real ones)."""
    tables = {}
    for name, spec in schema["tables"].items():
        frame = pd.read_csv(folder / f"{name}.csv")
        missing = [c for c in real[name].columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{folder}/{name}.csv lacks column(s) {missing}")
        frame = frame[list(real[name].columns)]
        for col, meta in spec["columns"].items():
            if meta["sdtype"] == "datetime":
                frame[col] = pd.to_datetime(frame[col], format=meta.get("datetime_format"), errors="coerce")
        tables[name] = frame
    return tables


def _properties(report: Any) -> dict[str, float]:
    props = report.get_properties()
    return {str(r["Property"]): (None if pd.isna(r["Score"]) else round(float(r["Score"]), 4))
            for _, r in props.iterrows()}


def score(real: dict[str, pd.DataFrame], synth: dict[str, pd.DataFrame], metadata: dict[str, Any],
          dataset: str) -> dict[str, Any]:
    from sdmetrics.reports.multi_table import DiagnosticReport, QualityReport

    t0 = time.perf_counter()
    quality = QualityReport()
    quality.generate(real, synth, metadata, verbose=False)
    diagnostic = DiagnosticReport()
    diagnostic.generate(real, synth, metadata, verbose=False)
    shapes = quality.get_details("Column Shapes")
    per_table = shapes.groupby("Table")["Score"].mean().round(4).to_dict() if "Table" in shapes else {}
    out: dict[str, Any] = {
        "quality": round(float(quality.get_score()), 4), "quality_properties": _properties(quality),
        "column_shapes_by_table": per_table,
        "diagnostic": round(float(diagnostic.get_score()), 4), "diagnostic_properties": _properties(diagnostic),
        "rows": {t: len(f) for t, f in synth.items()},
    }
    if dataset in PROBES:
        out["planted_trends"] = compare(PROBES[dataset](real), PROBES[dataset](synth))
    out["score_s"] = round(time.perf_counter() - t0, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("engines", nargs="+", metavar="ENGINE=DIR")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    real, schema = read_dataset(args.data)
    metadata = sdmetrics_metadata(schema)
    from importlib.metadata import version

    results: dict[str, Any] = {"sdmetrics": version("sdmetrics"), "engines": {}}
    if args.data.name in PROBES:
        results["real_planted_trends"] = PROBES[args.data.name](real)
    for pair in args.engines:
        engine, folder = pair.split("=", 1)
        try:
            synth = read_synthetic(Path(folder), schema, real)
            results["engines"][engine] = score(real, synth, metadata, args.data.name)
        except (OSError, ValueError, KeyError) as exc:
            results["engines"][engine] = {"error": f"{type(exc).__name__}: {exc}"}
    args.out.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
