"""Generative models behind one interface (base.ConditionalGenerativeModel): CTGAN, TVAE, the
autoregressive AR model, checkpoints."""

from __future__ import annotations

from pathlib import Path

from synthohive_dbt.errors import ArtifactError
from synthohive_dbt.models.autoregressive import ARConfig, AutoRegressive
from synthohive_dbt.models.base import ConditionalGenerativeModel, Progress, ProgressCallback
from synthohive_dbt.models.checkpoint import read_artifact, write_artifact
from synthohive_dbt.models.ctgan import CTGAN, CTGANConfig
from synthohive_dbt.models.tabular import TabularModel
from synthohive_dbt.models.tvae import TVAE, TVAEConfig

MODELS: dict[str, type[TabularModel]] = {"ctgan": CTGAN, "tvae": TVAE, "ar": AutoRegressive}


def model_from_state(tensors: dict, meta: dict, device: str | None = None) -> TabularModel:
    """Rebuild whichever model wrote (tensors, meta), e.g. one entry of a multi-model artifact."""
    cls = MODELS.get(str(meta.get("model")))
    if cls is None:
        raise ArtifactError(f"saved model type {meta.get('model')!r} is unknown",
                            hint=f"known types: {sorted(MODELS)}; load it with the version that wrote it")
    return cls.from_state(tensors, meta, device=device)


def load_model(path: str | Path, device: str | None = None) -> TabularModel:
    """Load a model saved by CTGAN.save / TVAE.save without knowing its type."""
    tensors, meta = read_artifact(path)
    return model_from_state(tensors, meta, device=device)


__all__ = ["ARConfig", "AutoRegressive", "CTGAN", "CTGANConfig", "ConditionalGenerativeModel", "MODELS", "Progress", "ProgressCallback",
           "TVAE", "TVAEConfig", "TabularModel", "load_model", "model_from_state", "read_artifact",
           "write_artifact"]
