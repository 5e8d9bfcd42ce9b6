"""Write synthetic tables into a target schema: staging first, counts checked, then one atomic swap.

A run that dies half-way (killed, out of memory, a bad value in row 900,000) must leave the previous target
schema exactly as it was, because dbt models and analysts point at it. So all tables are loaded into
`<target>__synthohive_staging`, their row counts compared with the frames, and only then is the target
replaced in a single transaction:

- PostgreSQL: `DROP SCHEMA target CASCADE; ALTER SCHEMA staging RENAME TO target` (no data is copied).
- DuckDB (no `ALTER SCHEMA ... RENAME`) and other dialects: drop the target, recreate it and
  `CREATE TABLE target.t AS SELECT * FROM staging.t`, all in one transaction (DuckDB's DDL is transactional).

A target schema that holds any of the project's real sources, seeds or models is refused unless `force`.
Staging tables take the real tables' column names and DDL types (from `reflect_columns`), so the synthetic
tables look to dbt exactly like the real ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import pandas as pd
from sqlalchemy import Connection, Engine

from synthohive_dbt.errors import UnsafeTargetError, WarehouseError
from synthohive_dbt.io.copy import copy_frame
from synthohive_dbt.io.identifiers import qualified, quote_ident, validate_schema_name
from synthohive_dbt.io.warehouse import Column, Relation, dialect_of, reflect_columns, run_sql

STAGING_SUFFIX = "__synthohive_staging"

ProgressCallback = Callable[[str, str, int], None]
"""on_progress(event, table, rows): event is 'staging', 'loading', 'loaded', 'swapping' or 'done'."""


def staging_schema_for(target_schema: str) -> str:
    return validate_schema_name(target_schema + STAGING_SUFFIX, what="staging schema (target + suffix)")


def check_target_safe(target_schema: str, real_relations: Iterable[Relation | tuple[str, str]], *,
                      force: bool = False) -> None:
    """Refuse a target (or its staging schema) that holds real project relations, unless force=True."""
    validate_schema_name(target_schema, what="target schema")
    staging = staging_schema_for(target_schema)
    guarded = {target_schema.lower(), staging.lower()}
    hits = sorted({f"{s}.{t}" for s, t in real_relations if s.lower() in guarded})
    if hits and not force:
        shown = ", ".join(hits[:10]) + (f" and {len(hits) - 10} more" if len(hits) > 10 else "")
        raise UnsafeTargetError(
            f"target schema {target_schema!r} holds real tables of this project ({shown}); writing synthetic "
            "data there would drop and replace them",
            hint="choose another target schema (e.g. 'synthetic'), or pass --force if you really mean to "
                 "replace the real tables")


def real_columns(bind: Engine | Connection, relations: Mapping[str, Relation | tuple[str, str]]
                 ) -> dict[str, list[Column]]:
    """Columns of each real relation, keyed like `relations` (the table names the writer will use)."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return real_columns(conn, relations)
    return {name: reflect_columns(bind, *Relation(*rel)) for name, rel in relations.items()}


def write_tables(bind: Engine, frames: Mapping[str, pd.DataFrame], target_schema: str, *,
                 columns: Mapping[str, Sequence[Column]],
                 real_relations: Iterable[Relation | tuple[str, str]] = (), force: bool = False,
                 on_progress: ProgressCallback | None = None) -> dict[str, int]:
    """Replace `target_schema` with exactly `frames` (table name -> frame); returns rows per table.

    `columns[name]` are the real table's columns (names and types) that the synthetic table copies; a frame
    must hold exactly those columns. Raises UnsafeTargetError before any SQL when the target is not safe.
    """
    check_target_safe(target_schema, real_relations, force=force)
    staging = staging_schema_for(target_schema)
    notify = on_progress or (lambda event, table, rows: None)
    plan = _plan(frames, columns)
    dialect = bind.dialect.name
    with bind.connect() as conn:
        _run_in_transaction(conn, lambda: _load_staging(conn, staging, plan, notify),
                            f"loading staging schema {staging!r}")
        counts = _check_counts(conn, staging, plan)
        notify("swapping", target_schema, sum(counts.values()))
        _run_in_transaction(conn, lambda: _swap(conn, dialect, staging, target_schema, list(plan)),
                            f"replacing schema {target_schema!r}")
    notify("done", target_schema, sum(counts.values()))
    return counts


def _plan(frames: Mapping[str, pd.DataFrame], columns: Mapping[str, Sequence[Column]]
          ) -> dict[str, tuple[pd.DataFrame, list[Column]]]:
    plan = {}
    for name, frame in frames.items():
        quote_ident(name)  # refuses names no quoting can carry, before any SQL runs
        if name not in columns:
            raise WarehouseError(f"table {name!r}: no real column types given for it",
                                 hint="pass columns=real_columns(engine, {name: (schema, table)})")
        cols = list(columns[name])
        want, have = [c.name for c in cols], list(frame.columns)
        missing, extra = [c for c in want if c not in have], [c for c in have if c not in want]
        if missing or extra:
            raise WarehouseError(
                f"table {name!r}: the synthetic frame does not match the real table's columns "
                f"(missing: {missing}, unexpected: {extra})",
                hint="generate every column of the real table and nothing else (same names, same case)")
        plan[name] = (frame, cols)
    return plan


def _run_in_transaction(conn: Connection, work: Callable[[], None], what: str) -> None:
    try:
        with conn.begin():
            work()
    except (UnsafeTargetError, WarehouseError):
        raise
    except Exception as exc:  # driver errors differ by dialect; the transaction is already rolled back
        raise WarehouseError(f"{what} failed and was rolled back (the target schema is unchanged): {exc}",
                             hint="read the database error above; fix the data or the permissions") from exc


def _load_staging(conn: Connection, staging: str, plan: dict[str, tuple[pd.DataFrame, list[Column]]],
                  notify: ProgressCallback) -> None:
    run_sql(conn, f"DROP SCHEMA IF EXISTS {quote_ident(staging)} CASCADE")
    run_sql(conn, f"CREATE SCHEMA {quote_ident(staging)}")
    notify("staging", staging, 0)
    for name, (frame, cols) in plan.items():
        target = qualified(staging, name)
        ddl = ", ".join(f"{quote_ident(c.name)} {c.sql_type}" for c in cols)
        run_sql(conn, f"CREATE TABLE {target} ({ddl})")
        notify("loading", name, len(frame))
        copy_frame(conn, target, frame, cols, schema=staging, table_name=name)
        notify("loaded", name, len(frame))


def _check_counts(conn: Connection, staging: str, plan: dict[str, tuple[pd.DataFrame, list[Column]]]
                  ) -> dict[str, int]:
    counts = {}
    for name, (frame, _) in plan.items():
        n = int(run_sql(conn, f"SELECT count(*) FROM {qualified(staging, name)}")[0][0])
        if n != len(frame):
            raise WarehouseError(f"table {staging}.{name} holds {n} rows after loading {len(frame)}",
                                 hint="the target schema was not touched; check the warehouse logs and retry")
        counts[name] = n
    if conn.in_transaction():
        conn.commit()
    return counts


def _swap(conn: Connection, dialect: str, staging: str, target: str, tables: list[str]) -> None:
    run_sql(conn, f"DROP SCHEMA IF EXISTS {quote_ident(target)} CASCADE")
    if dialect == "postgresql":
        run_sql(conn, f"ALTER SCHEMA {quote_ident(staging)} RENAME TO {quote_ident(target)}")
        return
    run_sql(conn, f"CREATE SCHEMA {quote_ident(target)}")
    for name in tables:
        run_sql(conn, f"CREATE TABLE {qualified(target, name)} AS SELECT * FROM {qualified(staging, name)}")
    run_sql(conn, f"DROP SCHEMA {quote_ident(staging)} CASCADE")


__all__ = ["STAGING_SUFFIX", "check_target_safe", "real_columns", "staging_schema_for", "write_tables",
           "dialect_of"]
