"""What `fit` saves about the project with the model, so that `generate` needs neither the real tables nor a parse.

Saved (in the model's provenance, JSON):

- `warehouse` and `columns`: every relation's column names, DDL types and order as the fitted warehouse holds
  them. `generate` creates the synthetic tables from these (spelled again by the target warehouse when it is
  another one: fit on PostgreSQL, seed DuckDB) and never reflects a real relation.
- `manifest`: the manifest the model was fitted with (gzip + base64), its SHA-256, and a fingerprint of what
  dbt's parse reads: the project's files (SQL, YAML, seeds, macros, installed packages), the profile's target
  (never its password) and the dbt version. `generate` reuses the saved manifest while the fingerprint holds;
  when it changed it parses, then says which nodes changed and whether the model still covers them.

Why not dbt's partial parsing: every run has a target directory of its own (see `safety.run_workspace`), so
dbt's `partial_parse.msgpack` is never there to reuse; and the check must not depend on dbt's cache rules.
What the fingerprint cannot see: environment variables read by the project's SQL through `env_var()` (only
those of the profile are included); a change there needs `synthohive fit` again or a changed file.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.io import Column, Relation, real_columns, warehouse_for

# what dbt parse reads in a project (and installed packages); anything else (databases, logs, target/) is not
_INPUT_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md", ".py", ".jinja", ".sqlx"}
_SKIP_DIRS = {"target", "logs", "__pycache__", "node_modules"}


@dataclass
class SavedProject:
    """The project facts a saved model carries (see the module docstring)."""

    warehouse: str | None = None
    columns: dict[str, list[Column]] = field(default_factory=dict)  # by target identifier
    manifest: dict[str, Any] | None = None
    manifest_sha256: str | None = None
    fingerprint: str | None = None

    def to_provenance(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.warehouse is not None:
            out["warehouse"] = self.warehouse
            out["columns"] = {t: [{"name": c.name, "type": c.sql_type, "nullable": c.nullable} for c in cols]
                              for t, cols in self.columns.items()}
        if self.manifest is not None:
            raw = json.dumps(self.manifest, sort_keys=True, separators=(",", ":")).encode()
            out["manifest"] = {"sha256": hashlib.sha256(raw).hexdigest(), "fingerprint": self.fingerprint,
                               "gzip_base64": base64.b64encode(gzip.compress(raw, 6, mtime=0)).decode("ascii")}
        return out

    @classmethod
    def from_provenance(cls, provenance: Mapping[str, Any]) -> SavedProject:
        """What a model saved; a model of an earlier release has none of it (every field empty)."""
        columns = {t: [Column(c["name"], c["type"], bool(c.get("nullable", True))) for c in cols]
                   for t, cols in (provenance.get("columns") or {}).items()}
        saved = provenance.get("manifest") or {}
        manifest = None
        if saved.get("gzip_base64"):
            manifest = json.loads(gzip.decompress(base64.b64decode(saved["gzip_base64"])))
        return cls(provenance.get("warehouse"), columns, manifest, saved.get("sha256"), saved.get("fingerprint"))

    def columns_for(self, bind: Any) -> dict[str, list[Column]]:
        """The saved columns, each type spelled by the warehouse of `bind` (unchanged on the same warehouse)."""
        assert self.warehouse is not None
        wh = warehouse_for(bind)
        return {t: [Column(c.name, wh.type_from(c.sql_type, self.warehouse), c.nullable) for c in cols]
                for t, cols in self.columns.items()}


def record(project: DbtProject, relations: Mapping[str, Relation], manifest: dict[str, Any]) -> SavedProject:
    """At fit time: the real relations' columns (keyed by target identifier), the manifest and the fingerprint."""
    engine = project.engine()
    try:
        columns = real_columns(engine, relations)
        dialect = warehouse_for(engine).dialect
    finally:
        engine.dispose()
    return SavedProject(dialect, columns, manifest, None, fingerprint(project))


def fingerprint(project: DbtProject) -> str:
    """SHA-256 over what `dbt parse` reads: the project's input files (path and content), the profile's target
    (type, host, port, user, database, schema, path: never the password) and dbt's version."""
    h = hashlib.sha256()
    for path in _inputs(project.project_dir):
        h.update(str(path.relative_to(project.project_dir)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    resolved = project.resolved_profile()
    spec = resolved.spec
    target = {"profile": resolved.profile, "target": resolved.target, "dialect": spec.dialect, "host": spec.host,
              "port": spec.port, "user": spec.user, "database": spec.database, "schema": spec.schema,
              "path": spec.path, "query": dict(spec.query)}
    h.update(json.dumps(target, sort_keys=True, default=str).encode())
    h.update(_dbt_version().encode())
    return h.hexdigest()


def _dbt_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dbt-core")
    except PackageNotFoundError:
        return "?"


def _inputs(root: Path) -> Iterator[Path]:
    """The project's parse inputs in a stable order; hidden folders, target/ and logs/ are not inputs."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(files):
            if Path(name).suffix.lower() in _INPUT_SUFFIXES:
                yield Path(folder) / name


@dataclass(frozen=True)
class ManifestChange:
    """One node that differs between the saved manifest and the project now, and what that means for the model."""

    unique_id: str
    change: str  # "added", "removed", "changed"
    covered: bool
    why: str

    def message(self) -> str:
        return f"{self.unique_id} {self.change} since fit: {self.why}"


def changed_nodes(saved: Mapping[str, Any], now: Mapping[str, Any], model_tables: Sequence[str],
                  saved_columns: Mapping[str, Sequence[Column]]) -> list[ManifestChange]:
    """Nodes added, removed or changed between two manifests, each with whether the saved model still covers
    it: a table of the model must keep its columns; a test on a model table was not learned if it is new."""
    old, new = _nodes(saved), _nodes(now)
    tables = {t.lower() for t in model_tables}
    out: list[ManifestChange] = []
    for uid in sorted(set(old) | set(new)):
        a, b = old.get(uid), new.get(uid)
        if a is not None and b is not None and _signature(a) == _signature(b):
            continue
        change = "added" if a is None else "removed" if b is None else "changed"
        node = b if b is not None else a
        assert node is not None
        name = _table_name(node)
        kind = node.get("resource_type")
        if kind == "test":
            on = [t for t in _attached(node, {**old, **new}) if t.lower() in tables]
            if not on:
                out.append(ManifestChange(uid, change, True, "it tests no table of the model"))
            elif change == "removed":
                out.append(ManifestChange(uid, change, True, f"no longer tested on {', '.join(on)}"))
            else:
                out.append(ManifestChange(uid, change, False, f"a test on {', '.join(on)} the model was not fitted "
                                          "with: it may fail on the synthetic data; refit with `synthohive fit` "
                                          "to learn it"))
        elif name is not None and name.lower() in tables:
            if change == "removed":
                out.append(ManifestChange(uid, change, False, f"the model's table {name} is no longer in the "
                                          "project; refit with `synthohive fit`"))
                continue
            declared = {c.lower() for c in (node.get("columns") or {})}
            known = {c.name.lower() for c in saved_columns.get(name, ())}
            extra = sorted(declared - known) if known else []
            if extra:
                out.append(ManifestChange(uid, change, False, f"declares column(s) {extra} the model does not "
                                          "generate; refit with `synthohive fit`"))
            else:
                out.append(ManifestChange(uid, change, True, f"the model's table {name}: its columns are "
                                          "still the ones the model writes"))
        else:
            out.append(ManifestChange(uid, change, True, "not a table of the model"))
    return out


def _nodes(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {**(manifest.get("nodes") or {}), **(manifest.get("sources") or {})}


def _signature(node: Mapping[str, Any]) -> str:
    """What makes a node the same for the model: its checksum (file content) where dbt records one, and the
    fields that carry declarations (columns, tests' arguments, name, config)."""
    keep = {k: node.get(k) for k in ("checksum", "columns", "test_metadata", "alias", "identifier", "config",
                                     "depends_on", "raw_code")}  # not where it lives: another target moves all
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()


def _table_name(node: Mapping[str, Any]) -> str | None:
    if node.get("resource_type") not in ("model", "seed", "source", "snapshot"):
        return None
    return str((node.get("identifier") if node.get("resource_type") == "source" else node.get("alias"))
               or node.get("name"))


def _attached(test: Mapping[str, Any], nodes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    uids = [test.get("attached_node"), *((test.get("depends_on") or {}).get("nodes") or [])]
    return sorted({n for u in uids if u and (n := _table_name(nodes.get(u) or {})) is not None})
