"""Generative models behind one interface (base.ConditionalGenerativeModel): CTGAN, TVAE, checkpoints."""

from __future__ import annotations

from synthohive_dbt.models.base import ConditionalGenerativeModel, Progress, ProgressCallback
from synthohive_dbt.models.ctgan import CTGAN, CTGANConfig

__all__ = ["CTGAN", "CTGANConfig", "ConditionalGenerativeModel", "Progress", "ProgressCallback"]
