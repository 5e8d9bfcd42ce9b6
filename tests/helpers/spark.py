"""A real local Spark with a Hive metastore, for the tests marked `spark` (and by hand).

`start_spark(root)` starts one `local[2]` SparkSession with Hive support: a Derby metastore and the warehouse
folder under `root`, everything bound to 127.0.0.1, the UI off and few shuffle partitions (a 2-core machine).
Derby creates `metastore_db` and `derby.log` in the working directory and allows one process at a time, so the
session is started with `root` as the working directory and the previous one restored afterwards.
`python -m tests.helpers.spark` starts one by hand and prints its version.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LOCAL_IP = "127.0.0.1"


def spark_conf(root: Path) -> dict[str, str]:
    """Every setting of the test session: local, loopback only, small, Derby and warehouse under `root`."""
    root = Path(root)
    return {
        "spark.master": "local[2]",
        "spark.app.name": "synthohive-tests",
        "spark.driver.host": LOCAL_IP,
        "spark.driver.bindAddress": LOCAL_IP,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={root}",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.python.worker.reuse": "true",
        "spark.driver.memory": "1g",
    }


@contextlib.contextmanager
def start_spark(root: Path) -> Iterator[Any]:
    """One SparkSession (Hive support, Derby metastore in `root`), stopped on exit."""
    from pyspark.sql import SparkSession

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    os.environ["SPARK_LOCAL_IP"] = LOCAL_IP
    # the executors' Python is this interpreter (the venv), wherever `python` points on PATH
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    before = Path.cwd()
    os.chdir(root)  # Derby writes metastore_db and derby.log into the working directory
    try:
        builder = SparkSession.builder
        for key, value in spark_conf(root).items():
            builder = builder.config(key, value)
        spark = builder.enableHiveSupport().getOrCreate()
    finally:
        os.chdir(before)
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="synthohive-spark-") as tmp, start_spark(Path(tmp)) as session:
        print(f"Spark {session.version} at {session.sparkContext.master}, metastore in {tmp}")
        session.sql("CREATE DATABASE IF NOT EXISTS smoke")
        print(session.sql("SHOW DATABASES").toPandas())
