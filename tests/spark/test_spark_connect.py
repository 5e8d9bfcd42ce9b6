"""Spark Connect (a client with no SparkContext, as Databricks Connect and `sc://` give): fit from a Hive database,
the distributed sample and `save_to_hive`, on a local Spark Connect server (PySpark 4 starts one for
`remote("local[2]")`), then as a remote user: a session from `sc://...;token=...`, and a wrong token refused.
One process holds one Spark JVM and this session already holds a classic one, so the run
happens in a process of its own (tests/helpers/spark_connect.py) that reports what it measured as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.system import need_java

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parents[2]


def test_fit_sample_and_publish_through_spark_connect(tmp_path: Path) -> None:
    need_java(17)
    pytest.importorskip("grpc", reason="the spark extra is not installed: pip install -e '.[spark]'")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "tests.helpers.spark_connect", str(tmp_path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=400, check=False)
    line = next((s for s in reversed(done.stdout.splitlines()) if s.startswith("{")), None)
    assert done.returncode == 0 and line is not None, done.stderr[-4000:]
    got = json.loads(line)
    assert got["connect"] is True and got["parallelism"] == 2  # no SparkContext on the client: read from its master
    assert got["identical"] is True and got["loaded_same"] is True  # same seed, same partitions; saved and loaded
    assert got["warm_failures"] == []  # the executors were started ahead of the sample without an error
    assert got["part_files"]["order_items"] == 2 and got["part_files"]["orders"] == 2  # drawn on both executors
    assert min(got["rows"].values()) > 0
    assert got["duplicate_keys"] == {"customers": 0, "orders": 0, "order_items": 0, "products": 0}
    assert got["orphans"] == 0 and got["quantity_out_of_range"] == 0
    assert got["same_schema"] is True and got["owned"] is True
    # a session from `sc://localhost:PORT/;token=...`, as on a remote server: the same rows, published
    assert got["by_url_same"] is True and min(got["by_url_rows"].values()) > 0, got
    assert "UNAUTHENTICATED" in got["wrong_token"], got["wrong_token"] or "a wrong token was accepted"
