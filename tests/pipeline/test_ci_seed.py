"""CI seeding from a saved model (issue 16): `generate` needs only the model and the dbt project.

- Fitted on PostgreSQL, generated into an EMPTY PostgreSQL database and an EMPTY DuckDB file: the tables get the
  columns, order and types recorded at fit (spelled as DuckDB types there), and no statement names a real
  relation (none exists there to read, and the statements SQLAlchemy runs are checked too).
- The manifest saved with the model is reused while the project is unchanged (no parse at all); after a change,
  the project is parsed and every changed node is named with whether the model still covers it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from synthohive_dbt import pipeline
from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.io.warehouses.types import portable, spell
from synthohive_dbt.io.warehouses import warehouse_for
from synthohive_dbt.pipeline.progress import NullReporter
from synthohive_dbt.pipeline.saved_project import SavedProject
from synthohive_dbt.relational.synthesizer import Synthesizer
from tests.helpers.example_shop import MODEL_TESTS, MODELS, Shop


class Steps(NullReporter):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def step(self, message: str, **fields: Any) -> None:
        self.lines.append(message)


def _fit(project_dir: Path, out: Path, max_rows: int | None = None, **options: Any) -> Path:
    return pipeline.fit(pipeline.ProjectOptions(project_dir=project_dir, select=tuple(MODELS), **options),
                        pipeline.TrainOptions(epochs=2, seed=1, max_rows=max_rows), out)


def _copy_project(src: Path, dest: Path, *, with_data: bool) -> Path:
    ignore = shutil.ignore_patterns("target", "logs", *(() if with_data else ("*.duckdb", "*.wal", "*.lock")))
    # symlinks kept as links: dbt deps links a local package (the repo), and following it copies the repo, and
    # any project inside it that links back, without end
    return Path(shutil.copytree(src, dest, ignore=ignore, symlinks=True))


def _no_real_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("generate must not read real data or real relations' columns")

    monkeypatch.setattr("synthohive_dbt.pipeline.run.read_tables", refuse)
    monkeypatch.setattr("synthohive_dbt.pipeline.run.real_columns", refuse)


@pytest.mark.slow
@pytest.mark.postgres
def test_generate_seeds_empty_databases_from_the_model_alone(pg_shop: Shop, postgres_server: Any, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    model = _fit(pg_shop.dir, tmp_path / "shop.shm", target="pg", env=pg_shop.env)
    saved = SavedProject.from_provenance(Synthesizer.load(model).provenance)
    assert saved.warehouse == "postgresql" and sorted(saved.columns) == MODELS and saved.manifest is not None
    _no_real_reads(monkeypatch)
    statements: list[str] = []

    def collect(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        statements.append(f"{statement} {params}")

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", collect)
    try:
        # an empty PostgreSQL database: no real schema, no real table
        empty = postgres_server.dbt_env(dbname=postgres_server.create_database(), schema="analytics")
        steps = Steps()
        res = pipeline.generate(pipeline.ProjectOptions(project_dir=pg_shop.dir, target="pg", env=empty), model,
                                pipeline.SampleOptions(rows=60), pipeline.OutputOptions(target_schema="ci_seed"),
                                steps)
        # same project, same target, another database: the saved manifest is moved there, nothing is parsed
        assert any("no parse" in line and empty["SYNTHOHIVE_PG_DBNAME"] in line for line in steps.lines), steps.lines
        # and dbt runs the tests with it (in a worker process on PostgreSQL), not with a parse of its own
        assert any(line.startswith("dbt test") and "saved manifest, no parse" in line for line in steps.lines)
        assert res.success and len(res.tests) == MODEL_TESTS, [(o.name, o.message) for o in res.failed]
        assert sorted(res.rows) == MODELS and res.rows["stg_customers"] == 60
        engine = sa.create_engine(postgres_server.sqlalchemy_url(empty["SYNTHOHIVE_PG_DBNAME"]))
        try:
            insp = sa.inspect(engine)
            assert "analytics" not in insp.get_schema_names()  # nothing real was ever there
            got = [(c["name"]) for c in insp.get_columns("stg_customers", schema="ci_seed")]
            assert got == [c.name for c in saved.columns["stg_customers"]]
        finally:
            engine.dispose()

        # an empty DuckDB file: the project's DuckDB target in a copy without its database file
        duck_dir = _copy_project(pg_shop.dir, tmp_path / "ci_duck", with_data=False)
        res = pipeline.generate(pipeline.ProjectOptions(project_dir=duck_dir), model, pipeline.SampleOptions(rows=40),
                                pipeline.OutputOptions(target_schema="ci_seed"))
        assert res.success and len(res.tests) == MODEL_TESTS, [(o.name, o.message) for o in res.failed]
        duck = DbtProject(duck_dir).engine()
        try:
            with duck.connect() as conn:
                schemas = {r[0] for r in conn.execute(sa.text("select schema_name from information_schema.schemata"))}
                types = {(r[0], r[1]): r[2] for r in conn.execute(sa.text(
                    "select table_name, column_name, data_type from information_schema.columns "
                    "where table_schema = 'ci_seed'"))}
            names = warehouse_for(duck).type_names
        finally:
            duck.dispose()
        assert not {"main_raw", "raw"} & schemas
        for table, cols in saved.columns.items():
            for c in cols:  # the PostgreSQL type, spelled by DuckDB (DuckDB reports its canonical name)
                want = spell(portable(c.sql_type), names)
                assert portable(types[(table, c.name)]) == portable(want), (table, c.name, c.sql_type)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", collect)
    assert statements and not [s for s in statements if "analytics" in s and "ci_seed" not in s], statements


@pytest.mark.slow
def test_saved_manifest_is_used_until_the_project_changes(duck_shop: Shop, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    project_dir = _copy_project(duck_shop.dir, tmp_path / "shop", with_data=True)
    model = _fit(project_dir, tmp_path / "shop.shm", max_rows=60)  # a training budget below the real sizes
    options = pipeline.ProjectOptions(project_dir=project_dir)
    real = {t: duck_shop.scalar(f"select count(*) from main.{t}") for t in MODELS}

    def no_parse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the project is unchanged: generate must not parse it")

    monkeypatch.setattr("synthohive_dbt.pipeline.run.parse", no_parse)
    steps = Steps()
    res = pipeline.generate(options, model, pipeline.SampleOptions(),
                            pipeline.OutputOptions(target_schema="ci_a", run_dbt=False), steps)
    # fitted on a sample, generated at the real sizes (scale 1: every table within 5% of its real count)
    assert all(abs(res.rows[t] - real[t]) <= 0.05 * real[t] for t in MODELS), (res.rows, real)
    assert any("unchanged since `fit`" in line for line in steps.lines), steps.lines
    monkeypatch.undo()

    # a new test on a table of the model: parsed again, named, and said not to be covered
    (project_dir / "tests" / "new_probe.sql").write_text("select * from {{ ref('stg_customers') }} where 1 = 0\n")
    steps = Steps()
    res = pipeline.generate(options, model, pipeline.SampleOptions(rows=50),
                            pipeline.OutputOptions(target_schema="ci_a"), steps)
    assert res.success, [(o.name, o.message) for o in res.failed]
    assert any(line.startswith("parsing the dbt project") and "changed since `fit`" in line for line in steps.lines)
    added = [line for line in steps.lines if "new_probe added since fit" in line]
    assert added and added[0].startswith("WARNING:") and "stg_customers" in added[0], steps.lines
    assert any("1 node(s) changed since `fit`; the model covers all but 1" in line for line in steps.lines)


@pytest.mark.slow
def test_sources_mode_generate_builds_the_project_in_an_empty_duckdb_file(duck_shop: Shop, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A sources-mode model seeds a database that holds nothing at all, then `dbt build` runs the whole project
    on it (the issue's "sources-only project" failed with `table ... does not exist or has no columns`)."""
    model = tmp_path / "sources.shm"
    pipeline.fit(pipeline.ProjectOptions(project_dir=duck_shop.dir, mode="sources"),
                 pipeline.TrainOptions(epochs=2, seed=2), model)
    ci_dir = _copy_project(duck_shop.dir, tmp_path / "ci", with_data=False)
    _no_real_reads(monkeypatch)
    res = pipeline.generate(pipeline.ProjectOptions(project_dir=ci_dir, mode_given=False), model,
                            pipeline.SampleOptions(), pipeline.OutputOptions(target_schema="ci_src"))
    assert res.mode == "sources" and res.success, [(o.name, o.message) for o in res.failed]
    assert len(res.tests) > MODEL_TESTS and all(o.passed for o in res.tests)
