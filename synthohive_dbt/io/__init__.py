"""Warehouse I/O: connections, typed reads with FK-consistent sampling, atomic bulk writes.

The only layer that imports SQLAlchemy.
"""

from __future__ import annotations

from synthohive_dbt.io.connection import ConnectionSpec, create_warehouse_engine
from synthohive_dbt.io.identifiers import quote_ident, validate_schema_name
from synthohive_dbt.io.subsample import ForeignKeyEdge, foreign_key_edges, read_tables
from synthohive_dbt.io.warehouse import Column, Relation, count_rows, current_database, list_tables, read_table, reflect_columns
from synthohive_dbt.io.warehouses import warehouse_for
from synthohive_dbt.io.writer import StagedWrite, inspect_target, new_run_id, open_staged_write, real_columns, \
    write_tables

__all__ = [
    "Column",
    "ConnectionSpec",
    "ForeignKeyEdge",
    "Relation",
    "StagedWrite",
    "count_rows",
    "create_warehouse_engine",
    "current_database",
    "foreign_key_edges",
    "inspect_target",
    "list_tables",
    "new_run_id",
    "open_staged_write",
    "quote_ident",
    "read_table",
    "read_tables",
    "real_columns",
    "reflect_columns",
    "validate_schema_name",
    "warehouse_for",
    "write_tables",
]
