"""Commands load only what they use (issue 16): the pipeline, the CLI and `inspect` import no torch (~1 s and
~285 MB) and no dbt runner; a model's sampling or fitting imports torch when it starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pipeline_and_cli_import_neither_torch_nor_the_dbt_runner() -> None:
    code = ("import sys, synthohive_dbt.cli, synthohive_dbt.pipeline, synthohive_dbt.pipeline.inspect_pii; "
            "print(sorted(m for m in ('torch', 'dbt.cli.main') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_command_line_exits_with_its_status() -> None:
    """`main` ends the process itself (no interpreter teardown once torch is loaded): statuses still come out."""
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "synthohive_dbt", "--version"], cwd=ROOT, capture_output=True,
                        text=True, env=env)
    assert ok.returncode == 0 and ok.stdout.strip(), ok.stderr
    bad = subprocess.run([sys.executable, "-m", "synthohive_dbt", "generate", "--model", "/nonexistent.shm",
                          "--target-schema", "x"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "nonexistent" in bad.stderr
