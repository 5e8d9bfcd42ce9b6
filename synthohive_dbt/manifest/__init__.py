"""dbt manifest.json -> Metadata: tables, keys, foreign keys, constraints, PII marks.

Never touches a database: everything comes from the manifest `dbt parse` writes.
"""

from __future__ import annotations

from synthohive_dbt.manifest.findings import NotModelled
from synthohive_dbt.manifest.lineage import SourcesModeResult, TestLineage, project_to_sources
from synthohive_dbt.manifest.loader import SUPPORTED_SCHEMA_VERSIONS, Manifest, load_manifest
from synthohive_dbt.manifest.reader import read_manifest
from synthohive_dbt.manifest.result import ManifestReadResult, TableInfo

__all__ = [
    "SUPPORTED_SCHEMA_VERSIONS",
    "Manifest",
    "ManifestReadResult",
    "NotModelled",
    "SourcesModeResult",
    "TableInfo",
    "TestLineage",
    "load_manifest",
    "project_to_sources",
    "read_manifest",
]
