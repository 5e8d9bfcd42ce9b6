"""Before anything is written: one run per target, a plan of what would change, and refusals listed by name.

- `run_lock`: the warehouse's run lock for the target (see `io.warehouses`), held for the whole run.
- `run_workspace`: dbt's artifacts (`target/`) per run, so two runs of one project never read each other's
  manifest or run_results; old workspaces of finished runs are pruned.
- `plan_run`: what the run would create, replace and refuse in the target schema and, in sources mode, in
  the build schema dbt writes models into (whose relations count as ours once a run has recorded them).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.io import Relation
from synthohive_dbt.io.ownership import ROLE_BUILD, SchemaPlan, owned_relations, plan_schema, raise_if_refused, \
    record_owned
from synthohive_dbt.io.relation import RelationInfo
from synthohive_dbt.io.warehouses import warehouse_for
from synthohive_dbt.io.writer import leftover_staging, staging_schema_for
from synthohive_dbt.pipeline.progress import Reporter
from synthohive_dbt.processes import pid_alive

KEEP_WORKSPACES = 3


@contextlib.contextmanager
def run_lock(project: DbtProject, schema: str, *, wait: float, reporter: Reporter) -> Iterator[None]:
    """Hold the target's run lock on a connection of its own (PostgreSQL) or a lock file (DuckDB)."""
    engine = project.engine()
    wh = warehouse_for(engine)
    try:
        with wh.run_lock(engine, schema, wait=wait, on_wait=lambda holder: reporter.step(
                f"waiting up to {wait:g} s for another synthohive run on {wh.lock_scope(engine, schema)} "
                f"({holder})")):
            yield
    finally:
        engine.dispose()


def run_workspace(project_dir: Path, run_id: str) -> Path:
    """`<project>/target/synthohive/<run id>`: dbt's target path for this run; older finished ones pruned."""
    root = Path(project_dir).resolve() / "target" / "synthohive"
    root.mkdir(parents=True, exist_ok=True)
    runs = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)
    for old in runs[KEEP_WORKSPACES - 1:]:
        if not _alive(old.name):
            shutil.rmtree(old, ignore_errors=True)
    path = root / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def _alive(run_id: str) -> bool:
    """Whether the process named in a run id (`<time>-<pid>`) still runs on this host."""
    pid = run_id.rsplit("-", 1)[-1]
    return pid.isdigit() and pid_alive(int(pid))


@dataclass
class RunPlan:
    """The plans of every schema a run writes, and the staging schema a killed run left."""

    target: SchemaPlan | None
    build: SchemaPlan | None = None
    built: list[Relation] = field(default_factory=list)  # what dbt build makes (sources mode)
    leftover_staging: list[str] = field(default_factory=list)
    staging_schema: str = ""
    ours_elsewhere: dict[str, set[str]] = field(default_factory=dict)
    """Build-schema relations that are ours (recorded, or about to be built): they may read the target."""

    @property
    def plans(self) -> list[SchemaPlan]:
        return [p for p in (self.target, self.build) if p is not None]

    @property
    def refused(self) -> bool:
        return any(p.refused for p in self.plans)

    def lines(self) -> list[str]:
        out = []
        if self.leftover_staging:
            out.append(f"{self.staging_schema}: remove the staging schema of an interrupted run "
                       f"({len(self.leftover_staging)} relation(s))")
        for p in self.plans:
            out += p.lines()
        return out

def plan_run(project: DbtProject, target_schema: str, names: Sequence[str] | None, *, force: bool, adopt: bool,
             build_schema: str | None = None, built: Sequence[Relation] = (),
             real: Sequence[Relation] = ()) -> RunPlan:
    """Read the catalog (nothing is written) and say what the run would do in each schema it writes.

    `names`: the tables written into the target (None: the target is only read, as by `report`). `real`: the
    project's own relations, named as such when one of them refuses the run.
    """

    def real_in(schema: str) -> list[str]:
        return [r.name for r in real if r.schema.lower() == schema.lower()]

    engine = project.engine()
    try:
        wh = warehouse_for(engine)
        with engine.connect() as conn, conn.begin():
            build = None
            ours: dict[str, set[str]] = {}
            if build_schema is not None:
                names_b = [r.name for r in built if r.schema.lower() == build_schema.lower()]
                build = plan_schema(conn, wh, build_schema, names_b, role=ROLE_BUILD, force=force, adopt=adopt,
                                    drop_stale=False, real=real_in(build_schema))
                ours = {build_schema: {wh.key(n) for n in names_b} | build.owned_keys}
            target = None if names is None else plan_schema(
                conn, wh, target_schema, names, role="synthetic", force=force, adopt=adopt, ours_elsewhere=ours,
                real=real_in(target_schema))
        leftovers = leftover_staging(engine, target_schema) if names is not None else []
    finally:
        engine.dispose()
    return RunPlan(target=target, build=build, built=list(built), leftover_staging=leftovers,
                   staging_schema=staging_schema_for(target_schema), ours_elsewhere=ours)


def check_plan(plan: RunPlan, target_schema: str, reporter: Reporter) -> None:
    """Say what will happen; refuse (UnsafeTargetError listing everything) before anything is written."""
    for line in plan.lines():
        if not line.startswith("REFUSE"):
            reporter.step(line)
    raise_if_refused(plan.plans, target=target_schema)


def record_build(project: DbtProject, build_schema: str, built: Sequence[Relation], run_id: str) -> list[str]:
    """After `dbt build`: list the relations dbt made in the build schema as ours (the next run may replace
    them and the views among them may read the target)."""
    engine = project.engine()
    try:
        wh = warehouse_for(engine)
        wanted = {wh.key(r.name) for r in built if r.schema.lower() == build_schema.lower()}
        with engine.connect() as conn, conn.begin():
            if not wh.schema_exists(conn, build_schema):
                return []
            made = [r for r in wh.list_relations(conn, build_schema) if wh.key(r.name) in wanted]
            record_owned(conn, wh, build_schema, [RelationInfo(r.name, r.kind) for r in made], role=ROLE_BUILD,
                         run_id=run_id)
            return [r.name for r in made]
    finally:
        engine.dispose()


def owned_in(project: DbtProject, schema: str) -> dict[str, str] | None:
    """{name: role} synthohive recorded in a schema (None: no record); for tests and `inspect`."""
    engine = project.engine()
    try:
        with engine.connect() as conn, conn.begin():
            return owned_relations(conn, warehouse_for(engine), schema)
    finally:
        engine.dispose()


__all__ = ["RunPlan", "check_plan", "owned_in", "plan_run", "record_build", "run_lock", "run_workspace"]
