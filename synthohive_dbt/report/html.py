"""The report: one self-contained HTML file (inline CSS, base64 PNG plots, no network) plus a JSON twin.

The HTML is for a person (summary scores first, then the evidence); the JSON holds every number for CI.
Jinja2 with autoescaping renders it, so table and column names can never inject markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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

_CSS = """
body{font:14px/1.45 -apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1f2328;margin:0;background:#f6f8fa}
main{max-width:1320px;margin:0 auto;padding:24px 32px;background:#fff}
h1{font-size:24px;margin:0 0 4px} h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px} .muted{color:#656d76}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px} th,td{padding:4px 10px;border-bottom:1px solid #eaeef2;text-align:left}
th{background:#f6f8fa;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{border:1px solid #d0d7de;border-radius:8px;padding:10px 14px;min-width:128px;flex:1}
.card .v{font-size:26px;font-weight:600} .card .k{font-size:12px;color:#656d76;text-transform:uppercase;letter-spacing:.04em}
.good{color:#1a7f37} .fair{color:#9a6700} .bad{color:#cf222e} .na{color:#8c959f}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.badge.good{background:#dafbe1} .badge.fair{background:#fff8c5} .badge.bad{background:#ffebe9}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:10px}
.grid img,.wide img{max-width:100%;border:1px solid #eaeef2;border-radius:6px}
.gate{border-left:4px solid #cf222e;background:#fff5f5;padding:8px 14px;margin:8px 0}
.gate.ok{border-color:#1a7f37;background:#f0fff4} ul{margin:4px 0}
.note{border-left:4px solid #0969da;background:#f1f8ff;padding:8px 14px;margin:8px 0}
nav a{margin-right:14px;font-size:13px}
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>synthohive-dbt quality report</title><style>{{ css|safe }}</style></head>
<body><main>
<h1>Synthetic data quality report</h1>
<div class="muted">{{ tables|length }} table(s) compared · scores in [0, 1], higher is better ·
 column shape = 1 − KS or 1 − TVD; pair trend = 1 − |Δcorr|/2 or contingency similarity</div>
<nav><a href="#summary">Summary</a><a href="#columns">Columns</a><a href="#pairs">Pairs</a>
<a href="#relationships">Relationships</a><a href="#constraints">Constraints</a><a href="#dbt">dbt tests</a>
<a href="#privacy">Privacy</a><a href="#training">Training</a><a href="#notes">Notes</a></nav>

<h2 id="summary">Summary</h2>
<div class="cards">
{% for name, value in scores %}<div class="card"><div class="k">{{ name|replace('_', ' ') }}</div>
<div class="v {{ value|grade }}">{{ value|score }}</div></div>{% endfor %}
</div>
{% if gates is not none %}
 {% if misses %}<div class="gate"><b>{{ misses|length }} gate(s) missed</b><ul>
 {% for m in misses %}<li>{{ m }}</li>{% endfor %}</ul></div>
 {% else %}<div class="gate ok"><b>All quality and privacy gates passed.</b></div>{% endif %}
{% endif %}
<table><tr><th>table</th><th>real rows</th><th>synthetic rows</th><th>column shapes</th><th>pair trends</th></tr>
{% for t in tables %}<tr><td>{{ t.name }}</td><td class="num">{{ t.rows_real }}</td><td class="num">{{ t.rows_synthetic }}</td>
<td class="num {{ t.shapes|grade }}">{{ t.shapes|score }}</td><td class="num {{ t.pairs|grade }}">{{ t.pairs|score }}</td></tr>{% endfor %}
</table>

<h2 id="columns">Columns</h2>
{% if plots_left_out %}<p class="note" id="plot-cap"><b>{{ plots_left_out }} of {{ plots_total }} distribution plots
 left out</b> to keep this page light: the {{ plots_shown }} lowest-scoring columns are drawn (limit
 {{ plot_limit }}). Every column is listed with its scores in the tables below, and the JSON file has every number.</p>{% endif %}
{% for t in tables %}{% if t.columns %}
<h3>{{ t.name }}</h3>
<table><tr><th>column</th><th>kind</th><th>metric</th><th>statistic</th><th>score</th><th>null rate real</th><th>null rate synthetic</th></tr>
{% for c in t.columns %}<tr><td>{{ c.column }}</td><td>{{ c.kind }}</td><td>{{ c.metric|upper }}</td>
<td class="num">{{ '%.3f'|format(c.statistic) }}</td><td class="num"><span class="badge {{ c.score|grade }}">{{ c.score|score }}</span></td>
<td class="num">{{ '%.1f%%'|format(100 * c.null_rate_real) }}</td><td class="num">{{ '%.1f%%'|format(100 * c.null_rate_synthetic) }}</td></tr>{% endfor %}
</table>
{% if t.plots_left_out %}<p class="muted">{{ t.plots_left_out }} of this table's plots left out (scores above).</p>{% endif %}
<div class="grid">{% for column, img in t.column_plots %}<img alt="distribution of {{ t.name }}.{{ column }}" src="data:image/png;base64,{{ img }}">{% endfor %}</div>
{% endif %}{% endfor %}

<h2 id="pairs">Column pairs</h2>
{% if worst_pairs %}
<p class="muted">The {{ worst_pairs|length }} weakest of {{ n_pairs }} scored pairs (MI drift = |NMI real − NMI synthetic|).</p>
<table><tr><th>table</th><th>columns</th><th>metric</th><th>real</th><th>synthetic</th><th>score</th><th>MI drift</th></tr>
{% for p in worst_pairs %}<tr><td>{{ p.table }}</td><td>{{ p.column_a }} × {{ p.column_b }}</td><td>{{ p.metric }}</td>
<td class="num">{{ p.real_correlation|num }}</td><td class="num">{{ p.synthetic_correlation|num }}</td>
<td class="num"><span class="badge {{ p.score|grade }}">{{ p.score|score }}</span></td><td class="num">{{ '%.3f'|format(p.mi_drift) }}</td></tr>{% endfor %}
</table>{% else %}<p class="muted">No table has two comparable columns.</p>{% endif %}
{% if heatmaps_left_out %}<p class="muted">Heatmaps of {{ heatmaps_left_out }} more table(s) left out (the
 {{ heatmaps|length }} shown are of the tables with the weakest pair trends); the JSON file has every matrix.</p>{% endif %}
{% for img in heatmaps %}<div class="wide"><img alt="heatmap" src="data:image/png;base64,{{ img }}"></div>{% endfor %}

<h2 id="relationships">Relationships</h2>
{% if relationships %}
<table><tr><th>foreign key</th><th>orphans</th><th>orphan rate</th><th>childless parents real</th><th>childless synthetic</th>
<th>children / parent real</th><th>synthetic</th><th>cardinality score</th></tr>
{% for r in relationships %}<tr><td>{{ r.child }}{{ r.foreign_key }}</td><td class="num">{{ r.orphans }}</td>
<td class="num {{ (1 - r.orphan_rate)|grade }}">{{ '%.2f%%'|format(100 * r.orphan_rate) }}</td>
<td class="num">{{ '%.1f%%'|format(100 * r.childless_share_real) }}</td><td class="num">{{ '%.1f%%'|format(100 * r.childless_share_synthetic) }}</td>
<td class="num">{{ '%.2f'|format(r.mean_children_real) }}</td><td class="num">{{ '%.2f'|format(r.mean_children_synthetic) }}</td>
<td class="num"><span class="badge {{ r.cardinality_score|grade }}">{{ r.cardinality_score|score }}</span></td></tr>{% endfor %}
</table>
<div class="grid">{% for img in children_plots %}<img alt="children per parent" src="data:image/png;base64,{{ img }}">{% endfor %}</div>
{% else %}<p class="muted">No foreign keys between the compared tables.</p>{% endif %}

<h2 id="constraints">Declared constraints (on synthetic rows)</h2>
{% if constraints %}
<table><tr><th>table</th><th>column</th><th>check</th><th>detail</th><th>severity</th><th>violations</th><th>result</th></tr>
{% for c in constraints %}<tr><td>{{ c.table }}</td><td>{{ c.column }}</td><td>{{ c.check }}</td><td>{{ c.detail }}</td><td>{{ c.severity }}</td>
<td class="num">{{ c.violations }} / {{ c.rows }}</td><td>{% if c.passed %}<span class="badge good">pass</span>{% else %}<span class="badge bad">fail</span>{% endif %}</td></tr>{% endfor %}
</table>{% else %}<p class="muted">No constraints declared.</p>{% endif %}

<h2 id="dbt">dbt tests</h2>
{% if dbt_tests %}
<table><tr><th>test</th><th>status</th><th>failures</th></tr>
{% for t in dbt_tests %}<tr><td>{{ t.name }}</td><td><span class="badge {{ t.status|status_grade }}">{{ t.status }}</span></td>
<td class="num">{{ t.failures if t.failures is not none else '' }}</td></tr>{% endfor %}
</table>{% else %}<p class="muted">No dbt test outcomes were given.</p>{% endif %}

<h2 id="privacy">Privacy</h2>
{% if privacy %}
<table><tr><th>table</th><th>exact copies of real rows</th><th>holdout's natural duplicates</th><th>DCR p5 synthetic</th>
<th>DCR p5 holdout</th><th>DCR median synthetic</th><th>DCR median holdout</th><th>holdout</th></tr>
{% for p in privacy %}<tr><td>{{ p.table }}</td><td class="num">{{ p.exact_copies }} ({{ '%.2f%%'|format(100 * p.exact_copy_share) }})</td>
<td class="num">{{ '%.2f%%'|format(100 * p.holdout_copy_share) }}</td>
<td class="num">{{ p.dcr_synthetic.get('p5')|num }}</td><td class="num">{{ p.dcr_holdout.get('p5')|num }}</td>
<td class="num">{{ p.dcr_synthetic.get('median')|num }}</td><td class="num">{{ p.dcr_holdout.get('median')|num }}</td>
<td>{{ p.holdout_source }} ({{ p.holdout_rows }} rows)</td></tr>{% endfor %}
</table>
<div class="grid">{% for img in dcr_plots %}<img alt="DCR" src="data:image/png;base64,{{ img }}">{% endfor %}</div>
{% else %}<p class="muted">Privacy metrics were not computed.</p>{% endif %}
<h3>PII found verbatim in the synthetic output</h3>
{% if pii_leaks %}<table><tr><th>synthetic column</th><th>real PII column</th><th>distinct values</th><th>rows</th></tr>
{% for l in pii_leaks %}<tr><td class="bad">{{ l.table }}.{{ l.column }}</td><td>{{ l.source_table }}.{{ l.source_column }}</td>
<td class="num">{{ l.leaked_values }}</td><td class="num">{{ l.leaked_rows }}</td></tr>{% endfor %}</table>
{% else %}<p class="good">None: no real value of a PII column appears in the output.</p>{% endif %}
<h3>Real values in generated columns</h3>
{% if value_overlap %}<p class="muted">Keys, identifiers, faked and free-text columns are generated, not learned. In a
large value space no written value may be a real one; integer keys meet real values by chance.</p>
<table><tr><th>column</th><th>role</th><th>value space</th><th>distinct written</th><th>of them real</th>
<th>expected by chance</th></tr>
{% for o in value_overlap %}<tr><td class="{{ '' if o.ok else 'bad' }}">{{ o.table }}.{{ o.column }}</td><td>{{ o.role }}</td>
<td>{{ o.value_space }}</td><td class="num">{{ o.written_distinct }}</td><td class="num">{{ o.in_real }}</td>
<td class="num">{{ o.expected_by_chance|num if o.expected_by_chance is not none else '-' }}</td></tr>{% endfor %}</table>
{% else %}<p class="muted">No generated key, identifier, faked or free-text column.</p>{% endif %}
{% if pii_findings %}<h3>PII detected (for review)</h3>
<table><tr><th>table</th><th>column</th><th>kind</th><th>confidence</th><th>reason</th></tr>
{% for f in pii_findings %}<tr><td>{{ f.table }}</td><td>{{ f.column }}</td><td>{{ f.kind }}</td>
<td class="num">{{ '%.2f'|format(f.confidence) }}</td><td>{{ f.reason }}</td></tr>{% endfor %}</table>{% endif %}
<h3>Differential privacy</h3>
{% if dp %}<p>{{ dp.mechanism }}. Spent: <b>epsilon {{ '%.3g'|format(dp.epsilon_total) }}</b>, delta
{{ '%.1e'|format(dp.delta_total) }} in total (the worst case: one person with rows in every table).</p>
<table><tr><th>table</th><th>epsilon</th><th>target</th><th>delta</th><th>noise multiplier</th><th>sample rate</th>
<th>steps</th><th>clip norm</th></tr>
{% for name, t in dp.tables.items() %}<tr><td>{{ name }}</td><td class="num">{{ '%.3g'|format(t.epsilon) }}</td>
<td class="num">{{ '%.3g'|format(t.target_epsilon) }}</td><td class="num">{{ '%.1e'|format(t.delta) }}</td>
<td class="num">{{ '%.3g'|format(t.noise_multiplier) }}</td><td class="num">{{ '%.4f'|format(t.sample_rate) }}</td>
<td class="num">{{ t.steps }}</td><td class="num">{{ t.max_grad_norm }}</td></tr>{% endfor %}</table>
<p>Not covered by this epsilon:</p><ul>{% for n in dp.not_covered %}<li>{{ n }}</li>{% endfor %}</ul>
{% if dp.copied_tables %}<p>Copied as is (no protection): {{ dp.copied_tables|join(', ') }}</p>{% endif %}
{% else %}<p class="muted">Off: the models were trained without differential privacy (enable it with
<code>PrivacyConfig(enable_differential_privacy=True)</code> or <code>--dp-epsilon</code>).</p>{% endif %}

<h2 id="training">Training</h2>
{% if training %}
<p class="muted">What each table's model ran and its own diagnostics per epoch (a GAN's generator and
 discriminator losses, a VAE's reconstruction and KL, the AR model's training and held-out likelihood).</p>
<table><tr><th>table</th><th>epochs</th><th>steps</th><th>stopped by</th><th>metrics</th></tr>
{% for t in training %}<tr><td>{{ t.table }}</td><td class="num">{{ t.epochs }} / {{ t.planned_epochs }}</td>
<td class="num">{{ t.steps }}</td><td>{{ t.stopped_by }}</td><td>{{ t.metrics|join(', ') }}</td></tr>{% endfor %}
</table>
{% if training_left_out %}<p class="muted">{{ training_left_out }} training curve(s) left out (limit
 {{ training_limit }}); the JSON file has every series.</p>{% endif %}
<div class="grid">{% for t in training %}{% for metric, img in t.plots %}<img alt="{{ t.table }}: {{ metric }}" src="data:image/png;base64,{{ img }}">{% endfor %}{% endfor %}</div>
{% else %}<p class="muted">No training record: the tables were not learned by a model, or the model was saved
 before training records were kept.</p>{% endif %}

<h2 id="notes">Notes</h2>
{% if skipped %}<h3>Columns not scored</h3><table><tr><th>table</th><th>column</th><th>reason</th></tr>
{% for s in skipped %}<tr><td>{{ s.table }}</td><td>{{ s.column }}</td><td>{{ s.reason }}</td></tr>{% endfor %}</table>{% endif %}
{% if notes %}<ul>{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
<p class="muted">Every number on this page is also in the JSON file written next to it.</p>
</main></body></html>
"""


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
        "css": _CSS, "scores": ordered, "tables": tables,
        "plots_total": plottable, "plots_shown": len(plotted), "plots_left_out": plottable - len(plotted),
        "plot_limit": limits.column_plots,
        "gates": gates, "misses": [str(m) for m in gate_misses(result, gates)] if gates is not None else [],
        "worst_pairs": sorted(result.pairs, key=lambda p: p.score)[:WORST_PAIRS], "n_pairs": len(result.pairs),
        "heatmaps": heat, "heatmaps_left_out": len(result.matrices) - len(chosen),
        "relationships": result.relationships,
        "children_plots": [plots.children_plot(r) for r in result.relationships],
        "constraints": result.constraints, "dbt_tests": result.dbt_tests, "privacy": result.privacy,
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
    return _env().from_string(_TEMPLATE).render(**_context(result, gates, limits or PlotLimits()))


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
