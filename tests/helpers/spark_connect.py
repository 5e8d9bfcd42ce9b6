"""Spark Connect end to end, in a process of its own: `python -m tests.helpers.spark_connect FOLDER`.

PySpark 4 starts a local Spark Connect server for `SparkSession.builder.remote("local[2]")` (its jar ships with
the wheel), and the client side then has no SparkContext, RDDs or broadcast variables: the path a Databricks
Connect or `sc://` user takes. One process holds one Spark JVM, and the test session already holds a classic
one, so this runs apart (tests/spark/test_spark_connect.py) and prints one JSON line of what it measured:
fit from a Hive database of three levels and a two-parent table, the distributed sample (twice, for
determinism), `save_to_hive`, and the checks a user would run on the published tables.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

TINY = {"embedding_dim": 16, "generator_dims": (32,), "discriminator_dims": (32,), "pac": 1}


TOKEN = "synthohive-test-" + uuid.uuid4().hex  # the server's bearer token (PySpark's local server takes it from
# SPARK_CONNECT_AUTHENTICATE_TOKEN); a client that connects by URL must name it, as on a remote server
PORT = 15002  # PySpark's local server binds Spark Connect's default port, and its own client connects there


def same_tables(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two samples' Parquet folders hold the same rows, table by table."""
    import pandas as pd

    return all(pd.read_parquet(a[t]).equals(pd.read_parquet(b[t])) for t in a)


def connect_session(root: Path) -> Any:
    from pyspark.sql import SparkSession

    from tests.helpers.spark import LOCAL_IP, spark_conf

    os.environ["SPARK_LOCAL_IP"] = LOCAL_IP
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ["SPARK_CONNECT_AUTHENTICATE_TOKEN"] = TOKEN
    os.chdir(root)  # Derby writes metastore_db and derby.log into the working directory
    builder = SparkSession.builder.remote("local[2]")
    for key, value in spark_conf(root).items():
        if key != "spark.master":
            builder = builder.config(key, value)
    with warnings.catch_warnings():  # the client re-sets the static settings the server already took
        warnings.simplefilter("ignore", UserWarning)
        return builder.getOrCreate()


def main(root: Path) -> dict[str, Any]:
    from synthohive_dbt import Synthesizer
    from synthohive_dbt.io.spark import is_connect, parallelism_of
    from synthohive_dbt.io.spark_hive import OWNER_PROPERTY, warm_executors
    from synthohive_dbt.relational.sinks import EXECUTOR_MODULES
    from tests.helpers.spark_shop import create_shop, shop_metadata

    spark = connect_session(root)
    try:
        create_shop(spark, "real_db")
        synth = Synthesizer(metadata=shop_metadata(), spark_session=spark, backend="CTGAN", model_kwargs=TINY)
        synth.fit(database="real_db", max_rows=150, epochs=2, batch_size=50, seed=7)
        options = {"scale": 3.0, "seed": 11, "partitions": 2, "min_rows_per_partition": 10}
        first = synth.sample(**options, output_path_base=root / "first")
        second = synth.sample(**options, output_path_base=root / "second")
        identical = same_tables(first, second)
        # a saved model loaded with the Connect session: executors started ahead (in the background), same rows
        failures: list[str] = []
        handler = logging.Handler(level=logging.INFO)
        handler.emit = lambda record: failures.extend(  # type: ignore[method-assign]
            [record.getMessage()] if "ahead of the sample failed" in record.getMessage() else [])
        logging.getLogger("synthohive_dbt.io.spark_hive").addHandler(handler)
        logging.getLogger("synthohive_dbt.io.spark_hive").setLevel(logging.INFO)
        warm = warm_executors(spark, EXECUTOR_MODULES)
        warm.join(timeout=120)
        failures += ["the warm-up did not end in 120 s"] if warm.is_alive() else []
        synth.save(root / "model.shm")
        loaded = Synthesizer.load(root / "model.shm", spark_session=spark)
        third = loaded.sample(**options, output_path_base=root / "third")
        loaded_same = same_tables(first, third)
        parts = {t: len(list(Path(p).glob("part-*.parquet"))) for t, p in first.items()}
        synth.save_to_hive(first, target_db="synthetic_db")
        count = lambda sql: int(spark.sql(sql).collect()[0][0])  # noqa: E731
        by_url = by_url_with_token(root, options, first)
        return {
            **by_url,
            "connect": is_connect(spark), "parallelism": parallelism_of(spark), "identical": identical,
            "loaded_same": loaded_same, "warm_failures": failures,
            "part_files": parts,
            "rows": {t: count(f"SELECT count(*) FROM synthetic_db.{t}") for t in first},
            "duplicate_keys": {t: count(f"SELECT count(*) - count(DISTINCT {k}) FROM synthetic_db.{t}")
                               for t, k in [("customers", "customer_id"), ("orders", "order_id"),
                                            ("order_items", "item_id"), ("products", "product_id")]},
            "orphans": count("SELECT count(*) FROM synthetic_db.order_items i LEFT ANTI JOIN synthetic_db.orders o "
                             "ON i.order_id = o.order_id")
                       + count("SELECT count(*) FROM synthetic_db.orders o LEFT ANTI JOIN synthetic_db.customers c "
                               "ON o.customer_id = c.customer_id"),
            "quantity_out_of_range": count("SELECT count(*) FROM synthetic_db.order_items "
                                           "WHERE quantity NOT BETWEEN 1 AND 5"),
            "same_schema": all(spark.table(f"synthetic_db.{t}").schema == spark.table(f"real_db.{t}").schema
                               for t in first),
            "owned": all(OWNER_PROPERTY in {r["key"] for r in spark.sql(f"SHOW TBLPROPERTIES synthetic_db.{t}")
                                            .collect()} for t in first),
        }
    finally:
        spark.stop()


def by_url_with_token(root: Path, options: dict[str, Any], first: dict[str, Any]) -> dict[str, Any]:
    """What a user of a remote server does: a session of its own from `sc://host:port/;token=...`, the saved
    model loaded with it, sampled on the server's executors and published; and a wrong token refused."""
    from pyspark.sql import SparkSession

    from synthohive_dbt import Synthesizer

    url = f"sc://localhost:{PORT}/;token={TOKEN}"
    del os.environ["SPARK_CONNECT_AUTHENTICATE_TOKEN"]  # the token must come from the URL, not the environment
    user = SparkSession.builder.remote(url).create()
    try:
        loaded = Synthesizer.load(root / "model.shm", spark_session=user)
        paths = loaded.sample(**options, output_path_base=root / "by_url")
        loaded.save_to_hive(paths, target_db="token_db")
        rows = {t: int(user.table(f"token_db.{t}").count()) for t in paths}
        same = same_tables(first, paths)
    finally:
        local = os.environ.pop("SPARK_LOCAL_REMOTE", None)  # else stop() also ends the local server itself
        user.stop()
        if local is not None:
            os.environ["SPARK_LOCAL_REMOTE"] = local
    return {"by_url_rows": rows, "by_url_same": same, "wrong_token": wrong_token_refusal()}


def wrong_token_refusal(limit_s: float = 60.0) -> str:
    """The error a client with a wrong token gets ("" when it was let in), bounded: the Connect client retries
    what it takes for a transient failure, and a test must not wait on that for ever."""
    import concurrent.futures

    from pyspark.sql import SparkSession

    def attempt() -> str:
        try:
            wrong = SparkSession.builder.remote(f"sc://localhost:{PORT}/;token=not-the-token").create()
            wrong.range(1).count()
        except Exception as exc:  # whatever class a refused token raises is the answer, reported as text
            return f"{type(exc).__name__}: {str(exc)[:200]}"
        return ""

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(attempt).result(timeout=limit_s)
    except concurrent.futures.TimeoutError:
        return f"no answer in {limit_s:.0f} s (the client kept retrying)"
    finally:
        pool.shutdown(wait=False)


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]).resolve())))
