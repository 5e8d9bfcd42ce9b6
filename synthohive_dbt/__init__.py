"""synthohive-dbt: realistic, private synthetic data for dbt projects.

Public API: Synthesizer, Metadata, TableConfig, Constraint, PrivacyConfig, and the errors.
"""

from __future__ import annotations

from synthohive_dbt.config import Constraint, ForeignKey, Metadata, PrivacyConfig, TableConfig
from synthohive_dbt.errors import SynthohiveError

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """Import the Synthesizer lazily: it pulls in torch, which `synthohive inspect` never needs."""
    if name == "Synthesizer":
        from synthohive_dbt.relational.synthesizer import Synthesizer

        return Synthesizer
    raise AttributeError(f"module 'synthohive_dbt' has no attribute {name!r}")


__all__ = [
    "Constraint",
    "ForeignKey",
    "Metadata",
    "PrivacyConfig",
    "Synthesizer",
    "SynthohiveError",
    "TableConfig",
    "__version__",
]
