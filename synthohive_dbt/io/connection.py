"""A warehouse connection described once, turned into a SQLAlchemy engine, and never shown with its password.

`ConnectionSpec` is what `synthohive_dbt.dbt.profiles` builds from a dbt profile; it lives here because only
`io/` may import SQLAlchemy. The password is a pydantic `SecretStr`, so `repr()`, logs and error messages
show `**********`; `redacted()` is the one string to print.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext

from synthohive_dbt.errors import ProfileError

# dialect -> (SQLAlchemy driver name, the importable module it needs, the pip package that provides it)
_DRIVERS: dict[str, tuple[str, str, str]] = {
    "duckdb": ("duckdb", "duckdb_engine", "duckdb-engine"),
    "postgres": ("postgresql+psycopg2", "psycopg2", "psycopg2-binary"),
    "redshift": ("postgresql+psycopg2", "psycopg2", "psycopg2-binary"),
    "snowflake": ("snowflake", "snowflake.sqlalchemy", "snowflake-sqlalchemy"),
    "bigquery": ("bigquery", "sqlalchemy_bigquery", "sqlalchemy-bigquery"),
    "mysql": ("mysql+pymysql", "pymysql", "pymysql"),
}


@dataclass(frozen=True)
class ConnectionSpec:
    """One warehouse connection: the dbt adapter type and the fields its SQLAlchemy URL needs."""

    dialect: str
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: SecretStr | None = None
    database: str | None = None
    schema: str | None = None
    path: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    source: str = "<unknown profile>"

    def url(self) -> URL:
        """The SQLAlchemy URL (password inside): pass it to SQLAlchemy only, never to a log."""
        session = _SESSIONS.get(self.dialect)
        if session is not None:
            raise ProfileError(f"{self.source}: a {self.dialect} target is reached through {session}, not a URL",
                               hint="create_warehouse_engine(spec) connects to it")
        if self.dialect not in _DRIVERS:
            raise ProfileError(
                f"{self.source}: warehouse type {self.dialect!r} is not supported",
                hint=f"use one of {sorted(_DRIVERS)}, or pass a SQLAlchemy engine yourself")
        return _URLS.get(self.dialect, _server_url)(self, _DRIVERS[self.dialect][0])

    def _secret(self) -> str | None:
        return self.password.get_secret_value() if self.password is not None else None

    def redacted(self) -> str:
        """The URL with the password masked: safe for messages and logs."""
        session = _SESSIONS.get(self.dialect)
        if session is not None:
            return f"{self.dialect} via {session}, schema {self.schema}"
        return self.url().render_as_string(hide_password=True)

    def __str__(self) -> str:
        return self.redacted()


def _file_url(spec: ConnectionSpec, driver: str) -> URL:
    return URL.create(driver, database=spec.path or ":memory:", query=spec.query)


def _project_url(spec: ConnectionSpec, driver: str) -> URL:  # BigQuery: project as host, dataset as database
    return URL.create(driver, host=spec.database, database=spec.schema, query=spec.query)


def _account_url(spec: ConnectionSpec, driver: str) -> URL:  # Snowflake: database/schema in the path
    db = f"{spec.database}/{spec.schema}" if spec.database and spec.schema else spec.database
    return URL.create(driver, username=spec.user, password=spec._secret(), host=spec.host, database=db,
                      query=spec.query)


def _server_url(spec: ConnectionSpec, driver: str) -> URL:
    return URL.create(driver, username=spec.user, password=spec._secret(), host=spec.host, port=spec.port,
                      database=spec.database, query=spec.query)


# warehouses reached through a session of this process rather than a URL (dbt-spark `method: session`)
_SESSIONS: dict[str, str] = {"spark": "the SparkSession of this process"}

# how each warehouse spells its URL (a server with host/port/database unless listed)
_URLS: dict[str, Callable[[ConnectionSpec, str], URL]] = {
    "duckdb": _file_url, "bigquery": _project_url, "snowflake": _account_url}


def create_warehouse_engine(spec: ConnectionSpec, **engine_kwargs: Any) -> Engine:
    """A SQLAlchemy engine for the spec; a missing driver is a ProfileError naming the package to install.
    A warehouse reached through a session of this process (Spark) gets an engine over that session."""
    if spec.dialect in _SESSIONS:
        from synthohive_dbt.io.warehouses.spark import session_engine

        return session_engine({k: v for k, v in spec.query.items() if k != "method"}, spec.source)
    driver = _DRIVERS.get(spec.dialect)
    url = spec.url()  # raises for unsupported dialects
    assert driver is not None
    module, package = driver[1], driver[2]
    if importlib.util.find_spec(module.split(".")[0]) is None:
        raise ProfileError(
            f"{spec.source}: connecting to {spec.dialect} needs the Python package {package!r}, "
            "which is not installed",
            hint=f"pip install {package}")
    if spec.path and spec.path != ":memory:":  # a database file (DuckDB): its folder must exist
        Path(spec.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **engine_kwargs)
    _explain_connect_errors(engine, spec.source)
    return engine


def _explain_connect_errors(engine: Engine, where: str) -> None:
    """A failed connection (wrong password, host down) becomes one WarehouseError naming the profile and
    target, instead of a driver traceback, wherever in the run the first connection happens."""
    from synthohive_dbt.io.warehouses import warehouse_for

    warehouse = warehouse_for(engine)

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if context.connection is None and context.is_disconnect is False and context.sqlalchemy_exception is not None:
            raise warehouse.connect_error(context.original_exception, where) from None
