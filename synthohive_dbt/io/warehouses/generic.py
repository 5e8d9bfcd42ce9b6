"""Any other SQLAlchemy dialect (Snowflake, BigQuery, ...): what the inspector can tell, and no more.

Such a warehouse gets no cross-process run lock and no dependency check: those need catalog queries
written and tested per warehouse. The writer says so in its plan instead of pretending to have checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
from sqlalchemy import Connection, Engine, column, insert, inspect
from sqlalchemy import table as sa_table

from synthohive_dbt.errors import WarehouseError
from synthohive_dbt.io.relation import Column, Dependent, RelationInfo
from synthohive_dbt.io.warehouses.base import LockHolder, Warehouse


class GenericWarehouse(Warehouse):
    checks_dependents = False
    locks_runs = False

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def reflect_columns(self, conn: Connection, schema: str, table_: str) -> list[Column]:
        insp = inspect(conn)
        if not insp.has_table(table_, schema=schema):
            return []
        return [Column(c["name"], str(c["type"].compile(dialect=conn.dialect)), bool(c.get("nullable", True)))
                for c in insp.get_columns(table_, schema=schema)]

    def list_relations(self, conn: Connection, schema: str) -> list[RelationInfo]:
        insp = inspect(conn)
        if schema not in insp.get_schema_names():
            return []
        return sorted([RelationInfo(t, "table") for t in insp.get_table_names(schema=schema)]
                      + [RelationInfo(v, "view") for v in insp.get_view_names(schema=schema)], key=str)

    def schema_exists(self, conn: Connection, schema: str) -> bool:
        return schema in inspect(conn).get_schema_names()

    def dependents(self, conn: Connection, schema: str, names: Sequence[str]) -> list[Dependent]:
        return []

    def load(self, conn: Connection, target_sql: str, frame: pd.DataFrame, columns: Sequence[Column], *,
             schema: str | None = None, table: str | None = None) -> int:
        if table is None:
            raise WarehouseError(f"loading into {target_sql} on {self.dialect} needs the bare table name",
                                 hint="pass schema= and table= (copy_frame: table_name=)")
        names = [c.name for c in columns]
        target = sa_table(table, *[column(n) for n in names], schema=schema)
        data = frame[names]
        records = data.astype(object).where(data.notna(), None).to_dict("records")
        for start in range(0, len(records), 10_000):
            conn.execute(insert(target), records[start:start + 10_000])
        return len(records)

    def try_lock(self, engine: Engine, schema: str) -> tuple[Callable[[], None] | None, LockHolder | None]:
        return (lambda: None), None


__all__ = ["GenericWarehouse"]
