"""Read many related tables under a row budget without breaking their foreign keys.

Cutting each table on its own would leave orders whose customer was cut, and children-per-parent counts
that are wrong for every parent. So the budget is spent at the ROOTS: each table over budget is charged to
its largest root ancestor, which keeps a seeded random share of its keys so that the table lands near
`max_rows` (small lookup roots such as products stay whole); every other table keeps
exactly the rows whose parents were kept (all of their children, so per-parent counts stay true), and a
self-reference (employee -> manager) pulls the sampled rows' ancestors in.

Key sets travel to the warehouse, never whole tables to Python: DuckDB sees a registered frame, other
dialects a temporary table, and children are selected with `EXISTS` against it.

Limits: a child with several CUT parents keeps only rows whose parents are all kept (an intersection);
a self-reference below the root is not closed over (rows whose ancestor was cut keep a dangling key).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine

from synthohive_dbt.config import Metadata
from synthohive_dbt.errors import WarehouseError
from synthohive_dbt.graph import topological_order
from synthohive_dbt.io.warehouses import warehouse_for
from synthohive_dbt.io.warehouse import (
    Column,
    Relation,
    count_rows,
    reflect_columns,
    select_frame,
)


class ForeignKeyEdge(NamedTuple):
    """`child(child_columns)` references `parent(parent_columns)`; table names are the logical names."""

    child: str
    child_columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]


FKInput = Metadata | Iterable[tuple[str, Sequence[str] | str, str, Sequence[str] | str]] | None


def foreign_key_edges(fks: FKInput) -> list[ForeignKeyEdge]:
    """Normalise a Metadata or (child, child_cols, parent, parent_cols) tuples into edges."""
    if fks is None:
        return []
    if isinstance(fks, Metadata):
        return [ForeignKeyEdge(t.name, tuple(fk.columns), fk.parent, tuple(fk.parent_columns))
                for t in fks.tables.values() for fk in t.fk]
    out = []
    for child, ccols, parent, pcols in fks:
        ccols = (ccols,) if isinstance(ccols, str) else tuple(ccols)
        pcols = (pcols,) if isinstance(pcols, str) else tuple(pcols)
        out.append(ForeignKeyEdge(child, ccols, parent, pcols))
    return out


def read_tables(bind: Engine | Connection, tables: Mapping[str, Relation | tuple[str, str]], *,
                foreign_keys: FKInput = None, primary_keys: Mapping[str, Sequence[str]] | None = None,
                max_rows: int | None = None, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Typed frames for `tables` (logical name -> relation), sampled consistently along foreign keys.

    `max_rows` None reads everything; otherwise it is the target size of the largest table (children keep
    all rows of their kept parents, so a table can land somewhat above it). With a budget, results are deterministic for a given `seed` and
    warehouse content. Foreign keys to tables outside `tables` are ignored.
    """
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return read_tables(conn, tables, foreign_keys=foreign_keys, primary_keys=primary_keys,
                               max_rows=max_rows, seed=seed)
    if max_rows is not None and max_rows < 1:
        raise WarehouseError(f"max_rows must be at least 1, got {max_rows}", hint="pass a positive row budget")
    rels = {name: Relation(*rel) for name, rel in tables.items()}
    if primary_keys is None and isinstance(foreign_keys, Metadata):
        primary_keys = {n: t.pk for n, t in foreign_keys.tables.items()}
    pks = {n: list((primary_keys or {}).get(n, [])) for n in rels}
    edges = [e for e in foreign_key_edges(foreign_keys) if e.child in rels and e.parent in rels]
    own = warehouse_for(bind).read_tables(bind, rels, edges, pks, max_rows, seed)  # Spark: on the cluster
    return own if own is not None else _Sampler(bind, rels, edges, pks, max_rows, seed).run()


class _Sampler:
    def __init__(self, conn: Connection, rels: dict[str, Relation], edges: list[ForeignKeyEdge],
                 pks: dict[str, list[str]], max_rows: int | None, seed: int) -> None:
        self.conn, self.rels, self.edges, self.pks = conn, rels, edges, pks
        self.wh = warehouse_for(conn)
        self.max_rows, self.seed = max_rows, seed
        self.columns = {n: reflect_columns(conn, *r) for n, r in rels.items()}
        self.keysets: dict[tuple[str, tuple[str, ...]], str] = {}
        self.cut: set[str] = set()
        self._registered: list[str] = []

    def run(self) -> dict[str, pd.DataFrame]:
        parents = {n: sorted({e.parent for e in self.edges if e.child == n}) for n in self.rels}
        order = topological_order(self.rels, parents)
        fractions = self._root_fractions(parents) if self.max_rows is not None else {}
        out: dict[str, pd.DataFrame] = {}
        try:
            for name in order:
                real_parents = [p for p in parents[name] if p != name]
                if not real_parents:
                    frame = self._read_root(name, fractions.get(name, 1.0))
                else:
                    frame = self._read_child(name)
                out[name] = frame
                if name in self.cut:
                    self._publish_keys(name, frame)
        finally:
            self._cleanup()
        return out

    # -- planning ------------------------------------------------------------------------------------
    def _root_fractions(self, parents: dict[str, list[str]]) -> dict[str, float]:
        assert self.max_rows is not None
        counts = {n: count_rows(self.conn, r) for n, r in self.rels.items()}
        return root_fractions(counts, parents, self.max_rows)

    def _key_columns(self, name: str) -> list[str]:
        """The columns that identify a row for sampling: the primary key, else the first referenced set."""
        if self.pks[name]:
            return self.pks[name]
        refs = [list(e.parent_columns) for e in self.edges if e.parent == name and e.child != name]
        return refs[0] if refs else []

    # -- reading -------------------------------------------------------------------------------------
    def _select_sql(self, name: str, where: list[str]) -> str:
        cols = ", ".join(f"t.{self.wh.quote(c.name)}" for c in self.columns[name])
        sql = f"SELECT {cols} FROM {self.wh.qualified(*self.rels[name])} t"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if self.pks[name]:
            sql += " ORDER BY " + ", ".join(f"t.{self.wh.quote(c)}" for c in self.pks[name])
        return sql

    def _read_root(self, name: str, fraction: float) -> pd.DataFrame:
        if fraction >= 1.0:
            return select_frame(self.conn, self._select_sql(name, []), self.columns[name])
        rng = np.random.default_rng([self.seed, zlib.crc32(name.encode())])
        key_cols = self._key_columns(name)
        if not key_cols:  # nothing references it and it has no key: sample the rows themselves
            frame = select_frame(self.conn, self._select_sql(name, []), self.columns[name])
            k = max(1, math.ceil(fraction * len(frame)))
            keep = np.sort(rng.choice(len(frame), size=min(k, len(frame)), replace=False))
            return frame.iloc[keep].reset_index(drop=True)
        self_fks = [e for e in self.edges if e.child == name and e.parent == name]
        need = list(dict.fromkeys([*key_cols, *(c for e in self_fks for c in e.child_columns),
                                   *(c for e in self_fks for c in e.parent_columns)]))
        cols = [c for c in self.columns[name] if c.name in set(need)]
        order = ", ".join(self.wh.quote(c) for c in key_cols)
        keys = select_frame(self.conn, f"SELECT DISTINCT {', '.join(self.wh.quote(c.name) for c in cols)} FROM "
                                       f"{self.wh.qualified(*self.rels[name])} ORDER BY {order}", cols)
        k = max(1, math.ceil(fraction * len(keys)))
        chosen = np.zeros(len(keys), dtype=bool)
        chosen[rng.choice(len(keys), size=min(k, len(keys)), replace=False)] = True
        for e in self_fks:  # pull in ancestors until closed
            while True:
                wanted = _isin(keys, list(e.parent_columns), keys.loc[chosen, list(e.child_columns)])
                new = wanted & ~chosen
                if not new.any():
                    break
                chosen |= new
        self.cut.add(name)
        keyset = self._put_keys(name, keys.loc[chosen, key_cols].drop_duplicates(), key_cols)
        match = " AND ".join(f"k.{self.wh.quote(c)} = t.{self.wh.quote(c)}" for c in key_cols)
        return select_frame(self.conn, self._select_sql(name, [f"EXISTS (SELECT 1 FROM {keyset} k WHERE {match})"]),
                            self.columns[name])

    def _read_child(self, name: str) -> pd.DataFrame:
        where = []
        for e in self.edges:
            if e.child != name or e.parent == name or e.parent not in self.cut:
                continue
            keyset = self.keysets[(e.parent, e.parent_columns)]
            nulls = " OR ".join(f"t.{self.wh.quote(c)} IS NULL" for c in e.child_columns)
            match = " AND ".join(f"k.{self.wh.quote(p)} = t.{self.wh.quote(c)}"
                                 for c, p in zip(e.child_columns, e.parent_columns))
            where.append(f"({nulls} OR EXISTS (SELECT 1 FROM {keyset} k WHERE {match}))")
        if where:
            self.cut.add(name)
        return select_frame(self.conn, self._select_sql(name, where), self.columns[name])

    def _publish_keys(self, name: str, frame: pd.DataFrame) -> None:
        """Upload the key values the children of a cut table will be matched against."""
        for e in self.edges:
            if e.parent == name and e.child != name and (name, e.parent_columns) not in self.keysets:
                cols = list(e.parent_columns)
                self._put_keys(name, frame[cols].dropna().drop_duplicates(), cols)

    def _put_keys(self, name: str, keys: pd.DataFrame, cols: list[str]) -> str:
        tmp = f"_synthohive_keys_{len(self._registered)}"
        self._registered.append(tmp)
        columns = [c for c in self.columns[name] if c.name in set(cols)]
        ref = self.wh.put_keyset(self.conn, tmp, keys, self.rels[name], columns)
        self.keysets[(name, tuple(cols))] = ref
        return ref

    def _cleanup(self) -> None:
        for tmp in self._registered:
            self.wh.drop_keyset(self.conn, tmp)
        self._registered.clear()
        if self.conn.in_transaction():
            self.conn.commit()


def root_fractions(counts: Mapping[str, int], parents: Mapping[str, Sequence[str]], max_rows: int) -> dict[str, float]:
    """The share of keys each cut root keeps (tables -> row counts, tables -> parent tables); roots not listed
    are read whole. Shared by the SQL reader above and the Spark one (io/spark.py).

    Every table over budget is charged to ONE root above it, its "driver": the largest root among its
    ancestors (customers rather than products for order_items), so small lookup roots stay whole and
    a child with several parents is not cut twice. The driver keeps max_rows / rows of the largest
    table it drives.
    """
    roots = [n for n in counts if not [p for p in parents[n] if p != n]]
    ancestors: dict[str, set[str]] = {}
    for name in topological_order(counts, {n: list(parents[n]) for n in counts}):
        mine = {name} if name in roots else set()
        for p in parents[name]:
            if p != name:
                mine |= ancestors[p]
        ancestors[name] = mine
    fractions: dict[str, float] = {}
    for name in sorted(counts):
        if counts[name] > max_rows:
            driver = max(ancestors[name], key=lambda r: (counts[r], r))
            fractions[driver] = min(fractions.get(driver, 1.0), max_rows / counts[name])
    return fractions


def _isin(frame: pd.DataFrame, cols: list[str], values: pd.DataFrame) -> np.ndarray:
    """Row mask: frame[cols] (as a tuple) occurs among the rows of `values` (NULLs never match)."""
    values = values.dropna()
    if len(cols) == 1:
        return frame[cols[0]].isin(values.iloc[:, 0]).to_numpy(dtype=bool)
    left = pd.MultiIndex.from_frame(frame[cols])
    right = pd.MultiIndex.from_frame(values.set_axis(cols, axis=1))
    return left.isin(right)


__all__ = ["Column", "ForeignKeyEdge", "foreign_key_edges", "read_tables", "root_fractions"]
