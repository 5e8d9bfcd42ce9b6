"""The contract every generative model meets, so the relational engine can plug in any of them.

A model learns one table, optionally conditioned on a context frame (one context row per data row: the
parent's features for a child table). `sample(n, context)` returns n rows; with a context, n equals
len(context) and row i is generated for context row i.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import torch

from synthohive_dbt.errors import ArtifactError
from synthohive_dbt.models.artifact import read_artifact, write_artifact
from synthohive_dbt.models.registry import canonical_name


@dataclass(frozen=True)
class Progress:
    """What a training callback receives once per epoch (the CLI turns it into a progress bar)."""

    epoch: int
    epochs: int
    generator_loss: float
    discriminator_loss: float
    eta_seconds: float
    score: float | None = None  # validation fidelity in [0, 1] when it was computed this epoch


ProgressCallback = Callable[[Progress], None]


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A class outside the registry (passed as `model=`) is recorded under its own class name."""
        super().__init_subclass__(**kwargs)
        if "model_name" not in vars(cls):
            cls.model_name = cls.__name__

    @abstractmethod
    def fit(self, data: pd.DataFrame, context: pd.DataFrame | None = None, *,
            epochs: int | None = None, batch_size: int | None = None, seed: int | None = None,
            progress: ProgressCallback | None = None, table: str | None = None) -> ConditionalGenerativeModel:
        """Learn `data` (and its dependence on `context`, aligned row by row); `table` names it in messages."""

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
