"""The same loop against the session's real PostgreSQL server: both modes, every dbt test on synthetic data."""

from __future__ import annotations

import pytest

from synthohive_dbt import pipeline
from tests.helpers.example_shop import EXAMPLE_TESTS, MODEL_TESTS, MODELS, RAW, Shop

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_sources_mode_on_postgres(pg_shop: Shop) -> None:
    real = pg_shop.scalar("select count(*) from analytics_raw.raw_order_items")
    result = pipeline.seed(
        pipeline.ProjectOptions(project_dir=pg_shop.dir, target="pg", mode="sources", env=pg_shop.env),
        pipeline.TrainOptions(epochs=2, seed=5), pipeline.SampleOptions(scale=0.5),
        pipeline.OutputOptions(target_schema="synthetic"))
    assert [(o.name, o.message) for o in result.failed] == []
    assert len(result.tests) == EXAMPLE_TESTS + 1
    assert sorted(result.rows) == RAW and result.rows["raw_customers"] == 100
    assert pg_shop.tables("synthetic") == RAW
    assert pg_shop.scalar("select count(*) from synthetic_build.dim_customers") == 100
    assert pg_shop.scalar("select count(*) from analytics_raw.raw_order_items") == real
    assert pg_shop.scalar("select count(*) from analytics.dim_customers") == 200


def test_mirror_mode_on_postgres(pg_shop: Shop) -> None:
    result = pipeline.seed(
        pipeline.ProjectOptions(project_dir=pg_shop.dir, target="pg", select=tuple(MODELS), env=pg_shop.env),
        pipeline.TrainOptions(epochs=2, seed=5, max_rows=150), pipeline.SampleOptions(rows=80),
        pipeline.OutputOptions(target_schema="mirror"))
    assert [(o.name, o.message) for o in result.failed] == []
    assert len(result.tests) == MODEL_TESTS
    assert result.rows["stg_customers"] == 80 and pg_shop.tables("mirror") == MODELS
