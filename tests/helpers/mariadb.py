"""A throwaway MariaDB server: mariadb-install-db + mariadbd (the Debian `mariadb-server` package) in a
temporary directory, on a unix socket and 127.0.0.1 at a free port, with durability off; stopped and removed
on exit.

Why here: tests/conftest.py turns it into the session's `mariadb_server` fixture (the warehouse tests of
tests/io/ run on it as a third warehouse), and `python -m tests.helpers.mariadb` prints a URL and waits for
Ctrl-C, for a benchmark. When run as root, mariadbd drops to the `mysql` user itself (`--user=mysql`), so the
data directory is handed to that user. Startup is about 2 s. It never touches a server on 3306.

In MariaDB a schema is a database and names are server-wide, so `reset()` drops every user database between
tests instead of creating a fresh database per test as the PostgreSQL fixture does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.postgres import free_port
from tests.helpers.system import INSTALL, mariadbd_path

SYSTEM_SCHEMAS = frozenset({"information_schema", "mysql", "performance_schema", "sys"})


@dataclass
class MariaDBServer:
    """Connection facts of the session's MariaDB server (a password-authenticated user with every privilege)."""

    host: str
    port: int
    user: str
    password: str
    socket_path: Path
    data_dir: Path

    def sqlalchemy_url(self) -> str:
        """No default database: every statement names its schema (a MariaDB schema is a database)."""
        return f"mysql+pymysql://{self.user}:{self.password}@{self.host}:{self.port}/?charset=utf8mb4"

    def _connect(self):  # noqa: ANN202 - a pymysql connection, imported on use
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               autocommit=True, charset="utf8mb4")

    def reset(self) -> str:
        """Drop every user database (what earlier tests left) and return the URL: a fresh, empty warehouse."""
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT schema_name FROM information_schema.schemata")
                for (name,) in cur.fetchall():
                    if name not in SYSTEM_SCHEMAS:
                        cur.execute("DROP DATABASE `" + name.replace("`", "``") + "`")
        finally:
            conn.close()
        return self.sqlalchemy_url()


class NoMariaDB(RuntimeError):
    """No MariaDB server binaries here. The tests never install them: `.ci/run` does, before `make test`."""


@contextlib.contextmanager
def start_mariadb() -> Iterator[MariaDBServer]:
    """Start a throwaway server and stop it on exit."""
    server_bin = mariadbd_path()
    install_db = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    if server_bin is None or install_db is None:
        raise NoMariaDB(f"MariaDB server binaries (mariadbd, mariadb-install-db) not found; install them with: "
                        f"{INSTALL['mariadb']}")
    root = Path(tempfile.mkdtemp(prefix="synthohive-mariadb-"))
    os.chmod(root, 0o755)
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(root, user="mysql")
    user_opt = ["--user=mysql"] if as_root else []
    data_dir, sock, port = root / "data", root / "mysqld.sock", free_port()
    proc: subprocess.Popen[bytes] | None = None
    try:
        res = subprocess.run([install_db, "--no-defaults", f"--datadir={data_dir}", *user_opt,
                              "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"],
                             capture_output=True, text=True, cwd=root)
        if res.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed ({res.returncode}): "
                               f"{res.stdout[-500:]} {res.stderr[-1500:]}")
        log = root / "server.log"
        proc = subprocess.Popen(
            [str(server_bin), "--no-defaults", f"--datadir={data_dir}", *user_opt, f"--socket={sock}",
             f"--port={port}", "--bind-address=127.0.0.1", f"--pid-file={root / 'mysqld.pid'}", f"--log-error={log}",
             "--skip-name-resolve", "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
             "--innodb-buffer-pool-size=128M", "--character-set-server=utf8mb4", "--max-connections=100",
             "--performance-schema=ON"],  # where MySQL 8 keeps it: who holds a run lock (its client's pid)
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root)
        import pymysql

        deadline = time.monotonic() + 60
        while True:
            try:
                admin = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
                break
            except pymysql.err.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                    raise RuntimeError(f"mariadbd did not start (exit {proc.poll()}): {tail}") from None
                time.sleep(0.1)
        user, password = "synthohive", uuid.uuid4().hex
        try:
            with admin.cursor() as cur:
                for host in ("127.0.0.1", "localhost"):
                    cur.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'")
                    cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{user}'@'{host}' WITH GRANT OPTION")
        finally:
            admin.close()
        yield MariaDBServer(host="127.0.0.1", port=port, user=user, password=password, socket_path=sock,
                            data_dir=data_dir)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()  # a throwaway server: nothing to flush, its files go next
            proc.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Start a server, print its SQLAlchemy URL and wait for Ctrl-C or SIGTERM (which stop and remove it)."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    with start_mariadb() as server:
        print(server.sqlalchemy_url(), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
