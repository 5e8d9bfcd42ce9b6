"""Bad flags on `synthohive seed / fit / generate`: clear messages, exit status 2 (usage) or 1 (refused)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.dbt.example import EXAMPLE_DIR


def run(*args: object) -> tuple[int, str]:
    res = CliRunner().invoke(cli, [str(a) for a in args])
    return res.exit_code, " ".join(res.output.split())


@pytest.mark.parametrize(("args", "message"), [
    (["--target-schema", "s", "--rows", 5, "--scale", 2], "--rows and --scale cannot be used together"),
    (["--target-schema", "s", "--mode", "nope"], "Invalid value for '--mode'"),
    ([], "Missing option '--target-schema'"),
    (["--target-schema", "s", "--epochs", 0], "Invalid value for '--epochs'"),
    (["--target-schema", "s", "--log-format", "xml"], "Invalid value for '--log-format'"),
])
def test_usage_errors(args: list[object], message: str) -> None:
    code, out = run("seed", *args)
    assert code == 2 and message in out, out


def test_unsafe_schema_names_are_refused_before_dbt_runs(tmp_path: Path) -> None:
    code, out = run("seed", "--project-dir", EXAMPLE_DIR, "--target-schema", "x; drop schema main")
    assert code == 1
    assert "target schema name 'x; drop schema main' is not allowed" in out and "fix:" in out
    code, out = run("seed", "--project-dir", EXAMPLE_DIR, "--target-schema", "ok", "--build-schema", "a-b")
    assert code == 1 and "build schema name 'a-b' is not allowed" in out
    code, out = run("seed", "--project-dir", EXAMPLE_DIR, "--target-schema", "s", "--rows", 0)
    assert code == 1 and "--rows 0 must be at least 1" in out
    assert not (EXAMPLE_DIR / "target" / "synthohive_state").exists()


def test_missing_project_and_model(tmp_path: Path) -> None:
    code, out = run("seed", "--project-dir", tmp_path, "--target-schema", "s")
    assert code == 1 and f"{tmp_path.resolve()} holds no dbt_project.yml" in out and "--project-dir" in out
    code, out = run("generate", "--model", tmp_path / "none.shm", "--target-schema", "s")
    assert code == 2 and "does not exist" in out
    bad = tmp_path / "bad.shm"
    bad.write_bytes(b"not a model at all")
    code, out = run("generate", "--project-dir", EXAMPLE_DIR, "--model", bad, "--target-schema", "s")
    assert code == 1 and "bad.shm" in out and "error:" in out and "Traceback" not in out
    code, out = run("fit", "--project-dir", EXAMPLE_DIR)
    assert code == 2 and "Missing option '--out'" in out
