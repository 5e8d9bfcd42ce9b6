"""The contract every generative model meets, so the relational engine can plug in any of them.

A model learns one table, optionally conditioned on a context frame (one context row per data row: the
parent's features for a child table). `sample(n, context)` returns n rows; with a context, n equals
len(context) and row i is generated for context row i.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import pandas as pd
import torch

from synthohive_dbt.errors import ArtifactError
from synthohive_dbt.models.artifact import read_artifact, write_artifact
from synthohive_dbt.models.registry import canonical_name


@dataclass(frozen=True)
class Progress:
    """What a training callback receives once per epoch (the CLI turns it into a progress bar). `metrics`
    holds this epoch's means of the model's own step diagnostics, under the names its
    `training_metrics()` uses (a GAN's generator/critic losses, a VAE's reconstruction and KL, ...)."""

    epoch: int
    epochs: int
    eta_seconds: float
    score: float | None = None  # the model's selection score when it was computed this epoch
    metrics: Mapping[str, float] = field(default_factory=dict)
    steps: int = 0  # optimiser steps taken so far


ProgressCallback = Callable[[Progress], None]

# why training ended, in TrainingMetrics.stop_reason
StopReason = Literal["epochs", "max_steps", "patience", "time_budget"]
STOP_REASONS: dict[str, str] = {"epochs": "epochs done", "max_steps": "step budget",
                                "patience": "early stop", "time_budget": "time budget"}


@dataclass(frozen=True)
class TrainingMetrics:
    """A model's own convergence diagnostics and what its training ran: per-epoch series under the model's
    own names (`series[name]` = [(epoch, value), ...]) and why it stopped. Small (a float per metric per
    epoch), so artifacts keep it and `synthohive report` on a saved model can draw the curves."""

    series: Mapping[str, Sequence[tuple[int, float]]] = field(default_factory=dict)
    score_name: str | None = None  # the series that selected the kept weights (higher is better), if any
    epochs: int = 0  # epochs run
    planned_epochs: int = 0  # epochs asked for (--epochs or the model's default)
    steps: int = 0  # optimiser steps run
    stop_reason: StopReason | None = None  # None: the model does not train (FormatModel)

    def describe(self) -> str:
        """One phrase for logs: "12/300 epochs, 300 steps (step budget)"; "" for a model that does not train."""
        if self.stop_reason is None:
            return ""
        return (f"{self.epochs}/{self.planned_epochs} epochs, {self.steps} steps "
                f"({STOP_REASONS[self.stop_reason]})")

    def to_dict(self) -> dict[str, Any]:
        return {"series": {k: [[int(e), float(v)] for e, v in pts] for k, pts in self.series.items()},
                "score_name": self.score_name, "epochs": self.epochs, "planned_epochs": self.planned_epochs,
                "steps": self.steps, "stop_reason": self.stop_reason,
                "stopped_by": STOP_REASONS.get(self.stop_reason or "")}  # for a reader of the report's JSON

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> TrainingMetrics:
        """The record saved by `to_dict`; an artifact written before metrics were kept gives an empty one."""
        if not d:
            return cls()
        series = {str(k): [(int(e), float(v)) for e, v in pts] for k, pts in dict(d.get("series") or {}).items()}
        reason = d.get("stop_reason")
        return cls(series, d.get("score_name"), int(d.get("epochs", 0)), int(d.get("planned_epochs", 0)),
                   int(d.get("steps", 0)), reason if reason in STOP_REASONS else None)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TrainingState:
    """A model part-way through fit: every tensor (weights, optimiser moments, RNG states) and JSON fact
    (epoch, steps, scores so far) that resuming needs besides the data and the seed. Written with the one
    artifact format (safetensors + JSON), never pickled."""

    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]


class Checkpointer(Protocol):
    """Where a model's fit puts its training state: asked after every epoch whether a checkpoint is due."""

    def due(self, epoch: int) -> bool: ...

    def save(self, state: TrainingState) -> None: ...


class ConditionalGenerativeModel(ABC):
    """fit / sample / state / from_state. Implementations must be deterministic for a fixed seed.

    Everything the relational engine needs from a model is declared here, so it never probes a model:
    `state()` / `from_state()` put any model into one artifact beside the others, `fit` takes the table's
    name for its messages, and `dates_as_context` says whether a child's model wants its parent's dates.
    """

    # the backend name (models/registry.py): recorded in artifacts, so it never changes once released
    model_name: ClassVar[str]
    # whether the relational engine should offer the parent's dates as default context: the AR model gained
    # (shop_5k intertable trends 0.65 -> 0.73-0.76) where CTGAN lost (137k-row shop: 0.640 -> 0.592)
    dates_as_context: ClassVar[bool] = False
    # whether fit() takes `checkpoint=` / `resume=` (continue a table part-way); the engine checkpoints the
    # other models only once a table is finished
    supports_resume: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A class outside the registry (passed as `model=`) is recorded under its own class name."""
        super().__init_subclass__(**kwargs)
        if "model_name" not in vars(cls):
            cls.model_name = cls.__name__

    @abstractmethod
    def fit(self, data: pd.DataFrame, context: pd.DataFrame | None = None, *,
            epochs: int | None = None, batch_size: int | None = None, seed: int | None = None,
            progress: ProgressCallback | None = None, table: str | None = None) -> ConditionalGenerativeModel:
        """Learn `data` (and its dependence on `context`, aligned row by row); `table` names it in messages.
        A model with `supports_resume` also takes `checkpoint: Checkpointer | None` (saves its TrainingState
        when due) and `resume: TrainingState | None` (continues from one to the uninterrupted result)."""

    def planned_epochs(self, epochs: int | None) -> int:
        """The epochs fit(epochs=...) asks for: `epochs`, or the model's own default (1 if it does not train)."""
        return epochs if epochs is not None else 1

    @classmethod
    def training_limits(cls, epochs: int | None = None, max_steps: int | None = None,
                        patience: int | None = None) -> str:
        """What ends this model's training with these overrides (None: its default), for a run's log."""
        return "no training loop"

    def training_metrics(self) -> TrainingMetrics:
        """The model's own convergence diagnostics from its last fit (kept by save/load); empty for a model
        that does not train."""
        return TrainingMetrics()

    @abstractmethod
    def sample(self, n: int, context: pd.DataFrame | None = None,
               seed: int | None = None) -> pd.DataFrame:
        """Generate n rows with the columns and dtypes of the training data."""

    @abstractmethod
    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(tensors, JSON-able meta): everything needed to sample, for save() or a synthesizer artifact.
        The meta's "model" is `model_name`."""

    @classmethod
    @abstractmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                   device: str | None = None) -> ConditionalGenerativeModel:
        """Rebuild a model from `state()`, without the training data."""

    @classmethod
    def check_state(cls, meta: dict[str, Any]) -> str:
        """Refuse the state of another model class; returns a short "where" for further messages."""
        found = str(meta.get("model"))
        where = f"saved {found!r} model of table {meta.get('table')!r}"
        if (canonical_name(found) or found) != cls.model_name:
            raise ArtifactError(f"{where} cannot be loaded as {cls.model_name!r}",
                                hint=f"load it with the class that saved it ({meta.get('model')!r})")
        return where

    def save(self, path: str | Path) -> None:
        """One artifact file (models/artifact.py): safetensors + JSON, signed when a key is set; never pickle."""
        tensors, meta = self.state()
        write_artifact(path, meta, tensors, kind="model")

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> ConditionalGenerativeModel:
        """Rebuild a model saved by `save`, without the training data."""
        meta, tensors = read_artifact(path, kind="model")
        return cls.from_state(tensors, meta, device=device)
