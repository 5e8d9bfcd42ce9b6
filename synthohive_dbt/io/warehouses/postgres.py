"""PostgreSQL: the catalog knows every dependency, COPY loads fast, and a session advisory lock guards a run.

The advisory lock lives in its own connection for the whole run; PostgreSQL releases it when that session
ends, however the process ended. The connection's `application_name` carries the holder (pid, host, since)
so that a second run can say who it is waiting for.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence

import pandas as pd
import pyarrow.csv as pacsv
from sqlalchemy import Connection, Engine

from synthohive_dbt.io.relation import Column, Dependent, RelationInfo
from synthohive_dbt.io.warehouses.base import LockHolder, Warehouse, connection_lock, fetch, run_sql

CHUNK_ROWS = 200_000
_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "f": "foreign table"}

_DEPENDENTS_SQL = """
SELECT DISTINCT dn.nspname, dc.relname,
       CASE dc.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END, sc.relname
FROM pg_depend d
JOIN pg_rewrite r ON r.oid = d.objid
JOIN pg_class dc ON dc.oid = r.ev_class
JOIN pg_namespace dn ON dn.oid = dc.relnamespace
JOIN pg_class sc ON sc.oid = d.refobjid
JOIN pg_namespace sn ON sn.oid = sc.relnamespace
WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
  AND sn.nspname = :s AND sc.relname = ANY(:names) AND dc.oid <> sc.oid
UNION
SELECT cn.nspname, cc.relname, 'foreign key ' || c.conname || ' of table', sc.relname
FROM pg_constraint c
JOIN pg_class cc ON cc.oid = c.conrelid
JOIN pg_namespace cn ON cn.oid = cc.relnamespace
JOIN pg_class sc ON sc.oid = c.confrelid
JOIN pg_namespace sn ON sn.oid = sc.relnamespace
WHERE c.contype = 'f' AND sn.nspname = :s AND sc.relname = ANY(:names) AND c.conrelid <> c.confrelid
"""


class PostgresWarehouse(Warehouse):
    dialect = "postgresql"
    max_identifier_bytes = 63  # NAMEDATALEN - 1: longer names are truncated silently
    type_names = {"smallint": "smallint", "integer": "integer", "bigint": "bigint", "real": "real",
                  "double": "double precision", "decimal": "numeric", "boolean": "boolean", "date": "date",
                  "time": "time", "timestamp": "timestamp", "timestamptz": "timestamp with time zone",
                  "interval": "interval", "uuid": "uuid", "json": "jsonb", "bytes": "bytea", "text": "text",
                  "varchar": "varchar", "arrays": "suffix"}

    def reflect_columns(self, conn: Connection, schema: str, table: str) -> list[Column]:
        rows = fetch(conn, "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull "
                           "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = :s AND c.relname = :t AND a.attnum > 0 AND NOT a.attisdropped "
                           "ORDER BY a.attnum", {"s": schema, "t": table})
        return [Column(name=r[0], sql_type=str(r[1]), nullable=bool(r[2])) for r in rows]

    def list_relations(self, conn: Connection, schema: str) -> list[RelationInfo]:
        rows = fetch(conn, "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = :s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1", {"s": schema})
        return [RelationInfo(r[0], _KINDS[str(r[1])]) for r in rows]

    def schema_exists(self, conn: Connection, schema: str) -> bool:
        return bool(fetch(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = :s", {"s": schema})[0][0])

    def dependents(self, conn: Connection, schema: str, names: Sequence[str]) -> list[Dependent]:
        if not names:
            return []
        rows = fetch(conn, _DEPENDENTS_SQL, {"s": schema, "names": list(names)})
        return sorted({Dependent(r[0], r[1], r[2], f"{schema}.{r[3]}") for r in rows}, key=str)

    def load(self, conn: Connection, target_sql: str, frame: pd.DataFrame, columns: Sequence[Column], *,
             schema: str | None = None, table: str | None = None) -> int:
        from synthohive_dbt.io.copy import to_arrow  # copy.py delegates here: import on use

        names = [c.name for c in columns]
        data = frame[names] if list(frame.columns) != names else frame
        col_list = ", ".join(self.quote(n) for n in names)
        cursor = conn.connection.driver_connection.cursor()
        try:
            for start in range(0, max(len(data), 1), CHUNK_ROWS):
                chunk = to_arrow(data.iloc[start:start + CHUNK_ROWS])
                buf = io.BytesIO()
                pacsv.write_csv(chunk, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
                buf.seek(0)
                cursor.copy_expert(f"COPY {target_sql} ({col_list}) FROM STDIN WITH (FORMAT csv)", buf)
        finally:
            cursor.close()
        return len(data)

    def move_table(self, conn: Connection, source_schema: str, target_schema: str, table: str) -> None:
        run_sql(conn, f"ALTER TABLE {self.qualified(source_schema, table)} SET SCHEMA {self.quote(target_schema)}")

    def drop_relation(self, conn: Connection, schema: str, relation: RelationInfo, *,
                      with_own_dependents: bool = False) -> None:
        kind = {"view": "VIEW", "materialized view": "MATERIALIZED VIEW", "foreign table": "FOREIGN TABLE"}.get(
            relation.kind, "TABLE")
        cascade = " CASCADE" if with_own_dependents else ""
        run_sql(conn, f"DROP {kind} {self.qualified(schema, relation.name)}{cascade}")

    def lock_in_transaction(self, conn: Connection, schema: str, names: Sequence[str]) -> None:
        if names:
            tables = ", ".join(self.qualified(schema, n) for n in names)
            run_sql(conn, f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")

    def lock_scope(self, engine: Engine, schema: str) -> str:
        return f"schema {schema!r} of database {engine.url.database!r}"

    def try_lock(self, engine: Engine, schema: str) -> tuple[Callable[[], None] | None, LockHolder | None]:
        key = _lock_key(schema)

        def take(conn: Connection) -> bool:
            me = LockHolder.me().encode().replace("'", "")
            run_sql(conn, f"SET application_name = '{me}'")
            return bool(fetch(conn, "SELECT pg_try_advisory_lock(:k)", {"k": key})[0][0])

        def who(conn: Connection) -> LockHolder:
            hi, lo = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
            rows = fetch(conn, "SELECT a.application_name, a.backend_start::text FROM pg_locks l "
                               "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                               "AND l.granted AND l.classid::bigint = :hi AND l.objid::bigint = :lo "
                               "AND l.objsubid = 1", {"hi": hi, "lo": lo})
            if rows and str(rows[0][0]).startswith("synthohive"):
                return LockHolder.decode(str(rows[0][0]))
            return LockHolder(since=str(rows[0][1]) if rows else "?")

        return connection_lock(engine, take=take, who=who,
                               give_back=lambda conn: fetch(conn, "SELECT pg_advisory_unlock(:k)", {"k": key}))


def _lock_key(schema: str) -> int:
    """A stable signed 64-bit advisory-lock key per schema (advisory locks are per database already)."""
    digest = hashlib.sha256(f"synthohive-run-lock:{schema.lower()}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


__all__ = ["PostgresWarehouse"]
