"""The autoregressive AR model: the autoregressive property itself, fidelity, dependence between columns
and on a context, determinism, save/load, refused settings.

It trains in a second or two on these tables, so the tolerances are tighter than CTGAN's: a likelihood
model fits category frequencies to sampling error, where a briefly trained GAN is off by several points.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from synthohive_dbt import Metadata, PrivacyConfig, Synthesizer
from synthohive_dbt.errors import ArtifactError, ConfigError, ModelError
from synthohive_dbt.models import ARConfig, AutoRegressive, load_model
from synthohive_dbt.models.autoregressive import ColumnHeads
from synthohive_dbt.transform import TransformerSettings

torch.set_num_threads(1)


def table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    status = rng.choice(["paid", "open", "void"], n, p=[0.6, 0.3, 0.1])
    amount = np.where(status == "paid", rng.normal(100, 10, n), rng.normal(20, 3, n)).round(2)
    tip = np.where(rng.random(n) < 0.25, np.nan, rng.gamma(2.0, 3.0, n).round(2))
    return pd.DataFrame({"status": status, "amount": amount, "items": rng.integers(1, 500, n),
                         "tip": tip, "flag": rng.random(n) < 0.2})


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return table()


@pytest.fixture(scope="module")
def model(data: pd.DataFrame) -> AutoRegressive:
    return AutoRegressive(device="cpu").fit(data, seed=7)


def test_a_head_never_sees_its_own_or_later_columns() -> None:
    """The autoregressive property: column j's logits depend only on columns before j (and the context)."""
    heads = ColumnHeads([3, 4, 2, 5], hidden=8, context_width=2, dropout=0.0)
    heads.init(torch.Generator().manual_seed(0))
    heads.eval()
    gen = torch.Generator().manual_seed(1)
    tok = torch.stack([torch.randint(0, v, (64,), generator=gen) for v in heads.vocab], dim=1)
    ctx = torch.randn(64, 2, generator=gen)
    base = heads(tok, ctx)
    for j in range(4):
        changed = tok.clone()
        changed[:, j:] = torch.stack([(tok[:, k] + 1) % heads.vocab[k] for k in range(j, 4)], dim=1)
        out = heads(changed, ctx)
        torch.testing.assert_close(out[:, : j + 1], base[:, : j + 1])  # heads <= j: unchanged
        if j < 3:
            assert not torch.allclose(out[:, j + 1:], base[:, j + 1:])  # later heads do see column j
    assert (base[:, 2, 2:] < -1e8).all()  # padding slots of a 2-token column are never drawn


def test_sampling_draws_from_the_trained_conditionals() -> None:
    """The column-by-column sampler (one fused lookup per head) must compute the same distributions as
    the teacher-forced forward pass used in training: each drawn token inverts the CDF at its uniform."""
    heads = ColumnHeads([3, 6, 2, 4], hidden=16, context_width=3, dropout=0.0)
    heads.init(torch.Generator().manual_seed(2))
    heads.eval()
    gen = torch.Generator().manual_seed(3)
    u = torch.rand(4000, 4, generator=gen)
    ctx = torch.randn(4000, 3, generator=gen)
    tok = heads.sample(u, ctx)
    with torch.no_grad():
        logits = heads(tok, ctx)
    for j, v in enumerate(heads.vocab):
        cdf = torch.softmax(logits[:, j, :v], dim=1).cumsum(dim=1)
        expect = torch.searchsorted(cdf, u[:, j:j + 1].contiguous()).clamp(max=v - 1).squeeze(1)
        assert (expect == tok[:, j]).float().mean() > 0.999, j  # float rounding may flip a boundary draw


def test_frequencies_ranges_nulls_and_a_dependence_between_columns(model: AutoRegressive,
                                                                    data: pd.DataFrame) -> None:
    synth = model.sample(6000, seed=1)
    assert list(synth.columns) == list(data.columns)
    assert synth.dtypes.to_dict() == data.dtypes.to_dict()
    freq = synth["status"].value_counts(normalize=True)
    for k, p in {"paid": 0.6, "open": 0.3, "void": 0.1}.items():  # sampling error at 6000 rows: ~0.006
        assert abs(freq.get(k, 0.0) - p) < 0.04, (k, freq.to_dict())
    assert abs(synth["flag"].mean() - data["flag"].mean()) < 0.04
    assert abs(synth["tip"].isna().mean() - data["tip"].isna().mean()) < 0.04  # numeric nulls kept
    for col in ("amount", "items", "tip"):
        assert synth[col].min() >= data[col].min() and synth[col].max() <= data[col].max()
    assert (synth["items"] == synth["items"].round()).all()
    # the dependence: paid rows around 100, the others around 20 (an independent model gives ~68 for both)
    means = synth.groupby("status")["amount"].mean()
    assert means["paid"] == pytest.approx(100, abs=4) and means["open"] == pytest.approx(20, abs=3)
    assert model.best_score is not None and 0.0 < model.best_score <= 1.0
    assert len(model.history) < model.config.epochs  # early stopping on held-out likelihood ended it


def test_fixed_seed_gives_bit_identical_runs(data: pd.DataFrame) -> None:
    small = data.iloc[:800]
    a = AutoRegressive(device="cpu", max_steps=40).fit(small, seed=11)
    torch.manual_seed(999)  # the global RNGs must not matter
    np.random.seed(999)
    b = AutoRegressive(device="cpu", max_steps=40).fit(small, seed=11)
    pd.testing.assert_frame_equal(a.sample(700, seed=5), b.sample(700, seed=5), check_exact=True)
    pd.testing.assert_frame_equal(a.sample(300), b.sample(300), check_exact=True)
    c = AutoRegressive(device="cpu", max_steps=40).fit(small, seed=12)
    assert not a.sample(700, seed=5).equals(c.sample(700, seed=5))


def test_save_load_and_state_round_trip(model: AutoRegressive, tmp_path: Path) -> None:
    before = model.sample(1500, seed=42)
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, AutoRegressive)
    pd.testing.assert_frame_equal(loaded.sample(1500, seed=42), before, check_exact=True)
    tensors, meta = model.state()
    json.dumps(meta)
    pd.testing.assert_frame_equal(AutoRegressive.from_state(tensors, meta).sample(1500, seed=42), before)
    meta = json.loads(json.dumps(meta))
    meta["config"]["hidden_dim"] = 64
    with pytest.raises(ArtifactError, match="the weights do not fit the saved config"):
        AutoRegressive.from_state(tensors, meta)


def test_context_dependence_is_learned() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    tier = rng.integers(1, 4, n)
    ctx = pd.DataFrame({"tier": tier, "region": rng.choice(["n", "s"], n)})
    child = pd.DataFrame({"amount": 10.0 * tier + rng.normal(0, 1, n),
                          "kind": np.where(tier == 3, "big", rng.choice(["a", "b"], n))})
    m = AutoRegressive(device="cpu").fit(child, ctx, seed=1)
    want = pd.DataFrame({"tier": np.repeat([1, 2, 3], 400), "region": "n"})
    out = m.sample(len(want), want, seed=2)
    groups = want["tier"].to_numpy()
    means = out.groupby(groups)["amount"].mean()
    assert means.tolist() == pytest.approx([10, 20, 30], abs=1.5), means.to_dict()
    big = (out["kind"] == "big").groupby(groups).mean()
    assert big[3] > 0.9 and big[1] < 0.1, big.to_dict()
    with pytest.raises(ModelError, match="with a context, n must equal len"):
        m.sample(5, want)


def test_small_tables_hold_rows_out_and_settings_it_cannot_model_are_refused() -> None:
    tiny = table(120, seed=4)
    m = AutoRegressive(device="cpu").fit(tiny, seed=0)
    assert m.history and len(m.sample(50, seed=0)) == 50
    # under 50 rows nothing is held out or scored (selecting on its own rows would reward memorising)
    tinier = AutoRegressive(device="cpu").fit(tiny.iloc[:40], seed=0)
    assert tinier.history == [] and tinier.best_score is None and len(tinier.sample(10, seed=0)) == 10
    with pytest.raises(ConfigError, match="needs numeric_encoding='quantile'"):
        AutoRegressive(device="cpu", transformer=TransformerSettings(numeric_encoding="mode")).fit(tiny)
    meta = Metadata()
    meta.add_table("t", pk=None, columns=list(tiny.columns))
    synth = Synthesizer(meta, privacy_config=PrivacyConfig(enable_differential_privacy=True, epsilon=1.0),
                        backend="AR")
    with pytest.raises(ConfigError, match="model AutoRegressive has no DP training"):
        synth.fit(data={"t": tiny}, seed=0)
    assert ARConfig().transformer.quantile_position == "uniform"
