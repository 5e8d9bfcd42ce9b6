"""dbt on Spark: a `type: spark`, `method: session` profile (dbt-spark) read like any other profile, and dbt run
in-process in the test session's own SparkSession (the Derby metastore allows one process): the project's own
tests pass on the synthetic Hive tables that save_to_hive published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from synthohive_dbt import Synthesizer
from synthohive_dbt.dbt.profiles import load_profile
from synthohive_dbt.dbt.runner import DbtProject
from synthohive_dbt.io.connection import create_warehouse_engine
from tests.helpers.spark_shop import create_shop, shop_metadata, write_shop_project

pytestmark = [pytest.mark.spark, pytest.mark.slow]

TINY = {"embedding_dim": 16, "generator_dims": (32,), "discriminator_dims": (32,), "pac": 1}


def test_the_projects_dbt_tests_pass_on_the_synthetic_hive_tables(spark: Any, tmp_path: Path) -> None:
    pytest.importorskip("dbt.adapters.spark", reason="dbt-spark is not installed: pip install -e '.[spark]'")
    create_shop(spark, "dbt_real")
    project = tmp_path / "shop"
    write_shop_project(project)
    profile = load_profile(project, profiles_dir=project)
    assert profile.spec.dialect == "spark" and profile.spec.schema == "dbt_build"
    engine = create_warehouse_engine(profile.spec)  # an engine over this process's session (io/warehouses/spark)
    assert engine.dialect.name == "spark"

    synth = Synthesizer(metadata=shop_metadata(), spark_session=spark, model_kwargs=TINY, backend="CTGAN")
    synth.fit(database="dbt_real", max_rows=200, epochs=2, batch_size=50, seed=3)
    paths = synth.sample(scale=2.0, partitions=2, min_rows_per_partition=10, output_path_base=tmp_path / "out")
    synth.save_to_hive(paths, target_db="dbt_synthetic")

    dbt = DbtProject(project, profiles_dir=project)
    sources = {f"source.shop.shop.{t}": "dbt_synthetic" for t in paths}
    result = dbt.invoke(["build"], sources_in=sources)
    tests = [o for o in result.outcomes if o.resource_type == "test"]
    assert len(tests) >= 14, result.logs[-10:]
    assert result.success and all(o.status == "pass" for o in tests), [(o.name, o.status) for o in tests]
    built = spark.table("dbt_build.customer_orders").toPandas()
    assert len(built) == spark.table("dbt_synthetic.customers").count()
