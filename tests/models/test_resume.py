"""A fit resumed from a mid-training state ends bit for bit where the uninterrupted fit ends (CPU, one thread)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.models import AutoRegressive, CTGAN, TVAE
from synthohive_dbt.models.base import TrainingState


class Keep:
    """A checkpointer that keeps every state in memory."""

    def __init__(self) -> None:
        self.states: list[TrainingState] = []

    def due(self, epoch: int) -> bool:
        return True

    def save(self, state: TrainingState) -> None:
        self.states.append(state)


def _data(n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    ctx = pd.DataFrame({"tier": rng.choice(["a", "b"], n), "age": rng.integers(18, 80, n).astype(float)})
    data = pd.DataFrame({"status": rng.choice(["paid", "open", "void"], n, p=[0.6, 0.3, 0.1]),
                         "amount": rng.gamma(2.0, 30.0, n) + (ctx["tier"] == "b") * 50})
    return data, ctx


@pytest.mark.parametrize("cls, kwargs", [
    (CTGAN, {"epochs": 6, "batch_size": 100, "max_steps": None, "eval_every": 2,
             "generator_dims": (32,), "discriminator_dims": (32,), "embedding_dim": 16}),
    (TVAE, {"epochs": 6, "batch_size": 100, "eval_every": 2, "compress_dims": (32,), "decompress_dims": (32,),
            "embedding_dim": 8}),
    (AutoRegressive, {"epochs": 8, "batch_size": 64, "eval_every": 1, "patience": 3, "hidden_dim": 8}),
])
def test_resumed_fit_matches_the_uninterrupted_one(cls, kwargs) -> None:
    data, ctx = _data()
    keep = Keep()
    whole = cls(device="cpu", **kwargs).fit(data, ctx, seed=3, table="t", checkpoint=keep)
    assert len(keep.states) >= 2
    expected = whole.sample(200, ctx.iloc[:200], seed=5)
    record = whole.training_metrics()
    assert record.steps > 0 and record.stop_reason is not None and set(cls.step_metrics) <= set(record.series)
    for state in (keep.states[0], keep.states[len(keep.states) // 2]):
        resumed = cls(device="cpu", **kwargs).fit(data, ctx, seed=3, table="t", resume=state)
        pd.testing.assert_frame_equal(resumed.sample(200, ctx.iloc[:200], seed=5), expected)
        assert resumed.training_metrics() == record
