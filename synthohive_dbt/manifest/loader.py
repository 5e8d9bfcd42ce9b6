"""Loading manifest.json: the file, its schema version, and the node index the reader works on.

Only the fields the reader needs are checked; everything else may be missing, because real manifests of
dbt 1.6-1.11 differ and the corpus manifests are stripped of SQL and docs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthohive_dbt.errors import ManifestError

SUPPORTED_SCHEMA_VERSIONS = (10, 11, 12)  # dbt 1.6, 1.7, 1.8-1.11
TABLE_RESOURCE_TYPES = ("model", "seed", "snapshot", "source")
_VERSION = re.compile(r"/manifest/v(\d+)(?:\.json)?\s*$")

_PARSE_HINT = "run `dbt parse` in the dbt project (it writes target/manifest.json) and pass that path"


@dataclass(frozen=True)
class Manifest:
    """The parts of a manifest the reader uses: every node (sources included) by unique_id."""

    path: Path
    schema_version: int
    dbt_version: str | None
    nodes: dict[str, dict[str, Any]] = field(repr=False)
    adapter_type: str | None = None  # metadata.adapter_type (duckdb, postgres, ...): the SQL dialect of compiled_code
    disabled: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    """The manifest's `disabled` section (unique_id -> versions of the node): what a ref may name in vain."""

    def node(self, unique_id: str) -> dict[str, Any] | None:
        return self.nodes.get(unique_id)

    def of_type(self, *resource_types: str) -> list[dict[str, Any]]:
        """Nodes of the given resource types, sorted by unique_id so that every result is deterministic."""
        return [n for uid, n in sorted(self.nodes.items()) if n.get("resource_type") in resource_types]

    def disabled_of_type(self, *resource_types: str) -> list[dict[str, Any]]:
        """Disabled nodes of the given resource types (every version of each), sorted by unique_id."""
        return [n for uid, versions in sorted(self.disabled.items()) for n in versions
                if n.get("resource_type") in resource_types]


def schema_version_of(raw: dict[str, Any], path: Path) -> int:
    """The number N of `metadata.dbt_schema_version` (`https://schemas.getdbt.com/dbt/manifest/vN.json`)."""
    meta = raw.get("metadata")
    url = meta.get("dbt_schema_version") if isinstance(meta, dict) else None
    match = _VERSION.search(url) if isinstance(url, str) else None
    if not match:
        raise ManifestError(
            f"{path}: metadata.dbt_schema_version is missing or not a manifest schema URL (found {url!r}); "
            "this does not look like a dbt manifest.json",
            hint=_PARSE_HINT)
    return int(match.group(1))


_SHAPES: dict[str, type] = {"config": dict, "columns": dict, "depends_on": dict, "test_metadata": dict,
                            "constraints": list, "refs": list, "sources": list, "meta": dict}
"""The node fields the reader (and the pipeline) walk into, and the JSON type each must have."""


def sections(raw: dict[str, Any], path: Path) -> list[tuple[str, dict[str, dict[str, Any]]]]:
    """`nodes` and `sources`, checked: objects of node objects whose walked-into fields have their JSON type.

    The one shape check for a parsed manifest.json, shared by the reader and `pipeline.project`, so a broken
    or hand-edited file fails here with the file and the field named, not later with a KeyError.
    """
    nodes = raw.get("nodes")
    if not isinstance(nodes, dict):
        raise ManifestError(
            f"{path}: the manifest has no 'nodes' object (found {type(nodes).__name__}); it is broken or "
            "was cut down too far",
            hint=_PARSE_HINT)
    sources = raw.get("sources") or {}
    if not isinstance(sources, dict):
        raise ManifestError(f"{path}: 'sources' is a {type(sources).__name__}, not an object",
                            hint=_PARSE_HINT)
    for section, entries in (("nodes", nodes), ("sources", sources)):
        for key, node in entries.items():
            if not isinstance(node, dict):
                raise ManifestError(f"{path}: {section}[{key!r}] is a {type(node).__name__}, not an object",
                                    hint=_PARSE_HINT)
            _check_node(node, f"{section}[{key!r}]", path)
    return [("nodes", nodes), ("sources", sources)]


def _check_node(node: dict[str, Any], where: str, path: Path) -> None:
    for name, kind in _SHAPES.items():
        value = node.get(name)
        if value is not None and not isinstance(value, kind):
            raise ManifestError(
                f"{path}: {where}.{name} is a {type(value).__name__}, not {'an object' if kind is dict else 'a list'}",
                hint="the file was edited or written by another tool; " + _PARSE_HINT)
    deps = (node.get("depends_on") or {}).get("nodes")
    if deps is not None and not (isinstance(deps, list) and all(isinstance(d, str) for d in deps)):
        raise ManifestError(f"{path}: {where}.depends_on.nodes is not a list of unique_ids",
                            hint="the file was edited or written by another tool; " + _PARSE_HINT)


def load_manifest(path: str | Path) -> Manifest:
    """Read and check manifest.json; every problem becomes a ManifestError naming the file and the fix."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json" if (path / "manifest.json").exists() else path / "target" / "manifest.json"
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path}", hint=_PARSE_HINT)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            hint="the file is truncated or not a manifest; " + _PARSE_HINT) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}", hint=_PARSE_HINT) from exc
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: top level is a {type(raw).__name__}, not a JSON object",
                            hint=_PARSE_HINT)
    version = schema_version_of(raw, path)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise ManifestError(
            f"{path}: manifest schema v{version} is not supported (supported: "
            f"v{SUPPORTED_SCHEMA_VERSIONS[0]}-v{SUPPORTED_SCHEMA_VERSIONS[-1]}, i.e. dbt 1.6-1.11)",
            hint="re-run `dbt parse` with dbt-core 1.6 to 1.11")
    merged: dict[str, dict[str, Any]] = {}
    for section, entries in sections(raw, path):
        for key, node in entries.items():
            node.setdefault("unique_id", key)
            node.setdefault("resource_type", "source" if section == "sources" else key.split(".", 1)[0])
            merged[key] = node
    meta = raw.get("metadata") or {}
    adapter = meta.get("adapter_type")
    return Manifest(path=path, schema_version=version, dbt_version=meta.get("dbt_version"), nodes=merged,
                    adapter_type=str(adapter) if adapter else None, disabled=_disabled(raw, path))


def _disabled(raw: dict[str, Any], path: Path) -> dict[str, list[dict[str, Any]]]:
    """The `disabled` section: unique_id -> list of node objects (missing in stripped manifests: empty)."""
    section = raw.get("disabled") or {}
    if not isinstance(section, dict):
        raise ManifestError(f"{path}: 'disabled' is a {type(section).__name__}, not an object",
                            hint=_PARSE_HINT)
    out: dict[str, list[dict[str, Any]]] = {}
    for key, versions in section.items():
        if not isinstance(versions, list) or not all(isinstance(n, dict) for n in versions):
            raise ManifestError(f"{path}: disabled[{key!r}] is not a list of node objects", hint=_PARSE_HINT)
        for i, node in enumerate(versions):
            _check_node(node, f"disabled[{key!r}][{i}]", path)
            node.setdefault("unique_id", key)
            node.setdefault("resource_type", key.split(".", 1)[0])
        out[key] = versions
    return out
