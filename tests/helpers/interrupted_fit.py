"""A small two-table fit that checkpoints every epoch, runnable as a process to be killed part-way
(`python -m tests.helpers.interrupted_fit CHECKPOINT MARKER TABLE EPOCH`): when TABLE reaches EPOCH (0: its
start) it writes MARKER and waits to be killed."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthohive_dbt.config import Metadata
from synthohive_dbt.relational.progress import TableProgress
from synthohive_dbt.relational.synthesizer import Synthesizer

TINY = {"embedding_dim": 16, "generator_dims": (32,), "discriminator_dims": (32,), "pac": 1, "max_steps": None,
        "eval_every": 2}
EPOCHS = 6
SEED = 11


def shop() -> tuple[Metadata, dict[str, pd.DataFrame]]:
    rng = np.random.default_rng(0)
    n = 300
    users = pd.DataFrame({"user_id": np.arange(1, n + 1), "tier": rng.choice(["free", "pro"], n, p=[0.7, 0.3]),
                          "age": rng.integers(18, 80, n)})
    uid = np.repeat(users["user_id"].to_numpy(), rng.integers(0, 4, n))
    orders = pd.DataFrame({"order_id": np.arange(1, len(uid) + 1), "user_id": uid,
                           "amount": rng.gamma(2, 20, len(uid)).round(2),
                           "status": rng.choice(["placed", "shipped", "returned"], len(uid))})
    meta = Metadata()
    meta.add_table("users", pk="user_id")
    meta.add_table("orders", pk="order_id", fk={"user_id": "users.user_id"})
    return meta, {"users": users, "orders": orders}


def fit(checkpoint: Path | None = None, resume: bool = False, progress: Any = None, seed: int | None = SEED,
        backend: str = "CTGAN") -> Synthesizer:
    torch.set_num_threads(1)
    meta, data = shop()
    kwargs = TINY if backend == "CTGAN" else {"hidden_dim": 8, "eval_every": 1}
    synth = Synthesizer(meta, backend=backend, model_kwargs=kwargs)
    return synth.fit(data, epochs=EPOCHS, batch_size=100, seed=seed, progress=progress, checkpoint=checkpoint,
                     resume=resume, checkpoint_every=1)


def main(checkpoint: str, marker: str, table: str, epoch: str, backend: str = "CTGAN") -> None:
    def pause(event: TableProgress) -> None:
        if event.table == table and event.done == int(epoch) and (event.epoch is not None or epoch == "0"):
            Path(marker).write_text("paused")
            time.sleep(600)  # killed here

    fit(Path(checkpoint), progress=pause, backend=backend)


if __name__ == "__main__":
    main(*sys.argv[1:])
