"""What synthohive needs from a warehouse, once: the catalog, dependencies, bulk loads, moves and a run lock.

Every place that differs between warehouses (how a catalog is read, what depends on a table, how rows are
loaded fast, how a table changes schema, how two runs are kept apart) is a method here, implemented once per
warehouse (`duckdb.py`, `postgres.py`, `mariadb.py`, `spark.py`, and `generic.py` for any other SQLAlchemy
dialect). The code above (`io.writer`, `io.ownership`, the pipeline) asks `warehouse_for(bind)` and never
branches on a dialect name. A warehouse unlike a SQL database (Spark) overrides the few higher-level steps that
have a default here: `read_tables` (cut on the cluster), `owned_by_properties` / `record_in_properties`
(ownership on the tables themselves) and `staged_write` (its own publishing).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import sqlglot
from sqlalchemy import Connection, Engine, text
from sqlglot import exp

from synthohive_dbt.errors import LockedTargetError, WarehouseError
from synthohive_dbt.io.identifiers import quote_ident
from synthohive_dbt.io.relation import Column, Dependent, RelationInfo
from synthohive_dbt.io.warehouses.types import ANSI_NAMES, portable, spell


@dataclass(frozen=True)
class LockHolder:
    """Who holds a run lock, as far as the warehouse can tell."""

    pid: str = "?"
    host: str = "?"
    since: str = "?"
    user: str = "?"

    @classmethod
    def me(cls) -> LockHolder:
        return cls(pid=str(os.getpid()), host=socket.gethostname(), user=_user(),
                   since=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))

    def encode(self) -> str:
        """One short line (also a PostgreSQL application_name, at most 63 bytes)."""
        return f"synthohive pid={self.pid} host={self.host[:20]} since={self.since[:19]}"[:63]

    @classmethod
    def decode(cls, text_: str) -> LockHolder:
        fields = dict(part.split("=", 1) for part in text_.split() if "=" in part)
        since = fields.get("since", "?")
        rest = text_.split("since=", 1)[1] if "since=" in text_ else since
        return cls(pid=fields.get("pid", "?"), host=fields.get("host", "?"), since=rest.strip())

    def __str__(self) -> str:
        return f"pid {self.pid} on host {self.host}, since {self.since}"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "?"


class Warehouse(ABC):
    """One warehouse's way of doing what synthohive needs; stateless, so one instance serves every bind."""

    dialect: str = "?"
    folds_case: bool = False
    """True where unquoted names match case-insensitively (DuckDB): two names differing in case are one."""
    checks_dependents: bool = True
    """False where `dependents` cannot look (the plan then says so rather than claim none were found)."""
    locks_runs: bool = True
    """False where `try_lock` cannot keep two runs apart (the plan says so)."""
    takes_over_relations: bool = True
    """False where --force / --adopt cannot apply (Spark: only tables carrying synthohive's property are replaced)."""
    publishing: str = "staged, then swapped in one transaction"
    """How a run's tables reach the target, as the run's log says it."""

    # -- names ---------------------------------------------------------------------------------------------
    max_identifier_bytes: int | None = None
    """Names longer than this would be cut by the warehouse (PostgreSQL: 63); None where nothing is cut."""

    def quote(self, name: str) -> str:
        """An identifier quoted once, by this warehouse's rules (ANSI double quotes by default)."""
        return quote_ident(name, max_bytes=self.max_identifier_bytes)

    def qualified(self, schema: str, name: str) -> str:
        return f"{self.quote(schema)}.{self.quote(name)}"

    def key(self, name: str) -> str:
        """The form under which two names are the same relation here."""
        return name.lower() if self.folds_case else name

    # -- types -----------------------------------------------------------------------------------------------
    type_names: dict[str, str] = ANSI_NAMES
    """This warehouse's name for each portable type kind (see `types.py`)."""

    def type_from(self, sql_type: str, dialect: str) -> str:
        """A column type recorded on warehouse `dialect`, as this warehouse spells it (unchanged when same)."""
        if dialect == self.dialect:
            return sql_type
        return spell(portable(sql_type), self.type_names)

    # -- catalog ---------------------------------------------------------------------------------------------
    @abstractmethod
    def reflect_columns(self, conn: Connection, schema: str, table: str) -> list[Column]:
        """Columns of schema.table in order, with DDL types as the warehouse spells them; [] if absent."""

    @abstractmethod
    def list_relations(self, conn: Connection, schema: str) -> list[RelationInfo]:
        """Every relation in a schema (tables, views, anything else with a name there); [] if no schema."""

    def schema_exists(self, conn: Connection, schema: str) -> bool:
        rows = conn.execute(text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = :s"),
                            {"s": schema})
        return bool(rows.scalar())

    @abstractmethod
    def dependents(self, conn: Connection, schema: str, names: Sequence[str]) -> list[Dependent]:
        """Objects (views, constraints, ...) that read the relations schema.names, wherever they live."""

    def current_database(self, conn: Connection) -> str:
        """The database (catalog) this connection works in, as the warehouse names it."""
        return str(run_sql(conn, "SELECT current_database()")[0][0])

    def row_count(self, conn: Connection, schema: str, name: str) -> int:
        return int(run_sql(conn, f"SELECT count(*) FROM {self.qualified(schema, name)}")[0][0])

    # -- reading ---------------------------------------------------------------------------------------------
    def select(self, conn: Connection, sql: str) -> pd.DataFrame:
        """Rows of a SELECT as the driver returns them (object columns; the caller types them by the catalog)."""
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql)
            names = [d[0] for d in cursor.description]
            return pd.DataFrame(cursor.fetchall(), columns=names, dtype=object)
        finally:
            cursor.close()

    def put_keyset(self, conn: Connection, name: str, keys: pd.DataFrame, like: tuple[str, str],
                   columns: Sequence[Column]) -> str:
        """Make `keys` readable by SQL on this connection as `name` (a temporary table shaped like the columns
        of the relation `like`); returns the quoted reference. `drop_keyset` removes it."""
        ref = self.quote(name)
        select = ", ".join(self.quote(c.name) for c in columns)
        run_sql(conn, f"CREATE TEMPORARY TABLE {ref} AS SELECT {select} FROM {self.qualified(*like)} WHERE 1 = 0")
        self.load(conn, ref, keys, columns)
        return ref

    def drop_keyset(self, conn: Connection, name: str) -> None:
        run_sql(conn, f"DROP TABLE IF EXISTS {self.quote(name)}")

    def read_tables(self, conn: Connection, relations: Any, edges: Sequence[Any], pks: Any,
                    max_rows: int | None, seed: int) -> dict[str, pd.DataFrame] | None:
        """The tables read (and cut under `max_rows`) where the warehouse does it itself (Spark: on the
        cluster); None: `io.subsample`'s SQL reader does it."""
        return None

    # -- ownership: where a warehouse keeps it somewhere other than the marker table (io.ownership) ---------
    def owned_by_properties(self, conn: Connection, schema: str) -> dict[str, str] | None:
        """{key(name): role} of what synthohive wrote in `schema`, where the warehouse marks its tables
        themselves (Spark: a table property); None: the marker table says (`io.ownership`)."""
        return None

    def record_in_properties(self, conn: Connection, schema: str, relations: Sequence[RelationInfo], *,
                             role: str, run_id: str) -> bool:
        """Mark `relations` as synthohive's on the relations themselves; False: the marker table records them."""
        return False

    # -- writing -------------------------------------------------------------------------------------------
    @abstractmethod
    def load(self, conn: Connection, target_sql: str, frame: pd.DataFrame, columns: Sequence[Column], *,
             schema: str | None = None, table: str | None = None) -> int:
        """Append `frame` (exactly `columns`) to the existing table `target_sql` (quoted), the fastest way.

        `schema`/`table` name it unquoted for warehouses that build the statement themselves; returns rows.
        """

    def staged_write(self, bind: Engine, target: str, columns: Any, *, run_id: str,
                     on_progress: Callable[[str, str, int], None], on_note: Callable[[str], None],
                     force: bool = False, adopt: bool = False) -> Any:
        """A writer of its own for the synthetic tables (a context manager and sampling sink, as
        `io.writer.StagedWrite`); None: the staging schema and swap of `io.writer`."""
        return None

    def check_can_write(self, bind: Engine) -> None:
        """Refuse, before any real data is read, what would stop the write at the end of a run (Spark on a
        cluster without a folder its executors share). Nothing to check for a SQL warehouse."""

    def prepare_to_sample(self, bind: Engine, modules: Sequence[str]) -> None:
        """Called as a run that will sample starts: a warehouse whose own workers draw the rows (Spark's
        executors) may start them now and import `modules` there, while the driver loads the model and checks
        the target. Nothing to do where the sample is drawn in this process."""

    def create_table(self, conn: Connection, schema: str, table: str, columns: Sequence[Column]) -> None:
        ddl = ", ".join(f"{self.quote(c.name)} {c.sql_type}" for c in columns)
        run_sql(conn, f"CREATE TABLE {self.qualified(schema, table)} ({ddl})")

    def move_table(self, conn: Connection, source_schema: str, target_schema: str, table: str) -> None:
        """Move a table between schemas inside the caller's transaction (copy + drop unless overridden)."""
        run_sql(conn, f"CREATE TABLE {self.qualified(target_schema, table)} AS "
                      f"SELECT * FROM {self.qualified(source_schema, table)}")
        run_sql(conn, f"DROP TABLE {self.qualified(source_schema, table)}")

    def drop_relation(self, conn: Connection, schema: str, relation: RelationInfo, *,
                      with_own_dependents: bool = False) -> None:
        """DROP one relation, never cascading into objects we have not checked (see `dependents`).

        `with_own_dependents`: the caller has just checked, under lock, that every dependent is ours.
        """
        kind = "VIEW" if relation.kind == "view" else "TABLE"
        run_sql(conn, f"DROP {kind} {self.qualified(schema, relation.name)}")

    def create_schema(self, conn: Connection, schema: str) -> None:
        run_sql(conn, f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}")

    def drop_empty_schema(self, conn: Connection, schema: str) -> None:
        """DROP SCHEMA without CASCADE: it fails, rolling back, if anything we did not list is still there."""
        run_sql(conn, f"DROP SCHEMA {self.quote(schema)}")

    def swap(self, conn: Connection, staging: str, target: str, tables: Sequence[str],
             doomed: Sequence[RelationInfo], *, marker: str, own_dependents: Sequence[Dependent],
             record: Callable[[tuple[str, str] | None], None]) -> None:
        """Put the staged `tables` in place of `doomed` (our old relations in `target`) and record them.

        `record(None)` updates the target's ownership marker in place; `record((schema, name))` writes the
        updated list as a new table there instead (for a swap that renames it in with the tables). The
        default runs inside the caller's transaction, which is all or nothing where DDL is transactional
        (DuckDB, PostgreSQL); `own_dependents` (our views over `doomed`, checked under lock) go with a cascade.
        """
        for rel in doomed:
            self.drop_relation(conn, target, rel, with_own_dependents=bool(own_dependents))
        for name in tables:
            self.move_table(conn, staging, target, name)
        record(None)

    def lock_in_transaction(self, conn: Connection, schema: str, names: Sequence[str]) -> None:
        """Keep others from reading or changing these relations until the transaction ends (if supported)."""
        return None

    # -- one run per target ---------------------------------------------------------------------------------
    @abstractmethod
    def try_lock(self, engine: Engine, schema: str) -> tuple[Callable[[], None] | None, LockHolder | None]:
        """(release, None) when this process now holds the run lock for `schema`, else (None, holder)."""

    def lock_scope(self, engine: Engine, schema: str) -> str:
        """What the lock covers, for messages: 'schema X' or 'the DuckDB file F'."""
        return f"schema {schema!r}"

    @contextlib.contextmanager
    def run_lock(self, engine: Engine, schema: str, *, wait: float = 0.0,
                 on_wait: Callable[[LockHolder], None] | None = None) -> Iterator[None]:
        """Hold the run lock for `schema` for the block; wait up to `wait` seconds for another run to end.

        The lock dies with its holder (a PostgreSQL session, an flock'ed file), so a killed run never
        leaves a stale lock behind.
        """
        deadline = time.monotonic() + max(wait, 0.0)
        told = False
        while True:
            release, holder = self.try_lock(engine, schema)
            if release is not None:
                break
            assert holder is not None
            if time.monotonic() >= deadline:
                raise LockedTargetError(
                    f"another synthohive run is writing {self.lock_scope(engine, schema)} ({holder})",
                    hint="wait for it to finish, or pass --wait SECONDS to queue behind it")
            if on_wait is not None and not told:
                on_wait(holder)
                told = True
            time.sleep(min(0.5, max(deadline - time.monotonic(), 0.01)))
        try:
            yield
        finally:
            release()

    # -- errors ------------------------------------------------------------------------------------------------
    def connect_error(self, exc: BaseException, where: str) -> WarehouseError:
        """A failed connection as one line naming the profile and target, never the password."""
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        first = next((line.strip() for line in detail if line.strip()), type(exc).__name__)
        return WarehouseError(f"cannot connect to the {self.dialect} warehouse of {where}: {first}",
                              hint="check host, port, user and password in that profile (or the environment "
                                   "variables it reads), then run `dbt debug` to confirm")


def connection_lock(engine: Engine, *, take: Callable[[Connection], bool], give_back: Callable[[Connection], None],
                    who: Callable[[Connection], LockHolder]) -> tuple[Callable[[], None] | None, LockHolder | None]:
    """`try_lock` for a lock that lives as long as its own connection (a PostgreSQL advisory lock, a MySQL named
    lock): the server releases it when that session ends, however the process ended.

    `take(conn)` tries once; `give_back(conn)` releases; `who(conn)` names the holder when `take` failed.
    """
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        if take(conn):
            def release() -> None:
                try:
                    give_back(conn)
                finally:
                    conn.close()
            return release, None
        holder = who(conn)
    except BaseException:
        conn.close()
        raise
    conn.close()
    return None, holder


def view_reads(sql: str, *, dialect: str, view_schema: str, schema: str, wanted: set[str]) -> set[str]:
    """Which of schema.`wanted` (lower case) a view's SQL reads, for warehouses that record no dependencies.

    Unparsable SQL counts when it names them at all: refusing too much is recoverable, dropping or breaking
    a user's view is not.
    """
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.ParseError:
        low = sql.lower()
        return {w for w in wanted if schema.lower() in low and w in low}
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    found = set()
    for table in tree.find_all(exp.Table):
        name, db = table.name.lower(), (table.db or "").lower()
        if not db and name in ctes:
            continue
        if (db or view_schema.lower()) == schema.lower() and name in wanted:
            found.add(name)
    return found


def run_sql(conn: Connection, sql: str) -> list[tuple[Any, ...]]:
    """Run one statement with no parameters on the raw DB-API cursor, inside `conn`'s transaction.

    Bypasses SQLAlchemy's `text()` (which reads `:name` as a bind) and psycopg2's `%` formatting, so quoted
    identifiers holding ':' or '%' reach the database intact. Returns the rows (empty for DDL).
    """
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        return [tuple(r) for r in cursor.fetchall()] if cursor.description else []
    finally:
        cursor.close()


def fetch(conn: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """A parameterised catalog query (names travel as bind values, never spliced into SQL)."""
    return [tuple(r) for r in conn.execute(text(sql), params)]
