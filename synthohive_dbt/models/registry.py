"""The one list of table-model backends: name -> class, imported only when used.

A name is what a user passes (`backend="AR"`, `--backend AR`) and what an artifact records, so the CLI, the
Synthesizer and the loader cannot disagree. Importing this module pulls in no torch, so the CLI can offer
the names without paying for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from synthohive_dbt.errors import ConfigError

if TYPE_CHECKING:
    from synthohive_dbt.models.base import ConditionalGenerativeModel

BACKENDS: dict[str, tuple[str, str]] = {
    "CTGAN": ("synthohive_dbt.models.ctgan", "CTGAN"),
    "TVAE": ("synthohive_dbt.models.tvae", "TVAE"),
    "AR": ("synthohive_dbt.models.autoregressive", "AutoRegressive"),
    # tables under MIN_LEARN_ROWS rows get this one whatever the backend (models/formats.py says why)
    "FORMATS": ("synthohive_dbt.models.formats", "FormatModel"),
}
CHOICES: tuple[str, ...] = ("CTGAN", "TVAE", "AR")  # what a user picks; FORMATS is the engine's choice
DEFAULT = "CTGAN"
# artifacts of earlier releases named a model by its lowercase name ("ctgan") or its class ("AutoRegressive")
_CLASS_NAMES = {attr: name for name, (_, attr) in BACKENDS.items()}


def canonical_name(name: str) -> str | None:
    """The registry name for `name` in any spelling an artifact or a user has used; None if unknown."""
    if name.upper() in BACKENDS:
        return name.upper()
    return _CLASS_NAMES.get(name)


def backend_class(name: str) -> type[ConditionalGenerativeModel]:
    """The model class of a backend name (any spelling `canonical_name` knows)."""
    key = canonical_name(name)
    if key is None:
        raise ConfigError(f"unknown backend {name!r}", hint=f"use one of {list(CHOICES)} or pass model=<class>")
    module, attr = BACKENDS[key]
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"backend {name!r} is not available: {exc}",
                          hint="install the full package, or pass model=<a ConditionalGenerativeModel class>") from exc
