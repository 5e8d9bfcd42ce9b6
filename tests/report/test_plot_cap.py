"""Wide projects: the HTML draws at most the capped number of plots, the worst columns first, says so, and
the JSON still has every number."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.errors import ConfigError
from synthohive_dbt.report import evaluate
from synthohive_dbt.report.html import PlotLimits, render_report
from synthohive_dbt.report.plots import relevant_columns

N_COLUMNS = 100
CAP = 20  # the default is 60; a smaller cap tests the same choice in a third of the time (~0.3 s a plot here)
BROKEN = ["c007", "c042", "c093"]  # shifted in the synthetic copy: must be among the plotted columns


def wide_pair(n_rows: int = 300) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """A 100-column table (numeric and categorical) and a faithful copy with three broken columns."""

    def draw(seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        base = rng.normal(0, 1, n_rows)
        cols: dict[str, object] = {}
        for i in range(N_COLUMNS):
            name = f"c{i:03d}"
            if i % 5 == 4:
                cols[name] = rng.choice(["a", "b", "c"], n_rows, p=[0.5, 0.3, 0.2])
            else:
                cols[name] = (0.6 * base + rng.normal(0, 1, n_rows)).round(3)
        return pd.DataFrame(cols)

    real, syn = draw(0), draw(1)
    for name in BROKEN:
        syn[name] = syn[name] + 4.0  # a shape score near 0
    return {"wide": real}, {"wide": syn}


@pytest.fixture(scope="module")
def wide_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict, Path]:
    real, syn = wide_pair()
    result = evaluate(real, syn, privacy_metrics=False)
    html_path, json_path = render_report(result, tmp_path_factory.mktemp("wide") / "wide.html",
                                         limits=PlotLimits(column_plots=CAP))
    return html_path.read_text(), json.loads(json_path.read_text()), html_path


def test_wide_table_draws_at_most_the_cap_worst_first_with_a_note(wide_report) -> None:
    html, data, _ = wide_report
    drawn = re.findall(r'<img alt="distribution of wide\.(c\d{3})" src="data:image/png;base64,', html)
    assert len(drawn) == CAP and PlotLimits().column_plots == 60
    assert set(BROKEN) <= set(drawn)
    # the drawn ones are exactly the lowest scores
    scores = {c["column"]: c["score"] for c in data["columns"]}
    assert len(scores) == N_COLUMNS
    assert max(scores[c] for c in drawn) <= min(s for c, s in scores.items() if c not in drawn)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "80 of 100 distribution plots left out" in text
    assert "the 20 lowest-scoring columns are drawn (limit 20)" in text
    assert "the JSON file has every number" in text
    # every column is still listed in the column table
    assert all(f"<td>c{i:03d}</td>" in html for i in range(N_COLUMNS))


def test_wide_heatmap_shows_twenty_columns(wide_report) -> None:
    html, data, _ = wide_report
    heatmaps = re.findall(r'<img alt="heatmap" src="data:image/png;base64,', html)
    assert len(heatmaps) == 2  # correlation + NMI of the one table
    assert len(data["matrices"][0]["numeric_columns"]) == 80  # the JSON keeps the full matrices


def test_relevant_columns_pick_where_real_and_synthetic_differ() -> None:
    rng = np.random.default_rng(3)
    n = 40
    real = np.corrcoef(rng.normal(size=(n, 200)))
    syn = real.copy()
    for i, j in [(3, 30), (11, 17), (25, 39)]:
        syn[i, j] = syn[j, i] = real[i, j] + 0.9 * (-1 if real[i, j] > 0 else 1)
    syn[5, :] = syn[:, 5] = np.nan  # a column with no scored pairs is no evidence, not an error
    syn[5, 5] = 1.0
    keep = relevant_columns(real, syn, 6)
    assert keep.tolist() == [3, 11, 17, 25, 30, 39]
    assert relevant_columns(real, syn, 50).tolist() == list(range(n))


def test_limits_are_configurable_and_checked(tmp_path: Path) -> None:
    real, syn = wide_pair(120)
    few = {"wide": real["wide"].iloc[:, :12]}, {"wide": syn["wide"].iloc[:, :12]}
    result = evaluate(*few, privacy_metrics=False)
    html_path, _ = render_report(result, tmp_path / "r.html", limits=PlotLimits(column_plots=0, heatmap_tables=0))
    html = html_path.read_text()
    assert 'alt="distribution of' not in html and 'alt="heatmap"' not in html
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "12 of 12 distribution plots left out" in text
    assert "Heatmaps of 1 more table(s) left out" in text
    html_path, _ = render_report(result, tmp_path / "all.html", limits=PlotLimits(heatmap_tables=0))
    html = html_path.read_text()  # under the cap: every plot, no note
    assert len(re.findall(r'alt="distribution of wide\.c\d{3}"', html)) == 12 and 'id="plot-cap"' not in html
    with pytest.raises(ConfigError, match="PlotLimits.heatmap_columns = 1 is too small"):
        PlotLimits(heatmap_columns=1)
