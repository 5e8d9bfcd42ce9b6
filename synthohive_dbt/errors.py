"""One root error and typed subclasses.

Every message says what is wrong, where (table / column / file) and what to do about it, so the CLI can
print it as-is and exit 1 without a traceback.
"""

from __future__ import annotations


class SynthohiveError(Exception):
    """Root of every error this package raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.hint = hint
        super().__init__(f"{message}\n  fix: {hint}" if hint else message)


class ConfigError(SynthohiveError):
    """A configuration object (Metadata, TableConfig, Constraint, PrivacyConfig) is invalid."""


class SchemaValidationError(ConfigError):
    """The relational schema cannot be trained: bad keys, foreign keys, types or names."""


class CycleError(SchemaValidationError):
    """Foreign keys form a cycle (other than a self-reference); the message prints the cycle path."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        path = " -> ".join(cycle)
        super().__init__(
            f"foreign keys form a cycle: {path}",
            hint="break the cycle: drop one of these foreign keys from the metadata, "
            "or declare it as nullable and remove it before training",
        )


class ManifestError(SynthohiveError):
    """manifest.json is missing, not JSON, of an unsupported version, or inconsistent."""


class DataError(SynthohiveError):
    """Training data is unusable as given: empty tables, all-null columns, type mismatches."""


class ModelError(SynthohiveError):
    """A generative model was used wrongly (sample before fit, wrong context, ...)."""


class ArtifactError(ModelError):
    """A saved model cannot be loaded: tampered, truncated, or of an unknown format version."""


class ArtifactSignatureError(ArtifactError):
    """A signing key is set and a saved model is unsigned or signed with another key (or edited since)."""


class CheckpointError(ArtifactError):
    """A fit cannot resume from a checkpoint: it was written for other data or options, or is damaged."""


class ConstraintViolationError(SynthohiveError):
    """Generated data still violates a declared constraint after enforcement."""


class WarehouseError(SynthohiveError):
    """Reading from or writing to the warehouse failed."""


class UnsafeTargetError(WarehouseError):
    """The target schema holds real data or its name is not safe to use in SQL."""


class LockedTargetError(WarehouseError):
    """Another synthohive run holds the lock on this target (schema, or DuckDB file)."""


class ProfileError(SynthohiveError):
    """The dbt profile cannot be found or turned into a connection."""


class DbtError(SynthohiveError):
    """Running dbt failed (parse, test, build)."""


class ProjectSetupError(SynthohiveError):
    """`synthohive init` cannot set a dbt project up safely: a file it must change is unreadable, or holds
    something (the user's own source() macro, a flow-style packages list) it will not overwrite."""


class QualityGateError(SynthohiveError):
    """Synthetic data missed a configured quality or privacy threshold."""
