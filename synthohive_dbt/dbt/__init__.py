"""Everything that talks to dbt: profiles -> connections, running dbt, run_results -> outcomes.

The only layer that runs dbt (dbtRunner). Named `dbt` inside the package; absolute imports keep
`import dbt` pointing at dbt-core itself.
"""

from __future__ import annotations

from synthohive_dbt.dbt.profiles import ResolvedProfile, engine_from_profile, find_profiles_dir, load_profile
from synthohive_dbt.dbt.runner import (
    DbtProject,
    DbtResult,
    Outcome,
    outcomes_from_run_results,
    parse_metadata_log,
    swap_schema,
)

__all__ = [
    "DbtProject",
    "DbtResult",
    "Outcome",
    "ResolvedProfile",
    "engine_from_profile",
    "find_profiles_dir",
    "load_profile",
    "outcomes_from_run_results",
    "parse_metadata_log",
    "swap_schema",
]
