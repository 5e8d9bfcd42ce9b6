"""Column names as a manifest writes them vs. as the warehouse has them: one rule that makes them meet.

A manifest names a column the way a person wrote it in YAML (`patient`, `Select` with `quote: true`, or
`"Select"` already wrapped in quotes) or the way dbt rendered it into a test (`"Select"` for a quoted
column, with embedded quotes NOT doubled), and a test's `column_name` may even be an SQL expression
(`upper(name)`). The warehouse has its own spelling: a DuckDB seed keeps `PATIENT` as written (DuckDB
compares names case-insensitively), PostgreSQL folds unquoted names to lower case. So every manifest
name is unquoted once here (`unquote`), compared by one key (`column_key`), and mapped to the real name
(`match_column`); SQL is written later from the real name, quoted exactly once (io.identifiers.quote_ident).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_CLOSE = {'"': '"', "`": "`", "[": "]"}
_PLAIN = re.compile(r"^[^\W\d][\w$]*$")
"""A bare identifier (unicode letters, digits, `_`, `$`): a column name, never an expression."""


def unquote(name: str) -> str:
    """`"Select"` -> `Select`, `"a""b"` -> `a"b` (also backticks and brackets); anything else unchanged.

    Only a whole quoted identifier is unquoted: `"a" || "b"` is an expression and stays as it is.
    """
    text = str(name).strip()
    if len(text) < 2 or text[0] not in _CLOSE or text[-1] != _CLOSE[text[0]]:
        return text
    inner = text[1:-1]
    close = _CLOSE[text[0]]
    if close == "]":
        return inner if "]" not in inner else text
    if inner.replace(close * 2, "").count(close):
        return text  # an undoubled quote inside: several identifiers, not one
    return inner.replace(close * 2, close)


def column_key(name: str) -> str:
    """What two spellings of one column share: unquoted and lower-cased (PostgreSQL folds unquoted names
    to lower case, DuckDB compares case-insensitively). The one comparison rule for column names."""
    return unquote(name).lower()


def column_name(text: str, known: Iterable[str] = ()) -> str | None:
    """The column a manifest string names, in the spelling of `known` (the node's declared columns) when
    one matches; None when the string is an SQL expression rather than a column.

    dbt quotes a `quote: true` column without doubling embedded quotes (`"ünï "q""`), so a quoted string
    whose inside is a known column counts too.
    """
    raw = str(text).strip()
    declared = {column_key(k): unquote(k) for k in known}
    name = unquote(raw)
    candidates = [name]
    if name == raw and len(raw) >= 2 and raw[0] == raw[-1] == '"':
        candidates.append(raw[1:-1])
    for candidate in candidates:
        hit = declared.get(candidate.lower())
        if hit is not None:
            return hit
    if name != raw or _PLAIN.match(name):
        return name
    return None


def match_column(name: str, real: Sequence[str]) -> str | None:
    """The real (warehouse) column a manifest name means, or None when the table has no such column.

    The exact spelling wins; otherwise the one real column with the same `column_key`; when several differ
    only in case (possible in PostgreSQL with quoted names), the lower-case one, which is what an unquoted
    name folds to.
    """
    plain = unquote(name)
    if plain in real:
        return plain
    hits = [r for r in real if r.lower() == plain.lower()]
    if len(hits) == 1:
        return hits[0]
    return plain.lower() if plain.lower() in hits else None


__all__ = ["column_key", "column_name", "match_column", "unquote"]
