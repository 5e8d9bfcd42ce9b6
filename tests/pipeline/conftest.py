"""The example shop, built for real (dbt deps + seed + build) once per session, on DuckDB and PostgreSQL.

Each built copy also holds one extra singular test, `fail_probe`, that fails only when the synthetic schema
is called `fail_probe`: it lets a test see a failing dbt test (exit status 1, the outcome table) without
breaking any other run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.dbt.example import copy_example_project
from synthohive_dbt.io.ownership import MARKER_TABLE

EXAMPLE_TESTS = 63
PROBE_SQL = """-- fails only when synthohive writes into a schema named fail_probe (see tests/pipeline/conftest.py)
select customer_id from {{ ref('stg_customers') }}
where '{{ var("synthohive_schema", "") }}' = 'fail_probe'
"""


@dataclass
class Shop:
    project: DbtProject
    env: dict[str, str]

    @property
    def dir(self) -> Path:
        return self.project.project_dir

    def scalar(self, sql: str) -> object:
        engine = self.project.engine()
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(sql)).scalar()
        finally:
            engine.dispose()

    def tables(self, schema: str) -> list[str]:
        engine = self.project.engine()
        try:
            with engine.connect() as conn:
                rows = conn.execute(sa.text("select table_name from information_schema.tables "
                                            "where table_schema = :s order by 1"), {"s": schema})
                return [r[0] for r in rows if r[0] != MARKER_TABLE]  # synthohive's ownership record
        finally:
            engine.dispose()


def build_shop(dest: Path, *, target: str | None = None, env: dict[str, str] | None = None) -> Shop:
    project_dir = copy_example_project(dest)
    (project_dir / "tests" / "fail_probe.sql").write_text(PROBE_SQL)
    project = DbtProject(project_dir, target=target, env=env)
    project.deps()
    project.seed()
    result = project.build(exclude=["resource_type:seed"])
    assert result.success, [(o.name, o.message) for o in result.failed]
    return Shop(project, env or {})


@pytest.fixture(scope="session")
def duck_shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return build_shop(tmp_path_factory.mktemp("pipeline") / "shop")


@pytest.fixture(scope="session")
def pg_shop(tmp_path_factory: pytest.TempPathFactory, postgres_server) -> Iterator[Shop]:
    env = postgres_server.dbt_env(dbname=postgres_server.create_database(), schema="analytics")
    yield build_shop(tmp_path_factory.mktemp("pipeline_pg") / "shop", target="pg", env=env)
