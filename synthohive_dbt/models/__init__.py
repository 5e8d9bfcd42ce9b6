"""Generative models behind one interface (base.ConditionalGenerativeModel): CTGAN, TVAE, the
autoregressive AR model, the format model for tiny tables; their registry and their artifact format.

Names are imported on first use, so `models.registry` (the backend names the CLI offers) costs no torch.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthohive_dbt.errors import ArtifactError
from synthohive_dbt.models.registry import BACKENDS, CHOICES, backend_class, canonical_name

if TYPE_CHECKING:
    from synthohive_dbt.models.base import ConditionalGenerativeModel

_LAZY = {
    "ARConfig": "autoregressive", "AutoRegressive": "autoregressive", "CTGAN": "ctgan", "CTGANConfig": "ctgan",
    "TVAE": "tvae", "TVAEConfig": "tvae", "TabularModel": "tabular", "TrainingConfig": "tabular",
    "ConditionalGenerativeModel": "base", "Progress": "base", "ProgressCallback": "base",
    "Checkpointer": "base", "TrainingMetrics": "base", "TrainingState": "base",
    "read_artifact": "artifact", "write_artifact": "artifact",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"synthohive_dbt.models.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'synthohive_dbt.models' has no attribute {name!r}")


def model_from_state(tensors: dict[str, Any], meta: dict[str, Any],
                     device: str | None = None) -> ConditionalGenerativeModel:
    """Rebuild whichever model wrote (tensors, meta), e.g. one entry of a synthesizer artifact."""
    name = canonical_name(str(meta.get("model")))
    if name is None:
        raise ArtifactError(f"saved model type {meta.get('model')!r} is unknown",
                            hint=f"known types: {sorted(BACKENDS)}; load it with the version that wrote it")
    return backend_class(name).from_state(tensors, meta, device=device)


def load_model(path: str | Path, device: str | None = None) -> ConditionalGenerativeModel:
    """Load a model saved by CTGAN.save / TVAE.save / AutoRegressive.save without knowing its type."""
    from synthohive_dbt.models.artifact import read_artifact

    meta, tensors = read_artifact(path, kind="model")
    return model_from_state(tensors, meta, device=device)


__all__ = ["ARConfig", "AutoRegressive", "BACKENDS", "CHOICES", "CTGAN", "CTGANConfig", "Checkpointer",
           "ConditionalGenerativeModel", "Progress", "ProgressCallback", "TVAE", "TVAEConfig", "TabularModel",
           "TrainingConfig", "TrainingMetrics", "TrainingState", "backend_class",
           "canonical_name", "load_model", "model_from_state", "read_artifact", "write_artifact"]
