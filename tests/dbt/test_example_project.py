"""The example project for real: dbt deps + seed + build on DuckDB, the source redirect to a synthetic
schema, and the package's run-operations (metadata emit, guarded schema create/drop)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from synthohive_dbt.dbt import DbtProject, engine_from_profile, outcomes_from_run_results, parse_metadata_log
from synthohive_dbt.dbt.example import copy_example_project
from synthohive_dbt.errors import DbtError
from synthohive_dbt.io import read_table, real_columns, write_tables
from synthohive_dbt.io.warehouse import list_tables

SOURCES = {"customers": "raw_customers", "products": "raw_products", "employees": "raw_employees",
           "orders": "raw_orders", "order_items": "raw_order_items", "payments": "raw_payments"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DbtProject, list]]:
    project = DbtProject(copy_example_project(tmp_path_factory.mktemp("ex") / "shop"))
    project.deps()
    seeded = project.seed()  # first: source tests do not depend on seeds in dbt's graph
    build = project.build(exclude=["resource_type:seed"])
    yield project, [*seeded.outcomes, *build.outcomes]


@pytest.mark.slow
def test_seed_and_build_pass_every_test(built: tuple[DbtProject, list]) -> None:
    _, outcomes = built
    kinds = sorted({o.resource_type for o in outcomes})
    assert kinds == ["model", "seed", "test"]
    assert sum(o.resource_type == "seed" for o in outcomes) == 6
    assert sum(o.resource_type == "model" for o in outcomes) == 8
    tests = [o for o in outcomes if o.resource_type == "test"]
    assert len(tests) == 63
    assert [o for o in outcomes if not o.passed] == []
    assert all(o.failures == 0 for o in tests)
    names = {o.name for o in tests}
    assert "source_unique_combination_of_columns_shop_order_items_order_id__line_number" in names
    assert "source_accepted_range_shop_order_items_quantity__20__1" in names


@pytest.mark.slow
def test_sources_redirect_to_the_synthetic_schema(built: tuple[DbtProject, list]) -> None:
    project, _ = built
    engine = project.engine()
    rels = {name: ("main_raw", ident) for name, ident in SOURCES.items()}
    frames = {ident: read_table(engine, rel) for ident, rel in zip(SOURCES.values(), rels.values())}
    # break two rules on purpose: a duplicated customer id, a quantity out of the accepted range
    frames["raw_customers"].loc[1, "customer_id"] = frames["raw_customers"].loc[0, "customer_id"]
    frames["raw_order_items"].loc[[0, 1, 2], "quantity"] = 99
    cols = real_columns(engine, {ident: ("main_raw", ident) for ident in SOURCES.values()})
    write_tables(engine, frames, "synthetic", columns=cols)
    assert list_tables(engine, "synthetic") == sorted([*SOURCES.values(), "_synthohive_owned"])
    engine.dispose()

    result = project.test(select=["source:shop"], vars={"synthohive_schema": "synthetic"})
    failed = {o.name: o.failures for o in result.failed}
    # customer 2 became a copy of customer 1's id, so customer 2's orders now dangle as well
    dangling = int((frames["raw_orders"]["customer_id"] == 2).sum())
    assert dangling > 0
    assert failed == {"source_unique_shop_customers_customer_id": 1,
                      "source_accepted_range_shop_order_items_quantity__20__1": 3,
                      "source_relationships_shop_orders_customer_id__customer_id__source_shop_customers_": dangling}
    assert len(result.tests()) == 31 and not result.success
    # without the var the same tests read the real schema and pass
    assert project.test(select=["source:shop,test_name:unique"]).success


def test_run_results_become_outcomes(tmp_path: Path) -> None:
    data = {"results": [
        {"unique_id": "test.shop.unique_orders_id.abc", "status": "fail", "failures": 4, "message": "Got 4",
         "execution_time": 0.5},
        {"unique_id": "model.shop.orders", "status": "success", "failures": None, "message": "OK"},
    ]}
    out = outcomes_from_run_results(data)
    assert [(o.name, o.resource_type, o.status, o.failures, o.passed) for o in out] == [
        ("unique_orders_id", "test", "fail", 4, False), ("orders", "model", "success", None, True)]
    with pytest.raises(DbtError, match="run_results.json does not exist: dbt did not run"):
        outcomes_from_run_results(tmp_path / "run_results.json")
    with pytest.raises(DbtError, match="no SYNTHOHIVE_METADATA_START/END block"):
        parse_metadata_log("nothing here")
    assert parse_metadata_log('x SYNTHOHIVE_METADATA_START\n{"a": 1}\nSYNTHOHIVE_METADATA_END') == {"a": 1}


@pytest.mark.slow
def test_emit_metadata_lists_tables_columns_and_tests(built: tuple[DbtProject, list]) -> None:
    project, _ = built
    meta = project.emit_metadata()
    sources = {t["name"]: t for t in meta["tables"] if t["resource_type"] == "source"}
    assert sorted(sources) == sorted(SOURCES)
    assert sources["customers"]["schema"] == "main_raw" and sources["customers"]["identifier"] == "raw_customers"
    pii = [c["name"] for c in sources["customers"]["columns"] if c["meta"].get("pii")]
    assert pii == ["first_name", "last_name", "email"]
    ranges = [t for t in meta["tests"] if t["name"] == "accepted_range" and t["column_name"] == "quantity"]
    assert ranges[0]["kwargs"]["min_value"] == 1 and ranges[0]["kwargs"]["max_value"] == 20
    combo = [t for t in meta["tests"] if t["name"] == "unique_combination_of_columns"]
    assert sorted(t["kwargs"]["combination_of_columns"] == ["order_id", "line_number"] for t in combo) == [True, True]
    assert len(meta["tests"]) == 63


@pytest.mark.slow
@pytest.mark.postgres
def test_deps_seed_build_pass_on_postgres(postgres_server, tmp_path: Path) -> None:
    dbname = postgres_server.create_database()
    project = DbtProject(copy_example_project(tmp_path / "shop"), target="pg",
                         env=postgres_server.dbt_env(dbname=dbname, schema="analytics"))
    project.deps()
    assert len(project.seed().outcomes) == 6
    result = project.build(exclude=["resource_type:seed"])
    assert result.success, [(o.name, o.message) for o in result.failed]
    assert len(result.tests()) == 63 and sum(o.resource_type == "model" for o in result.outcomes) == 8
    engine = project.engine()
    assert project.resolved_profile().spec.schema == "analytics"
    assert len(read_table(engine, ("analytics", "dim_customers"))) == 200
    assert list_tables(engine, "analytics_raw") == sorted(SOURCES.values())
    engine.dispose()


@pytest.mark.slow
def test_schema_macros_refuse_real_schemas(built: tuple[DbtProject, list]) -> None:
    project, _ = built
    with pytest.raises(DbtError, match=r"refusing schema 'main_raw': it holds this project's real relations "
                                       r"\(seed raw_customers.*source shop\.customers"):
        project.create_schema("main_raw")
    with pytest.raises(DbtError, match="refusing schema 'MAIN': it is this project's target schema"):
        project.drop_schema("MAIN")
    with pytest.raises(DbtError, match="schema name 'x; drop' is not allowed"):
        project.create_schema("x; drop")
    project.create_schema("synthohive_scratch")
    assert project.resolved_profile().spec.path == str(project.project_dir / "example.duckdb")
    engine = engine_from_profile(project.project_dir)
    with engine.connect() as conn:
        schemas = {r[0] for r in conn.execute(sa.text("select schema_name from information_schema.schemata"))}
    engine.dispose()
    assert "synthohive_scratch" in schemas
    engine = engine_from_profile(project.project_dir)
    with engine.begin() as conn:  # something synthohive did not write, and a view elsewhere reading it
        conn.execute(sa.text("create table synthohive_scratch.keepme (x integer)"))
        conn.execute(sa.text("create view main.reads_scratch as select * from synthohive_scratch.keepme"))
    engine.dispose()
    with pytest.raises(DbtError, match=r"refusing to drop schema 'synthohive_scratch': it holds relations "
                                       r"synthohive did not write \(synthohive_scratch.keepme\); views in other "
                                       r"schemas read it \(main.reads_scratch\); nothing was dropped"):
        project.drop_schema("synthohive_scratch")
    engine = engine_from_profile(project.project_dir)
    with engine.begin() as conn:
        conn.execute(sa.text("drop view main.reads_scratch"))
        conn.execute(sa.text("drop table synthohive_scratch.keepme"))
    engine.dispose()
    project.drop_schema("synthohive_scratch")
