"""Raw tables with no declared keys, joined by a model (tests/helpers/keyless_project.py), in sources mode on
DuckDB and PostgreSQL: keys are inferred from the data, so the joined model is filled; without inference the
model comes out empty, and that is a failure in the outcome table and the exit code, naming the join."""

from __future__ import annotations


import pytest
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.io import read_table
from tests.helpers.keyless_project import RAW, build_keyless
from tests.helpers.profiles import WAREHOUSES, build_on_warehouse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=WAREHOUSES)
def keyless(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    return build_on_warehouse(request, tmp_path_factory, "keyless", build_keyless)


def _seed(project: DbtProject, *args: str, mode: str = "sources") -> tuple[int, str]:
    target = ["--target", project.target] if project.target else []
    res = CliRunner().invoke(cli, ["seed", "--project-dir", str(project.project_dir), *target, "--mode",
                                   mode, "--backend", "AR", "--epochs", "3", "--seed", "5", *args],
                            env={"COLUMNS": "400"})  # the outcome table's messages on one line each
    return res.exit_code, " ".join(res.output.split())


def test_undeclared_keys_are_inferred_and_the_joined_model_is_filled(keyless: DbtProject) -> None:
    code, out = _seed(keyless, "--target-schema", "synth_keys")
    assert code == 0, out
    assert "inferred key repos.id" in out and "inferred foreign key issues.repo_id -> repos.id" in out
    assert "model sizes: 1/1 within 1/10 of real" in out
    engine = keyless.engine()
    try:
        issues = read_table(engine, ("synth_keys", "issues"))
        repos = read_table(engine, ("synth_keys", "repos"))
        real = read_table(engine, (RAW, "repos"))
    finally:
        engine.dispose()
    assert issues["repo_id"].isin(repos["id"]).all()
    assert repos["id"].is_unique and issues["id"].is_unique
    assert not set(repos["id"]) & set(real["id"])  # UUIDs: none of the real ones is published


def test_an_empty_joined_model_fails_the_run_naming_the_join(keyless: DbtProject) -> None:
    """Without foreign-key inference, `repos.id` is still an identifier (generated anew, never published), so
    `issues.repo_id` is reported before training, and the empty model fails the run."""
    code, out = _seed(keyless, "--target-schema", "synth_nokeys", "--no-infer-keys")
    assert code == 1, out
    assert "WARNING: issues.repo_id: all 30 distinct values are keys of repos.id" in out
    assert "model size" in out and "issues_by_repo" in out
    assert "empty" in out and "i.repo_id = r.id" in out.replace('"', "")


def test_excluding_a_source_keeps_it_real_and_nothing_that_reads_it_is_judged(keyless: DbtProject) -> None:
    """--exclude in sources mode changes what is synthesized: `repos` stays real, so the model joining it is
    not built and its test is listed as not run; the tests of `issues` alone run."""
    code, out = _seed(keyless, "--target-schema", "synth_sel", "--exclude", "source:gh.repos")
    assert code == 0, out
    assert "1 table(s) to synthesize (sources mode): issues" in out
    assert "not built (they read sources or seeds this run left real): issues_by_repo" in out
    assert "not_null_issues_by_repo_topic" in out and "not run" in out
    assert "dbt tests: 3/3 passed" in out  # issues: not_null id, not_null repo_id, accepted_values state


def test_a_relation_missing_from_the_warehouse_is_left_out_and_listed(keyless: DbtProject) -> None:
    """Mirror mode over a project whose model failed to build on the real data: the rest still runs."""
    from synthohive_dbt.io.warehouse import run_sql

    schema = "main" if keyless.target is None else "analytics"
    engine = keyless.engine()
    try:
        with engine.begin() as conn:
            run_sql(conn, f"ALTER TABLE {schema}.issues_by_repo RENAME TO issues_by_repo_gone")
    finally:
        engine.dispose()
    try:
        code, out = _seed(keyless, "--target-schema", "synth_mirror", mode="mirror")
    finally:
        engine = keyless.engine()
        with engine.begin() as conn:
            run_sql(conn, f"ALTER TABLE {schema}.issues_by_repo_gone RENAME TO issues_by_repo")
        engine.dispose()
    assert "left out: model.keyless.issues_by_repo" in out and "does not exist in the warehouse" in out, out
    assert code == 0, out
