"""dbt in a worker process started at the beginning of a command, so that dbt's imports overlap the command's own.

Why: on a CI seed (`synthohive generate` from a saved model), importing dbt costs ~1 s, about a fifth of the
whole run, and it cannot overlap sampling on a thread (both hold the interpreter lock; measured slower than in
turn). A second process does it on the other core while this one imports torch, samples and writes.

Protocol, one JSON line each on the worker's stdin: the worker imports dbt; `prepare` sends the project and the
manifest (sources moved), which the worker builds into dbt's Manifest and warms up with a `dbt ls` that
touches no warehouse (profile, adapter, dbt's lazily compiled (de)serializers: ~0.5 s); `invoke` sends one
`DbtProject.invoke`'s arguments, which the worker runs with exactly the in-process code, writes the
`DbtResult` as JSON to a file and exits. Nothing about the project, the profile or the result differs from an
in-process run.

Where dbt must stay in this process: DuckDB (one process may hold a database file for writing) and Spark
(`method: session` shares this process's SparkSession and its single-process Derby metastore): see
`runs_out_of_process`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synthohive_dbt import errors
from synthohive_dbt.dbt.runner import DbtProject, DbtResult, Outcome
from synthohive_dbt.errors import DbtError, SynthohiveError

_IN_PROCESS_ONLY = frozenset({"duckdb", "spark", "databricks"})
_WARM_IMPORTS = ("dbt.cli.main", "dbt.task.test", "dbt.contracts.graph.manifest")


def runs_out_of_process(adapter_type: str) -> bool:
    """Whether dbt on this adapter may run in a worker process (see the module docstring)."""
    return adapter_type.lower() not in _IN_PROCESS_ONLY


class DbtWorker:
    """One dbt command in a worker process: start early, `invoke` once, `close` always (a context manager)."""

    def __init__(self, project: DbtProject, adapter_type: str) -> None:
        self.project = project
        self._dir = Path(tempfile.mkdtemp(prefix="synthohive-dbt-worker-"))
        self._stderr = open(self._dir / "stderr", "w+b")  # noqa: SIM115 - closed in close()
        self._prepared = False
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", "synthohive_dbt.dbt.worker", adapter_type], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=self._stderr, cwd=project.project_dir)

    def __enter__(self) -> DbtWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def prepare(self, manifest: Mapping[str, Any], sources_in: Mapping[str, str] | None = None) -> None:
        """Hand the worker the manifest the coming `invoke` runs with, to build and warm up meanwhile."""
        p = self.project
        path = self._dir / "manifest.json"  # a file, not the pipe: the worker reads only once dbt is imported
        path.write_text(json.dumps(manifest))
        self._send({"project": {"project_dir": str(p.project_dir), "profiles_dir": str(p.profiles_dir),
                                "target": p.target, "profile": p.profile, "env": p.env,
                                "target_path": str(p.target_path)},
                    "manifest": str(path), "sources_in": dict(sources_in or {})})
        self._prepared = True

    def invoke(self, args: Sequence[str], *, check: bool = True) -> DbtResult:
        """`DbtProject.invoke(args, manifest=...)` with the manifest given to `prepare`, run by the worker."""
        if self._proc is None or not self._prepared:
            raise DbtError("the dbt worker process was used unprepared, twice or after it was closed",
                           hint="report this as a bug in synthohive")
        result_path = self._dir / "result.json"
        self._send({"args": list(args), "check": check, "result": str(result_path)})
        proc, self._proc = self._proc, None
        try:
            proc.communicate()
        except BrokenPipeError:  # it ended before reading: its stderr says why
            proc.wait()
        if not result_path.is_file():
            raise DbtError(f"the dbt worker process for {self.project.project_dir} ended (status "
                           f"{proc.returncode}) without a result: {self._stderr_tail()}",
                           hint="run the same dbt command by hand in the project to see its full log")
        answer = json.loads(result_path.read_text())
        if "error" in answer:
            err = answer["error"]
            cls = getattr(errors, str(err.get("kind")), DbtError)
            raise (cls if isinstance(cls, type) and issubclass(cls, SynthohiveError) else DbtError)(
                err["message"], hint=err.get("hint"))
        res = answer["result"]
        return DbtResult(command=res["command"], success=res["success"],
                         outcomes=[Outcome(**o) for o in res["outcomes"]], logs=res["logs"])

    def _send(self, message: Mapping[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(message).encode() + b"\n")
            self._proc.stdin.flush()
        except BrokenPipeError:  # it ended: `invoke` reports why from its stderr
            pass

    def _stderr_tail(self) -> str:
        self._stderr.flush()
        text = (self._dir / "stderr").read_text(errors="replace").strip()
        return text[-2000:] or "it printed nothing"

    def close(self) -> None:
        """Stop the worker if it still waits (the command ended before dbt ran) and remove its files."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        self._stderr.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def _serve() -> None:
    """The worker: warm dbt's imports, build and warm the manifest, run one request, write the answer."""
    import importlib

    from synthohive_dbt.dbt.runner import manifest_object, with_sources_in

    adapter = sys.argv[1] if len(sys.argv) > 1 else ""
    for name in [*_WARM_IMPORTS, *([f"dbt.adapters.{adapter}"] if adapter.isidentifier() else [])]:
        try:
            importlib.import_module(name)
        except ImportError:
            break  # the same import inside `invoke` raises it again, as a DbtError the parent reports
    answer: dict[str, Any]
    request: dict[str, Any] = {}
    try:
        line = sys.stdin.buffer.readline()
        if not line:
            return  # the parent closed us: the command ended before dbt ran
        prepared = json.loads(line)
        project = DbtProject(**prepared["project"])
        manifest = json.loads(Path(prepared["manifest"]).read_text())
        loaded = manifest_object(with_sources_in(manifest, prepared["sources_in"]))
        project.invoke(["ls", "--resource-type", "test", "--quiet", "--log-level", "none"], check=False,
                       loaded_manifest=loaded)  # warm-up: no warehouse query, its output is not used
        line = sys.stdin.buffer.readline()
        if not line:
            return
        request = json.loads(line)
        result = project.invoke(request["args"], check=request["check"], loaded_manifest=loaded)
        answer = {"result": {"command": result.command, "success": result.success,
                             "outcomes": [vars(o) for o in result.outcomes], "logs": result.logs}}
    except SynthohiveError as exc:
        answer = {"error": {"kind": type(exc).__name__, "message": str(exc).split("\n  fix: ")[0],
                            "hint": exc.hint}}
        if not request:  # failed while preparing: the answer waits for the request that says where it goes
            line = sys.stdin.buffer.readline()
            if not line:
                return
            request = json.loads(line)
    out = Path(request["result"])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(answer))
    os.replace(tmp, out)


if __name__ == "__main__":
    _serve()
    # no interpreter teardown (unloading dbt and pandas: ~0.3 s the parent would wait for); all is written
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
