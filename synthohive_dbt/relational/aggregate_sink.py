"""The sink that keeps aggregates across a foreign key (config.ForeignRule, kind "aggregate"): a parent table is
drawn before its children, but its `total = sum(lines...)` can only be computed from them.

`HoldingSink` sits in front of the run's sink. A parent table with an enabled aggregate rule is held back instead
of written: its chunks stay in memory up to `memory_rows` rows, the rest goes to a temporary Parquet file (one row
group per chunk), so memory stays flat whatever the parent's size; its key columns stay in memory (as for any
parent, whose children need them). As each chunk of a child table streams past on its way to the real sink, its
rows are counted, summed, min'ed or max'ed into arrays of the parent's length. Once every child table it aggregates
is closed, the parent is written chunk by chunk with the computed columns, and counted in turn into its own
parent's aggregates (a customer's total over invoice totals over lines). Held: the key columns, those arrays, and at
most `memory_rows` rows per held table; children are never held. A table given to a distributed partition is
neither held nor aggregated (relational/distributed.py draws it elsewhere).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthohive_dbt.config import ForeignKey, ForeignRule, Metadata
from synthohive_dbt.relational.cardinality import match_parents
from synthohive_dbt.relational.foreign_rules import rule_foreign_key
from synthohive_dbt.relational.invariants import as_numbers

MEMORY_ROWS = 500_000


class HoldingSink:
    """A sink in front of another that holds each parent table with an enabled aggregate rule until the child
    tables it aggregates are closed, then writes it with those columns computed (see the module docstring)."""

    def __init__(self, inner: Any, metadata: Metadata, tables: Iterable[str], given: Iterable[str] = (),
                 memory_rows: int | None = None) -> None:
        self.inner = inner
        names, skip = set(tables), set(given)
        self.rules: dict[str, list[tuple[ForeignRule, ForeignKey]]] = {}
        for name in names - skip:
            for r in metadata.tables[name].foreign_rules:
                fk = rule_foreign_key(metadata, name, r)
                if r.enabled and r.kind == "aggregate" and fk is not None and r.other in names - skip - {name}:
                    self.rules.setdefault(name, []).append((r, fk))
        memory_rows = MEMORY_ROWS if memory_rows is None else memory_rows
        self._held = {t: _Held(memory_rows, [c for _, fk in rs for c in fk.parent_columns])
                      for t, rs in self.rules.items()}
        self._open = {t: {r.other for r, _ in rs} for t, rs in self.rules.items()}  # children not yet closed
        self._closed: set[str] = set()
        self._columns: dict[str, list[str]] = {}
        self._acc: dict[tuple[str, int], dict[str, np.ndarray]] = {}

    @property
    def results(self) -> Any:
        return self.inner.results

    def write(self, table: str, frame: pd.DataFrame) -> None:
        if table in self.rules:
            self._held[table].add(frame)
        else:
            self._forward(table, frame)

    def close(self, table: str, columns: list[str]) -> None:
        if table in self.rules:
            self._closed.add(table)
            self._columns[table] = columns
            self._finish_if_ready(table)
        else:
            self.inner.close(table, columns)
            self._child_closed(table)

    def finish(self) -> None:
        """Write any parent still held (its children were never closed: not drawn in this run)."""
        for parent in list(self.rules):
            self._open[parent] = set()
            self._finish_if_ready(parent)

    def _forward(self, table: str, frame: pd.DataFrame) -> None:
        """A finished chunk of `table`: counted into every held parent that aggregates it, then written."""
        for parent, rules in self.rules.items():
            for i, (rule, fk) in enumerate(rules):
                if rule.other == table and parent in self._closed:
                    self._accumulate(parent, i, rule, fk, frame)
        self.inner.write(table, frame)

    def _parent_keys(self, parent: str, fk: ForeignKey) -> pd.DataFrame:
        return self._held[parent].keys[fk.parent_columns]

    def _accumulate(self, parent: str, i: int, rule: ForeignRule, fk: ForeignKey, frame: pd.DataFrame) -> None:
        keys = self._parent_keys(parent, fk)
        n = len(keys)
        acc = self._acc.setdefault((parent, i), {"count": np.zeros(n, np.int64), "value": np.full(
            n, {"sum": 0.0, "min": np.inf, "max": -np.inf}.get(str(rule.function), 0.0))})
        rows = match_parents(frame[fk.columns], keys)
        linked = rows >= 0
        np.add.at(acc["count"], rows[linked], 1)
        if rule.function == "count":
            return
        x = np.prod([as_numbers(frame[c])[linked] for c in rule.child_columns], axis=0)
        ok = ~np.isnan(x)
        ufunc = {"sum": np.add, "min": np.minimum, "max": np.maximum}[str(rule.function)]
        ufunc.at(acc["value"], rows[linked][ok], x[ok])

    def _child_closed(self, child: str) -> None:
        for parent, waiting in self._open.items():
            if child in waiting:
                waiting.discard(child)
                self._finish_if_ready(parent)

    def _finish_if_ready(self, parent: str) -> None:
        if parent not in self.rules or parent not in self._closed or self._open[parent]:
            return
        held = self._held.pop(parent)
        n = held.rows
        computed: dict[str, np.ndarray] = {}
        for i, (rule, _) in enumerate(self.rules[parent]):
            acc = self._acc.get((parent, i), {"count": np.zeros(n, np.int64), "value": np.zeros(n)})
            values = acc["count"].astype(np.float64) if rule.function == "count" else acc["value"].copy()
            if rule.decimals is not None:
                values = np.round(values, rule.decimals)
            values[acc["count"] == 0] = np.nan if rule.empty is None else rule.empty
            computed[rule.column] = values
        start = 0
        del self.rules[parent]  # from here on the parent's chunks pass through like any other table's
        for part in held.chunks():
            for col, values in computed.items():
                part[col] = _in_dtype(values[start:start + len(part)], part[col])
            start += len(part)
            self._forward(parent, part)
        self.inner.close(parent, self._columns[parent])
        self._child_closed(parent)


def _in_dtype(values: np.ndarray, like: pd.Series) -> pd.Series:
    """Computed values in the column's own dtype where they fit (a count in an integer column stays integer)."""
    if like.dtype.kind == "M":  # a min/max of dates, computed on nanoseconds as float: back to the column's dates
        micros = np.where(np.isnan(values), 0, np.round(values / 1000)).astype(np.int64)  # exact below 2**53 us
        stamps = pd.Series(micros.astype("datetime64[us]"), index=like.index).where(~np.isnan(values))
        return stamps.astype(like.dtype)
    out = pd.Series(values, index=like.index)
    whole = np.isnan(values) | (np.round(values) == values)
    if like.dtype.kind in "iu" or str(like.dtype) in ("Int64", "Int32", "Int16", "Int8"):
        if whole.all():
            return out.astype("Int64" if np.isnan(values).any() else like.dtype)
        return out
    if str(like.dtype) == "Float64":
        return out.astype("Float64")
    if like.dtype == object:
        return out.astype(object).where(out.notna(), None)
    return out




class _Held:
    """One held table: its chunks (in memory up to `memory_rows` rows, then in a temporary Parquet file) and its
    key columns (in memory, for the children's rows to find their parent)."""

    def __init__(self, memory_rows: int, key_columns: list[str]) -> None:
        self.memory_rows, self.key_columns = memory_rows, list(dict.fromkeys(key_columns))
        self.rows = 0
        self._parts: list[pd.DataFrame | int] = []  # a frame, or the row group holding it
        self._key_parts: list[pd.DataFrame] = []
        self._keys: pd.DataFrame | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._groups = 0

    def add(self, frame: pd.DataFrame) -> None:
        self._key_parts.append(frame[self.key_columns].copy())
        self._keys = None
        if self.rows + len(frame) > self.memory_rows and self._spill(frame):
            self._parts.append(self._groups - 1)
        else:
            self._parts.append(frame)
        self.rows += len(frame)

    def _spill(self, frame: pd.DataFrame) -> bool:
        """The chunk as a row group of the temporary file; False where Arrow cannot hold it as it is (mixed
        objects, a type other than the first chunk's): then it stays in memory."""
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                self._folder = tempfile.TemporaryDirectory(prefix="synthohive-held-")
                self._schema = table.schema
                self._writer = pq.ParquetWriter(Path(self._folder.name) / "held.parquet", table.schema)
            elif table.schema != self._schema:
                table = table.cast(self._schema)
            self._writer.write_table(table)
        except (pa.ArrowException, ValueError, TypeError):
            return False
        self._groups += 1
        return True

    @property
    def keys(self) -> pd.DataFrame:
        if self._keys is None:
            self._keys = (pd.concat(self._key_parts, ignore_index=True) if self._key_parts
                          else pd.DataFrame(columns=self.key_columns))
            self._key_parts = [self._keys]
        return self._keys

    def chunks(self) -> Iterable[pd.DataFrame]:
        """The held chunks in order, each a fresh frame; the temporary file is removed after the last."""
        if self._writer is not None:
            self._writer.close()
        reader = pq.ParquetFile(Path(self._folder.name) / "held.parquet") if self._folder is not None else None
        try:
            for part in self._parts:
                if isinstance(part, int):
                    assert reader is not None
                    yield reader.read_row_group(part).to_pandas()
                else:
                    yield part.copy()
        finally:
            if reader is not None:
                reader.close()
            if self._folder is not None:
                self._folder.cleanup()


__all__ = ["MEMORY_ROWS", "HoldingSink"]
