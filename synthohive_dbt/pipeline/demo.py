"""`synthohive demo`: the whole loop on the bundled example shop, on a machine with nothing but this repo.

A private copy of the example project (so the repository stays clean) is built on DuckDB with its real
seed data, then `seed` runs in sources mode: learn the raw tables, write them to schema `synthetic`, and
`dbt build` the project's models and all its tests on them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.dbt.example import copy_example_project
from synthohive_dbt.errors import DbtError
from synthohive_dbt.models.registry import DEFAULT
from synthohive_dbt.pipeline.progress import NullReporter, Reporter
from synthohive_dbt.pipeline.project import QUIET_DBT
from synthohive_dbt.pipeline.run import OutputOptions, ProjectOptions, RunResult, SampleOptions, TrainOptions, seed

DEFAULT_DIR = Path(".synthohive") / "demo"
MARKER = ".synthohive-demo"
DEFAULT_EPOCHS = 100


def prepare(work_dir: Path, reporter: Reporter) -> Path:
    """A fresh copy of the example project under work_dir, built on DuckDB with the real seed data."""
    work_dir = Path(work_dir)
    if work_dir.exists():
        if not (work_dir / MARKER).is_file():
            raise DbtError(f"{work_dir} exists and was not made by `synthohive demo`, so it is left alone",
                           hint="pass another --work-dir, or remove that folder yourself")
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    (work_dir / MARKER).write_text("made by `synthohive demo`; removed and rebuilt by the next demo\n")
    project_dir = copy_example_project(work_dir / "shop")
    project = DbtProject(project_dir)
    reporter.step(f"building the example shop on DuckDB in {project_dir} (dbt deps, seed, build)")
    project.invoke(["deps", *QUIET_DBT])
    for args in (["seed", "--full-refresh"], ["build", "--exclude", "resource_type:seed"]):
        result = project.invoke([*args, *QUIET_DBT])
        if not result.success:
            bad = ", ".join(f"{o.name} ({o.status})" for o in result.failed[:5])
            raise DbtError(f"`dbt {args[0]}` of the example project failed on its real data: {bad}",
                           hint=f"run `dbt {' '.join(args)}` in {project_dir} to see dbt's log")
    return project_dir


def demo(work_dir: Path = DEFAULT_DIR, *, epochs: int = DEFAULT_EPOCHS, seed_value: int = 0,
         target_schema: str = "synthetic", backend: str = DEFAULT, reporter: Reporter | None = None) -> RunResult:
    reporter = reporter or NullReporter()
    project_dir = prepare(Path(work_dir), reporter)
    return seed(ProjectOptions(project_dir=project_dir, mode="sources"),
                TrainOptions(epochs=epochs, seed=seed_value, backend=backend), SampleOptions(),
                OutputOptions(target_schema=target_schema, report=Path(work_dir).resolve() / "report.html"),
                reporter)
