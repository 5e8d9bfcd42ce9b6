"""What reading a manifest gives back: the Metadata, per-table facts, what was not modelled, and the
JSON contract of `synthohive inspect --json`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthohive_dbt.config import Metadata, TableConfig
from synthohive_dbt.manifest.findings import NotModelled


@dataclass(frozen=True)
class TableInfo:
    """Where a Metadata table comes from in dbt, and why its key is what it is."""

    name: str
    unique_id: str
    resource_type: str
    relation_name: str | None
    database: str | None
    schema: str | None
    identifier: str
    package_name: str | None
    key_reason: str
    contract_enforced: bool = False


@dataclass
class ManifestReadResult:
    """The reader's output. `metadata.tables` and `tables` share the same (Metadata) table names."""

    metadata: Metadata
    tables: dict[str, TableInfo]
    not_modelled: list[NotModelled]
    notes: list[str] = field(default_factory=list)
    manifest_path: Path | None = None
    schema_version: int | None = None
    dbt_version: str | None = None

    def name_of(self, unique_id: str) -> str:
        """The Metadata table name of a dbt unique_id."""
        for name, info in self.tables.items():
            if info.unique_id == unique_id:
                return name
        raise KeyError(unique_id)

    def table(self, unique_id: str) -> TableConfig:
        """The TableConfig of a dbt unique_id."""
        return self.metadata.tables[self.name_of(unique_id)]

    def to_contract(self) -> dict[str, Any]:
        """The JSON contract of `synthohive inspect --json` (keys by dbt unique_id)."""
        uid = {name: info.unique_id for name, info in self.tables.items()}
        tables: dict[str, Any] = {}
        for name in sorted(self.tables, key=lambda n: uid[n]):
            info, table = self.tables[name], self.metadata.tables[name]
            tables[info.unique_id] = {
                "resource_type": info.resource_type,
                "name": name,
                "primary_key": list(table.pk),
                "foreign_keys": [{"columns": list(fk.columns), "parent": uid[fk.parent],
                                  "parent_columns": list(fk.parent_columns)} for fk in table.fk],
                "columns": {col: _column(table, col) for col in contract_columns(table)},
            }
            rules = [{"rule": r.expression, "source": r.source, "enabled": r.enabled} for r in table.row_rules]
            rules += [{"rule": g.label, **g.model_dump(include={"kind", "columns", "partition_by"}),
                       "source": g.source, "enabled": g.enabled} for g in table.group_rules]
            if rules:  # only tables with rules carry the key: the contract of the others is unchanged
                tables[info.unique_id]["rules"] = rules
        return {"tables": tables,
                "not_modelled": [{"test": n.test, "reason": n.reason} for n in self.not_modelled]}


def contract_columns(table: TableConfig) -> list[str]:
    """Known columns first (declaration order), then any column only a key or constraint mentions."""
    cols = list(table.columns or [])
    extra = [*table.pk, *(c for fk in table.fk for c in fk.columns), *table.constraints,
             *(cc.column for cc in table.conditional_constraints)]
    for col in extra:
        if col not in cols:
            cols.append(col)
    return cols


def _column(table: TableConfig, col: str) -> dict[str, Any]:
    c = table.constraint(col)
    return {"not_null": c.not_null, "unique": c.unique, "accepted_values": c.accepted_values,
            "min": c.min, "max": c.max, "data_type": c.data_type}
