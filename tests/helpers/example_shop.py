"""The example shop, built for real (dbt deps + seed + build); tests/pipeline/conftest.py builds it once per
session, on DuckDB and PostgreSQL.

Each built copy also holds one extra singular test, `fail_probe`, that fails only when the synthetic schema
is called `fail_probe`: it lets a test see a failing dbt test (exit status 1, the outcome table) without
breaking any other run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.dbt.example import copy_example_project
from synthohive_dbt.io.ownership import MARKER_TABLE

EXAMPLE_TESTS = 63
RAW = ["raw_customers", "raw_employees", "raw_order_items", "raw_orders", "raw_payments", "raw_products"]
MODELS = ["stg_customers", "stg_employees", "stg_orders"]
# tests on those three models alone (dbt's cautious selection), plus the fail probe that reads stg_customers
MODEL_TESTS = 4 + 3 + 5 + 1
PROBE_SQL = """-- fails only when synthohive writes into a schema named fail_probe (see tests/helpers/example_shop.py)
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
