"""One interface per warehouse (see `base.Warehouse`); `warehouse_for(bind)` picks the implementation."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from synthohive_dbt.io.warehouses.base import LockHolder, Warehouse, fetch, run_sql
from synthohive_dbt.io.warehouses.duckdb import DuckDBWarehouse
from synthohive_dbt.io.warehouses.generic import GenericWarehouse
from synthohive_dbt.io.warehouses.mariadb import MariaDBWarehouse
from synthohive_dbt.io.warehouses.postgres import PostgresWarehouse
from synthohive_dbt.io.warehouses.spark import SparkWarehouse

_KNOWN: dict[str, Warehouse] = {"duckdb": DuckDBWarehouse(), "postgresql": PostgresWarehouse(),
                                "mysql": MariaDBWarehouse("mysql"), "mariadb": MariaDBWarehouse("mariadb"),
                                "spark": SparkWarehouse()}


def warehouse_for(bind: Engine | Connection | str) -> Warehouse:
    """The implementation for an engine, a connection or a SQLAlchemy dialect name."""
    name = bind if isinstance(bind, str) else bind.dialect.name
    return _KNOWN.get(name) or GenericWarehouse(name)


__all__ = ["LockHolder", "Warehouse", "fetch", "run_sql", "warehouse_for"]
