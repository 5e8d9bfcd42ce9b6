"""A throwaway PostgreSQL server: initdb + pg_ctl (binaries under /usr/lib/postgresql/*/bin) on 127.0.0.1 and
a free port, in a temporary directory, with fsync off; stopped and removed on exit.

Why here: tests/conftest.py turns it into the session's `postgres_server` fixture, and anyone who needs a
server for a benchmark runs it by hand (`python -m tests.helpers.postgres` prints a URL and waits for Ctrl-C)
instead of importing the test suite. When run as root the server runs as the `postgres` user through
`runuser` (PostgreSQL refuses to run as root). It never touches a server on 5432.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.system import INSTALL

PG_GLOB = "/usr/lib/postgresql/*/bin"


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


def pg_bin_dir() -> Path | None:
    found = sorted(glob.glob(PG_GLOB), key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                   else 0)
    for cand in reversed(found):
        if (Path(cand) / "initdb").exists() and (Path(cand) / "pg_ctl").exists():
            return Path(cand)
    return None


def free_port() -> int:
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
    """Start a throwaway server and stop it on exit."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        raise NoPostgres(f"PostgreSQL server binaries (initdb, pg_ctl) not found under {PG_GLOB}; "
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
    user, port = "synthohive", free_port()
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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Start a server, print its URL (for bench/write_throughput.py --postgres-url) and wait for Ctrl-C or
    SIGTERM; either stops the server and removes its files (a background job ignores Ctrl-C by default)."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    with start_postgres() as server:
        print(f"postgresql://{server.user}:{server.password}@{server.host}:{server.port}/{server.dbname}",
              flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
