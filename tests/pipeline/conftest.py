"""Fixtures of the pipeline tests: the example shop (tests/helpers/example_shop.py) built once per session, on
DuckDB and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.example_shop import Shop, build_shop


@pytest.fixture(scope="session")
def duck_shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return build_shop(tmp_path_factory.mktemp("pipeline") / "shop")


@pytest.fixture(scope="session")
def pg_shop(tmp_path_factory: pytest.TempPathFactory, postgres_server) -> Iterator[Shop]:
    env = postgres_server.dbt_env(dbname=postgres_server.create_database(), schema="analytics")
    yield build_shop(tmp_path_factory.mktemp("pipeline_pg") / "shop", target="pg", env=env)
