"""A new user's project on DuckDB and PostgreSQL, as written (no packages.yml, no macros): mirror mode runs its source tests on
the synthetic copies without any edit; sources mode asks for `synthohive init`; after `synthohive init`,
`dbt deps` (offline, a `local:` path) and `dbt parse`, sources mode runs too. And the wheel ships the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.dbt import DbtProject
from tests.helpers.messy_project import load_raw
from tests.helpers.profiles import WAREHOUSES, build_on_warehouse, profiles_yml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
RAW = "raw_app"
PROJECT = """name: newcomer
version: "1.0"
config-version: 2
profile: newcomer
models:
  newcomer:
    +materialized: table
"""
SOURCES = f"""version: 2
sources:
  - name: app
    schema: {RAW}
    tables:
      - name: users
        columns:
          - name: id
            data_tests: [unique, not_null]
          - name: plan
            data_tests:
              - accepted_values:
                  arguments: {{values: [free, pro, team]}}
      - name: orders
        columns:
          - name: id
            data_tests: [unique, not_null]
          - name: user_id
            data_tests:
              - relationships:
                  arguments: {{to: "source('app', 'users')", field: id}}
"""
MODELS = """version: 2
models:
  - name: user_orders
    columns:
      - name: order_id
        data_tests: [unique, not_null]
seeds:
  - name: plans
    columns:
      - name: plan
        data_tests: [unique]
"""
MODEL_SQL = """select o.id as order_id, o.amount, u.plan
from {{ source('app', 'orders') }} o join {{ source('app', 'users') }} u on o.user_id = u.id
"""
DDL = {"users": "id INTEGER, plan VARCHAR(10)", "orders": "id INTEGER, user_id INTEGER, amount DOUBLE PRECISION"}


def _write(root: Path, *, target: str | None = None, env: dict[str, str] | None = None) -> DbtProject:
    (root / "models").mkdir(parents=True)
    (root / "seeds").mkdir()
    (root / "dbt_project.yml").write_text(PROJECT)
    (root / "profiles.yml").write_text(profiles_yml("newcomer", "newcomer.duckdb"))
    (root / "models" / "sources.yml").write_text(SOURCES)
    (root / "models" / "models.yml").write_text(MODELS)
    (root / "models" / "user_orders.sql").write_text(MODEL_SQL)
    (root / "seeds" / "plans.csv").write_text("plan,price\nfree,0\npro,10\nteam,30\n")
    rng = np.random.default_rng(0)
    users = pd.DataFrame({"id": np.arange(1, 61), "plan": rng.choice(["free", "pro", "team"], 60)})
    orders = pd.DataFrame({"id": np.arange(1, 201), "user_id": rng.integers(1, 61, 200),
                           "amount": np.round(rng.gamma(2.0, 20.0, 200), 2)})
    project = DbtProject(root, target=target, env=env)
    engine = project.engine()
    try:
        load_raw(engine, {"users": users, "orders": orders}, schema=RAW, ddl=DDL)
    finally:
        engine.dispose()
    result = project.invoke(["build"])
    assert result.success, [o.message for o in result.outcomes if not o.passed]
    return project


@pytest.fixture(params=WAREHOUSES)
def newcomer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    return build_on_warehouse(request, tmp_path_factory, "newcomer", _write)


def _cli(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args), env={"COLUMNS": "400"})
    return res.exit_code, " ".join(res.output.split())


def _seed(project: DbtProject, *args: str) -> tuple[int, str]:
    target = ["--target", project.target] if project.target else []
    return _cli("seed", "--project-dir", str(project.project_dir), *target, "--backend", "AR", "--epochs", "2",
                "--seed", "1", *args)


def test_mirror_needs_no_edit_and_init_makes_sources_mode_work(newcomer: DbtProject) -> None:
    project, root = newcomer, newcomer.project_dir
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if "target" not in p.parts
                    and "logs" not in p.parts and not p.name.startswith("newcomer.duckdb"))

    code, out = _seed(project, "--target-schema", "synth_m")
    assert code == 0, out
    assert "dbt tests: 9/9 passed" in out, out  # 6 on the sources, 1 on the seed, 2 on the model
    # the source tests ran on the synthetic copies, not on the real sources
    compiled = [p for p in (root / "target" / "synthohive").rglob("source_unique_app_orders_id.sql")
                if "run" in p.parts]
    assert compiled and all('"synth_m"."orders"' in p.read_text() for p in compiled), compiled
    after = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if "target" not in p.parts
                   and "logs" not in p.parts and not p.name.startswith("newcomer.duckdb"))
    assert after == before  # nothing in the project was edited

    code, out = _seed(project, "--mode", "sources", "--target-schema", "synth_s")
    assert code == 1 and "does not redirect source() to the synthetic schema" in out
    assert "run `synthohive init` in the project" in out and "Or use --mode mirror" in out

    code, out = _cli("init", "--project-dir", str(root), "--dry-run")
    assert code == 0 and "dry run: nothing was changed" in out and not (root / "packages.yml").exists()
    code, out = _cli("init", "--project-dir", str(root))
    assert code == 0 and "changed packages.yml, macros/synthohive_source.sql" in out, out
    code, out = _cli("init", "--project-dir", str(root))
    assert code == 0 and "nothing to change" in out

    project.deps()  # a `local:` path: no network
    assert (root / "dbt_packages" / "synthohive" / "macros" / "source.sql").is_file()
    manifest = project.parse()
    text = manifest.read_text()
    assert '"macro.synthohive.source"' in text and '"macro.newcomer.source"' in text

    code, out = _seed(project, "--mode", "sources", "--target-schema", "synth_s")
    assert code == 0, out
    assert "passed" in out and "failed" not in out.split("dbt tests:")[-1]
    code, out = _seed(project, "--target-schema", "synth_m")  # mirror mode with the override installed
    assert code == 0 and "dbt tests: 9/9 passed" in out, out


def test_the_wheel_ships_the_dbt_package(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "synthohive_dbt", src / "synthohive_dbt",
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(tmp_path / "dist")], check=True, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("synthohive_dbt-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n for n in names if n.startswith("synthohive_dbt/dbt_package/")}
    assert shipped == {"synthohive_dbt/dbt_package/dbt_project.yml",
                       *(f"synthohive_dbt/dbt_package/macros/{m}.sql"
                         for m in ("emit_metadata", "schema_lifecycle", "source"))}
