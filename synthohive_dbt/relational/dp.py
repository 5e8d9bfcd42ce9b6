"""Differential privacy across a database: which model settings turn it on, and what was spent.

Each learned table's model trains its critic with DP-SGD (models/dp.py) on that table's rows, and children
are modelled without parent context (a context row would carry the parent's real values into the child's
generator step outside the accounting). The per-table epsilons compose: a person with rows in k tables is
covered at the sum of those k epsilons (basic composition); PrivacyConfig.epsilon is therefore split evenly
over the learned tables, so that sum stays within it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from synthohive_dbt.config import PrivacyConfig
from synthohive_dbt.errors import ConfigError

NOT_COVERED = (
    "the data transformer's statistics (category lists and frequencies, numeric bin edges and ranges, null "
    "rates) are read from the real data without noise",
    "children-per-parent counts, foreign-key null rates and key formats are learned from the real data "
    "without noise",
    "tables copied as is (copy_as_is lookups) are published unchanged",
    "which columns are null in every row (they are written back all-null); tables under 10 rows are not "
    "trained and, under differential privacy, generated from column types and dbt tests only",
    "a real row is protected, not a person: someone with many rows (e.g. many orders) is covered at a "
    "weaker, group-level guarantee",
)


def dp_model_kwargs(model_class: type, privacy: PrivacyConfig, kwargs: Mapping[str, Any],
                    learned_tables: int) -> dict[str, Any]:
    """The model settings for a DP fit, or `kwargs` unchanged when DP is off. The budget is split evenly
    over the learned tables, so `epsilon` bounds the total even for a person present in every table."""
    out = dict(kwargs)
    if not privacy.enable_differential_privacy:
        return out
    config_class = getattr(model_class, "config_class", None)
    fields = {f.name for f in dataclasses.fields(config_class)} if dataclasses.is_dataclass(config_class) else set()
    if "dp_epsilon" not in fields:
        raise ConfigError(f"differential privacy is enabled, but model {model_class.__name__} has no DP training",
                          hint="use backend='CTGAN' (DP-SGD on its critic), or set "
                               "enable_differential_privacy=False")
    share = max(1, learned_tables)
    out.update(dp_epsilon=privacy.epsilon / share, dp_delta=None if privacy.delta is None else privacy.delta / share)
    return out


def privacy_report(models: Mapping[str, Any], copied: list[str],
                   hierarchies: list[str] | None = None) -> dict[str, Any] | None:
    """Per-table (epsilon, delta) spent, the worst-case total, and what the guarantee leaves out;
    None when no model was trained privately. `hierarchies`: the self-references whose shape was learned."""
    tables = {name: m.privacy_spent.to_dict() for name, m in models.items()
              if getattr(m, "privacy_spent", None) is not None}
    if not tables:
        return None
    return {
        "mechanism": "DP-SGD on each table model's critic (Opacus: per-sample clipping, Gaussian noise, RDP "
                     "accountant)",
        "tables": tables,
        "epsilon_total": sum(t["epsilon"] for t in tables.values()),
        "delta_total": sum(t["delta"] for t in tables.values()),
        "copied_tables": sorted(copied),
        "not_covered": [*NOT_COVERED, *([
            "the shape of self-references (number of roots, rows per depth, children per node per depth; "
            "relational/hierarchy.py) is read from the real rows without noise: " + ", ".join(hierarchies)]
            if hierarchies else [])],
    }
