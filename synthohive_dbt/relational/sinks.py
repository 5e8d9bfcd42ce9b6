"""Where sampled chunks go: kept in memory (small databases) or streamed to one Parquet file per table,
so a database larger than RAM never exists as frames at once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthohive_dbt.errors import WarehouseError


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
