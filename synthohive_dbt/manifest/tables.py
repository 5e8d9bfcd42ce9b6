"""Which manifest nodes are tables, which of them a selection names, and what each is called in Metadata.

A table's Metadata name is the name people know it by (a model's or seed's name, a source's identifier)
as long as that is unique; on a collision, e.g. a source whose identifier is also a seed's name, every
node in the collision is qualified the same way, so a name never depends on which node was read first.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from synthohive_dbt.errors import ManifestError
from synthohive_dbt.manifest.loader import TABLE_RESOURCE_TYPES, Manifest

DEFAULT_RESOURCE_TYPES = ("model", "seed", "source")
"""Read by default. Snapshots are built by dbt from other tables, so they are read only when selected."""


def is_table(node: dict[str, Any]) -> bool:
    """A node that is a relation in the warehouse (ephemeral models and disabled nodes are not)."""
    if node.get("resource_type") not in TABLE_RESOURCE_TYPES:
        return False
    config = node.get("config") or {}
    if config.get("enabled") is False:
        return False
    return not (node.get("resource_type") == "model" and config.get("materialized") == "ephemeral")


def base_name(node: dict[str, Any]) -> str:
    """Sources are known by the relation they point at (identifier); models and seeds by their name."""
    if node.get("resource_type") == "source":
        return str(node.get("identifier") or node.get("name") or node["unique_id"])
    return str(node.get("name") or node["unique_id"])


_NAMERS: tuple[Callable[[dict[str, Any]], str], ...] = (
    base_name,
    lambda n: f"{base_name(n)}__{n.get('resource_type')}",
    lambda n: str(n["unique_id"]).replace(".", "__"),
)


def unique_names(nodes: Iterable[dict[str, Any]]) -> dict[str, str]:
    """unique_id -> Metadata table name, unique over `nodes` and independent of their order."""
    names: dict[str, str] = {}
    used: set[str] = set()
    pending = sorted(nodes, key=lambda n: n["unique_id"])
    for namer in _NAMERS:
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for node in pending:
            groups[namer(node)].append(node)
        pending = []
        for name, group in groups.items():
            if len(group) == 1 and name not in used:
                names[group[0]["unique_id"]] = name
                used.add(name)
            else:
                pending.extend(group)
    for node in pending:  # unreachable with real unique_ids; kept so no node is ever lost
        names[node["unique_id"]] = f"{node['unique_id'].replace('.', '__')}__{len(names)}"
    return names


def _aliases(node: dict[str, Any]) -> set[str]:
    out = {str(node["unique_id"]), base_name(node)}
    if node.get("resource_type") == "source":  # a bare source table name is not selectable, as in dbt
        qualified = f"{node.get('source_name')}.{node.get('name')}"
        out |= {qualified, f"source:{qualified}", f"source:{node.get('source_name')}"}
    else:
        name = str(node.get("name") or "")
        out |= {name, str(node.get("alias") or ""), f"{node.get('resource_type')}:{name}"}
    out.discard("")
    return out


def select_tables(manifest: Manifest, select: Iterable[str] | None) -> list[str]:
    """unique_ids of the tables to read: all models, seeds and sources, or those the selection names.

    A selection token may be a unique_id, a name, a source identifier, `source_name.table`,
    `source:source_name[.table]`, `model:name`, or a name shown by `synthohive inspect`.
    """
    tables = [n for n in manifest.of_type(*TABLE_RESOURCE_TYPES) if is_table(n)]
    if select is None:
        return [n["unique_id"] for n in tables if n["resource_type"] in DEFAULT_RESOURCE_TYPES]
    tokens = [t for token in select for t in str(token).replace(",", " ").split() if t]
    if not tokens:
        raise ManifestError("the selection is empty", hint="name at least one model, seed or source")
    shown = unique_names(n for n in tables if n["resource_type"] in DEFAULT_RESOURCE_TYPES)
    index: dict[str, set[str]] = defaultdict(set)
    for node in tables:
        for alias in _aliases(node) | ({shown[node["unique_id"]]} if node["unique_id"] in shown else set()):
            index[alias].add(node["unique_id"])
    chosen: set[str] = set()
    for token in tokens:
        if token in index:
            chosen |= index[token]
            continue
        hit = manifest.node(token) or next(
            (n for n in manifest.nodes.values() if n.get("name") == token and not is_table(n)), None)
        if hit is not None:
            raise ManifestError(
                f"selection {token!r} names {hit['unique_id']} ({hit.get('resource_type')}"
                f"{', ephemeral' if (hit.get('config') or {}).get('materialized') == 'ephemeral' else ''}),"
                " which is not a table in the warehouse",
                hint="select models, seeds, snapshots or sources that dbt materializes as tables or views")
        close = difflib.get_close_matches(token, sorted(index), n=3)
        raise ManifestError(
            f"selection {token!r} matches no model, seed, snapshot or source in {manifest.path}",
            hint=(f"did you mean {', '.join(repr(c) for c in close)}?" if close
                  else "run `synthohive inspect --manifest PATH` to list the tables"))
    return sorted(chosen)
