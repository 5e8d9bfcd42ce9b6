"""The validation score follows SDMetrics' QualityReport rules; the foreach Adam equals torch's; fit and
sample leave the caller's torch thread count alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthohive_dbt.models import CTGAN
from synthohive_dbt.models.optim import Adam
from synthohive_dbt.models.scoring import quality
from synthohive_dbt.transform import DataTransformer


def linked(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.choice(["x", "y", "z"], n)
    b = np.where(rng.random(n) < 0.9, a, rng.choice(["x", "y", "z"], n))  # strongly associated with a
    return pd.DataFrame({"a": a, "b": b, "noise": rng.choice(["p", "q"], n), "v": rng.normal(50, 10, n)})


def test_pairs_count_only_associated_columns_and_shapes_use_ks_and_tv() -> None:
    real = linked()
    t = DataTransformer().fit(real)
    assert quality(t, real, real) == pytest.approx({"shapes": 1.0, "pairs": 1.0, "fidelity": 1.0})
    broken = real.copy()
    broken["b"] = np.random.default_rng(1).permutation(broken["b"].to_numpy())  # same marginal, link cut
    q = quality(t, real, broken)
    assert q["shapes"] == pytest.approx(1.0)
    # only (a, b) has Cramer's V > 0.3, so pair trends is that one contingency similarity, not an
    # average diluted by the five unrelated pairs (SDMetrics 0.32's rule)
    codes = pd.crosstab(real["a"], real["b"], normalize=True)
    cut = pd.crosstab(broken["a"], broken["b"], normalize=True)
    assert q["pairs"] == pytest.approx(1 - 0.5 * (codes - cut).abs().to_numpy().sum(), abs=1e-9)
    assert q["fidelity"] == pytest.approx((q["shapes"] + q["pairs"]) / 2)


def test_numeric_shape_is_ks_and_a_missing_maximum_is_penalised_like_sdmetrics() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    v = rng.normal(50, 10, n)
    real = pd.DataFrame({"v": v, "c": np.where(v > 50, "hi", "lo")})
    t = DataTransformer().fit(real)
    shifted = real.assign(v=real["v"] + 5.0)
    assert quality(t, real, shifted)["shapes"] == pytest.approx(0.5 + 0.5 * (1 - 0.19), abs=0.03)  # KS ~0.19
    # each frame is binned over its own range: clipping the top 1% moves every bin edge
    clipped = real.assign(v=real["v"].clip(upper=real["v"].quantile(0.99)))
    assert quality(t, real, clipped)["pairs"] < 0.97


def test_foreach_adam_matches_torch_adam() -> None:
    torch.manual_seed(0)
    a = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    b = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    b.load_state_dict(a.state_dict())
    ours = Adam(a.parameters(), lr=1e-2, betas=(0.5, 0.9), weight_decay=1e-3)
    ref = torch.optim.Adam(b.parameters(), lr=1e-2, betas=(0.5, 0.9), weight_decay=1e-3)
    x = torch.randn(32, 8)
    for _ in range(30):
        for net, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            (net(x) ** 2).mean().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_fit_and_sample_restore_the_callers_thread_count() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        m = CTGAN(epochs=1, batch_size=100, threads=1).fit(linked(300))
        assert torch.get_num_threads() == 2
        m.sample(50)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
