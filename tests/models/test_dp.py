"""Differential privacy: DP-SGD on the CTGAN critic (Opacus), accounting, determinism, refusals, and the
database-level budget split with its report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from synthohive_dbt import Synthesizer
from synthohive_dbt.config import Metadata, PrivacyConfig
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.models import CTGAN, TVAE
from synthohive_dbt.models.dp import DPCritic
from synthohive_dbt.models.layers import Discriminator, init_linear

torch.set_num_threads(1)
DP = {"epochs": 3, "batch_size": 100, "device": "cpu", "time_budget_s": None}


def table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"status": rng.choice(["paid", "open", "void"], n, p=[0.6, 0.3, 0.1]),
                         "amount": rng.gamma(2.0, 30.0, n).round(2)})


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_per_sample_gradient_pairs_the_real_and_the_fake_term_of_one_row() -> None:
    """The privacy argument needs row j's real AND fake term in ONE clipped gradient; Opacus must sum
    the two forward passes by index. If a new Opacus stacked them instead, this would fail."""
    gen = torch.Generator().manual_seed(0)
    critic = Discriminator(4, (8,), 1, 0.0)
    init_linear(critic, gen)
    dp = DPCritic(critic, rows=1000, batch_size=5, planned_steps=10, epsilon=5.0, delta=None, max_grad_norm=1.0,
                  lr=1e-3, betas=(0.5, 0.9), weight_decay=0.0, gen=gen, table="t")
    real, fake = torch.randn(5, 4, generator=gen), torch.randn(5, 4, generator=gen)
    dp.optimizer.zero_grad(set_to_none=True)
    loss = (torch.nn.functional.softplus(-dp.module(real)).sum()
            + torch.nn.functional.softplus(dp.module(fake)).sum())
    loss.backward()
    weight = critic.net[0].weight
    for j in range(5):
        ref = Discriminator(4, (8,), 1, 0.0)
        ref.load_state_dict(critic.state_dict())
        term = (torch.nn.functional.softplus(-ref(real[j:j + 1])) + torch.nn.functional.softplus(ref(fake[j:j + 1])))
        (g,) = torch.autograd.grad(term.sum(), ref.net[0].weight)
        torch.testing.assert_close(weight.grad_sample[j], g)


def test_dp_fit_spends_close_to_the_target_epsilon_and_is_deterministic(tmp_path: Path) -> None:
    data = table()
    a = CTGAN(**DP, dp_epsilon=2.0).fit(data, seed=3)
    spent = a.privacy_spent
    assert spent is not None
    # noise is calibrated for every planned step (3 epochs x 6 steps), so the spend lands just under target
    assert spent.steps == 18 and 1.8 <= spent.epsilon <= 2.0, spent
    assert spent.noise_multiplier > 0.5 and spent.delta == pytest.approx(1e-5)  # 1 / (10 n) would be looser
    assert a.history == []  # nothing was scored on real rows
    b = CTGAN(**DP, dp_epsilon=2.0).fit(data, seed=3)
    pd.testing.assert_frame_equal(a.sample(300, seed=1), b.sample(300, seed=1), check_exact=True)
    a.save(tmp_path / "m")
    loaded = CTGAN.load(tmp_path / "m")
    assert loaded.privacy_spent == spent
    pd.testing.assert_frame_equal(loaded.sample(300, seed=1), a.sample(300, seed=1), check_exact=True)
    synth = a.sample(2000, seed=2)
    assert set(synth["status"]) <= {"paid", "open", "void"}
    assert synth["amount"].between(data["amount"].min(), data["amount"].max()).all()


def test_smaller_epsilon_means_more_noise() -> None:
    def sigma(eps: float) -> float:
        critic = Discriminator(4, (8,), 1, 0.0)
        return DPCritic(critic, rows=600, batch_size=100, planned_steps=18, epsilon=eps, delta=None,
                        max_grad_norm=1.0, lr=1e-3, betas=(0.5, 0.9), weight_decay=0.0,
                        gen=torch.Generator(), table="t").noise_multiplier

    assert sigma(0.5) > 2 * sigma(8.0)


def test_dp_with_a_context_is_refused_with_the_reason() -> None:
    data = table(200)
    ctx = pd.DataFrame({"tier": np.where(np.arange(200) % 2 == 0, "a", "b")})
    with pytest.raises(ConfigError, match="not supported for a model conditioned on a parent context"):
        CTGAN(**DP, dp_epsilon=1.0).fit(data, ctx, seed=1)


def _database() -> tuple[Metadata, dict[str, pd.DataFrame]]:
    rng = np.random.default_rng(0)
    users = pd.DataFrame({"id": np.arange(200), "tier": rng.choice(["a", "b"], 200),
                          "age": rng.integers(18, 80, 200)})
    orders = pd.DataFrame({"oid": np.arange(500), "user_id": rng.integers(0, 200, 500),
                           "amount": rng.gamma(2, 10, 500).round(2)})
    meta = Metadata()
    meta.add_table("users", pk="id")
    meta.add_table("orders", pk="oid", fk={"user_id": "users.id"})
    return meta, {"users": users, "orders": orders}


def test_database_budget_is_split_over_tables_and_reported(tmp_path: Path) -> None:
    meta, data = _database()
    synth = Synthesizer(meta, PrivacyConfig(enable_differential_privacy=True, epsilon=2.0),
                        model_kwargs={"time_budget_s": None})
    synth.fit(data, epochs=2, batch_size=100, seed=1)
    assert synth.plans["orders"].context is None  # children are learned without parent context under DP
    report = synth.privacy_report()
    assert report is not None and set(report["tables"]) == {"users", "orders"}
    assert all(t["target_epsilon"] == pytest.approx(1.0) for t in report["tables"].values())
    assert 1.6 <= report["epsilon_total"] <= 2.0
    out = synth.sample()
    assert out["orders"]["user_id"].isin(out["users"]["id"]).all()
    html, js = synth.generate_validation_report(tmp_path / "r.html")
    saved = json.loads(js.read_text())["differential_privacy"]
    assert saved["epsilon_total"] == report["epsilon_total"]
    page = html.read_text()
    assert "differential privacy: DP-SGD" in page and "Not covered by this epsilon" in page
    assert all(f"<td>{t}</td>" in page for t in ("users", "orders"))
    synth.save(tmp_path / "db.shm")
    assert Synthesizer.load(tmp_path / "db.shm").privacy_report() == report


def test_dp_refuses_what_it_cannot_honour() -> None:
    meta, data = _database()
    with pytest.raises(ConfigError, match="model TVAE has no DP training"):
        Synthesizer(meta, PrivacyConfig(enable_differential_privacy=True), model=TVAE).fit(data, epochs=1)
    meta.tables["orders"].parent_context_cols = ["tier"]
    with pytest.raises(ConfigError, match="sets parent_context_cols, but with differential privacy"):
        Synthesizer(meta, PrivacyConfig(enable_differential_privacy=True)).fit(data, epochs=1)
