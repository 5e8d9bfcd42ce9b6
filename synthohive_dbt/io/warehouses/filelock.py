"""A run lock as an flock'ed file: the kernel releases it when its holder dies, so a killed run leaves no
stale lock. Used where the warehouse has no lock of its own (a DuckDB file, a Spark warehouse folder)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from synthohive_dbt.errors import WarehouseError
from synthohive_dbt.io.warehouses.base import LockHolder


def try_file_lock(lock: Path, *, hint: str) -> tuple[Callable[[], None] | None, LockHolder | None]:
    """(release, None) when this process now holds `lock`, else (None, who holds it). `hint` says what to do
    when the file cannot be created."""
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise WarehouseError(f"cannot create the lock file {lock}: {exc}",
                                 hint=hint) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode(errors="replace")
            os.close(fd)
            return None, LockHolder.decode(holder)
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:  # not a file the previous holder unlinked after we opened it
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.pwrite(fd, LockHolder.me().encode().encode(), 0)

    def release() -> None:
        try:
            os.unlink(lock)  # while still held: whoever opens it next creates a fresh file
        except FileNotFoundError:
            pass
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    return release, None
