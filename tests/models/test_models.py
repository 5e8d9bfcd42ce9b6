"""CTGAN and TVAE: fidelity on small data, determinism, save/load, refused artifacts, context, errors.

Small tables and few epochs keep each test to seconds on a shared 2-core CPU; the tolerances below are
those of a briefly trained model, wide enough not to flake, narrow enough that an untrained or broken
model (uniform categories, wrong scale) fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import save

from synthohive_dbt.errors import ArtifactError, DataError, ModelError
from synthohive_dbt.models import CTGAN, TVAE, load_model
from synthohive_dbt.models.conditional import ConditionalSampler

torch.set_num_threads(1)

# 40 epochs of 15 steps: ~600 generator steps, the fewest that give stable marginals on 1500 rows
FAST = {"epochs": 40, "batch_size": 100, "device": "cpu", "eval_every": 10}


def table(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    status = rng.choice(["paid", "open", "void"], n, p=[0.6, 0.3, 0.1])
    amount = np.where(status == "paid", rng.normal(100, 10, n), rng.normal(20, 3, n)).round(2)
    return pd.DataFrame({"status": status, "amount": amount, "items": rng.integers(1, 500, n),
                         "flag": rng.random(n) < 0.2})


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return table()


@pytest.fixture(scope="module")
def ctgan(data: pd.DataFrame) -> CTGAN:
    """A barely trained model: enough for save/load and artifact checks, which test mechanics."""
    return CTGAN(epochs=2, batch_size=100, device="cpu").fit(data.iloc[:500], seed=7)


@pytest.mark.slow  # ~14 s alone, ~25 s when the 2 shared cores are busy
def test_ctgan_reproduces_category_frequencies_and_numeric_ranges(data: pd.DataFrame) -> None:
    ctgan = CTGAN(**FAST).fit(data, seed=7)
    synth = ctgan.sample(3000, seed=1)
    assert list(synth.columns) == list(data.columns)
    assert synth.dtypes.to_dict() == data.dtypes.to_dict()
    freq = synth["status"].value_counts(normalize=True)
    # after ~600 steps frequencies land within +-0.1 (an untrained generator is off by > 0.2: uniform)
    for k, p in {"paid": 0.6, "open": 0.3, "void": 0.1}.items():
        assert abs(freq.get(k, 0.0) - p) < 0.1, (k, freq.to_dict())
    assert abs(synth["flag"].mean() - data["flag"].mean()) < 0.1
    for col in ("amount", "items"):
        assert synth[col].min() >= data[col].min() and synth[col].max() <= data[col].max()
        # within a third of a standard deviation: a wrong scale or a collapsed mode misses by far more
        assert abs(synth[col].mean() - data[col].mean()) < 0.35 * data[col].std(), col
    assert (synth["items"] == synth["items"].round()).all()
    assert ctgan.best_score is not None and ctgan.best_score > 0.7
    assert ctgan.history and all(0.0 <= h["score"] <= 1.0 for h in ctgan.history)


def test_fixed_seed_gives_bit_identical_runs(data: pd.DataFrame) -> None:
    small = data.iloc[:600]
    a = CTGAN(epochs=3, batch_size=100, device="cpu").fit(small, seed=11)
    torch.manual_seed(999)  # touching the global RNG between runs must not matter
    np.random.seed(999)
    b = CTGAN(epochs=3, batch_size=100, device="cpu").fit(small, seed=11)
    pd.testing.assert_frame_equal(a.sample(500, seed=5), b.sample(500, seed=5), check_exact=True)
    pd.testing.assert_frame_equal(a.sample(200), b.sample(200), check_exact=True)  # seedless calls too
    c = CTGAN(epochs=3, batch_size=100, device="cpu").fit(small, seed=12)
    assert not a.sample(500, seed=5).equals(c.sample(500, seed=5))


def test_save_load_sample_matches_and_needs_no_training_data(ctgan: CTGAN, tmp_path: Path) -> None:
    before = ctgan.sample(1000, seed=42)
    ctgan.save(tmp_path / "m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # one file: tensors + JSON state
    loaded = CTGAN.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.sample(1000, seed=42), before, check_exact=True)
    assert isinstance(load_model(tmp_path / "m"), CTGAN)
    tensors, meta = ctgan.state()  # the multi-model path: tensors + JSON-able meta
    json.dumps(meta)
    again = CTGAN.from_state(tensors, meta)
    pd.testing.assert_frame_equal(again.sample(1000, seed=42), before, check_exact=True)


def test_tampered_weights_are_refused(ctgan: CTGAN, tmp_path: Path) -> None:
    ctgan.save(tmp_path / "m")
    w = tmp_path / "m"
    raw = bytearray(w.read_bytes())
    raw[-5] ^= 0xFF
    w.write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match="fails its integrity check") as exc:
        CTGAN.load(tmp_path / "m")
    assert "re-fit and save again" in str(exc.value)


def test_unknown_format_version_and_foreign_shapes_are_refused(ctgan: CTGAN, tmp_path: Path) -> None:
    tensors, meta = ctgan.state()
    header = {"format": "synthohive-dbt", "format_version": "99", "kind": "model", "state": json.dumps(meta)}
    (tmp_path / "m").write_bytes(save(tensors, metadata=header))
    with pytest.raises(ArtifactError, match="has format version '99'; this version reads 3"):
        CTGAN.load(tmp_path / "m")
    tensors, meta = ctgan.state()
    meta = json.loads(json.dumps(meta))
    meta["config"]["generator_dims"] = [128, 128]
    with pytest.raises(ArtifactError, match="the weights do not fit the saved config: .*wrong shape"):
        CTGAN.from_state(tensors, meta)
    with pytest.raises(ArtifactError, match="cannot be loaded as 'TVAE'"):
        TVAE.from_state(*ctgan.state())


@pytest.mark.slow  # ~12 s alone, ~20 s when the 2 shared cores are busy
def test_context_dependence_is_learned() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    tier = rng.integers(1, 4, n)
    ctx = pd.DataFrame({"tier": tier})
    child = pd.DataFrame({"amount": 10.0 * tier + rng.normal(0, 1, n),
                          "kind": np.where(tier == 3, "big", rng.choice(["a", "b"], n))})
    want = pd.DataFrame({"tier": np.repeat([1, 2, 3], 400)})
    # TVAE learns the planted amount ~ 10 x tier (+-1) within seconds; an unconditioned model gives ~20
    tvae = TVAE(epochs=60, batch_size=200, device="cpu", eval_every=20).fit(child, ctx, seed=1)
    means = tvae.sample(len(want), want, seed=2).groupby(want["tier"].to_numpy())["amount"].mean()
    assert means.round().tolist() == pytest.approx([10, 20, 30], abs=2.5), means.to_dict()
    # a GAN learns more slowly: after ~300 steps the discrete dependence is sharp and the numeric one shows
    m = CTGAN(epochs=15, batch_size=100, device="cpu", eval_every=5, generator_lr=1e-3,
              discriminator_lr=1e-3, generator_dims=(128, 128), discriminator_dims=(128, 128))
    m.fit(child, ctx, seed=1)
    out = m.sample(len(want), want, seed=2)
    assert len(out) == len(want)
    big = (out["kind"] == "big").groupby(want["tier"].to_numpy()).mean()
    assert big[3] > 0.6 and big[1] < 0.3, big.to_dict()
    means = out.groupby(want["tier"].to_numpy())["amount"].mean()
    assert means[3] > means[1] + 3, means.to_dict()
    with pytest.raises(ModelError, match="with a context, n must equal len"):
        m.sample(5, want)
    with pytest.raises(ModelError, match="trained with a context, but sample\\(\\) got none"):
        m.sample(5)


def test_tvae_fits_samples_and_round_trips_through_save(data: pd.DataFrame, tmp_path: Path) -> None:
    m = TVAE(epochs=40, batch_size=200, device="cpu", eval_every=10).fit(data, seed=3)
    s = m.sample(3000, seed=1)
    freq = s["status"].value_counts(normalize=True)
    assert abs(freq.get("paid", 0) - 0.6) < 0.1 and abs(freq.get("void", 0) - 0.1) < 0.08, freq.to_dict()
    assert abs(s["amount"].mean() - data["amount"].mean()) < 0.35 * data["amount"].std()
    m.save(tmp_path / "t")
    pd.testing.assert_frame_equal(load_model(tmp_path / "t").sample(500, seed=9), m.sample(500, seed=9))


def test_progress_callback_and_time_budget(data: pd.DataFrame) -> None:
    seen = []
    m = CTGAN(epochs=1000, batch_size=200, device="cpu", time_budget_s=1.5, eval_every=2, max_steps=None)
    m.fit(data.iloc[:600], seed=0, progress=seen.append)
    assert 1 <= len(seen) < 1000 and seen[-1].epochs == 1000
    assert all(set(p.metrics) == {"generator_loss", "discriminator_loss"} for p in seen)
    assert all(np.isfinite(v) for p in seen for v in p.metrics.values())
    assert seen[-1].score is not None  # the last epoch is always scored
    assert m.history[-1]["seconds"] < 10
    record = m.training_metrics()
    assert record.stop_reason == "time_budget" and record.epochs == len(seen) and record.planned_epochs == 1000


def test_step_budget_ends_training_reproducibly_and_small_tables_use_small_batches(data: pd.DataFrame) -> None:
    """The default budget is a step count, not a clock: a fixed seed then gives the same model on a busy
    machine as on a quiet one."""
    seen: list = []
    m = CTGAN(epochs=1000, batch_size=200, device="cpu", max_steps=30, eval_every=5)
    m.fit(data.iloc[:600], seed=0, progress=seen.append)
    assert len(seen) == 10 and seen[-1].epochs == 10  # 3 steps per epoch, 30 steps
    assert [h["epoch"] for h in m.history] == [5, 10]
    small = CTGAN(epochs=2, batch_size=500, device="cpu").fit(data.iloc[:120], seed=0)
    assert small.config.batch_size == 120  # never a batch larger than the table
    # the default budget: 300 steps, one step per 10 rows for smaller tables, never under 100
    assert [CTGAN()._planned_steps(n) for n in (100_000, 1350, 500)] == [300, 135, 100]
    assert CTGAN(epochs=20)._planned_steps(5000) == 20 * 10  # fewer when the epochs end sooner


def test_clear_errors_for_empty_data_all_null_columns_and_misuse() -> None:
    with pytest.raises(DataError, match=r"table 'orders' is empty \(0 rows\)"):
        CTGAN(**FAST).fit(pd.DataFrame({"a": pd.Series([], dtype=float)}), table="orders")
    with pytest.raises(DataError, match=r"column\(s\) \['note'\] contain only nulls"):
        CTGAN(**FAST).fit(pd.DataFrame({"a": [1.0, 2.0, 3.0], "note": [None] * 3}), table="orders")
    with pytest.raises(ModelError, match="is sampled before fit"):
        CTGAN().sample(3)
    with pytest.raises(DataError, match="context has 2 rows but the data has 3"):
        CTGAN(**FAST).fit(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), pd.DataFrame({"p": [1, 2]}))


def test_conditional_sampler_draws_rows_holding_the_condition() -> None:
    rng = np.random.default_rng(0)
    codes = np.stack([rng.choice(3, 10_000, p=[0.9, 0.09, 0.01]), rng.choice(2, 10_000)], axis=1)
    s = ConditionalSampler(codes, [3, 2], [np.array([0.9, 0.09, 0.01]), np.array([0.5, 0.5])])
    b = s.sample_train(20_000, rng)
    held = codes[b.rows, b.column]
    assert (held == b.category).all()  # every real row satisfies its condition
    assert (b.cond.argmax(1) == s.offsets[b.column] + b.category).all()
    first = b.category[b.column == 0]
    p_rare = np.log1p(100) / (np.log1p(9000) + np.log1p(900) + np.log1p(100))
    assert np.mean(first == 2) == pytest.approx(p_rare, abs=0.02)  # log-frequency, not 1%
    orig = s.sample_original(20_000, rng)
    picked0 = orig[:, :3].sum(1) == 1
    assert np.mean(orig[picked0, 2]) == pytest.approx(0.01, abs=0.01)


def test_fused_sampling_generator_matches_the_module() -> None:
    """Sampling folds BatchNorm into the Linear layers and drops the residual concatenations; the result
    must be the module's output up to float rounding."""
    from synthohive_dbt.models.layers import FusedGenerator, Generator, init_linear

    g = Generator(20, (16, 16), 7)
    init_linear(g, torch.Generator().manual_seed(0))
    g.train()
    with torch.no_grad():
        g(torch.randn(64, 20, generator=torch.Generator().manual_seed(1)))  # non-trivial running stats
    g.eval()
    x = torch.randn(32, 20, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        torch.testing.assert_close(FusedGenerator(g)(x), g(x), rtol=1e-5, atol=1e-5)
