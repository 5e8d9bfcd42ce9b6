"""Which of the project's tests a run may judge: those whose every node is synthetic in this run.

Why: a relationships test between a synthetic child and a real parent (the parent excluded, or outside the
selection) compares two unrelated datasets; its verdict says nothing about the synthetic data, and a pass can
hide a broken join. So a test runs only when every model, seed, source and snapshot it touches was written
(or, in sources mode, built) by this run; every other test that touches the run is listed as not run, with
the nodes that kept it out. dbt's own selection is not trusted for this: its indirect selection differs by
command and flag, and it skipped the tests declared on seeds in sources mode without a word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from synthohive_dbt.dbt import Outcome
from synthohive_dbt.pipeline.project import relation_of, table_nodes

_TABLE_TYPES = ("model", "seed", "source", "snapshot")


@dataclass
class Judged:
    """The tests of one run: those to run (by unique_id and name) and those kept out, with the reason."""

    runnable: dict[str, str] = field(default_factory=dict)  # unique_id -> test name (what --select takes)
    kept_out: dict[str, list[str]] = field(default_factory=dict)  # unique_id -> the non-synthetic nodes

    def not_run(self, ran: Iterable[Outcome]) -> list[Outcome]:
        """Outcomes for the tests that did not run: kept out by the rule, or runnable but never reached."""
        seen = {o.unique_id for o in ran}
        out = [Outcome(uid, _name(uid), "test", "not run",
                       message=f"touches {', '.join(nodes)}, which this run did not make synthetic")
               for uid, nodes in sorted(self.kept_out.items())]
        out += [Outcome(uid, name, "test", "not run", message="dbt did not run it (its model was not built?)")
                for uid, name in sorted(self.runnable.items()) if uid not in seen]
        return out


def judged_tests(manifest: Mapping[str, Any], synthetic: Iterable[str], left_out: Iterable[str] = ()) -> Judged:
    """Split the manifest's data tests by whether every node they touch is in `synthetic` (unique_ids).
    Tests that touch none of them are not about this run, unless they touch a node in `left_out` (a selected
    model the run could not build on synthetic data): those are listed as not run too."""
    made = set(synthetic)
    missed = set(left_out)
    tables = {n["unique_id"] for n in table_nodes(dict(manifest))}
    scope = Judged()
    for uid, node in sorted((manifest.get("nodes") or {}).items()):
        if node.get("resource_type") != "test" or (node.get("config") or {}).get("enabled") is False:
            continue  # a disabled test (dbt disables one that refers to a disabled model) never runs
        touched = [t for t in (node.get("depends_on") or {}).get("nodes") or [] if t in tables]
        if not touched or not any(t in made or t in missed for t in touched):
            continue  # not about this run at all
        outside = [t for t in touched if t not in made]
        if outside:
            scope.kept_out[uid] = outside
        else:
            scope.runnable[uid] = str(node.get("name") or _name(uid))
    return scope


def same_relation_ids(manifest: Mapping[str, Any], ids: Iterable[str]) -> set[str]:
    """`ids` and every other table node at the same relation (a seed that is also declared as a source)."""
    nodes = {n["unique_id"]: n for n in table_nodes(dict(manifest))}
    rels = {_key(relation_of(nodes[i])) for i in ids if i in nodes}
    return set(ids) | {uid for uid, n in nodes.items() if _key(relation_of(n)) in rels}


def built_models(manifest: Mapping[str, Any], raw: set[str], selected: set[str] | None) -> set[str]:
    """Models and snapshots a sources-mode build makes on synthetic data: selected (all, without a selection)
    and reading, through other models, only the synthetic sources and seeds in `raw`."""
    nodes = {**(manifest.get("nodes") or {}), **(manifest.get("sources") or {})}
    memo: dict[str, bool] = {}

    def synthetic(uid: str, path: frozenset[str] = frozenset()) -> bool:
        if uid in memo:
            return memo[uid]
        node = nodes.get(uid) or {}
        kind = node.get("resource_type")
        if kind in ("source", "seed"):
            ok = uid in raw
        elif kind in ("model", "snapshot") and uid not in path:
            parents = (node.get("depends_on") or {}).get("nodes") or []
            ok = all(synthetic(p, path | {uid}) for p in parents if (nodes.get(p) or {}).get("resource_type")
                     in _TABLE_TYPES)
        else:
            ok = False
        memo[uid] = ok
        return ok

    return {uid for uid, n in nodes.items() if n.get("resource_type") in ("model", "snapshot")
            and (selected is None or uid in selected) and synthetic(uid)}


def _name(uid: str) -> str:
    parts = uid.split(".")
    return parts[2] if len(parts) > 2 else uid


def _key(rel: Any) -> tuple[str, str] | None:
    return (rel.schema.lower(), rel.name.lower()) if rel is not None else None


__all__ = ["Judged", "built_models", "same_relation_ids", "judged_tests"]
