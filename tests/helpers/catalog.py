"""A snapshot of what a warehouse holds (every relation of every user schema, with its row count), so a test
can say "nothing changed" exactly, or name what did."""

from __future__ import annotations

import sqlalchemy as sa

from synthohive_dbt.io.warehouses import warehouse_for
from tests.helpers.mariadb import SYSTEM_SCHEMAS

_SYSTEM = {"information_schema", "pg_catalog", "pg_toast", *SYSTEM_SCHEMAS}


def catalog_snapshot(engine: sa.Engine) -> dict[tuple[str, str], tuple[str, int]]:
    """{(schema, relation): (kind, rows)} for every user schema; views are counted too (they must still work)."""
    wh = warehouse_for(engine)
    out: dict[tuple[str, str], tuple[str, int]] = {}
    with engine.connect() as conn:
        schemas = [r[0] for r in conn.exec_driver_sql(
            "SELECT schema_name FROM information_schema.schemata") if r[0] not in _SYSTEM
            and not r[0].startswith("pg_temp") and not r[0].startswith("pg_toast")]
        for schema in sorted(set(schemas)):
            for rel in wh.list_relations(conn, schema):
                out[(schema, rel.name)] = (rel.kind, wh.row_count(conn, schema, rel.name))
    return out


def changed(before: dict, after: dict) -> dict[str, list]:
    """What differs between two snapshots: added, removed and changed relations."""
    return {"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)),
            "changed": sorted(k for k in set(before) & set(after) if before[k] != after[k])}
