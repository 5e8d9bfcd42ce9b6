"""What `fit` saves about the project with the model, so that `generate` needs neither the real tables nor a parse.

Saved (in the model's provenance, JSON):

- `warehouse` and `columns`: every relation's column names, DDL types and order as the fitted warehouse holds
  them. `generate` creates the synthetic tables from these (spelled again by the target warehouse when it is
  another one: fit on PostgreSQL, seed DuckDB) and never reflects a real relation.
- `manifest`: the manifest the model was fitted with (gzip + base64), its SHA-256, where the target was
  (database, schema) and a fingerprint of what dbt's parse reads: the project's files (SQL, YAML, seeds,
  macros, installed packages), the profile and target names, the warehouse type and the dbt version.
  `generate` reuses the saved manifest while the fingerprint holds (moved to the CI target's database and
  schema when those differ, as a parse would); when it changed it parses, then says which nodes changed and
  whether the model still covers them.
- `parse_ignores_vars`: whether the parse with `--vars {synthohive_schema: ...}` (what every dbt test of a run
  passes) gives the same manifest as the one saved, probed by a second parse at fit time (~1 s: dbt is
  loaded by then). When it does, `generate` hands dbt the saved manifest as is and dbt parses nothing at all
  (`DbtProject.invoke(manifest=...)`); otherwise dbt parses with the vars, as before.

Why not dbt's partial parsing: every run has a target directory of its own (see `safety.run_workspace`), so
dbt's `partial_parse.msgpack` is never there to reuse; and the check must not depend on dbt's cache rules.
What the fingerprint cannot see: environment variables read by the project's SQL through `env_var()` (only
those of the profile are included); a change there needs `synthohive fit` again or a changed file.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthohive_dbt.dbt import DbtProject, swap_schema
from synthohive_dbt.io import Column, Relation, current_database, real_columns, warehouse_for

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
    location: dict[str, str] = field(default_factory=dict)  # the fitted target's database and schema
    parse_ignores_vars: bool = False

    def to_provenance(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.warehouse is not None:
            out["warehouse"] = self.warehouse
            out["columns"] = {t: [{"name": c.name, "type": c.sql_type, "nullable": c.nullable} for c in cols]
                              for t, cols in self.columns.items()}
        if self.manifest is not None:
            raw = json.dumps(self.manifest, sort_keys=True, separators=(",", ":")).encode()
            out["manifest"] = {"sha256": hashlib.sha256(raw).hexdigest(), "fingerprint": self.fingerprint,
                               "location": self.location, "parse_ignores_vars": self.parse_ignores_vars,
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
        return cls(provenance.get("warehouse"), columns, manifest, saved.get("sha256"), saved.get("fingerprint"),
                   dict(saved.get("location") or {}), bool(saved.get("parse_ignores_vars", False)))

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
        here = location(project, engine)
    finally:
        engine.dispose()
    return SavedProject(dialect, columns, manifest, None, fingerprint(project), here,
                        parse_ignores_vars(project, manifest))


SCHEMA_VAR = "synthohive_schema"  # the var every dbt command of a run passes: the synthetic schema
_PROBE_SCHEMA = "synthohive_parse_probe"


def parse_ignores_vars(project: DbtProject, manifest: Mapping[str, Any]) -> bool:
    """Whether `dbt parse --vars {synthohive_schema: ...}` gives `manifest` again (timestamps aside): then a later
    dbt command can be handed this manifest instead of parsing. Parsed into a scratch target directory, so the
    project's own target/ is untouched."""
    with tempfile.TemporaryDirectory(prefix="synthohive-probe-") as tmp:
        probe = DbtProject(project.project_dir, profiles_dir=project.profiles_dir, target=project.target,
                           profile=project.profile, env=project.env, target_path=tmp)
        result = probe.invoke(["parse", "--vars", json.dumps({SCHEMA_VAR: _PROBE_SCHEMA}), "--log-level", "none"],
                              check=False)
        path = Path(tmp) / "manifest.json"
        if not result.success or not path.is_file():
            return False  # cannot tell: every later dbt command parses, as it would without this probe
        return _parse_content(json.loads(path.read_text())) == _parse_content(manifest)


def _parse_content(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What a parse decides, without what differs between any two parses (metadata, each node's created_at)."""
    out: dict[str, Any] = {}
    for key, value in manifest.items():
        if key in ("metadata", "parent_map", "child_map", "group_map"):
            continue
        out[key] = {uid: _undated(node) for uid, node in value.items()} if isinstance(value, dict) else value
    return out


def _undated(node: Any) -> Any:
    if isinstance(node, list):  # `disabled`: a list of nodes per unique_id
        return [_undated(n) for n in node]
    return {k: v for k, v in node.items() if k != "created_at"} if isinstance(node, dict) else node


def location(project: DbtProject, engine: Any) -> dict[str, str]:
    """Where the target puts relations: its database (as the warehouse names it, which is what dbt writes in the
    manifest) and its schema (the profile's)."""
    return {"database": current_database(engine), "schema": str(project.resolved_profile().spec.schema or "")}


def relocated(manifest: dict[str, Any], old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, Any]:
    """The manifest as `dbt parse` would write it for a target elsewhere (a CI database): every node in the old
    database moves to the new one, and every schema that is the old target schema or derives from it
    (`<schema>_raw`, dbt's default custom-schema naming) is renamed after the new target schema."""
    out = copy.deepcopy(manifest)
    odb, ndb, osch, nsch = old.get("database"), new.get("database"), old.get("schema"), new.get("schema")
    for node in [*(out.get("nodes") or {}).values(), *(out.get("sources") or {}).values()]:
        rel = node.get("relation_name")
        if odb and ndb and node.get("database") == odb and odb != ndb:
            node["database"] = ndb
            if isinstance(rel, str):
                rel = swap_schema(rel, odb, ndb)  # the first part of "db"."schema"."name"
        schema = node.get("schema")
        if osch and nsch and osch != nsch and isinstance(schema, str) and (
                schema == osch or schema.startswith(osch + "_")):
            node["schema"] = nsch + schema[len(osch):]
            if isinstance(rel, str):
                rel = rel.replace(f'"{schema}".', f'"{node["schema"]}".', 1) if f'"{schema}".' in rel \
                    else swap_schema(rel, schema, node["schema"])
        if isinstance(rel, str):
            node["relation_name"] = rel
    return out


def fingerprint(project: DbtProject) -> str:
    """SHA-256 over what `dbt parse` reads: the project's input files (path and content), the profile and target
    names, the warehouse type and dbt's version. Where the target points (database, schema) is left out: the
    saved manifest is `relocated` there instead, which is what a parse would give."""
    h = hashlib.sha256()
    for path in _inputs(project.project_dir):
        h.update(str(path.relative_to(project.project_dir)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    resolved = project.resolved_profile()
    # not where the target is (database, schema, host): a CI database elsewhere gets the manifest `relocated`
    target = {"profile": resolved.profile, "target": resolved.target, "type": resolved.spec.dialect}
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
