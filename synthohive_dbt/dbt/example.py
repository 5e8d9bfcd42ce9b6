"""The bundled example dbt project (dbt_project_example/), and a private copy of it for tests and demos.

A copy, because dbt writes target/, logs/, dbt_packages/ and the DuckDB file inside the project: tests and
demos running side by side must not share them. The copy installs the synthohive package from the
repository root by absolute path (`local: ../` would point nowhere once the project is moved).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from synthohive_dbt.errors import DbtError

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = REPO_ROOT / "dbt_project_example"
_GENERATED = ("target", "dbt_packages", "logs", "package-lock.yml", ".user.yml", "*.duckdb", "*.duckdb.wal")


def copy_example_project(dest: str | Path) -> Path:
    """Copy the example project to `dest` (created; must not exist) and point packages.yml at the repo."""
    if not (EXAMPLE_DIR / "dbt_project.yml").is_file() or not (REPO_ROOT / "dbt_project.yml").is_file():
        raise DbtError(f"the example project is not at {EXAMPLE_DIR} (an installed wheel does not ship it)",
                       hint="run from a checkout of the synthohive-dbt repository")
    dest = Path(dest)
    shutil.copytree(EXAMPLE_DIR, dest, ignore=shutil.ignore_patterns(*_GENERATED))
    (dest / "packages.yml").write_text(f"packages:\n  - local: {REPO_ROOT.as_posix()}\n")
    return dest
