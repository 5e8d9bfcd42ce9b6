"""Run dbt in-process (dbtRunner) against a project, and read back what happened.

Every invocation gets the same `--profiles-dir` that `profiles.load_profile` resolves, and runs with the
project directory as the working directory, so a relative DuckDB `path:` means the same file to dbt and to
synthohive. Results come from `target/run_results.json` as plain `Outcome`s (name, status, failures), the
form the report and the CLI need; dbt's own log messages are collected through a callback, which is also
how `run-operation` output (e.g. `synthohive_emit_metadata`) travels back.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthohive_dbt.dbt.profiles import ResolvedProfile, find_profiles_dir, load_profile
from synthohive_dbt.errors import DbtError
from synthohive_dbt.io.connection import Engine, create_warehouse_engine

METADATA_START = "SYNTHOHIVE_METADATA_START"
METADATA_END = "SYNTHOHIVE_METADATA_END"


@dataclass(frozen=True)
class Outcome:
    """One executed node of a dbt run: a test, model, seed or snapshot."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    failures: int | None = None
    message: str | None = None
    execution_time: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status in ("pass", "success")


@dataclass
class DbtResult:
    """What one dbt command did: success flag, outcomes from run_results.json, and dbt's log lines."""

    command: list[str]
    success: bool
    outcomes: list[Outcome] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in ("fail", "error", "runtime error")]

    def tests(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.resource_type in ("test", "unit_test")]


def outcomes_from_run_results(run_results: str | Path | Mapping[str, Any]) -> list[Outcome]:
    """Turn run_results.json (a path or the loaded dict) into Outcomes, in file order."""
    if not isinstance(run_results, Mapping):
        path = Path(run_results)
        try:
            run_results = json.loads(path.read_text())
        except FileNotFoundError:
            raise DbtError(f"{path} does not exist: dbt did not run or wrote elsewhere",
                           hint="run dbt first, or pass the right --target-path") from None
        except json.JSONDecodeError as exc:
            raise DbtError(f"{path} is not valid JSON: {exc}", hint="rerun dbt to rewrite it") from None
    out = []
    for r in run_results.get("results", []):
        uid = str(r.get("unique_id", ""))
        parts = uid.split(".")
        failures = r.get("failures")
        out.append(Outcome(
            unique_id=uid, name=parts[2] if len(parts) > 2 else uid,
            resource_type=parts[0] if parts else "", status=str(r.get("status", "")).lower(),
            failures=int(failures) if failures is not None else None, message=r.get("message"),
            execution_time=float(r.get("execution_time") or 0.0)))
    return out


def parse_metadata_log(text: str) -> dict[str, Any]:
    """The JSON document between the SYNTHOHIVE_METADATA markers in dbt's output."""
    start, end = text.find(METADATA_START), text.rfind(METADATA_END)
    if start < 0 or end < start:
        raise DbtError("dbt's output holds no SYNTHOHIVE_METADATA_START/END block",
                       hint="check that the synthohive package is installed (dbt deps) and the "
                            "run-operation did not fail; run it by hand to see its log")
    body = text[start + len(METADATA_START):end].strip()
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise DbtError(f"the metadata block emitted by dbt is not valid JSON: {exc}",
                       hint="update the synthohive dbt package to the version of this tool") from None


@contextlib.contextmanager
def _working_dir_and_env(path: Path, env: Mapping[str, str]) -> Iterator[None]:
    old_cwd, saved = Path.cwd(), {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class DbtProject:
    """A dbt project run in-process. Not thread-safe: dbt itself keeps global state per invocation."""

    def __init__(self, project_dir: str | Path, *, profiles_dir: str | Path | None = None,
                 target: str | None = None, profile: str | None = None,
                 env: Mapping[str, str] | None = None, target_path: str | Path | None = None) -> None:
        self.project_dir = Path(project_dir).resolve()
        if not (self.project_dir / "dbt_project.yml").is_file():
            raise DbtError(f"{self.project_dir} holds no dbt_project.yml",
                           hint="pass --project-dir pointing at your dbt project")
        self.env = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false",
                    **(env or {})}
        with _working_dir_and_env(self.project_dir, self.env):
            self.profiles_dir = find_profiles_dir(profiles_dir, self.project_dir).resolve()
        self.target, self.profile = target, profile
        self.target_path = Path(target_path).resolve() if target_path else self.project_dir / "target"

    # -- the warehouse dbt writes to ---------------------------------------------------------------------
    def resolved_profile(self) -> ResolvedProfile:
        """The connection dbt uses for this project, resolved from the very profiles.yml dbt reads."""
        with _working_dir_and_env(self.project_dir, self.env):
            return load_profile(self.project_dir, profiles_dir=self.profiles_dir, profile=self.profile,
                                target=self.target)

    def engine(self) -> Engine:
        """A SQLAlchemy engine on the project's warehouse (dispose it before the next DuckDB dbt command)."""
        return create_warehouse_engine(self.resolved_profile().spec)

    # -- generic ---------------------------------------------------------------------------------------
    def invoke(self, args: Sequence[str], *, check: bool = True,
               sources_in: Mapping[str, str] | None = None, manifest: Mapping[str, Any] | None = None,
               loaded_manifest: Any = None) -> DbtResult:
        """Run `dbt <args>`; with check=True a dbt crash (not a failing test) raises DbtError.

        `sources_in` (source unique_id -> schema) makes this one command read those sources from another
        schema without any macro in the project (see `_manifest_with_sources_in`). `manifest` (a manifest.json
        as a dict, e.g. the one saved with a model) is used as is and dbt parses nothing: only for a manifest
        that a parse with this command's --vars would give again (`pipeline.saved_project.parse_ignores_vars`).
        `loaded_manifest`: the same, already built by `manifest_object` (sources moved), e.g. ahead of time."""
        from dbt.cli.main import dbtRunner  # heavy import (~3 s): only when dbt actually runs

        command = [*args, *self._common_args(args[0])]
        handed = loaded_manifest is not None or manifest is not None
        if handed:  # dbt would write the manifest it was handed back to disk (~0.3 s); run_results: below
            command.append("--no-write-json")
        logs: list[str] = []

        def collect(event: Any) -> None:
            msg = getattr(event.info, "msg", "")
            if msg and event.info.level in ("info", "warn", "error"):
                logs.append(msg)

        run_results = self.target_path / "run_results.json"
        if run_results.exists() and args[0] in ("build", "test", "run", "seed", "snapshot"):
            run_results.unlink()  # never report a previous run's results as this one's
        with _working_dir_and_env(self.project_dir, {**self.env, "DBT_TARGET_PATH": str(self.target_path)}):
            try:
                if loaded_manifest is not None:
                    loaded = loaded_manifest
                elif manifest is not None:
                    loaded = manifest_object(with_sources_in(manifest, sources_in or {}))
                else:
                    loaded = self._manifest_with_sources_in(sources_in, args) if sources_in else None
                res = dbtRunner(manifest=loaded, callbacks=[collect]).invoke(command)
            finally:
                _release_duckdb()
        if handed and hasattr(res.result, "write") and args[0] in ("build", "test", "run", "seed", "snapshot"):
            run_results.parent.mkdir(parents=True, exist_ok=True)
            res.result.write(str(run_results))  # what dbt writes without --no-write-json
        outcomes = outcomes_from_run_results(run_results) if run_results.exists() and args[0] in (
            "build", "test", "run", "seed", "snapshot") else []
        result = DbtResult(command=["dbt", *command], success=bool(res.success), outcomes=outcomes, logs=logs)
        if check and res.exception is not None:
            raise DbtError(f"`dbt {' '.join(args)}` in {self.project_dir} failed: {res.exception}",
                           hint="run the same dbt command by hand to see its full log") from None
        if check and not res.success and not outcomes:
            tail = "\n    ".join(logs[-8:])
            raise DbtError(f"`dbt {' '.join(args)}` in {self.project_dir} failed:\n    {tail}",
                           hint="fix the error dbt reports above and rerun")
        return result

    def _common_args(self, command: str) -> list[str]:
        out = ["--project-dir", str(self.project_dir), "--profiles-dir", str(self.profiles_dir)]
        if self.target and command not in ("deps", "clean"):
            out += ["--target", self.target]
        if self.profile and command not in ("deps", "clean"):
            out += ["--profile", self.profile]
        return out

    def _manifest_with_sources_in(self, sources_in: Mapping[str, str], args: Sequence[str]) -> Any:
        """The project parsed in-process, with the given sources moved to other schemas.

        dbt has no flag that moves a source (`--defer` covers refs only) and a package cannot override the
        builtin source(); but dbt resolves source() at run time from the manifest it is handed, so a manifest
        whose source nodes name the synthetic schema makes every test (and model) read the synthetic copy,
        with no edit to the user's project. Call inside `_working_dir_and_env`."""
        from dbt.cli.main import dbtRunner

        variables = [*args[args.index("--vars"):args.index("--vars") + 2]] if "--vars" in args else []
        res = dbtRunner().invoke(["parse", *self._common_args("parse"), *variables, "--log-level", "none"])
        if not res.success or res.result is None:
            raise DbtError(f"`dbt parse` in {self.project_dir} failed: {res.exception or 'see the dbt log'}",
                           hint="run `dbt parse` by hand in the project to see its full log")
        manifest = res.result
        for uid, schema in sources_in.items():
            node = manifest.sources.get(uid)
            if node is None:
                raise DbtError(f"source {uid} is not in the manifest of {self.project_dir}",
                               hint="the project changed during the run: rerun synthohive")
            if isinstance(node.relation_name, str):
                node.relation_name = swap_schema(node.relation_name, node.schema, schema)
            node.schema = schema
        return manifest

    # -- commands --------------------------------------------------------------------------------------
    def deps(self) -> DbtResult:
        return self.invoke(["deps"])

    def parse(self) -> Path:
        """`dbt parse`; returns the path of the fresh manifest.json."""
        self.invoke(["parse"])
        manifest = self.target_path / "manifest.json"
        if not manifest.is_file():
            raise DbtError(f"dbt parse succeeded but wrote no {manifest}", hint="check --target-path")
        return manifest

    def seed(self, *, select: Sequence[str] | None = None, full_refresh: bool = True) -> DbtResult:
        args = ["seed", *(["--full-refresh"] if full_refresh else []), *_selection(select, None)]
        return self._checked(self.invoke(args), "seed")

    def build(self, *, select: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
              vars: Mapping[str, Any] | None = None) -> DbtResult:
        """`dbt build`: failing tests are reported in the outcomes, not raised."""
        return self.invoke(["build", *_selection(select, exclude), *_vars(vars)])

    def test(self, *, select: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
             vars: Mapping[str, Any] | None = None) -> DbtResult:
        """`dbt test`: failing tests are reported in the outcomes, not raised."""
        return self.invoke(["test", *_selection(select, exclude), *_vars(vars)])

    def run_operation(self, macro: str, args: Mapping[str, Any] | None = None, *,
                      check: bool = True) -> DbtResult:
        cmd = ["run-operation", macro, *(["--args", json.dumps(dict(args))] if args else [])]
        return self.invoke(cmd, check=check)

    def emit_metadata(self) -> dict[str, Any]:
        """The project's tables, columns and tests, as `synthohive_emit_metadata` prints them."""
        return parse_metadata_log("\n".join(self.run_operation("synthohive_emit_metadata").logs))

    def create_schema(self, schema: str) -> None:
        self.run_operation("synthohive_create_schema", {"schema": schema})

    def drop_schema(self, schema: str) -> None:
        self.run_operation("synthohive_drop_schema", {"schema": schema})

    def _checked(self, result: DbtResult, what: str) -> DbtResult:
        if not result.success:
            bad = ", ".join(f"{o.name} ({o.status}: {o.message})" for o in result.failed[:5])
            raise DbtError(f"dbt {what} failed in {self.project_dir}: {bad or 'see the dbt log'}",
                           hint="fix the failing nodes and rerun")
        return result


def with_sources_in(manifest: Mapping[str, Any], sources_in: Mapping[str, str]) -> dict[str, Any]:
    """A copy of a manifest dict whose sources `sources_in` (unique_id -> schema) live in another schema: the
    dict form of what `_manifest_with_sources_in` does to a parsed manifest."""
    out = dict(manifest)
    sources = dict(out.get("sources") or {})
    for uid, schema in sources_in.items():
        node = sources.get(uid)
        if node is None:
            raise DbtError(f"source {uid} is not in the manifest handed to dbt",
                           hint="the project changed since `synthohive fit`: rerun it")
        node = dict(node)
        if isinstance(node.get("relation_name"), str):
            node["relation_name"] = swap_schema(node["relation_name"], node["schema"], schema)
        node["schema"] = schema
        sources[uid] = node
    out["sources"] = sources
    return out


def manifest_object(manifest: Mapping[str, Any]) -> Any:
    """dbt's Manifest built from a manifest.json dict, the way dbt reads `--state` (~0.15 s for 500 nodes and
    macros, against 1-3 s for a parse); dbtRunner(manifest=...) then runs with it and parses nothing."""
    from dbt.artifacts.exceptions import IncompatibleSchemaError
    from dbt.contracts.graph.manifest import Manifest, WritableManifest
    from dbt.contracts.graph.nodes import GenericTestNode

    try:  # a deep copy through JSON: dbt's loaders may change what they are handed
        writable = WritableManifest.upgrade_schema_version(json.loads(json.dumps(manifest)))
        loaded = Manifest.from_writable_manifest(writable)
        # the artifact's node union reads every test as a singular one; a generic test compiles only as a
        # GenericTestNode (its test_metadata kwargs become `_dbt_generic_test_kwargs`), so those are rebuilt
        for uid, node in (manifest.get("nodes") or {}).items():
            if node.get("resource_type") == "test" and node.get("test_metadata"):
                loaded.nodes[uid] = GenericTestNode.from_dict(json.loads(json.dumps(node)))
    except (IncompatibleSchemaError, LookupError, ValueError, TypeError) as exc:  # mashumaro: Lookup/ValueError
        raise DbtError(f"the saved manifest cannot be read by this dbt: {exc}",
                       hint="rerun `synthohive fit` with the dbt version installed here") from None
    loaded.build_flat_graph()
    return loaded


def swap_schema(relation_name: str, old: str, new: str) -> str:
    """A rendered relation name (`"db"."raw"."orders"`) with its schema part `old` replaced by `new`."""
    for q in ('"', "`", ""):
        token = f"{q}{old}{q}."
        if token in relation_name:
            return relation_name.replace(token, f"{q}{new}{q}.", 1)
    return relation_name


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a command.

    dbt-duckdb caches its database handle at class level across invocations; while it is open, DuckDB
    refuses our own (differently configured) connection to the same file ("Can't open a connection to
    same database file with a different configuration"). Private attributes: guarded, best effort.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    lock = getattr(DuckDBConnectionManager, "_LOCK", None)
    if lock is None:
        return
    with lock:
        env = getattr(DuckDBConnectionManager, "_ENV", None)
        if env is not None and hasattr(env, "close"):
            env.close()
            DuckDBConnectionManager._ENV = None


def _selection(select: Sequence[str] | None, exclude: Sequence[str] | None) -> list[str]:
    out: list[str] = []
    if select:
        out += ["--select", *select]
    if exclude:
        out += ["--exclude", *exclude]
    return out


def _vars(vars: Mapping[str, Any] | None) -> list[str]:
    return ["--vars", json.dumps(dict(vars))] if vars else []
