"""synthohive-dbt: realistic, private synthetic data for dbt projects.

Public API: Synthesizer, Metadata, TableConfig, Constraint, PrivacyConfig, and the errors.
"""

from __future__ import annotations

from synthohive_dbt.config import Constraint, ForeignKey, ForeignRule, Metadata, PrivacyConfig, RowRule, TableConfig
from synthohive_dbt.errors import (
    ArtifactError,
    ArtifactSignatureError,
    CheckpointError,
    ConfigError,
    ConstraintViolationError,
    CycleError,
    DataError,
    DbtError,
    ManifestError,
    ModelError,
    ProfileError,
    ProjectSetupError,
    QualityGateError,
    SchemaValidationError,
    SynthohiveError,
    UnsafeTargetError,
    WarehouseError,
)

__version__ = "0.1.0"


# Imported on first use: these pull in torch, sklearn or matplotlib, which `synthohive inspect` never needs.
_LAZY = {
    "Synthesizer": "synthohive_dbt.report.synthesizer",
    "QualityGates": "synthohive_dbt.report",
    "ColumnGate": "synthohive_dbt.report",
    "EvaluationResult": "synthohive_dbt.report",
    "PiiFinding": "synthohive_dbt.privacy",
    "detect_pii": "synthohive_dbt.privacy",
    "read_manifest": "synthohive_dbt.manifest",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synthohive_dbt' has no attribute {name!r}")


__all__ = [
    "ArtifactError",
    "ArtifactSignatureError",
    "CheckpointError",
    "ColumnGate",
    "ConfigError",
    "Constraint",
    "ConstraintViolationError",
    "CycleError",
    "DataError",
    "DbtError",
    "EvaluationResult",
    "ForeignKey",
    "ForeignRule",
    "ManifestError",
    "Metadata",
    "ModelError",
    "PiiFinding",
    "PrivacyConfig",
    "ProfileError",
    "ProjectSetupError",
    "QualityGateError",
    "QualityGates",
    "RowRule",
    "SchemaValidationError",
    "Synthesizer",
    "SynthohiveError",
    "TableConfig",
    "UnsafeTargetError",
    "WarehouseError",
    "__version__",
    "detect_pii",
    "read_manifest",
]
