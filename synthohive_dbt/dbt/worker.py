"""dbt in a worker process started at the beginning of a command, so that dbt's imports overlap the command's own.

Why: on a CI seed (`synthohive generate` from a saved model), importing dbt costs ~1 s, about a fifth of the
whole run, and it cannot overlap sampling on a thread (both hold the interpreter lock; measured slower than in
turn). A second process does it on the other core while this one imports torch, samples and writes. The
worker imports dbt, then waits for one request on stdin (a `DbtProject` and the arguments of one
`DbtProject.invoke`), runs it with exactly the in-process code, writes the `DbtResult` as JSON to a file
and exits. Nothing about the project, the profile or the result differs from an in-process run.

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
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", "synthohive_dbt.dbt.worker", adapter_type], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=self._stderr, cwd=project.project_dir)

    def __enter__(self) -> DbtWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def invoke(self, args: Sequence[str], *, check: bool = True, sources_in: Mapping[str, str] | None = None,
               manifest: Mapping[str, Any] | None = None) -> DbtResult:
        """`DbtProject.invoke` with the same arguments, run by the worker."""
        if self._proc is None:
            raise DbtError("the dbt worker process was used twice or after it was closed",
                           hint="report this as a bug in synthohive")
        p = self.project
        result_path = self._dir / "result.json"
        request = {"project": {"project_dir": str(p.project_dir), "profiles_dir": str(p.profiles_dir),
                               "target": p.target, "profile": p.profile, "env": p.env,
                               "target_path": str(p.target_path)},
                   "args": list(args), "check": check, "sources_in": dict(sources_in or {}),
                   "manifest": manifest, "result": str(result_path)}
        proc, self._proc = self._proc, None
        try:
            proc.communicate(json.dumps(request).encode())
        except BrokenPipeError:  # it ended before reading: its stderr says why
            proc.wait()
        if not result_path.is_file():
            raise DbtError(f"the dbt worker process for {p.project_dir} ended (status {proc.returncode}) "
                           f"without a result: {self._stderr_tail()}",
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
    """The worker: warm dbt's imports, read one request, run it in-process, write the answer."""
    import importlib

    adapter = sys.argv[1] if len(sys.argv) > 1 else ""
    for name in [*_WARM_IMPORTS, *([f"dbt.adapters.{adapter}"] if adapter.isidentifier() else [])]:
        try:
            importlib.import_module(name)
        except ImportError:
            break  # the same import inside `invoke` raises it again, as a DbtError the parent reports
    raw = sys.stdin.buffer.read()
    if not raw:
        return  # the parent closed us: the command ended before dbt ran
    request = json.loads(raw)
    project = DbtProject(**request["project"])
    try:
        result = project.invoke(request["args"], check=request["check"], sources_in=request["sources_in"] or None,
                                manifest=request["manifest"])
        answer: dict[str, Any] = {"result": {"command": result.command, "success": result.success,
                                             "outcomes": [vars(o) for o in result.outcomes], "logs": result.logs}}
    except SynthohiveError as exc:
        answer = {"error": {"kind": type(exc).__name__, "message": str(exc).split("\n  fix: ")[0],
                            "hint": exc.hint}}
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
