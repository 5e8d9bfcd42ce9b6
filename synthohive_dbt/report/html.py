"""The report: one self-contained HTML file (inline CSS, base64 PNG plots, no network) plus a JSON twin.

The HTML is for a person (summary scores first, then the evidence); the JSON holds every number for CI.
Jinja2 with autoescaping renders it, so table and column names can never inject markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment

from synthohive_dbt.errors import ConfigError
from synthohive_dbt.report import plots
from synthohive_dbt.report.gates import QualityGates, gate_misses
from synthohive_dbt.report.result import SCORE_NAMES, ColumnScore, EvaluationResult, TableMatrices, clean_json

WORST_PAIRS = 15


@dataclass(frozen=True)
class PlotLimits:
    """How many plots one report draws. A project with hundreds of columns must still give a file that opens
    in a browser in seconds and shows its problems first; the tables and the JSON twin keep every number."""

    column_plots: int = 60  # distribution plots in total, lowest column-shape score first
    heatmap_columns: int = plots.MAX_HEATMAP_COLUMNS  # per heatmap: where real and synthetic differ most
    heatmap_tables: int = 10  # tables with heatmaps, lowest mean pair-trend score first
    training_plots: int = 60  # training curves in total (one per table and metric), in training order

    def __post_init__(self) -> None:
        for name in ("column_plots", "heatmap_columns", "heatmap_tables", "training_plots"):
            if getattr(self, name) < 0 or (name == "heatmap_columns" and self.heatmap_columns < 2):
                raise ConfigError(f"PlotLimits.{name} = {getattr(self, name)} is too small",
                                  hint="use 0 or more plots (0 draws none) and at least 2 heatmap columns")


# the page and its style are files of the package (report/templates/), read when a report is rendered
_TEMPLATES = resources.files("synthohive_dbt.report").joinpath("templates")


def _template(name: str) -> str:
    """A template file's text: HTML and CSS are edited as files (highlighting, diffs), not Python strings."""
    return _TEMPLATES.joinpath(name).read_text(encoding="utf-8")


def _grade(value: float | None) -> str:
    if value is None:
        return "na"
    return "good" if value >= 0.9 else "fair" if value >= 0.75 else "bad"


def _env() -> Environment:
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["grade"] = _grade
    env.filters["score"] = lambda v: "n/a" if v is None else f"{v:.3f}"
    env.filters["num"] = lambda v: "" if v is None else f"{v:.3f}"
    env.filters["status_grade"] = lambda s: ("good" if s in ("pass", "success")
                                             else "fair" if s in ("warn", "skipped", "skip") else "bad")
    return env


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _plotted_columns(columns: list[ColumnScore], limit: int) -> set[tuple[str, str]]:
    """The (table, column) pairs that get a plot: the `limit` lowest scores, so problems are always shown."""
    plottable = sorted((c for c in columns if c.distribution is not None),
                       key=lambda c: (c.score, c.table, c.column))
    return {(c.table, c.column) for c in plottable[:limit]}


def _heatmap_tables(result: EvaluationResult, limit: int) -> list[TableMatrices]:
    """Tables with matrices, weakest mean pair trend first, at most `limit` (report order kept)."""
    pair_means = {m.table: _mean([p.score for p in result.pairs if p.table == m.table]) for m in result.matrices}
    ranked = sorted(result.matrices, key=lambda m: (1.0 if pair_means[m.table] is None else pair_means[m.table],
                                                   m.table))
    chosen = {m.table for m in ranked[:limit]}
    return [m for m in result.matrices if m.table in chosen]


def _context(result: EvaluationResult, gates: QualityGates | None, limits: PlotLimits) -> dict[str, Any]:
    plotted = _plotted_columns(result.columns, limits.column_plots)
    plottable = sum(c.distribution is not None for c in result.columns)
    tables = []
    for name, rows in result.tables.items():
        cols = [c for c in result.columns if c.table == name]
        prs = [p.score for p in result.pairs if p.table == name]
        images = [(c.column, img) for c in cols
                  if (c.table, c.column) in plotted and (img := plots.column_plot(c)) is not None]
        tables.append({"name": name, **rows, "columns": cols, "shapes": _mean([c.score for c in cols]),
                       "pairs": _mean(prs), "column_plots": images,
                       "plots_left_out": sum(c.distribution is not None for c in cols) - len(images)})
    heat = []
    chosen = _heatmap_tables(result, limits.heatmap_tables)
    for m in chosen:
        for which in ("correlation", "nmi"):
            img = plots.heatmaps(m, which, limits.heatmap_columns)
            if img:
                heat.append(img)
    training, training_left_out = _training(result, limits.training_plots)
    ordered = [(k, result.scores.get(k)) for k in ("overall", *SCORE_NAMES, "dbt_tests")]
    return {
        "css": _template("report.css"), "scores": ordered, "tables": tables,
        "plots_total": plottable, "plots_shown": len(plotted), "plots_left_out": plottable - len(plotted),
        "plot_limit": limits.column_plots,
        "gates": gates, "misses": [str(m) for m in gate_misses(result, gates)] if gates is not None else [],
        "worst_pairs": sorted(result.pairs, key=lambda p: p.score)[:WORST_PAIRS], "n_pairs": len(result.pairs),
        "heatmaps": heat, "heatmaps_left_out": len(result.matrices) - len(chosen),
        "relationships": result.relationships,
        "children_plots": [plots.children_plot(r) for r in result.relationships],
        "constraints": result.constraints, "rules": result.rules, "dbt_tests": result.dbt_tests, "privacy": result.privacy,
        "dcr_plots": [plots.dcr_plot(p) for p in result.privacy],
        "pii_leaks": result.pii_leaks, "pii_findings": result.pii_findings, "value_overlap": result.value_overlap,
        "skipped": result.skipped, "notes": result.notes, "dp": result.differential_privacy,
        "training": training, "training_left_out": training_left_out, "training_limit": limits.training_plots,
    }


def _training(result: EvaluationResult, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Per trained table: what ran and one small curve per metric (at most `limit` curves in all)."""
    rows, drawn, left_out = [], 0, 0
    for table, record in result.training.items():
        series = record.get("series") or {}
        images = []
        for metric, points in series.items():
            if not points:
                continue
            if drawn >= limit:
                left_out += 1
                continue
            images.append((metric, plots.training_plot(table, metric, points, metric == record.get("score_name"))))
            drawn += 1
        rows.append({"table": table, "epochs": record.get("epochs"), "planned_epochs": record.get("planned_epochs"),
                     "steps": record.get("steps"), "stopped_by": record.get("stopped_by") or "n/a",
                     "metrics": list(series), "plots": images})
    return rows, left_out


def render_html(result: EvaluationResult, gates: QualityGates | None = None,
                limits: PlotLimits | None = None) -> str:
    """The report as one HTML string (plots inline, at most as many as `limits` allow)."""
    return _env().from_string(_template("report.html")).render(**_context(result, gates, limits or PlotLimits()))


def render_report(result: EvaluationResult, path: str | Path,
                  gates: QualityGates | None = None, limits: PlotLimits | None = None) -> tuple[Path, Path]:
    """Write `path` (HTML) and the same name with `.json` (every number); returns both paths.

    With `gates`, the summary says which gates were missed; it does not raise (call `check_gates`).
    `limits` caps the plots of wide projects (see PlotLimits); the JSON always has every number.
    """
    html_path = Path(path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(result, gates, limits), encoding="utf-8")
    json_path = html_path.with_suffix(".json")
    data = result.to_dict()
    if gates is not None:
        misses = gate_misses(result, gates)
        data["gates"] = {"passed": not misses, "thresholds": gates.model_dump(mode="json"),
                         "misses": [{"gate": m.gate, "where": m.where, "value": m.value, "threshold": m.threshold}
                                    for m in misses]}
    json_path.write_text(json.dumps(clean_json(data), indent=2, allow_nan=False), encoding="utf-8")
    return html_path, json_path
