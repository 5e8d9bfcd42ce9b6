"""Column types carried from one warehouse to another: fit on PostgreSQL, seed a CI DuckDB.

A saved model records each real column's DDL type as the warehouse that was fitted spelled it. When the
warehouse written to is another one, the type is read into a small portable vocabulary (`PortableType`: a
kind such as `bigint` or `timestamptz`, with a length or precision where one was given) and spelled again
by the target warehouse (`Warehouse.type_names`). A type the vocabulary does not know falls back to its
family (int, float, bool, date, datetime, text), so a column always gets a type that holds its values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from synthohive_dbt.config import dtype_from_sql

# (kind, pattern on the lower-cased type without its parameters); first match wins, so longer names go first
_KINDS: tuple[tuple[str, str], ...] = (
    ("timestamptz", r"timestamp(\s*\(\s*\d+\s*\))?\s+with\s+time\s+zone|timestamptz|timestamp_tz"),
    ("timestamp", r"timestamp(\s*\(\s*\d+\s*\))?(\s+without\s+time\s+zone)?|datetime\d*|timestamp_(ntz|ltz|s|ms|ns)"),
    ("time", r"time(\s*\(\s*\d+\s*\))?(\s+with(out)?\s+time\s+zone)?|timetz"),
    ("date", r"date"),
    ("interval", r"interval.*"),
    ("boolean", r"bool(ean)?|bit"),
    ("smallint", r"smallint|int2|tinyint|utinyint|usmallint|int1"),
    ("bigint", r"bigint|int8|long|hugeint|ubigint|uhugeint|uinteger|int64|int128"),
    ("integer", r"integer|int|int4|int32|mediumint|signed"),
    ("real", r"real|float4|float32"),
    ("double", r"double(\s+precision)?|float8|float64|float"),
    ("decimal", r"numeric|decimal|number|dec"),
    ("uuid", r"uuid|uniqueidentifier"),
    ("json", r"jsonb?"),
    ("bytes", r"bytea|blob|binary|varbinary|bytes"),
    ("text", r"text|string|varchar|character\s+varying|char|character|bpchar|nvarchar|nchar|clob|citext|name"),
)
_FAMILY_KIND = {"int": "bigint", "float": "double", "bool": "boolean", "date": "date", "datetime": "timestamp",
                "str": "text"}


@dataclass(frozen=True)
class PortableType:
    """A column type in warehouse-neutral words: `kind`, its parameters (`varchar(20)`: ("20",)), array or not."""

    kind: str
    params: tuple[str, ...] = ()
    array: bool = False


def portable(sql_type: str) -> PortableType:
    """The portable reading of a DDL type as any warehouse spells it (`character varying(20)`, `VARCHAR`,
    `numeric(10,2)`, `timestamp with time zone`, `text[]`, `INTEGER[]`)."""
    t = sql_type.strip().lower()
    array = t.endswith("[]") or t.startswith("array")
    if t.endswith("[]"):
        t = t[:-2].strip()
    elif t.startswith("array<") and t.endswith(">"):
        t = t[6:-1].strip()
    found = re.match(r"^([a-z_ ]+?)\s*\(([^)]*)\)\s*$", t)
    bare, params = (found.group(1).strip(), tuple(p.strip() for p in found.group(2).split(","))) if found else (t, ())
    for kind, pattern in _KINDS:
        if re.fullmatch(pattern, bare) or re.fullmatch(pattern, t):
            if kind in ("timestamp", "timestamptz", "time"):
                params = ()  # precision spellings differ; every warehouse here keeps microseconds
            return PortableType(kind, params if kind in ("decimal", "text") else (), array)
    family = dtype_from_sql(sql_type)
    return PortableType(_FAMILY_KIND.get(family or "str", "text"), (), array)


def spell(ptype: PortableType, names: dict[str, str]) -> str:
    """`ptype` in a warehouse's own words; `names` maps each kind (and `varchar`, the text with a length) to
    that warehouse's type name."""
    if ptype.kind == "text" and ptype.params and ptype.params[0].isdigit():
        base = f"{names.get('varchar', 'VARCHAR')}({ptype.params[0]})"
    elif ptype.kind == "decimal" and ptype.params and all(p.isdigit() for p in ptype.params):
        base = f"{names.get('decimal', 'DECIMAL')}({','.join(ptype.params)})"
    else:
        base = names.get(ptype.kind) or names.get("text", "VARCHAR")
    return f"{base}[]" if ptype.array and names.get("arrays") == "suffix" else \
        (names.get("text", "VARCHAR") if ptype.array else base)


ANSI_NAMES = {"smallint": "SMALLINT", "integer": "INTEGER", "bigint": "BIGINT", "real": "REAL",
              "double": "DOUBLE PRECISION", "decimal": "DECIMAL", "boolean": "BOOLEAN", "date": "DATE",
              "time": "TIME", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMP WITH TIME ZONE",
              "interval": "VARCHAR(64)", "uuid": "VARCHAR(36)", "json": "VARCHAR(65535)", "bytes": "VARBINARY(65535)",
              "text": "VARCHAR(65535)", "varchar": "VARCHAR"}
"""What a warehouse without its own table (`generic.py`) gets: ANSI names, bounded text."""

__all__ = ["ANSI_NAMES", "PortableType", "portable", "spell"]
