"""MySQL / MariaDB: backtick names, no transactional DDL, so the swap is one atomic RENAME TABLE.

A schema is a database here. DDL commits on its own, so the default swap (drop, move, record inside one
transaction) would leave a half-swapped target if the process died in between. Instead `swap` builds the
target's next ownership marker beside the staged tables, then renames in ONE statement (`RENAME TABLE a TO b,
c TO d, ...`, atomic in MySQL and MariaDB): our old tables and the old marker out into the staging schema,
the staged tables and the new marker in. A run killed before that statement leaves the old target; after it,
the new one; the next run removes the staging schema either way. Views cannot be renamed across schemas, so
our own views among the replaced relations are dropped just before the rename (only they can be missing
from a target whose run died in that moment).

`DROP DATABASE` drops everything in it, so an empty schema is dropped only after the catalog shows it empty.
Nothing records which views read a table (a renamed or dropped table leaves them broken), so `dependents`
parses each view's definition (`information_schema.VIEWS`) and reads foreign keys from
`information_schema.KEY_COLUMN_USAGE`; a view whose SQL the user may not see (no SHOW VIEW) counts as reading
everything, so it refuses the run rather than break unseen (a view the user has no privilege on at all is not
listed to it: run synthohive as a user that may see the views over its target). The run lock is a named lock (`GET_LOCK`) held by
its own connection, released by the server when that connection dies; the holder's pid is known where
performance_schema is on (MySQL 8's default; MariaDB's is off, and then the holder is named by its connection). Identifiers: at most 64 characters, no trailing space, none beyond U+FFFF.
`tinyint(1)` is read as BOOLEAN, which is how MySQL spells BOOLEAN.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from synthohive_dbt.errors import WarehouseError
from synthohive_dbt.io.identifiers import quote_ident
from synthohive_dbt.io.relation import Column, Dependent, RelationInfo
from synthohive_dbt.io.warehouses.base import LockHolder, Warehouse, connection_lock, fetch, run_sql, view_reads
from synthohive_dbt.kinds import is_bool, is_datetime

MAX_IDENTIFIER_CHARS = 64
CHUNK_ROWS = 50_000
_KINDS = {"BASE TABLE": "table", "SYSTEM VERSIONED": "table", "VIEW": "view", "SEQUENCE": "sequence"}
_SYSTEM = ("information_schema", "mysql", "performance_schema", "sys")


class MariaDBWarehouse(Warehouse):
    def __init__(self, dialect: str = "mysql") -> None:
        self.dialect = dialect  # SQLAlchemy names it "mysql" or "mariadb" by the URL; the SQL is the same

    def quote(self, name: str) -> str:
        if len(name) > MAX_IDENTIFIER_CHARS:
            raise WarehouseError(f"identifier {name!r} is longer than {MAX_IDENTIFIER_CHARS} characters, the "
                                 f"limit of {self.dialect}", hint="rename the table or column to a shorter name")
        if name != name.rstrip(" ") or any(ord(ch) > 0xFFFF for ch in name):
            raise WarehouseError(f"identifier {name!r} ends with a space or holds a character beyond U+FFFF, "
                                 f"which {self.dialect} does not allow in names",
                                 hint="rename the table or column")
        return quote_ident(name, mark="`")

    # -- catalog ---------------------------------------------------------------------------------------------
    def reflect_columns(self, conn: Connection, schema: str, table: str) -> list[Column]:
        rows = fetch(conn, "SELECT column_name, column_type, is_nullable = 'YES' FROM information_schema.columns "
                           "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position",
                     {"s": schema, "t": table})
        return [Column(name=str(r[0]), sql_type=_spelled(str(r[1])), nullable=bool(r[2])) for r in rows]

    def list_relations(self, conn: Connection, schema: str) -> list[RelationInfo]:
        rows = fetch(conn, "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = :s "
                           "AND table_type <> 'TEMPORARY'", {"s": schema})
        return sorted((RelationInfo(str(r[0]), _KINDS.get(str(r[1]), str(r[1]).lower())) for r in rows),
                      key=lambda r: r.name)  # by code point, as PostgreSQL's C collation: not the server's

    def dependents(self, conn: Connection, schema: str, names: Sequence[str]) -> list[Dependent]:
        wanted = {n.lower() for n in names}
        if not wanted:
            return []
        out: list[Dependent] = []
        views = fetch(conn, f"SELECT table_schema, table_name, view_definition FROM information_schema.views "
                            f"WHERE table_schema NOT IN {_SYSTEM!r}", {})
        for view_schema, view, sql in views:
            if not sql:  # listed (the user may use it) but not shown (no SHOW VIEW): it may read anything
                out.append(Dependent(str(view_schema), str(view), "view", f"{schema}.? - its SQL is hidden from "
                                     "this user: grant SHOW VIEW on it so synthohive can check"))
                continue
            reads = view_reads(str(sql), dialect="mysql", view_schema=str(view_schema), schema=schema,
                               wanted=wanted)
            for on in sorted(reads):
                if not (str(view_schema) == schema and str(view).lower() == on):
                    out.append(Dependent(str(view_schema), str(view), "view", f"{schema}.{on}"))
        fks = fetch(conn, "SELECT DISTINCT table_schema, table_name, constraint_name, referenced_table_name "
                          "FROM information_schema.key_column_usage WHERE referenced_table_schema = :s", {"s": schema})
        for fk_schema, fk_table, name, ref in fks:
            inside = str(fk_schema) == schema and str(fk_table).lower() in wanted
            if str(ref).lower() in wanted and not inside:
                out.append(Dependent(str(fk_schema), str(fk_table), f"foreign key {name} of table", f"{schema}.{ref}"))
        return sorted(set(out), key=str)

    # -- reading: keysets are temporary tables, which need a schema (the URL may name no database) -----------
    def put_keyset(self, conn: Connection, name: str, keys: pd.DataFrame, like: tuple[str, str],
                   columns: Sequence[Column]) -> str:
        ref = self.qualified(like[0], name)
        select = ", ".join(self.quote(c.name) for c in columns)
        run_sql(conn, f"CREATE TEMPORARY TABLE {ref} AS SELECT {select} FROM {self.qualified(*like)} WHERE 1 = 0")
        conn.info.setdefault("synthohive_keysets", {})[name] = like[0]
        self.load(conn, ref, keys, columns)
        return ref

    def drop_keyset(self, conn: Connection, name: str) -> None:
        schema = conn.info.get("synthohive_keysets", {}).pop(name, None)
        if schema is not None:
            run_sql(conn, f"DROP TEMPORARY TABLE IF EXISTS {self.qualified(schema, name)}")

    # -- writing ---------------------------------------------------------------------------------------------
    def load(self, conn: Connection, target_sql: str, frame: pd.DataFrame, columns: Sequence[Column], *,
             schema: str | None = None, table: str | None = None) -> int:
        """Multi-row INSERTs: pymysql's executemany packs rows into statements of up to ~1 MB."""
        names = [c.name for c in columns]
        values = [_db_values(frame[n]) for n in names]
        col_list = ", ".join(self.quote(n) for n in names).replace("%", "%%")  # the driver formats with %
        sql = f"INSERT INTO {target_sql.replace('%', '%%')} ({col_list}) VALUES ({', '.join(['%s'] * len(names))})"
        rows = list(zip(*values)) if names else []
        cursor = conn.connection.driver_connection.cursor()
        try:
            for start in range(0, len(rows), CHUNK_ROWS):
                cursor.executemany(sql, rows[start:start + CHUNK_ROWS])
        finally:
            cursor.close()
        return len(frame)

    def drop_empty_schema(self, conn: Connection, schema: str) -> None:
        """DROP DATABASE would take everything in it along: drop it only when the catalog shows it empty."""
        left = self.list_relations(conn, schema)
        if left:
            raise WarehouseError(f"schema {schema!r} still holds {', '.join(map(str, left))}; it was not dropped",
                                 hint=f"look at schema {schema!r}; drop it yourself if nothing there matters")
        run_sql(conn, f"DROP DATABASE {self.quote(schema)}")

    def swap(self, conn: Connection, staging: str, target: str, tables: Sequence[str],
             doomed: Sequence[RelationInfo], *, marker: str, own_dependents: Sequence[Dependent],
             record: Callable[[tuple[str, str] | None], None]) -> None:
        """One RENAME TABLE moves the old tables and marker out and the new ones in (see module doc)."""
        gone = set()
        for dep in own_dependents:  # ours, checked under the run lock: what a cascade would drop elsewhere
            if dep.kind.endswith("view"):
                run_sql(conn, f"DROP VIEW IF EXISTS {self.qualified(dep.schema, dep.name)}")
                gone.add((dep.schema, dep.name))
        for rel in doomed:
            if rel.kind != "table" and (target, rel.name) not in gone:  # views cannot change schema in a RENAME
                self.drop_relation(conn, target, rel)
        next_marker = f"{marker}_next"
        record((staging, next_marker))
        renames: list[tuple[str, str, str, str]] = []
        retired: list[str] = []
        for i, rel in enumerate(r for r in doomed if r.kind == "table"):
            retired.append(f"{marker}_old_{i}")
            renames.append((target, rel.name, staging, retired[-1]))
        if any(r.name == marker for r in self.list_relations(conn, target)):
            retired.append(f"{marker}_old")
            renames.append((target, marker, staging, retired[-1]))
        renames += [(staging, name, target, name) for name in tables]
        renames.append((staging, next_marker, target, marker))
        run_sql(conn, "RENAME TABLE " + ", ".join(f"{self.qualified(a, b)} TO {self.qualified(c, d)}"
                                                  for a, b, c, d in renames))
        for name in retired:
            self.drop_relation(conn, staging, RelationInfo(name, "table"))

    # -- the lock: a named lock held by its own connection -----------------------------------------------------
    def lock_scope(self, engine: Engine, schema: str) -> str:
        return f"schema {schema!r} on {engine.url.host or 'localhost'}:{engine.url.port or 3306}"

    def try_lock(self, engine: Engine, schema: str) -> tuple[Callable[[], None] | None, LockHolder | None]:
        name = _lock_name(schema)

        def who(conn: Connection) -> LockHolder:
            rows = fetch(conn, "SELECT id, host, time FROM information_schema.processlist "
                               "WHERE id = IS_USED_LOCK(:n)", {"n": name})
            if not rows:
                return LockHolder()
            since = datetime.now(timezone.utc) - timedelta(seconds=int(rows[0][2] or 0))
            return LockHolder(pid=_client_pid(conn, int(rows[0][0])), host=str(rows[0][1]),
                              since=since.strftime("%Y-%m-%d %H:%M:%S UTC (its last statement)"))

        return connection_lock(engine, take=lambda conn: fetch(conn, "SELECT GET_LOCK(:n, 0)", {"n": name})[0][0] == 1,
                               give_back=lambda conn: fetch(conn, "SELECT RELEASE_LOCK(:n)", {"n": name}), who=who)


def _client_pid(conn: Connection, connection_id: int) -> str:
    """The pid a client sent when it connected (pymysql and the MySQL clients send `_pid`), readable where
    performance_schema is on (MySQL 8's default, not MariaDB's); else the connection id."""
    try:
        rows = fetch(conn, "SELECT attr_value FROM performance_schema.session_connect_attrs "
                           "WHERE processlist_id = :i AND attr_name = '_pid'", {"i": connection_id})
    except DBAPIError:  # no performance_schema, or not readable by this user: the connection id is what we know
        rows = []
    return str(rows[0][0]) if rows else f"? (connection {connection_id})"


def _lock_name(schema: str) -> str:
    """A named lock per schema (lock names are server-wide, like schema names; at most 64 characters)."""
    return "synthohive-run-lock:" + hashlib.sha256(schema.encode()).hexdigest()[:40]


def _spelled(column_type: str) -> str:
    """The DDL type as the catalog spells it, except tinyint(1): MySQL's BOOLEAN, and read as one."""
    return "BOOLEAN" if column_type.lower() == "tinyint(1)" else column_type


def _db_values(s: pd.Series) -> list[Any]:
    """Python values pymysql escapes as literals: NULL for missing, 0/1 for booleans, ISO text for times."""
    missing = s.isna().to_numpy()
    if is_bool(s):
        values = [int(bool(v)) for v in s.fillna(False)]
    elif is_datetime(s):
        tz = getattr(s.dtype, "tz", None)
        naive = s.dt.tz_convert("UTC").dt.tz_localize(None) if tz is not None else s
        values = naive.dt.strftime("%Y-%m-%d %H:%M:%S.%f").tolist()
    else:
        values = s.astype(object).tolist()
    return [None if m else v for v, m in zip(values, missing)]


__all__ = ["MariaDBWarehouse"]
