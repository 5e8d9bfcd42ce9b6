"""Encoding tables for generative models: per-column encoders and the table transformer."""

from __future__ import annotations

from synthohive_dbt.transform.spans import Span, SpanLayout
from synthohive_dbt.transform.table import DataTransformer, TransformerSettings, validate_frame

__all__ = ["DataTransformer", "Span", "SpanLayout", "TransformerSettings", "validate_frame"]
