"""The warehouses the io/ tests run on (no dbt needed): DuckDB, the session's PostgreSQL, the session's MariaDB.

A test takes `IO_WAREHOUSES` as its parameters and `warehouse_url(request, folder)` as its URL, so one test body
covers every `Warehouse` implementation. Tests write their own fixture SQL once, in PostgreSQL's spelling (ANSI
double quotes, TIMESTAMP); `sql_for` transpiles it with sqlglot for a warehouse that spells SQL otherwise
(MariaDB: backticks, and DATETIME(6) for TIMESTAMP, whose MariaDB namesake drops microseconds).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlglot
from sqlglot import exp

from synthohive_dbt.io.warehouse import run_sql

IO_WAREHOUSES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres),
                 pytest.param("mariadb", marks=pytest.mark.mariadb)]

# SQLAlchemy dialect name -> sqlglot dialect, for warehouses whose SQL is not PostgreSQL's
_SPELLING = {"mysql": "mysql", "mariadb": "mysql"}


def warehouse_url(request: pytest.FixtureRequest, folder: Path) -> str:
    """A fresh, empty warehouse of the kind `request.param` names: a DuckDB file in `folder`, a new database on
    the session's PostgreSQL, or the session's MariaDB emptied of every user schema."""
    if request.param == "duckdb":
        return f"duckdb:///{folder / 'w.duckdb'}"
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_db"))
    return str(request.getfixturevalue("mariadb_db"))


def sql_for(bind: sa.Engine | sa.Connection | str, statement: str) -> str:
    """`statement` (PostgreSQL spelling) as the warehouse of `bind` (an engine, a connection or a URL) spells it."""
    name = sa.make_url(bind).get_backend_name() if isinstance(bind, str) else bind.dialect.name
    target = _SPELLING.get(name)
    if target is None:
        return statement
    tree = sqlglot.parse_one(statement, read="postgres")
    for dtype in tree.find_all(exp.DataType):
        if dtype.this == exp.DataType.Type.TIMESTAMP and not dtype.expressions:
            dtype.replace(exp.DataType.build("DATETIME(6)", dialect="mysql"))
    return tree.sql(dialect=target)


def execute(bind: sa.Engine | sa.Connection, *statements: str) -> None:
    """Run fixture statements (PostgreSQL spelling) on any warehouse, in one transaction on an engine."""
    if isinstance(bind, sa.Engine):
        with bind.begin() as conn:
            execute(conn, *statements)
        return
    for statement in statements:
        run_sql(bind, sql_for(bind, statement))
