"""Making dbt read the synthetic tables, without touching the user's project files or real schemas.

dbt 1.11 offers no flag that moves a ref() or source() to another schema, so these mechanisms combine:

- sources, mirror mode: dbt resolves source() at run time from the manifest it runs with, so `dbt test` gets
  (in-process) the project's manifest with the synthesized sources' schema set to S (`sources_at` +
  `DbtProject.invoke(sources_in=...)`). Nothing in the user's project changes.
- sources, sources mode: the `synthohive.source()` override (one macro in the root project, installed by
  `synthohive init`) sends every source() to `var('synthohive_schema')`; we pass
  `--vars '{synthohive_schema: S}'`. The same override lets a CI job run `dbt build --vars ...` by hand on
  what `synthohive generate` wrote, which is why sources mode asks for it rather than working around it.
- models and seeds (refs): `--defer --favor-state --state DIR`, where DIR/manifest.json is the project's own
  manifest with the synthesized nodes' schema set to S. With favor-state, dbt resolves a ref to a node that
  is not selected for execution from that state manifest (dbt.context.providers.RuntimeRefResolver), and
  in `dbt test` only tests are executed, so every ref in a test lands in S. In sources mode the same trick
  points refs to non-source seeds at their synthetic copies while `dbt build` excludes seeds.
- where sources-mode models are BUILT: a temporary profiles.yml that is the user's own profile and target with
  only `schema` (BigQuery: `dataset`) changed to a build schema of synthohive's own, so the models never land
  in the real schema. Secrets stay as written (usually `env_var()` calls, rendered by dbt); the copy is mode
  0600 in a private temporary directory and removed afterwards.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from synthohive_dbt.dbt import DbtProject, swap_schema
from synthohive_dbt.errors import ProfileError
from synthohive_dbt.io import Relation
from synthohive_dbt.pipeline.project import relation_of, table_nodes


def ids_at(manifest: dict[str, Any], relations: Iterable[Relation]) -> set[str]:
    """unique_ids of the ref-able nodes (models, seeds, snapshots) that live at one of `relations`."""
    wanted = {(r.schema.lower(), r.name.lower()) for r in relations}
    out = set()
    for node in table_nodes(manifest):
        rel = relation_of(node)
        if node["resource_type"] != "source" and rel is not None and (rel.schema.lower(), rel.name.lower()) in wanted:
            out.add(node["unique_id"])
    return out


def sources_at(manifest: dict[str, Any], relations: Iterable[Relation], schema: str) -> dict[str, str]:
    """unique_id -> `schema` for every source that lives at one of `relations`: what mirror mode hands to
    `DbtProject.invoke(sources_in=...)` so tests on sources read the synthetic copies."""
    wanted = {(r.schema.lower(), r.name.lower()) for r in relations}
    out = {}
    for node in table_nodes(manifest):
        rel = relation_of(node)
        if node["resource_type"] == "source" and rel is not None and (rel.schema.lower(), rel.name.lower()) in wanted:
            out[node["unique_id"]] = schema
    return out


def state_manifest(manifest: dict[str, Any], moved: Iterable[str], target_schema: str) -> dict[str, Any]:
    """A copy of `manifest` in which the ref-able nodes `moved` (unique_ids) live in `target_schema`."""
    wanted = set(moved)
    out = copy.deepcopy(manifest)
    for uid, node in (out.get("nodes") or {}).items():
        if uid not in wanted or node.get("resource_type") not in ("model", "seed", "snapshot"):
            continue
        old = node["schema"]
        node["schema"] = target_schema
        if isinstance(node.get("relation_name"), str):
            node["relation_name"] = swap_schema(node["relation_name"], old, target_schema)
    return out


def defer_args(state_dir: Path) -> list[str]:
    return ["--defer", "--favor-state", "--state", str(state_dir)]


def write_state(state_dir: Path, manifest: dict[str, Any]) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "manifest.json"
    path.write_text(json.dumps(manifest))
    return state_dir


@contextlib.contextmanager
def build_project(project: DbtProject, build_schema: str) -> Iterator[DbtProject]:
    """The same project and target, with the target schema replaced by `build_schema` (see module doc)."""
    resolved = project.resolved_profile()
    source = resolved.profiles_dir / "profiles.yml"
    try:
        profiles = yaml.safe_load(source.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"cannot read {source}: {exc}", hint="fix profiles.yml") from exc
    output = dict(profiles[resolved.profile]["outputs"][resolved.target])
    key = "dataset" if str(output.get("type", "")).lower() == "bigquery" and "dataset" in output else "schema"
    output[key] = build_schema
    rewritten: dict[str, Any] = {resolved.profile: {"target": resolved.target,
                                                    "outputs": {resolved.target: output}}}
    if isinstance(profiles.get("config"), dict):
        rewritten["config"] = profiles["config"]
    tmp = Path(tempfile.mkdtemp(prefix="synthohive-profile-"))
    try:
        path = tmp / "profiles.yml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump(rewritten, fh, sort_keys=False)
        yield DbtProject(project.project_dir, profiles_dir=tmp, target=resolved.target, profile=resolved.profile,
                         env=project.env, target_path=project.target_path / "build")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def built_relations(manifest: dict[str, Any]) -> list[tuple[str, Relation]]:
    """(unique_id, relation) of every node `dbt build` would create (models and snapshots)."""
    out = []
    for node in table_nodes(manifest):
        if node["resource_type"] in ("model", "snapshot"):
            rel = relation_of(node)
            if rel is not None:
                out.append((node["unique_id"], rel))
    return out


__all__ = ["build_project", "built_relations", "defer_args", "ids_at", "sources_at", "state_manifest",
           "write_state"]
