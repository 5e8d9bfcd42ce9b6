"""Session-wide fixtures: a throwaway PostgreSQL server, a throwaway MariaDB server and one local Spark
session (`spark`, tests/helpers/spark.py).

`postgres_server` starts a real PostgreSQL (initdb + pg_ctl, binaries under /usr/lib/postgresql/*/bin) on
127.0.0.1 and a free port, in a temporary directory, with fsync off, and stops it when the session ends.
When the tests run as root, the server runs as the `postgres` user through `runuser` (PostgreSQL refuses
to run as root). It never touches a server on 5432. Tests that use it are marked `@pytest.mark.postgres`.

The server itself lives in tests/helpers/postgres.py. Interface (see `PostgresServer`): host, port, user,
password, dbname, `sqlalchemy_url(dbname=None)`, `dsn(dbname=None)`, `create_database(name)` for a fresh
database per test, and `dbt_env()` with the SYNTHOHIVE_PG_* variables the example project's `pg` target reads.

`mariadb_server` does the same for MariaDB (tests/helpers/mariadb.py: mariadb-install-db + mariadbd, ~2 s);
`mariadb_db` empties it (a MariaDB schema is a server-wide database) and returns its URL. Tests that use it
are marked `@pytest.mark.mariadb`; no dbt runs on it (dbt-mysql lags dbt-core).

The tests never install system packages: `.ci/run` does. A test that lacks one (PostgreSQL, Chromium, Java,
MariaDB, the shared/ corpus) skips through `tests.helpers.system.require_system`, which fails the run under
SYNTHOHIVE_REQUIRE_SYSTEM=1 and otherwise prints the install command at the end of the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# the hooks of the missing-system-part rules (skip here, fail in CI, print the install commands at the end);
# re-exported rather than listed in `pytest_plugins`, which would re-import an already imported module
from tests.helpers.mariadb import MariaDBServer, start_mariadb
from tests.helpers.postgres import PG_GLOB, PostgresServer, pg_bin_dir, start_postgres
from tests.helpers.system import (  # noqa: F401
    need_java,
    need_mariadb,
    pytest_runtest_makereport,
    pytest_terminal_summary,
    require_system,
)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL for the whole session; without the server binaries its tests skip as a missing system
    part (a failure under SYNTHOHIVE_REQUIRE_SYSTEM=1, which CI sets)."""
    if pg_bin_dir() is None:
        require_system("postgresql", f"no initdb/pg_ctl under {PG_GLOB}")
    with start_postgres() as server:
        yield server


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> str:
    """A fresh database on the session server; returns its SQLAlchemy URL."""
    return postgres_server.sqlalchemy_url(postgres_server.create_database())


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One real `local[2]` SparkSession with Hive support for the whole session (tests/helpers/spark.py): Derby
    metastore and warehouse in a temporary folder, loopback only, UI off. Without Java 17 its tests skip as a
    missing system part (a failure under SYNTHOHIVE_REQUIRE_SYSTEM=1)."""
    need_java(17)
    pytest.importorskip("pyspark", reason="the spark extra is not installed: pip install -e '.[spark]'")
    from tests.helpers.spark import start_spark

    with start_spark(tmp_path_factory.mktemp("spark")) as session:
        yield session


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    """A real MariaDB for the whole session; without `mariadbd` its tests skip as a missing system part (a
    failure under SYNTHOHIVE_REQUIRE_SYSTEM=1, which CI sets)."""
    need_mariadb()
    with start_mariadb() as server:
        yield server


@pytest.fixture
def mariadb_db(mariadb_server: MariaDBServer) -> str:
    """The session server with every user database dropped; returns its SQLAlchemy URL."""
    return mariadb_server.reset()
