"""Tests whose ref() or source() names a disabled or missing node: said, never dropped silently.

dbt 1.11 keeps such a test in `nodes` with `config.enabled: false` (a warning at parse time, nothing at run
time), and a node disabled with `config(enabled=false)` moves to the manifest's `disabled` section. Without
this module a `relationships` test to a disabled model would vanish from the metadata without a word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synthohive_dbt.manifest.findings import NotModelled
from synthohive_dbt.manifest.loader import TABLE_RESOURCE_TYPES, Manifest
from synthohive_dbt.manifest.refs import RefTarget
from synthohive_dbt.manifest.tables import base_name

_RELATIONSHIPS = ("relationships", "relationships_where")


@dataclass(frozen=True)
class Unresolved:
    """A ref()/source() of a node that names no enabled node: `what` it names and whether it is disabled."""

    target: RefTarget
    kind: str | None  # the disabled node's resource_type; None when no node has that name at all

    @property
    def label(self) -> str:
        name = f"{self.target.source_name}.{self.target.name}" if self.target.kind == "source" else self.target.name
        return f"{self.kind or self.target.kind} `{name}`"

    @property
    def state(self) -> str:
        return "is disabled" if self.kind else "does not exist in the project"


def _targets(node: dict[str, Any]) -> list[RefTarget]:
    """The ref() and source() calls a node makes (`refs` is a list of dicts since dbt 1.5, of lists before)."""
    out: list[RefTarget] = []
    for ref in node.get("refs") or []:
        if isinstance(ref, dict) and ref.get("name"):
            version = ref.get("version")
            out.append(RefTarget("ref", str(ref["name"]), package=ref.get("package") or None,
                                 version=None if version is None else str(version)))
        elif isinstance(ref, list) and ref:
            out.append(RefTarget("ref", str(ref[-1]), package=str(ref[0]) if len(ref) > 1 else None))
    for src in node.get("sources") or []:
        if isinstance(src, list) and len(src) == 2:
            out.append(RefTarget("source", str(src[1]), source_name=str(src[0])))
    return out


def _enabled(node: dict[str, Any]) -> bool:
    return (node.get("config") or {}).get("enabled") is not False


def unresolved_refs(manifest: Manifest, node: dict[str, Any]) -> list[Unresolved]:
    """The refs and sources of `node` that name no enabled node of the manifest."""
    out: list[Unresolved] = []
    tables = manifest.of_type(*TABLE_RESOURCE_TYPES)
    for target in _targets(node):
        if any(target.matches(n) and _enabled(n) for n in tables):
            continue
        disabled = [n for n in manifest.disabled_of_type(*TABLE_RESOURCE_TYPES) if target.matches(n)]
        disabled += [n for n in tables if target.matches(n)]  # disabled in place
        out.append(Unresolved(target, str(disabled[0].get("resource_type")) if disabled else None))
    return out


def tests_of(manifest: Manifest) -> list[dict[str, Any]]:
    """Every test node: those in `nodes` (enabled or disabled in place), then those only in `disabled`."""
    tests = manifest.of_type("test")
    seen = {t["unique_id"] for t in tests}
    return [*tests, *(t for t in manifest.disabled_of_type("test") if t["unique_id"] not in seen)]


def disabled_test_finding(manifest: Manifest, test: dict[str, Any], table: str) -> NotModelled | None:
    """Why a disabled test on `table` is not modelled, when dbt disabled it for a missing ref; None when the
    user disabled it (it never runs, so it asks nothing of the data)."""
    gone = unresolved_refs(manifest, test)
    if not gone:
        return None
    meta = test.get("test_metadata") or {}
    kwargs = meta.get("kwargs") or {}
    name = str(meta.get("name") or "singular test")
    child = base_name(manifest.nodes[table])
    first = gone[0]
    fix = f"enable {first.label} (config enabled: true) or remove the test from the YAML"
    if name in _RELATIONSHIPS and kwargs.get("column_name") and kwargs.get("field"):
        return NotModelled(str(test["unique_id"]),
                           f"parent {first.label} {first.state}, so the foreign key {child}.{kwargs['column_name']} "
                           f"-> {first.target.name}.{kwargs['field']} is not modelled (dbt disabled the test); "
                           f"{fix}", table)
    what = "; ".join(f"{g.label} {g.state}" for g in gone)
    return NotModelled(str(test["unique_id"]),
                       f"test `{name}` on {child} references a node that is not built ({what}), so dbt disabled "
                       f"it and it is not modelled; {fix}", table)


__all__ = ["Unresolved", "disabled_test_finding", "tests_of", "unresolved_refs"]
