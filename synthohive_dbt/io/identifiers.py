"""SQL identifiers: schema names checked against an allow-list, every table and column name quoted.

Schema names come from the command line and end up in DROP SCHEMA statements, so they are held to a strict
pattern; table and column names come from the real warehouse and may hold spaces, quotes, reserved words or
unicode, so they are quoted (never interpolated bare) and only checked for what no quoting can fix.
"""

from __future__ import annotations

import re

from synthohive_dbt.errors import UnsafeTargetError, WarehouseError

SCHEMA_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_IDENTIFIER_BYTES = 63  # PostgreSQL truncates longer names silently; schemas we create stay within it


def validate_schema_name(name: str, *, what: str = "schema") -> str:
    """Return `name` if it is a plain identifier (letters, digits, underscore; <= 63 bytes), else raise."""
    if not isinstance(name, str) or not SCHEMA_PATTERN.match(name):
        raise UnsafeTargetError(
            f"{what} name {name!r} is not allowed: only letters, digits and '_' (not first) are accepted",
            hint="choose a schema name such as 'synthetic_data'")
    if len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise UnsafeTargetError(
            f"{what} name {name!r} is {len(name.encode())} bytes long; the limit is {MAX_IDENTIFIER_BYTES}",
            hint="choose a shorter schema name")
    return name


def quote_ident(name: str, *, max_bytes: int | None = None, mark: str = '"') -> str:
    """Quote an identifier with `mark` (ANSI double quotes: PostgreSQL and DuckDB; MariaDB: backticks),
    doubling embedded marks. `max_bytes`: the warehouse's own limit (PostgreSQL truncates past 63 bytes;
    DuckDB has none), refused rather than cut."""
    if not name or "\x00" in name:
        raise WarehouseError(f"identifier {name!r} is empty or holds a NUL character",
                             hint="rename the table or column in the warehouse")
    if max_bytes is not None and len(name.encode()) > max_bytes:
        raise WarehouseError(
            f"identifier {name!r} is longer than {max_bytes} bytes and would be truncated by this warehouse",
            hint="rename the table or column to a shorter name")
    return mark + name.replace(mark, mark * 2) + mark


def qualified(schema: str, table: str) -> str:
    """`"schema"."table"`, both parts quoted."""
    return f"{quote_ident(schema)}.{quote_ident(table)}"
