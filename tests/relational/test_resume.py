"""A fit killed part-way (SIGKILL: no cleanup runs) resumes from its checkpoint: finished tables are not
retrained, and the table in progress continues to the same model as an uninterrupted fit (CPU, one thread),
so the samples are identical."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from synthohive_dbt.errors import CheckpointError
from synthohive_dbt.models.artifact import read_artifact
from synthohive_dbt.relational.progress import TableProgress
from tests.helpers import interrupted_fit

REPO = Path(__file__).resolve().parents[2]


def _killed_at(tmp_path: Path, table: str, epoch: int, backend: str = "CTGAN") -> Path:
    """Run the fit in a process, SIGKILL it once `table` reaches `epoch`; returns its checkpoint."""
    ckpt, marker = tmp_path / "fit.checkpoint", tmp_path / "paused"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "tests.helpers.interrupted_fit", str(ckpt), str(marker), table,
                             str(epoch), backend], cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, f"the fit ended (rc {proc.returncode}) before reaching {table} {epoch}"
            assert time.monotonic() < deadline, "the fit did not reach its pause point in 120 s"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    return ckpt


def _sample(synth) -> dict[str, pd.DataFrame]:
    return synth.sample(scale=1.0, seed=5)


@pytest.fixture(scope="module")
def uninterrupted() -> dict[str, pd.DataFrame]:
    return _sample(interrupted_fit.fit())


@pytest.mark.parametrize("epoch", [3, 0], ids=["mid-table", "after-first-table"])
def test_killed_fit_resumes_to_the_uninterrupted_result(tmp_path: Path, uninterrupted, epoch: int) -> None:
    ckpt = _killed_at(tmp_path, "orders", epoch)
    state, _ = read_artifact(ckpt, kind="checkpoint")
    assert list(state["done"]) == ["users"]
    if epoch:
        assert state["current"]["table"] == "orders" and state["current"]["meta"]["epoch"] == epoch
    else:
        assert state["current"] is None
    events: list[TableProgress] = []
    resumed = interrupted_fit.fit(ckpt, resume=True, progress=events.append, seed=None)  # the checkpoint's seed
    assert resumed.seed == interrupted_fit.SEED
    users = [e for e in events if e.table == "users"]
    assert [e.restored for e in users] == [True] and not any(e.epoch for e in users)  # not retrained
    orders_epochs = [e.epoch.epoch for e in events if e.table == "orders" and e.epoch is not None]
    assert orders_epochs[0] == epoch + 1  # continued, not restarted
    for name, frame in _sample(resumed).items():
        pd.testing.assert_frame_equal(frame, uninterrupted[name], obj=name)
    assert resumed.training_metrics()["orders"].epochs == interrupted_fit.EPOCHS


def test_resume_refuses_a_checkpoint_of_another_fit(tmp_path: Path) -> None:
    ckpt = tmp_path / "fit.checkpoint"
    interrupted_fit.fit(ckpt)
    with pytest.raises(CheckpointError, match="seed"):
        interrupted_fit.fit(ckpt, resume=True, seed=12)


def test_resume_without_a_checkpoint_starts_from_the_beginning(tmp_path: Path, uninterrupted) -> None:
    synth = interrupted_fit.fit(tmp_path / "none.checkpoint", resume=True)
    for name, frame in _sample(synth).items():
        pd.testing.assert_frame_equal(frame, uninterrupted[name], obj=name)
