"""Declarations given on the command line: `--not-pii TABLE.COLUMN` and `--keep-real TABLE`.

They land where the project's own YAML declarations land (`TableConfig.not_pii_columns`, `copy_as_is`), so
one precedence (privacy.detect) serves both, and foreign-key copies of a column see them too. Names are
matched case-insensitively to the tables and columns the manifest declares; an unknown name is an error
before any data is read, never a silently ignored flag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from synthohive_dbt.config import Metadata
from synthohive_dbt.errors import ConfigError


def parse_column_refs(values: Sequence[str], flag: str = "--not-pii") -> dict[str, list[str]]:
    """'TABLE.COLUMN' strings -> {table: [columns]} (the column is what follows the last dot)."""
    out: dict[str, list[str]] = {}
    for value in values:
        table, dot, column = value.strip().rpartition(".")
        if not dot or not table or not column:
            raise ConfigError(f"{flag} {value!r} is not TABLE.COLUMN",
                              hint=f"write the table and the column, e.g. {flag} customers.name")
        out.setdefault(table, []).append(column)
    return out


def _table(metadata: Metadata, name: str, flag: str) -> str:
    if name in metadata.tables:
        return name
    folded = [t for t in metadata.tables if t.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    raise ConfigError(f"{flag} names table {name!r}, which is not among the tables to synthesize "
                      f"({', '.join(sorted(metadata.tables))})",
                      hint=f"use one of those names with {flag} (`synthohive inspect` lists them)")


def _column(metadata: Metadata, table: str, name: str, flag: str) -> str:
    known = metadata.tables[table].columns
    if known is None or name in known:
        return name
    folded = [c for c in known if c.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    raise ConfigError(f"{flag} {table}.{name}: table {table!r} has no column {name!r} (columns: {known})",
                      hint=f"fix the column name given to {flag}")


def apply_declarations(metadata: Metadata, not_pii: Mapping[str, Sequence[str]] | None = None,
                       keep_real: Sequence[str] = ()) -> Metadata:
    """A copy of `metadata` with command-line declarations added to the project's own."""
    tables = dict(metadata.tables)
    for name, columns in (not_pii or {}).items():
        table = _table(metadata, name, "--not-pii")
        cols = [_column(metadata, table, c, "--not-pii") for c in columns]
        cfg = tables[table]
        tables[table] = cfg.model_copy(update={"not_pii_columns": list(dict.fromkeys([*cfg.not_pii_columns,
                                                                                       *cols]))})
    for name in keep_real:
        table = _table(metadata, name, "--keep-real")
        tables[table] = tables[table].model_copy(update={"copy_as_is": True})
    return Metadata(tables=tables)


def kept_real_note(metadata: Metadata) -> str | None:
    """The line a plan and a report carry about tables copied as they are (or None when there is none)."""
    kept = sorted(t.name for t in metadata.tables.values() if t.copy_as_is)
    if not kept:
        return None
    return (f"kept real (copied as is, declared not sensitive by --keep-real or meta synthohive.keep_real; PII "
            f"declared or detected in them is still faked): {', '.join(kept)}")
