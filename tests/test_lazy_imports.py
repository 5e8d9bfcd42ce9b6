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
