"""Session-wide fixtures: a throwaway PostgreSQL server.

`postgres_server` starts a real PostgreSQL (initdb + pg_ctl, binaries under /usr/lib/postgresql/*/bin) on
127.0.0.1 and a free port, in a temporary directory, with fsync off, and stops it when the session ends.
When the tests run as root, the server runs as the `postgres` user through `runuser` (PostgreSQL refuses
to run as root). It never touches a server on 5432. Tests that use it are marked `@pytest.mark.postgres`.

Interface (see `PostgresServer`): host, port, user, password, dbname, `sqlalchemy_url(dbname=None)`,
`dsn(dbname=None)`, `create_database(name)` for a fresh database per test, and `dbt_env()` with the
SYNTHOHIVE_PG_* variables the example project's `pg` target reads.

The tests never install system packages: `.ci/run` does. A test that lacks one (PostgreSQL, Chromium, Java,
MariaDB, the shared/ corpus) skips through `tests.helpers.system.require_system`, which fails the run under
SYNTHOHIVE_REQUIRE_SYSTEM=1 and otherwise prints the install command at the end of the run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# the hooks of the missing-system-part rules (skip here, fail in CI, print the install commands at the end);
# re-exported rather than listed in `pytest_plugins`, which would re-import an already imported module
from tests.helpers.system import (  # noqa: F401
    INSTALL,
    pytest_runtest_makereport,
    pytest_terminal_summary,
    require_system,
)

_PG_GLOB = "/usr/lib/postgresql/*/bin"


@dataclass
class PostgresServer:
    """Connection facts of the session's PostgreSQL server (a password-authenticated superuser)."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    bin_dir: Path
    data_dir: Path
    _created: list[str] = field(default_factory=list)

    def sqlalchemy_url(self, dbname: str | None = None) -> str:
        return (f"postgresql+psycopg2://{self.user}:{self.password}@{self.host}:{self.port}/"
                f"{dbname or self.dbname}")

    def dsn(self, dbname: str | None = None) -> str:
        return (f"host={self.host} port={self.port} user={self.user} password={self.password} "
                f"dbname={dbname or self.dbname}")

    def create_database(self, name: str | None = None) -> str:
        """A fresh, empty database (so tests do not see each other's schemas); returns its name."""
        import psycopg2

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        conn = psycopg2.connect(self.dsn())
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        self._created.append(name)
        return name

    def dbt_env(self, dbname: str | None = None, schema: str = "public") -> dict[str, str]:
        """Environment variables read by dbt_project_example/profiles.yml (target `pg`)."""
        return {
            "SYNTHOHIVE_PG_HOST": self.host,
            "SYNTHOHIVE_PG_PORT": str(self.port),
            "SYNTHOHIVE_PG_USER": self.user,
            "SYNTHOHIVE_PG_PASSWORD": self.password,
            "SYNTHOHIVE_PG_DBNAME": dbname or self.dbname,
            "SYNTHOHIVE_PG_SCHEMA": schema,
        }


def _pg_bin_dir() -> Path | None:
    found = sorted(glob.glob(_PG_GLOB), key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                   else 0)
    for cand in reversed(found):
        if (Path(cand) / "initdb").exists() and (Path(cand) / "pg_ctl").exists():
            return Path(cand)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_pg_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(_as_pg_user(cmd), capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stdout[-500:]} {res.stderr[-1500:]}")
    return res


class NoPostgres(RuntimeError):
    """No PostgreSQL server binaries here. The tests never install them: `.ci/run` does, before `make test`."""


@contextlib.contextmanager
def start_postgres() -> Iterator[PostgresServer]:
    """Start a throwaway server and stop it on exit (also used by bench/write_throughput.py)."""
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        raise NoPostgres(f"PostgreSQL server binaries (initdb, pg_ctl) not found under {_PG_GLOB}; "
                         f"install them with: {INSTALL['postgresql']}")
    root = Path(tempfile.mkdtemp(prefix="synthohive-pg-"))
    os.chmod(root, 0o755)
    data_dir, pwfile = root / "data", root / "pw"
    password = uuid.uuid4().hex
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
        shutil.chown(pwfile, user="postgres")
    os.chmod(pwfile, 0o600)
    user, port = "synthohive", _free_port()
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data_dir), "-U", user, "--pwfile", str(pwfile), "-A",
              "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"], cwd=root)
        opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c fsync=off -c synchronous_commit=off "
                f"-c full_page_writes=off -c unix_socket_directories={root} -c max_connections=50")
        _run([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-o", opts, "-l", str(root / "server.log"), "-w",
              "-t", "60", "start"], cwd=root)
        server = PostgresServer(host="127.0.0.1", port=port, user=user, password=password, dbname="postgres",
                                bin_dir=bin_dir, data_dir=data_dir)
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg2.connect(server.dsn()).close()
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield server
    finally:
        subprocess.run(_as_pg_user([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w",
                                    "stop"]), capture_output=True, cwd=root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL for the whole session; without the server binaries its tests skip as a missing system
    part (a failure under SYNTHOHIVE_REQUIRE_SYSTEM=1, which CI sets)."""
    if _pg_bin_dir() is None:
        require_system("postgresql", f"no initdb/pg_ctl under {_PG_GLOB}")
    with start_postgres() as server:
        yield server


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> str:
    """A fresh database on the session server; returns its SQLAlchemy URL."""
    return postgres_server.sqlalchemy_url(postgres_server.create_database())
