"""Personal data: find it (by column names and values, for review) and replace it with consistent fakes."""

from __future__ import annotations

from synthohive_dbt.privacy.detect import PiiFinding, detect_pii, infer_kind, pii_columns, pii_kinds
from synthohive_dbt.privacy.replace import replace_pii

__all__ = ["PiiFinding", "detect_pii", "infer_kind", "pii_columns", "pii_kinds", "replace_pii"]
