"""One KS and one TVD: model selection (models/scoring.py) and the report (report/quality.py) score a column
with the same distance, so the model picked for its selection score is the one the report rates higher."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.metrics import ks_statistic, tvd, tvd_codes
from synthohive_dbt.models.scoring import column_scores
from synthohive_dbt.report import evaluate
from synthohive_dbt.transform import DataTransformer


def test_distances_give_known_values_and_edge_cases() -> None:
    assert ks_statistic(np.arange(10.0), np.arange(5.0, 15.0)) == pytest.approx(0.5)
    assert ks_statistic(np.array([np.nan]), np.array([np.nan])) == 0.0
    assert ks_statistic(np.array([1.0]), np.array([np.nan])) == 1.0
    assert tvd_codes(np.array([0, 0, 1]), np.array([1, 1, 1]), 2) == pytest.approx(2 / 3)
    assert tvd_codes(np.array([], dtype=int), np.array([0]), 1) == 1.0
    assert tvd(np.array(["a", None]), np.array(["a", "a"])) == pytest.approx(0.5)  # None is a value here


def test_ks_equals_scipys_statistic() -> None:
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 500), rng.normal(0.2, 1.3, 700)
    a[:5] = b[:5]  # ties across the samples
    assert ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)


def test_selection_and_report_give_a_column_without_nulls_the_same_shape_score() -> None:
    rng = np.random.default_rng(1)
    real = pd.DataFrame({"v": rng.gamma(2.0, 10.0, 2000), "c": rng.choice(["x", "y", "z"], 2000, p=[.5, .3, .2])})
    synth = pd.DataFrame({"v": rng.gamma(2.2, 10.0, 1500), "c": rng.choice(["x", "y", "z"], 1500)})
    selection = column_scores(DataTransformer().fit(real), real, synth)
    report = {c.column: c.score for c in evaluate({"t": real}, {"t": synth}, privacy_metrics=False).columns}
    assert selection == pytest.approx(report, abs=1e-12)
    assert report["v"] < 1.0 and report["c"] < 1.0
