"""Checkpoints of a Synthesizer.fit in progress, so a long fit killed part-way resumes instead of starting over.

One file (the one artifact format, kind "checkpoint": safetensors + JSON, never pickle) holds:

- what the fit was asked to do (`fingerprint`: seed, options, backend, a digest of every input table), so a
  resume with other data or options is refused instead of silently mixing two fits;
- every finished table's model, as `Synthesizer.save` would store it: a resumed fit loads it and does not
  retrain it;
- the table in progress, if its model supports it (`ConditionalGenerativeModel.supports_resume`): its
  `TrainingState` (all networks, optimiser moments, numpy and torch RNG states, the loop's counters and best
  weights so far), from which its fit continues to the same weights as an uninterrupted run.

The file is rewritten atomically when a table finishes and, within a table, after an epoch once
`every` epochs have passed (or, by default, CHECKPOINT_SECONDS). Everything else a fit does (PII
resolution, plans, contexts) is deterministic for the seed and simply runs again. It holds weights, never
rows, but also the critic/encoder that the saved model leaves out: `synthohive fit` deletes it once the
model is saved.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from synthohive_dbt.errors import ArtifactError, CheckpointError
from synthohive_dbt.models.artifact import read_artifact, write_artifact
from synthohive_dbt.models.base import ConditionalGenerativeModel, TrainingState

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1
CHECKPOINT_SECONDS = 60.0  # within a table: often enough to lose little, rarely enough to cost little

ClassOf = Callable[[str], type[ConditionalGenerativeModel]]


def data_digest(frames: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """A SHA-256 per table over its columns, dtypes and values: a resume must see the same data."""
    out = {}
    for name, frame in frames.items():
        h = hashlib.sha256(repr((list(map(str, frame.columns)), [str(d) for d in frame.dtypes])).encode())
        try:
            values = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        except TypeError:  # unhashable cells (lists, dicts): their text stands in
            values = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
        h.update(values.tobytes())
        out[name] = h.hexdigest()
    return out


class FitCheckpoint:
    """The checkpoint file of one fit: the finished tables' models and the state of the table in progress."""

    def __init__(self, path: str | Path, fingerprint: dict[str, Any], every: int | None = None) -> None:
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.every = every  # epochs between checkpoints within a table; None = every CHECKPOINT_SECONDS
        self.done: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # table -> (tensors, entry)
        self.current: tuple[str, TrainingState] | None = None
        self._last = time.monotonic()

    @staticmethod
    def saved_seed(path: str | Path) -> int | None:
        """The seed the checkpoint at `path` was written with (None when there is none): a resume without a
        seed continues with it."""
        if not Path(path).is_file():
            return None
        state, _ = read_artifact(path, kind="checkpoint")
        return state.get("fingerprint", {}).get("seed")

    def resume(self) -> None:
        """Load the file at `path` if there is one (else the fit starts from the beginning); refuse one
        written for other data or options."""
        if not self.path.is_file():
            log.info("no checkpoint at %s: training from the start", self.path)
            return
        state, tensors = read_artifact(self.path, kind="checkpoint")
        if state.get("checkpoint_version") != CHECKPOINT_VERSION:
            raise CheckpointError(f"checkpoint {str(self.path)!r} has version {state.get('checkpoint_version')!r};"
                                  f" this version reads {CHECKPOINT_VERSION}",
                                  hint="fit without resuming to start over")
        saved = state.get("fingerprint", {})
        differ = sorted(k for k in set(saved) | set(self.fingerprint) if saved.get(k) != self.fingerprint.get(k))
        if differ:
            raise CheckpointError(f"checkpoint {str(self.path)!r} was written by a fit with other "
                                  f"{', '.join(differ)}: resuming would mix two different fits",
                                  hint="resume with the same data and options (and seed), or fit without "
                                       "resuming to start over")
        try:
            for name, entry in state["done"].items():
                prefix = f"done/{name}/"
                self.done[name] = ({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)},
                                   entry)
            current = state.get("current")
            if current is not None:
                own = {k[len("current/"):]: v for k, v in tensors.items() if k.startswith("current/")}
                self.current = (str(current["table"]), TrainingState(own, dict(current["meta"])))
        except (KeyError, TypeError, AttributeError) as exc:
            raise CheckpointError(f"checkpoint {str(self.path)!r} passed its checksum but is incomplete ({exc!r})",
                                  hint="fit without resuming to start over") from exc
        log.info("resuming from %s: %d table(s) finished%s", self.path, len(self.done),
                 f", {self.current[0]} in progress" if self.current else "")

    def finished_model(self, table: str, class_of: ClassOf) -> ConditionalGenerativeModel | None:
        """The model of `table` if it finished before the interruption, rebuilt from its saved state."""
        if table not in self.done:
            return None
        tensors, entry = self.done[table]
        try:
            return class_of(entry["class"]).from_state(tensors, entry["meta"])
        except KeyError as exc:
            raise CheckpointError(f"checkpoint {str(self.path)!r}: the entry of table {table!r} is incomplete",
                                  hint="fit without resuming to start over") from exc

    def state_of(self, table: str) -> TrainingState | None:
        """The saved training state of `table` if it was the table in progress."""
        return self.current[1] if self.current is not None and self.current[0] == table else None

    def for_table(self, table: str) -> TableCheckpointer:
        return TableCheckpointer(self, table)

    def finish(self, table: str, model: ConditionalGenerativeModel) -> None:
        """Record a finished table's model (its training state is dropped) and write the file."""
        tensors, meta = model.state()
        self.done[table] = (dict(tensors), {"class": model.model_name, "meta": meta})
        self.current = None
        self.write()

    def progress(self, table: str, state: TrainingState) -> None:
        self.current = (table, state)
        self.write()

    def due(self, epoch: int) -> bool:
        if self.every is not None:
            return epoch % self.every == 0
        return time.monotonic() - self._last >= CHECKPOINT_SECONDS

    def write(self) -> None:
        tensors: dict[str, Any] = {}
        for name, (own, _) in self.done.items():
            tensors.update({f"done/{name}/{k}": v for k, v in own.items()})
        current = None
        if self.current is not None:
            table, state = self.current
            tensors.update({f"current/{k}": v for k, v in state.tensors.items()})
            current = {"table": table, "meta": state.meta}
        body = {"checkpoint_version": CHECKPOINT_VERSION, "fingerprint": self.fingerprint,
                "done": {name: entry for name, (_, entry) in self.done.items()}, "current": current}
        try:
            write_artifact(self.path, body, tensors, kind="checkpoint")
        except TypeError as exc:
            raise ArtifactError(f"the fit's checkpoint cannot be written as JSON: {exc}",
                                hint="model metas and model_kwargs must hold only JSON values") from exc
        self._last = time.monotonic()


class TableCheckpointer:
    """What one table's model sees (models.base.Checkpointer): when a checkpoint is due, and where it goes."""

    def __init__(self, owner: FitCheckpoint, table: str) -> None:
        self.owner, self.table = owner, table

    def due(self, epoch: int) -> bool:
        return self.owner.due(epoch)

    def save(self, state: TrainingState) -> None:
        self.owner.progress(self.table, state)
