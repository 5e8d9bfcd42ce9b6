"""synthohive-dbt: realistic, private synthetic data for dbt projects.

Public API: Synthesizer, Metadata, TableConfig, Constraint, PrivacyConfig, and the errors.
"""

from __future__ import annotations

from synthohive_dbt.config import Constraint, ForeignKey, Metadata, PrivacyConfig, TableConfig
from synthohive_dbt.errors import SynthohiveError

__version__ = "0.1.0"

__all__ = [
    "Constraint",
    "ForeignKey",
    "Metadata",
    "PrivacyConfig",
    "SynthohiveError",
    "TableConfig",
    "__version__",
]
