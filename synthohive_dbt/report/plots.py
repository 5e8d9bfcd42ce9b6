"""Plots of an EvaluationResult as base64 PNG strings, for a self-contained HTML file.

Figures are built with matplotlib's object API on the Agg canvas (no pyplot, no global backend switch,
no display needed), so rendering is safe in threads, CI and notebooks alike.
"""

from __future__ import annotations

import base64
import io
from textwrap import shorten

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from synthohive_dbt.report.result import ColumnScore, RelationshipScore, TableMatrices, TablePrivacy

REAL = "#4C72B0"
SYNTH = "#DD8452"
DPI = 96
MAX_HEATMAP_COLUMNS = 20
"""Columns per heatmap: beyond ~20 the labels no longer read; the JSON keeps the full matrices."""


def _png(fig: Figure, tight_box: bool = False) -> str:
    """PNG as base64. Simple plots use the tight layout engine (one layout pass); figures with shared
    colorbars need `tight_box` (a second draw, ~2x the cost) for their outer labels to fit."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight" if tight_box else None)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _style(ax, title: str, xlabel: str, ylabel: str) -> None:  # type: ignore[no-untyped-def]
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)


def column_plot(col: ColumnScore) -> str | None:
    """Real vs synthetic distribution: step histograms (numeric, dates) or paired bars (categories)."""
    d = col.distribution
    if d is None:
        return None
    fig = Figure(figsize=(4.6, 2.9), layout="tight")
    ax = fig.add_subplot()
    title = f"{col.column}  ({col.metric.upper()} {col.statistic:.3f}, score {col.score:.2f})"
    if d.edges is not None:
        edges = np.asarray(d.edges)
        x = pd.to_datetime(edges, unit="s") if d.kind == "datetime" else edges
        width = np.diff(edges)
        ax.bar(x[:-1] if d.kind != "datetime" else x[:-1], d.real, width=width / 86400 if d.kind == "datetime"
               else width, align="edge", color=REAL, alpha=0.45, label="real")
        ax.step(x, [*d.synthetic, d.synthetic[-1] if d.synthetic else 0], where="post", color=SYNTH, lw=1.8,
                label="synthetic")
        _style(ax, title, "date" if d.kind == "datetime" else col.column, "share of rows")
        if d.kind == "datetime":
            fig.autofmt_xdate(rotation=30)
    else:
        labels = [shorten(label, 22, placeholder="…") for label in d.labels]
        y = np.arange(len(labels))
        ax.barh(y - 0.2, d.real, height=0.4, color=REAL, label="real")
        ax.barh(y + 0.2, d.synthetic, height=0.4, color=SYNTH, label="synthetic")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        _style(ax, title, "share of non-null rows", "")
        ax.grid(axis="x", alpha=0.3)
        fig.set_figheight(max(2.4, 0.9 + 0.22 * len(labels)))
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def _heat(ax, m: np.ndarray, labels: list[str], title: str, vmin: float, vmax: float, cmap: str,  # type: ignore[no-untyped-def]
          ylabels: bool = True):
    norm = TwoSlopeNorm(vcenter=0.0, vmin=vmin, vmax=vmax) if vmin < 0 < vmax else None
    im = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, norm=norm,
                   vmin=None if norm else vmin, vmax=None if norm else vmax)
    short = [shorten(label, 16, placeholder="…") for label in labels]
    ax.set_xticks(range(len(labels)), short, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), short if ylabels else [], fontsize=7)
    ax.set_title(title, fontsize=10)
    if len(labels) <= 8:
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                if not np.isnan(m[i, j]):
                    r, g, b, _ = im.cmap(im.norm(m[i, j]))
                    dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # text contrast from the cell's luminance
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if dark else "black")
    return im


def relevant_columns(real: np.ndarray, synthetic: np.ndarray, k: int) -> np.ndarray:
    """Indices (in their original order) of the `k` columns whose dependence on the others differs most
    between real and synthetic; ties go to the columns with the strongest real dependence. A reader of a
    capped heatmap should see where the model went wrong, not the first k columns of the table."""
    n = real.shape[0]
    if n <= k:
        return np.arange(n)
    off = ~np.eye(n, dtype=bool)
    diff = np.where(off, np.abs(synthetic - real), np.nan)
    strength = np.where(off, np.abs(real), np.nan)
    worst = np.where(np.isnan(diff), -1.0, diff).max(axis=1)  # a pair not scored counts as no evidence
    strong = np.where(np.isnan(strength), -1.0, strength).max(axis=1)
    order = np.lexsort((np.arange(n), -strong, -worst))  # last key is primary: largest difference first
    return np.sort(order[:k])


def heatmaps(mat: TableMatrices, which: str, max_columns: int = MAX_HEATMAP_COLUMNS) -> str | None:
    """Three panels: real, synthetic, and their difference (synthetic - real); at most `max_columns`
    columns, chosen by `relevant_columns`."""
    if which == "correlation":
        cols, real, syn = mat.numeric_columns, mat.correlation_real, mat.correlation_synthetic
        vmin, cmap, label = -1.0, "RdBu_r", "Pearson correlation"
    else:
        cols, real, syn = mat.columns, mat.nmi_real, mat.nmi_synthetic
        vmin, cmap, label = 0.0, "viridis", "normalised mutual information"
    if len(cols) < 2 or not real:
        return None
    r_all = np.array(real, dtype=float)
    s_all = np.array(syn, dtype=float)
    keep = relevant_columns(r_all, s_all, max(2, max_columns))
    k = len(keep)
    r = r_all[np.ix_(keep, keep)]
    s = s_all[np.ix_(keep, keep)]
    names = [cols[i] for i in keep]
    size = 2.2 + 0.28 * k
    fig = Figure(figsize=(3 * size + 1.2, size + 0.6))
    axes = fig.subplots(1, 3)
    im = _heat(axes[0], r, names, "real", vmin, 1.0, cmap)
    _heat(axes[1], s, names, "synthetic", vmin, 1.0, cmap, ylabels=False)
    fig.colorbar(im, ax=axes[:2], shrink=0.8, label=label)
    diff = s - r
    lim = max(0.1, float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 0.1)
    im_d = _heat(axes[2], diff, names, "synthetic − real", -lim, lim, "PuOr_r", ylabels=False)
    fig.colorbar(im_d, ax=axes[2], shrink=0.8, label="difference")
    suffix = (f" ({k} of {len(cols)} columns: those where real and synthetic differ most)"
              if k < len(cols) else "")
    fig.suptitle(f"{mat.table}: {label}{suffix}", fontsize=11, x=0.02, ha="left")
    return _png(fig, tight_box=True)


def children_plot(rel: RelationshipScore) -> str:
    """Share of parents with 0, 1, 2, ... children, real vs synthetic."""
    fig = Figure(figsize=(5.2, 2.9), layout="tight")
    ax = fig.add_subplot()
    x = np.asarray(rel.counts)
    ax.bar(x - 0.2, rel.parents_real, width=0.4, color=REAL, label="real")
    ax.bar(x + 0.2, rel.parents_synthetic, width=0.4, color=SYNTH, label="synthetic")
    last = len(x) - 1
    ticks = [str(c) for c in x]
    if len(x) == 30:
        ticks[last] = f"{x[last]}+"
    step = max(1, len(x) // 15)
    ax.set_xticks(x[::step], ticks[::step])
    _style(ax, f"{rel.child} → {rel.parent}  (KS {rel.cardinality_ks:.3f})",
           f"{rel.child} rows per {rel.parent} row", "share of parents")
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def dcr_plot(p: TablePrivacy) -> str:
    """Distance to the closest real record: synthetic rows vs real holdout rows."""
    fig = Figure(figsize=(5.2, 2.9), layout="tight")
    ax = fig.add_subplot()
    edges = np.asarray(p.dcr_edges)
    ax.stairs(p.dcr_hist_holdout, edges, color=REAL, fill=True, alpha=0.45, label="real holdout")
    ax.stairs(p.dcr_hist_synthetic, edges, color=SYNTH, lw=1.8, label="synthetic")
    if p.dcr_holdout.get("p5") is not None:
        ax.axvline(p.dcr_holdout["p5"], color=REAL, ls="--", lw=1, label="holdout 5th pct")
    _style(ax, f"{p.table}: distance to closest real record", "DCR (Gower-style, 0 = identical)",
           "share of rows")
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def training_plot(table: str, metric: str, points: list[list[float]], selected_by: bool = False) -> str:
    """One of a model's own training diagnostics over epochs (a small line plot: many fit on a page)."""
    fig = Figure(figsize=(3.4, 2.1), layout="tight")
    ax = fig.add_subplot()
    x = [p[0] for p in points]
    y = [p[1] for p in points]
    ax.plot(x, y, color=REAL if not selected_by else SYNTH, lw=1.4, marker="." if len(x) <= 40 else None)
    _style(ax, shorten(f"{table}: {metric.replace('_', ' ')}", 40), "epoch", "selects weights" if selected_by else "")
    return _png(fig)
