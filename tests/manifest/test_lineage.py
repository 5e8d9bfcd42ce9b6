"""Sources mode: tests on downstream models carried back to raw tables, on a real `dbt compile` manifest.

tests/fixtures/lineage_project is compiled once per session (seeds declared as sources, staging models that
rename / cast / coalesce / lower through CTEs and `select *`, marts with joins and GROUP BY); variants of
its manifest (SQL edited in the JSON) cover the rest without running dbt again.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synthohive_dbt.config import Constraint
from synthohive_dbt.errors import ManifestError
from synthohive_dbt.manifest.lineage import SourcesModeResult, project_to_sources, sqlglot_dialect
from tests.helpers.manifests import write_manifest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "lineage_project"
P = "test.lineage_fixture"


def _compile(project: Path, target: Path) -> Path:
    """`dbt compile` in-process, run from the project so the DuckDB file lands in the temp copy."""
    from dbt.cli.main import dbtRunner

    old = Path.cwd()
    os.chdir(project)
    try:
        result = dbtRunner().invoke([
            "--quiet", "--no-send-anonymous-usage-stats", "compile", "--project-dir", str(project),
            "--profiles-dir", str(project), "--target-path", str(target), "--log-path", str(target / "logs"),
            "--no-partial-parse"])
    finally:
        os.chdir(old)
    assert result.success, f"dbt compile failed: {result.exception}"
    return target / "manifest.json"


@pytest.fixture(scope="session")
def compiled_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lineage_compile")
    project = out / "project"
    shutil.copytree(FIXTURE, project)
    return _compile(project, out / "target")


@pytest.fixture(scope="module")
def result(compiled_manifest: Path) -> SourcesModeResult:
    return project_to_sources(compiled_manifest)


@pytest.fixture()
def raw_manifest(compiled_manifest: Path) -> Iterator[dict[str, Any]]:
    yield json.loads(compiled_manifest.read_text())


def _test_id(result: SourcesModeResult, name: str) -> str:
    [uid] = [t.test for t in result.lineage if t.test.startswith(f"{P}.{name}.") or t.test == f"{P}.{name}"]
    return uid


def _status(result: SourcesModeResult, name: str) -> tuple[str, str]:
    entry = result.of_test(_test_id(result, name))
    return entry.status, entry.detail


# -- the raw tables -----------------------------------------------------------------------------------------
def test_only_sources_and_seeds_remain(result: SourcesModeResult) -> None:
    assert sorted((n, i.resource_type) for n, i in result.tables.items()) == [
        ("country_codes", "seed"), ("raw_orders", "source"), ("raw_users", "source")]
    assert result.dialect == "duckdb"
    assert any("seed.lineage_fixture.raw_users is the relation of source" in n for n in result.notes)


def test_keys_and_foreign_keys_come_from_staging_tests(result: SourcesModeResult) -> None:
    users, orders = result.metadata.tables["raw_users"], result.metadata.tables["raw_orders"]
    # no test on the sources declares these keys: they come from stg_users.user_id / stg_orders.order_code
    assert users.pk == ["id"]
    assert orders.pk == ["id"]
    assert [fk.label for fk in orders.fk] == ["(user_id) -> raw_users(id)"]
    assert result.metadata.tables["country_codes"].pk == ["code"]
    result.metadata.validate_schema()


def test_column_constraints_by_value(result: SourcesModeResult) -> None:
    users, orders = result.metadata.tables["raw_users"], result.metadata.tables["raw_orders"]
    assert users.constraint("id") == Constraint(data_type="integer", not_null=True, unique=True)
    # active_users: `where user_status = 'active'` names a value of the raw column (kept in free text too)
    assert users.constraint("status") == Constraint(accepted_values=["active", "inactive"], named_values=["active"])
    assert users.constraint("country") == Constraint(accepted_values=["SE", "DE"])  # upper() leaves them be
    assert users.constraint("email") == Constraint(not_null=True)  # unique(lower(email)) is not carried
    # signed_up_on = cast(signed_up_at as date): not_null carried, unique only from signed_up_at itself
    assert users.constraint("signed_up_at") == Constraint(data_type="timestamp", not_null=True, unique=True)
    assert orders.constraint("status") == Constraint(accepted_values=["new", "paid", "shipped"])
    assert orders.constraint("amount") == Constraint(data_type="double", not_null=True, min=0)
    assert orders.constraint("user_id") == Constraint(not_null=True)  # from user_totals' GROUP BY key
    [cond] = orders.conditional_constraints  # not_null with `where: amount > 0` stays conditional
    assert (cond.column, cond.constraint.not_null, cond.constraint.where) == ("user_id", True, "amount > 0")
    assert cond.test is not None and cond.test.startswith(f"{P}.not_null_stg_orders_user_id.")


def test_carried_tests_record_what_they_constrain(result: SourcesModeResult) -> None:
    status, detail = _status(result, "unique_stg_users_user_id")
    assert (status, detail) == ("carried", "raw_users.id: {'unique': True}; raw_users key (id)")
    assert result.of_test(_test_id(result, "unique_stg_users_user_id")).raw == ("source.lineage_fixture.app.users",)
    assert _status(result, "relationships_stg_orders_user_id__user_id__ref_stg_users_") == (
        "carried", "raw_orders(user_id) -> raw_users(id)")
    assert _status(result, "accepted_range_user_totals_top_amount__0") == (  # max() keeps raw values
        "carried", "raw_orders.amount: {'min': 0.0}")
    # through a left join to stg_users, unique on stg_users.user_id (carried above) keeps one row per order
    assert _status(result, "unique_orders_enriched_order_code")[0] == "carried"
    assert _status(result, "unique_user_orders_order_code")[0] == "carried"
    assert _status(result, "unique_active_users_user_id")[0] == "carried"  # a WHERE drops rows, no repeats
    assert _status(result, "not_null_stg_countries_country_code") == (
        "carried", "country_codes.code: {'not_null': True}")  # a seed read through ref()


def test_tests_that_hold_by_construction(result: SourcesModeResult) -> None:
    assert _status(result, "not_null_stg_orders_order_status") == (
        "holds", "stg_orders.order_status: the model's SQL guarantees it (a coalesce default)")
    assert _status(result, "unique_user_totals_user_id") == (
        "holds", "user_totals.user_id: unique by construction (GROUP BY / DISTINCT key)")


NOT_MODELLED = {
    "unique_stg_users_email": "stg_users.email is not the raw value: fold `lower` may merge distinct values",
    "unique_stg_users_signed_up_on": "stg_users.signed_up_on is not the raw value: cast from datetime to DATE may "
                                     "merge distinct values",
    "unique_stg_orders_order_id": "stg_orders.order_id is not the raw value: cast from str to INT may merge "
                                  "distinct values",
    "accepted_values_stg_orders_status_or_unknown__new__paid__shipped":
        "the default of `COALESCE(o.status, 'unknown')` is not an accepted value, so every raw null fails",
    "accepted_range_stg_orders_amount_cents__0": "stg_orders.amount_cents is computed by `o.amount * 100`",
    "accepted_range_user_totals_n_orders__1": "user_totals.n_orders is an aggregate `COUNT(*)`",
    "not_null_orders_enriched_email": "orders_enriched.email may be null: it comes from the optional side of "
                                      "LEFT JOIN `u`",
    "unique_user_orders_user_id": "user_orders may hold several rows per raw row: INNER JOIN `o` is not on a "
                                  "unique key of `o`, so rows may repeat",
    "orders_of_active_users": "active_users may lack values of its raw table: rows are filtered by WHERE",
    "relationships_stg_users_country_code__country_code__ref_stg_countries_":
        "stg_users.country_code is not the raw value: fold `upper` may merge distinct values",
}


@pytest.mark.parametrize("name", sorted(NOT_MODELLED))
def test_not_modelled_reasons(result: SourcesModeResult, name: str) -> None:
    uid = _test_id(result, name)
    model = result.of_test(uid).model
    expected = f"on downstream model {model}: {NOT_MODELLED[name]}"
    assert result.of_test(uid).status == "not_modelled"
    assert result.of_test(uid).detail == expected
    assert [n.reason for n in result.not_modelled if n.test == uid] == [expected]


def test_every_model_test_is_accounted_for(result: SourcesModeResult, raw_manifest: dict[str, Any]) -> None:
    model_tests = {uid for uid, n in raw_manifest["nodes"].items()
                   if n["resource_type"] == "test" and (n.get("attached_node") or "").startswith("model.")}
    assert {t.test for t in result.lineage} == model_tests | {f"{P}.orders_amount_not_below_user"}  # singular
    counts = {s: sum(t.status == s for t in result.lineage) for s in ("carried", "holds", "not_modelled")}
    assert counts == {"carried": 25, "holds": 2, "not_modelled": 11}


def test_row_rules_are_carried_to_raw_columns(result: SourcesModeResult) -> None:
    """expression_is_true on a model and a singular `select * from model where <predicate>` become row rules on
    the raw table; one that reads a computed column (a coalesce) is not modelled, with the column named."""
    assert [r.expression for r in result.metadata.tables["raw_orders"].row_rules] == [
        "amount >= user_id", "NOT (amount < user_id)"]
    assert _status(result, "orders_amount_not_below_user")[0] == "carried"
    status, detail = _status(result, "status_rule_not_carried")
    assert status == "not_modelled" and detail.endswith(
        "the row rule `order_status = 'paid' or amount >= 0` uses `order_status`, which is not a renamed column of "
        "the same raw table")


# -- variants of the manifest (no dbt run) ------------------------------------------------------------------
def _with_sql(raw: dict[str, Any], model: str, sql: str) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    raw["nodes"][f"model.lineage_fixture.{model}"]["compiled_code"] = sql
    return raw


def test_union_distinct_and_try_cast(tmp_path: Path, raw_manifest: dict[str, Any]) -> None:
    users = '"lineage"."main"."stg_users"'
    raw = _with_sql(raw_manifest, "active_users",
                    f"select user_id from {users} union all select user_id from {users}")
    raw = _with_sql(raw, "user_orders", f"select distinct user_id, try_cast(user_id as varchar) as order_code "
                                        f"from {users}")
    result = project_to_sources(write_manifest(tmp_path, raw))
    assert _status(result, "unique_active_users_user_id") == (
        "not_modelled", "on downstream model model.lineage_fixture.active_users: active_users may hold several "
                        "rows per raw row: rows come from a UNION")
    # DISTINCT makes the whole row unique, not one column of it
    status, detail = _status(result, "unique_user_orders_user_id")
    assert status == "not_modelled" and detail.endswith("SELECT DISTINCT merges equal rows")


def test_postgres_dialect_and_unparsable_sql(tmp_path: Path, raw_manifest: dict[str, Any]) -> None:
    raw = _with_sql(raw_manifest, "stg_countries", "select code::text as country_code from \"lineage\".\"main\"."
                                                   "\"country_codes\" where code ~ '^[a-z]+$'")
    raw = _with_sql(raw, "user_totals", "select user_id from ((( broken")
    raw["metadata"]["adapter_type"] = "postgres"
    result = project_to_sources(write_manifest(tmp_path, raw))
    assert result.dialect == "postgres"
    assert _status(result, "unique_stg_countries_country_code")[0] == "carried"  # `::text` and `~` parse
    status, detail = _status(result, "unique_user_totals_user_id")
    assert status == "not_modelled"
    assert "user_totals.user_id is built by SQL that does not parse as postgres" in detail


def test_a_parse_only_manifest_is_refused(tmp_path: Path, raw_manifest: dict[str, Any]) -> None:
    raw = copy.deepcopy(raw_manifest)
    for node in raw["nodes"].values():
        node.pop("compiled_code", None)
    with pytest.raises(ManifestError) as err:
        project_to_sources(write_manifest(tmp_path, raw))
    assert "has no compiled SQL for the 7 model(s) with tests" in str(err.value)
    assert "run `dbt compile` (not `dbt parse`)" in str(err.value)


def test_dialects_of_adapters() -> None:
    assert [sqlglot_dialect(a) for a in ("duckdb", "postgres", "sqlserver", "snowflake", "nosuch", None)] == [
        "duckdb", "postgres", "tsql", "snowflake", None, None]


# -- the committed example project --------------------------------------------------------------------------
@pytest.mark.slow
def test_example_project(tmp_path: Path) -> None:
    """The shop example: staging renames/casts, marts join CTEs grouped by the join key."""
    from synthohive_dbt.dbt.example import REPO_ROOT, copy_example_project

    if not (REPO_ROOT / "dbt_project_example" / "dbt_project.yml").exists():
        pytest.skip("no dbt_project_example/ in this checkout")
    project = copy_example_project(tmp_path / "project")
    (project / "dbt_packages").mkdir()
    (project / "dbt_packages" / "synthohive").symlink_to(REPO_ROOT)  # what `dbt deps` does for `local:`
    result = project_to_sources(_compile(project, tmp_path / "target"))
    tables = result.metadata.tables
    assert sorted(tables) == ["raw_customers", "raw_employees", "raw_order_items", "raw_orders", "raw_payments",
                              "raw_products"]
    orders = tables["raw_orders"]
    assert sorted(fk.label for fk in orders.fk) == ["(customer_id) -> raw_customers(customer_id)",
                                                   "(sales_rep_id) -> raw_employees(employee_id)"]
    by_name = {t.test.split(".")[2]: t for t in result.lineage}
    # stg_orders.employee_id is raw sales_rep_id: the staging relationship is the same foreign key
    assert by_name["relationships_stg_orders_employee_id__employee_id__ref_stg_employees_"].detail == (
        "raw_orders(sales_rep_id) -> raw_employees(employee_id)")
    # fct_orders joins CTEs grouped by order_id: still one row per raw order
    assert by_name["unique_fct_orders_order_id"].status == "carried"
    assert by_name["unique_dim_customers_customer_id"].status == "carried"
    assert by_name["accepted_range_stg_order_items_discount_pct__0_5__0"].detail == (
        "raw_order_items.discount_pct: {'min': 0.0, 'max': 0.5}")
    assert tables["raw_order_items"].constraint("discount_pct") == Constraint(min=0, max=0.5)
    # cast(list_price as numeric(10, 2)) of the numeric(10,2) the seed loads keeps the exclusive bound
    assert by_name["accepted_range_stg_products_list_price__False__0"].detail == (
        "raw_products.list_price: {'min': 0.0, 'min_inclusive': False}")
    assert by_name["unique_stg_customers_email"].detail.endswith(
        "stg_customers.email is not the raw value: fold `lower` may merge distinct values")
    assert by_name["accepted_range_fct_orders_order_amount__0"].detail.endswith(
        "fct_orders.order_amount is an aggregate `SUM(stg_order_items.line_amount)`")
    result.metadata.validate_schema()


def test_literals_a_model_compares_a_raw_column_to_are_named_values(raw_manifest, tmp_path) -> None:
    """`where`, `case when`, `in (...)` through renames name values; through lower() they do not."""
    users = '"lineage"."main"."stg_users"'
    raw = _with_sql(raw_manifest, "active_users",
                    "select *, case when user_status in ('active', 'paused') then 1 end as flag,\n"
                    "  case when lower(user_status) = 'gone' then 1 end as gone\n"
                    f"from {users} where user_status <> 'banned'")
    result = project_to_sources(write_manifest(tmp_path, raw))
    named = result.metadata.tables["raw_users"].constraint("status").named_values
    assert sorted(named) == ["active", "banned", "paused"]


def test_a_unique_surrogate_key_is_a_unique_combination_of_the_raw_columns(raw_manifest, tmp_path) -> None:
    """dbt_utils.generate_surrogate_key compiles to md5 over text casts, null sentinels and separators."""
    users = '"lineage"."main"."stg_users"'
    raw = _with_sql(raw_manifest, "active_users",
                    "select md5(cast(coalesce(cast(user_id as varchar), '_dbt_utils_surrogate_key_null_') || '-' || "
                    "coalesce(cast(user_status as varchar), '_dbt_utils_surrogate_key_null_') as varchar)) as user_id\n"
                    f"from {users}")
    result = project_to_sources(write_manifest(tmp_path, raw))
    status, detail = _status(result, "unique_active_users_user_id")
    assert status == "carried", detail
    table = result.metadata.tables["raw_users"]
    assert {"id", "status"} in [set(k) for k in [table.pk, *table.unique_keys]]
