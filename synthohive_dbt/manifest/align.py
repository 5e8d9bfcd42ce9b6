"""Metadata read from a manifest, renamed onto the columns the warehouse really has.

The manifest says `patient` where a DuckDB seed holds `PATIENT`, and `Select` for a `quote: true` column;
the frames read from the warehouse carry the real names, and everything downstream (training, sampling,
writing, quoting in SQL) works on those. So each table's keys, foreign keys, constraints and PII marks are
mapped here, by the one rule of `metadata.identifiers.match_column`, and whatever names no real column
becomes a `not_modelled` entry (or a note, for a YAML column that is only documented) instead of a crash
later. Pure: the caller reflects the columns (pipeline.project), this module never touches a database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TypeVar

from synthohive_dbt.config import Constraint, ForeignKey, Metadata, TableConfig
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.manifest.findings import NotModelled
from synthohive_dbt.manifest.identifiers import match_column
from synthohive_dbt.manifest.result import ManifestReadResult

R = TypeVar("R", bound=ManifestReadResult)
_FIX = "fix the column name in the project's YAML (or the model's SQL) so it names a column the table has"


def align_to_warehouse(read: R, real_columns: Mapping[str, Sequence[str]]) -> R:
    """`read` with every column name replaced by the real one; tables missing from `real_columns` (not
    reflected, e.g. not built yet) are left as they are."""
    tables: dict[str, TableConfig] = {}
    lost: list[NotModelled] = []
    notes: list[str] = []
    for name, table in read.metadata.tables.items():
        real = real_columns.get(name)
        if real is None:
            tables[name] = table
            continue
        info = read.tables.get(name)
        where = f"{name} ({info.schema}.{info.identifier} in the warehouse)" if info else name
        aligned = _Table(table, list(real), where, lost, notes)
        tables[name] = aligned.build()
    for name, table in tables.items():
        tables[name] = table.model_copy(update={"fk": _foreign_keys(table, tables, real_columns, lost)})
    not_modelled = sorted([*read.not_modelled, *lost], key=lambda n: (n.test, n.reason))
    return dataclasses.replace(read, metadata=Metadata(tables=tables), not_modelled=not_modelled,
                               notes=[*read.notes, *notes])


class _Table:
    """One table's renaming; every name the warehouse lacks is reported once, with what mentioned it."""

    def __init__(self, table: TableConfig, real: list[str], where: str, lost: list[NotModelled],
                 notes: list[str]) -> None:
        self.table, self.real, self.where, self.lost, self.notes = table, real, where, lost, notes
        self.uid = table.unique_id or table.name

    def col(self, name: str) -> str | None:
        return match_column(name, self.real)

    def cols(self, names: Sequence[str], what: str, test: str | None = None) -> list[str] | None:
        mapped = [self.col(c) for c in names]
        if None in mapped:
            missing = [c for c, m in zip(names, mapped) if m is None]
            self.lost.append(NotModelled(test or self.uid, f"{what} of {self.where} names column(s) {missing}, "
                                                           f"which the table does not have (its columns: "
                                                           f"{self.real}), so it is not modelled; {_FIX}",
                                         self.uid))
            return None
        return [str(m) for m in mapped]

    def build(self) -> TableConfig:
        t = self.table
        pk = self.cols(t.pk, f"the primary key ({', '.join(t.pk)})") if t.pk else []
        holder = TableConfig(name=t.name)
        for column, constraint in t.constraints.items():
            real = self.col(column)
            if real is None:
                self.cols([column], f"the constraint {_describe(constraint)} on column {column!r}")
                continue
            try:
                holder.add_constraint(real, constraint)
            except ConfigError as exc:
                self.lost.append(NotModelled(self.uid, f"constraints on {column!r} of {self.where} contradict "
                                                       f"each other once matched to column {real!r}: {exc}",
                                             self.uid))
        for cc in t.conditional_constraints:
            real = self.col(cc.column)
            if real is None:
                self.cols([cc.column], f"the conditional constraint on column {cc.column!r}", cc.test)
            else:
                holder.conditional_constraints.append(cc.model_copy(update={"column": real}))
        unique_keys = [k for k in (self.cols(key, f"the unique key ({', '.join(key)})") for key in t.unique_keys)
                       if k]
        undocumented = [c for c in (t.columns or []) if self.col(c) is None
                        and c not in t.constraints and c not in t.pk]
        if undocumented:
            self.notes.append(f"{self.where}: column(s) {undocumented} declared in the YAML are not in the "
                              "table; they are ignored")
        return t.model_copy(update={
            "pk": pk or [], "constraints": holder.constraints,
            "conditional_constraints": holder.conditional_constraints, "columns": list(self.real),
            "unique_keys": unique_keys,
            "pii_columns": list(dict.fromkeys(m for m in (self.col(c) for c in t.pii_columns) if m)),
            "not_pii_columns": list(dict.fromkeys(m for m in (self.col(c) for c in t.not_pii_columns) if m))})


def _foreign_keys(table: TableConfig, tables: Mapping[str, TableConfig], real_columns: Mapping[str, Sequence[str]],
                  lost: list[NotModelled]) -> list[ForeignKey]:
    """Foreign keys on real names, child side against this table and parent side against the parent."""
    out: list[ForeignKey] = []
    uid = table.unique_id or table.name
    for fk in table.fk:
        mine, theirs = real_columns.get(table.name), real_columns.get(fk.parent)
        cols = fk.columns if mine is None else [match_column(c, mine) for c in fk.columns]
        parent_cols = fk.parent_columns if theirs is None else [match_column(c, theirs) for c in fk.parent_columns]
        if None in cols or None in parent_cols:
            side = (f"{table.name} has no column {[c for c, m in zip(fk.columns, cols) if m is None]}"
                    if None in cols else
                    f"{fk.parent} has no column {[c for c, m in zip(fk.parent_columns, parent_cols) if m is None]}")
            lost.append(NotModelled(uid, f"foreign key {table.name}{fk.label}: {side} in the "
                                         f"warehouse, so it is not modelled; {_FIX}", uid))
            continue
        out.append(fk.model_copy(update={"columns": [str(c) for c in cols],
                                         "parent_columns": [str(c) for c in parent_cols]}))
    return out


def _describe(c: Constraint) -> str:
    return str({k: v for k, v in c.model_dump(exclude_defaults=True).items() if k != "dtype"})


__all__ = ["align_to_warehouse"]
