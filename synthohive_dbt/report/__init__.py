"""Quality and privacy metrics of synthetic tables, quality gates, and the HTML + JSON report."""

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
