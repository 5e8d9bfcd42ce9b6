"""Measuring a run: quality and privacy metrics of synthetic tables, quality gates, the HTML + JSON report.

`report.measure.measure_run` is the one entry point that measures a run and `report.measure.write_report`
renders it; `report.synthesizer.Synthesizer` (the public one) measures each sample through them. Both load
the model stack (torch), so they are imported from their modules, not from here. Nothing below this layer
imports the report: the engine takes its gates as a callback.
"""

from __future__ import annotations

from synthohive_dbt.report.evaluate import evaluate, summary_scores, with_dbt_tests
from synthohive_dbt.report.gates import ColumnGate, GateMiss, QualityGates, check_gates, gate_misses
from synthohive_dbt.report.privacy_metrics import PrivacySettings, find_pii_leaks
from synthohive_dbt.report.quality import FidelitySettings
from synthohive_dbt.report.result import EvaluationResult

__all__ = [
    "ColumnGate",
    "EvaluationResult",
    "FidelitySettings",
    "GateMiss",
    "PrivacySettings",
    "QualityGates",
    "check_gates",
    "evaluate",
    "find_pii_leaks",
    "gate_misses",
    "summary_scores",
    "with_dbt_tests",
]
