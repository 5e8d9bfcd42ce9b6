"""Reading the few strings a manifest keeps instead of node ids: `ref(...)`, `source(...)`, relation names.

Strings are only used to pick among candidates (a test's `depends_on.nodes`, a constraint's target), never
as the sole source of truth when the manifest has the node id: dbt already resolved refs into
`depends_on`, and a string can be ambiguous across packages and versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_CALL = re.compile(r"\b(ref|source)\s*\(([^()]*)\)", re.IGNORECASE)
_QUOTED = re.compile(r"""(?:(\w+)\s*=\s*)?(?:'([^']*)'|"([^"]*)"|(\d+(?:\.\d+)?))""")
_FK_EXPRESSION = re.compile(r"^\s*(?P<relation>[^()]+?)\s*\((?P<cols>[^()]*)\)\s*$")


@dataclass(frozen=True)
class RefTarget:
    """What a `ref('x')` / `source('s', 't')` call names; `package`/`version` only when given."""

    kind: str  # "ref" or "source"
    name: str
    source_name: str | None = None
    package: str | None = None
    version: str | None = None

    def matches(self, node: dict[str, Any]) -> bool:
        """Whether a manifest node (model, seed, snapshot or source) is the one this call names."""
        if self.kind == "source":
            return (node.get("resource_type") == "source" and node.get("source_name") == self.source_name
                    and node.get("name") == self.name)
        if node.get("resource_type") == "source" or node.get("name") != self.name:
            return False
        if self.package is not None and node.get("package_name") != self.package:
            return False
        if self.version is not None and str(node.get("version")) != self.version:
            return False
        return True

    def __str__(self) -> str:
        if self.kind == "source":
            return f"source('{self.source_name}', '{self.name}')"
        return f"ref('{self.name}')"


def parse_ref_call(text: Any) -> RefTarget | None:
    """The first `ref(...)` or `source(...)` call in a string (also inside `{{ get_where_subquery(...) }}`)."""
    if not isinstance(text, str):
        return None
    match = _CALL.search(text)
    if not match:
        return None
    kind = match.group(1).lower()
    positional: list[str] = []
    named: dict[str, str] = {}
    for key, single, double, number in _QUOTED.findall(match.group(2)):
        value = single or double or number
        if key:
            named[key.lower()] = value
        else:
            positional.append(value)
    if kind == "source":
        if len(positional) != 2:
            return None
        return RefTarget("source", name=positional[1], source_name=positional[0])
    if not positional:
        return None
    version = named.get("version") or named.get("v")
    package = positional[0] if len(positional) >= 2 else None
    return RefTarget("ref", name=positional[-1], package=package, version=version)


def relation_parts(text: str) -> tuple[str, ...]:
    """`"db"."schema"."table"` / `schema.table` / `table` -> lower-cased parts without quotes."""
    parts = re.findall(r'"((?:[^"]|"")*)"|`([^`]*)`|\[([^\]]*)\]|([^."`\[\]\s]+)', text.strip())
    return tuple((a or b or c or d).replace('""', '"').lower() for a, b, c, d in parts)


def node_relation_parts(node: dict[str, Any]) -> tuple[str, ...]:
    """The relation a node is materialized as, from `relation_name` or database/schema/alias."""
    if node.get("relation_name"):
        return relation_parts(str(node["relation_name"]))
    ident = node.get("identifier") or node.get("alias") or node.get("name") or ""
    return tuple(str(p).lower() for p in (node.get("database"), node.get("schema"), ident) if p)


def relation_matches(target: tuple[str, ...], node: dict[str, Any]) -> bool:
    """A (possibly partial) relation name matches a node when it equals the tail of the node's relation."""
    full = node_relation_parts(node)
    return bool(target) and len(target) <= len(full) and full[-len(target):] == target


def parse_fk_expression(text: str) -> tuple[tuple[str, ...], list[str]] | None:
    """Older dbt's column constraint `expression: "other_table (id)"` -> (relation parts, ["id"])."""
    match = _FK_EXPRESSION.match(text or "")
    if not match:
        return None
    cols = [c.strip().strip('"`') for c in match.group("cols").split(",") if c.strip()]
    relation = match.group("relation")
    if relation.lower().startswith("references "):
        relation = relation[len("references "):]
    parts = relation_parts(relation)
    return (parts, cols) if parts and cols else None
