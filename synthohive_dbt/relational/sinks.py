"""Where sampled chunks go: kept in memory (small databases) or streamed to one Parquet file per table,
so a database larger than RAM never exists as frames at once. Parquet output is written into a staging folder
and published into place only when the whole sample (and its quality gates) succeeded."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthohive_dbt.errors import WarehouseError
from synthohive_dbt.processes import pid_alive

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Where `sample_database` hands each chunk: `write` appends one, `close` ends a table, `results` says
    what was written (frames, file paths, or row counts for a warehouse)."""

    results: Any

    def write(self, table: str, frame: pd.DataFrame) -> None: ...

    def close(self, table: str, columns: list[str]) -> None: ...


class ExecutorSink(Sink, Protocol):
    """A sink whose tables may be drawn whole on Spark executors rather than handed over chunk by chunk (the
    Hive staged write of `synthohive generate --target spark`): `sample(sink=...)` sees `spark_session`, lets
    each partition write `<partition_folder()>/<table>/part-<p>.parquet` in `spark_schema(table)`, and hands
    every finished folder to `adopt`. The sink publishes them as it would its own chunks."""

    spark_session: Any

    def partition_folder(self) -> Path: ...

    def spark_schema(self, table: str) -> str | None: ...

    def adopt(self, table: str, folder: str, rows: int) -> None: ...


EXECUTOR_MODULES = ("synthohive_dbt.relational.synthesizer",)
"""What an executor imports to draw a partition (torch and the engine): imported ahead of the sample job by
`io.spark_hive.warm_executors` (this module stays light: the pipeline names it before importing torch)."""


def executors_of(sink: Sink | None) -> Any | None:
    """The Spark session a sink offers to draw on (an `ExecutorSink`), else None: the chunks come here."""
    return getattr(sink, "spark_session", None)


class MemorySink:
    """Collects chunks and concatenates each table once it is complete."""

    def __init__(self) -> None:
        self._parts: dict[str, list[pd.DataFrame]] = {}
        self.results: dict[str, pd.DataFrame] = {}

    def write(self, table: str, frame: pd.DataFrame) -> None:
        self._parts.setdefault(table, []).append(frame)

    def close(self, table: str, columns: list[str]) -> None:
        parts = self._parts.pop(table, [])
        self.results[table] = (pd.concat(parts, ignore_index=True) if len(parts) > 1
                               else parts[0] if parts else pd.DataFrame(columns=columns))


class ParquetSink:
    """Appends each chunk to <base>/<table>.parquet as a row group; nothing is kept after the write."""

    def __init__(self, base: str | Path) -> None:
        self.base = Path(base)
        try:
            self.base.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"cannot create the output folder {str(self.base)!r}: {exc}",
                                 hint="choose a writable output_path_base") from exc
        self._writers: dict[str, tuple[pq.ParquetWriter, pa.Schema]] = {}
        self.results: dict[str, str] = {}

    def write(self, table: str, frame: pd.DataFrame) -> None:
        arrow = pa.Table.from_pandas(frame, preserve_index=False)
        if table not in self._writers:
            path = self.base / f"{table}.parquet"
            self._writers[table] = (pq.ParquetWriter(path, arrow.schema), arrow.schema)
        writer, schema = self._writers[table]
        if arrow.schema != schema:
            arrow = arrow.cast(schema)
        writer.write_table(arrow)

    def close(self, table: str, columns: list[str]) -> None:
        path = self.base / f"{table}.parquet"
        if table in self._writers:
            self._writers.pop(table)[0].close()
        else:
            pq.write_table(pa.Table.from_pandas(pd.DataFrame(columns=columns), preserve_index=False), path)
        self.results[table] = str(path)


def staging_folder(base: str | Path) -> Path:
    """A fresh hidden sibling of `base` to write into before the output is published (same filesystem, so
    publishing is a rename)."""
    base = Path(base)
    if base.exists() and not base.is_dir():
        raise WarehouseError(f"output_path_base {str(base)!r} exists and is not a folder",
                             hint="pass a folder path (it is created if missing)")
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
        _remove_dead_staging(base)
        return Path(tempfile.mkdtemp(prefix=f".{base.name}.staging-{os.getpid()}-", dir=base.parent))
    except OSError as exc:
        raise WarehouseError(f"cannot create a staging folder next to {str(base)!r}: {exc}",
                             hint="choose a writable output_path_base") from exc


def _remove_dead_staging(base: Path) -> list[Path]:
    """Staging folders of earlier samples whose process is gone (killed before publishing) are removed."""
    prefix = f".{base.name}.staging-"
    removed = []
    for cand in base.parent.iterdir():
        if not (cand.is_dir() and cand.name.startswith(prefix)):
            continue
        pid = cand.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and pid_alive(int(pid)):
            continue
        shutil.rmtree(cand, ignore_errors=True)
        removed.append(cand)
    if removed:
        log.info("removed %d staging folder(s) of interrupted samples next to %s", len(removed), base)
    return removed


def publish(staging: Path, base: str | Path, results: dict[str, str]) -> dict[str, str]:
    """Move the staged table files into `base` (each a rename: a reader sees the old or the new file, never
    half of one) and drop the staging folder. Files in `base` that this run did not write are left alone."""
    base = Path(base)
    try:
        if not base.exists():
            os.replace(staging, base)
        else:
            for path in results.values():
                os.replace(path, base / Path(path).name)
            shutil.rmtree(staging)
    except OSError as exc:
        raise WarehouseError(f"cannot move the sampled tables from {str(staging)!r} into {str(base)!r}: {exc}",
                             hint="check permissions and free space; the staged files are still in the staging "
                                  "folder") from exc
    return {table: str(base / Path(path).name) for table, path in results.items()}


def discard(staging: Path) -> None:
    """Remove a staging folder after a failure; the previous output was never touched."""
    shutil.rmtree(staging, ignore_errors=True)
