"""Which tables a run synthesizes, where their real data is, and what name each gets in the target schema.

Two modes:

- mirror: the selected models, seeds and sources are learned as they are; afterwards `dbt test` checks the
  synthetic copies. A seed that is the very relation of a selected source is read once, as the source.
- sources: only sources and seeds are learned, with the tests of downstream models carried back to them by
  `metadata.lineage` (it needs `dbt compile` output); afterwards `dbt build` runs the whole project on them.

Every synthetic table keeps its real identifier in the target schema, because that is the name dbt's source
redirect and `--defer` look for; two tables with the same identifier cannot both be written, which is
refused before any work is done.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from synthohive_dbt.config import Metadata
from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.errors import ConfigError, DbtError, ManifestError
from synthohive_dbt.io import Relation, list_tables, reflect_columns
from synthohive_dbt.manifest import ManifestReadResult, read_manifest
from synthohive_dbt.manifest.align import align_to_warehouse
from synthohive_dbt.manifest.findings import NotModelled
from synthohive_dbt.manifest.lineage import project_to_sources
from synthohive_dbt.manifest.loader import sections
from synthohive_dbt.manifest.tables import base_name, is_table

Mode = Literal["mirror", "sources"]
MODES: tuple[Mode, ...] = ("mirror", "sources")
QUIET_DBT = ("--log-level", "none")
"""dbt's own console output is replaced by our progress and outcome table; its log file still has it all."""


@dataclass(frozen=True)
class SyntheticTable:
    """One table to synthesize: its Metadata name, its dbt node, its real relation, its target name."""

    name: str
    unique_id: str
    resource_type: str
    real: Relation
    identifier: str


@dataclass
class ProjectTables:
    """The tables of one run and the project facts every later step needs."""

    mode: Mode
    read: ManifestReadResult
    tables: dict[str, SyntheticTable]
    manifest_path: Path
    manifest: dict[str, Any] = field(repr=False)
    real_relations: list[Relation] = field(default_factory=list)
    project_name: str | None = None
    left_out: list[str] = field(default_factory=list)  # selected nodes this mode does not synthesize, and why
    manifest_is_final: bool = False  # dbt may run with `manifest` as is, no parse (see saved_project)

    @property
    def metadata(self) -> Metadata:
        return self.read.metadata

    @property
    def has_sources(self) -> bool:
        return any(t.resource_type == "source" for t in self.tables.values())

    def real_relations_of(self) -> dict[str, Relation]:
        """Metadata table name -> its real relation (what `io.read_tables` takes)."""
        return {name: t.real for name, t in self.tables.items()}


def relation_of(node: dict[str, Any]) -> Relation | None:
    """The (schema, identifier) a table node lives at, or None when the manifest does not say."""
    schema = node.get("schema")
    ident = (node.get("identifier") if node.get("resource_type") == "source" else node.get("alias")) \
        or node.get("name")
    return Relation(str(schema), str(ident)) if schema and ident else None


def load_raw_manifest(path: Path) -> dict[str, Any]:
    """The manifest as JSON, its nodes and sources checked by the reader's shape check (so a broken file
    fails here, naming the file and the field, not with a KeyError in a later step)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}", hint="rerun `dbt parse` in the project") from exc
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: top level is a {type(raw).__name__}, not a JSON object",
                            hint="rerun `dbt parse` in the project")
    sections(raw, path)
    return raw


def table_nodes(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node (sources included) that is a relation in the warehouse, sorted by unique_id."""
    nodes = [*(manifest.get("nodes") or {}).values(), *(manifest.get("sources") or {}).values()]
    return sorted((n for n in nodes if is_table(n)), key=lambda n: n["unique_id"])


def all_relations(manifest: dict[str, Any]) -> list[Relation]:
    """The relations of every source, seed, model and snapshot: what no synthetic write may replace."""
    return sorted({r for r in (relation_of(n) for n in table_nodes(manifest)) if r is not None})


def parse(project: DbtProject, mode: Mode) -> Path:
    """dbt parse (mirror) or dbt compile (sources: lineage reads the compiled SQL); the manifest's path."""
    command = "parse" if mode == "mirror" else "compile"
    project.invoke([command, *QUIET_DBT])
    path = project.target_path / "manifest.json"
    if not path.is_file():
        raise DbtError(f"dbt {command} succeeded but wrote no {path}", hint="check DBT_TARGET_PATH")
    return path


def selected_ids(project: DbtProject, select: Sequence[str], exclude: Sequence[str]) -> list[str] | None:
    """unique_ids of the tables dbt's own selection syntax picks (via `dbt ls`); None when nothing is given."""
    if not select and not exclude:
        return None
    args = ["ls", "--resource-type", "model", "seed", "source", "snapshot", "--output", "json",
            "--output-keys", "unique_id", *QUIET_DBT]
    if select:
        args += ["--select", *select]
    if exclude:
        args += ["--exclude", *exclude]
    result = project.invoke(args)
    ids = []
    for line in result.logs:
        if line.startswith("{"):
            try:
                ids.append(str(json.loads(line)["unique_id"]))
            except (json.JSONDecodeError, KeyError):
                continue
    return ids


def raw_ancestors(manifest: dict[str, Any], ids: Sequence[str]) -> list[str]:
    """The sources and seeds a selection stands for in sources mode: the selected ones, and every source or seed
    that a selected model or snapshot reads, directly or through other models."""
    nodes = {**(manifest.get("nodes") or {}), **(manifest.get("sources") or {})}
    parents = manifest.get("parent_map") or {}
    raw: set[str] = set()
    todo, seen = list(ids), set()
    while todo:
        uid = todo.pop()
        if uid in seen:
            continue
        seen.add(uid)
        node = nodes.get(uid) or {}
        if node.get("resource_type") in ("source", "seed"):
            raw.add(uid)
            continue
        todo.extend(parents.get(uid) or (node.get("depends_on") or {}).get("nodes") or [])
    return sorted(raw)


def resolve(project: DbtProject, mode: Mode, *, select: Sequence[str] = (), exclude: Sequence[str] = (),
            reflect: bool = True) -> ProjectTables:
    """Parse the project and decide the tables of this run (see the module docstring for the modes).

    With `reflect`, the metadata's column names are matched to the columns each real table has (the
    manifest may say `patient` for a seed column `PATIENT`; see metadata.align).
    """
    if mode not in MODES:
        raise ConfigError(f"mode {mode!r} is unknown", hint=f"use one of {list(MODES)}")
    if mode == "sources":
        # `dbt ls` rewrites manifest.json without compiled SQL: select first, compile last
        ids = selected_ids(project, select, exclude)
        kept = set(selected_ids(project, (), exclude) or ()) if ids is not None and exclude else None
    path = parse(project, mode)
    manifest = load_raw_manifest(path)
    left_out: list[str] = []
    if mode == "sources":
        raw = None if ids is None else raw_ancestors(manifest, ids)
        if raw is not None and kept is not None:  # a source or seed excluded by name stays real, whatever reads it
            raw = [uid for uid in raw if uid in kept]
        read: ManifestReadResult = project_to_sources(path, select=raw)
    else:
        ids = selected_ids(project, select, exclude)
        if ids is not None:
            ids = _without_shadowed_seeds(manifest, [i for i in ids if _is_table_id(manifest, i)])
            snapshots = [i for i in ids if i.startswith("snapshot.")]
            ids = [i for i in ids if i not in snapshots]
            left_out += [f"{uid}: a snapshot is history dbt builds from its source (dbt_valid_from/to, one open "
                         "row per key); mirror mode does not synthesize it: use --mode sources, where "
                         "`dbt build` snapshots the synthetic sources" for uid in snapshots]
            if not ids:
                raise ConfigError(
                    f"--select {' '.join(select) or '(all)'} --exclude {' '.join(exclude) or '(none)'} picks no "
                    f"model, seed or source of {project.project_dir} that is a table"
                    + (f" (snapshots are left out in mirror mode: {', '.join(snapshots)})" if snapshots else ""),
                    hint="check the selection with `dbt ls --select ...` in the project; for snapshots use "
                         "--mode sources" if snapshots else "check the selection with `dbt ls --select ...` "
                                                            "in the project")
        else:
            defaults = [n["unique_id"] for n in table_nodes(manifest)
                        if n["resource_type"] in ("model", "seed", "source")]
            ids = _without_shadowed_seeds(manifest, defaults)
        read = read_manifest(path, select=ids)
    if reflect:
        present = real_column_names(project, read)
        read, missing = without_missing(read, present)
        left_out += missing
        read = align_to_warehouse(read, present)
    tables = _project_tables(mode, read, path, manifest)
    tables.left_out = left_out
    return tables


def without_missing(read: ManifestReadResult, present: Mapping[str, Any]) -> tuple[ManifestReadResult, list[str]]:
    """`read` without the tables whose relation the warehouse does not hold (a model that failed to build on the
    real data, a seed never loaded), and a line for each: one missing relation must not stop a whole project.
    Foreign keys to a table left out are dropped with it (listed as not modelled)."""
    missing = [n for n in read.tables if n not in present]
    if not missing or len(missing) == len(read.tables):
        return read, []  # nothing is built at all: the read step says so, with the fix
    gone = set(missing)
    lost = [NotModelled(f"{t.unique_id or name}: foreign key {fk.label}", f"{fk.parent} is left out (no relation "
                        "in the warehouse)", t.unique_id) for name, t in read.metadata.tables.items()
            if name not in gone for fk in t.fk if fk.parent in gone]
    tables = {name: t.model_copy(update={"fk": [fk for fk in t.fk if fk.parent not in gone]})
              for name, t in read.metadata.tables.items() if name not in gone}
    lines = [f"{read.tables[n].unique_id}: {read.tables[n].schema}.{read.tables[n].identifier} does not exist in the "
             "warehouse (not built, or its build failed on the real data); its tests are not run. Fix: "
             "`dbt build` it on the real data" for n in missing]
    return dataclasses.replace(read, metadata=Metadata(tables=tables),
                               tables={n: i for n, i in read.tables.items() if n not in gone},
                               not_modelled=[*read.not_modelled, *lost]), lines


def real_column_names(project: DbtProject, read: ManifestReadResult) -> dict[str, list[str]]:
    """Metadata table name -> the column names its real relation has; tables not in the warehouse (not built
    yet) are left out, for the read step to report."""
    out: dict[str, list[str]] = {}
    engine = project.engine()
    try:
        with engine.connect() as conn:
            present: dict[str, dict[str, str]] = {}
            for name, info in read.tables.items():
                if not info.schema or not info.identifier:
                    continue
                if info.schema not in present:
                    present[info.schema] = {t.lower(): t for t in list_tables(conn, info.schema)}
                real = present[info.schema].get(info.identifier.lower())
                if real is not None:
                    out[name] = [c.name for c in reflect_columns(conn, info.schema, real)]
    finally:
        engine.dispose()  # DuckDB: the file must be free for the next dbt command
    return out


def _is_table_id(manifest: dict[str, Any], uid: str) -> bool:
    node = (manifest.get("nodes") or {}).get(uid) or (manifest.get("sources") or {}).get(uid)
    return node is not None and is_table(node)


def _without_shadowed_seeds(manifest: dict[str, Any], ids: list[str]) -> list[str]:
    """Drop a seed whose relation is also a selected source's: the same table, read once as the source."""
    nodes = {n["unique_id"]: n for n in table_nodes(manifest)}
    source_rels = {_key(relation_of(nodes[i])) for i in ids if nodes[i]["resource_type"] == "source"}
    return [i for i in ids if not (nodes[i]["resource_type"] == "seed"
                                   and _key(relation_of(nodes[i])) in source_rels)]


def _key(rel: Relation | None) -> tuple[str, str] | None:
    return (rel.schema.lower(), rel.name.lower()) if rel is not None else None


def _project_tables(mode: Mode, read: ManifestReadResult, path: Path, manifest: dict[str, Any]) -> ProjectTables:
    tables: dict[str, SyntheticTable] = {}
    for name, info in read.tables.items():
        if not info.schema:
            raise ManifestError(f"table {name!r} ({info.unique_id}) has no schema in {path}",
                                hint="rerun `dbt parse`; the manifest looks incomplete")
        tables[name] = SyntheticTable(name=name, unique_id=info.unique_id, resource_type=info.resource_type,
                                      real=Relation(info.schema, info.identifier), identifier=info.identifier)
    _refuse_duplicate_identifiers(tables.values())
    project_name = (manifest.get("metadata") or {}).get("project_name")
    return ProjectTables(mode=mode, read=read, tables=tables, manifest_path=path, manifest=manifest,
                         real_relations=all_relations(manifest), project_name=project_name)


def _refuse_duplicate_identifiers(tables: Iterable[SyntheticTable]) -> None:
    seen: dict[str, SyntheticTable] = {}
    for t in tables:
        other = seen.get(t.identifier.lower())
        if other is not None:
            raise ConfigError(
                f"{other.unique_id} ({other.real}) and {t.unique_id} ({t.real}) would both be written as table "
                f"{t.identifier!r} of the target schema",
                hint="synthesize them in separate runs: narrow --select (or --exclude one of them)")
        seen[t.identifier.lower()] = t


def tables_for_model(manifest_path: Path, names: Iterable[str], mode: Mode) -> ProjectTables:
    """The project tables a saved model was trained on, found by its Metadata table names (for `generate`)."""
    manifest = load_raw_manifest(manifest_path)
    kinds = ("source", "seed") if mode == "sources" else ("model", "seed", "source", "snapshot")
    nodes = [n for n in table_nodes(manifest) if n["resource_type"] in kinds]
    ids: list[str] = []
    missing: list[str] = []
    for name in names:
        hits = [n for n in nodes if name in (base_name(n), f"{base_name(n)}__{n['resource_type']}",
                                             n["unique_id"].replace(".", "__"))]
        rels = {_key(relation_of(n)) for n in hits}
        if not hits or len(rels) > 1:
            missing.append(name)
            continue
        hits.sort(key=lambda n: ("source", "seed", "model", "snapshot").index(n["resource_type"]))
        ids.append(hits[0]["unique_id"])
    if missing:
        raise ConfigError(
            f"the saved model's table(s) {missing} match no single {'/'.join(kinds)} of the project at "
            f"{manifest_path.parent.parent}",
            hint="generate with the same project and --mode that `synthohive fit` used")
    read = read_manifest(manifest_path, select=ids)
    renamed = {info.unique_id: n for n, info in read.tables.items()}
    wanted = dict(zip(ids, names))
    tables = {wanted[uid]: SyntheticTable(name=wanted[uid], unique_id=uid, resource_type=info.resource_type,
                                          real=Relation(str(info.schema), info.identifier),
                                          identifier=info.identifier)
              for uid, info in ((u, read.tables[renamed[u]]) for u in ids)}
    _refuse_duplicate_identifiers(tables.values())
    return ProjectTables(mode=mode, read=read, tables=tables, manifest_path=manifest_path, manifest=manifest,
                         real_relations=all_relations(manifest),
                         project_name=(manifest.get("metadata") or {}).get("project_name"))
