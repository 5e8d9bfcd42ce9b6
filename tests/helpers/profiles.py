"""profiles.yml for the small dbt projects tests write: a DuckDB file next to the project (`dev`) and the
session's PostgreSQL server through SYNTHOHIVE_PG_* variables (`pg`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")


def profiles_yml(profile: str, duckdb_file: str) -> str:
    return f"""{profile}:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: {duckdb_file}
      schema: main
      threads: 1
    pg:
      type: postgres
      host: "{{{{ env_var('SYNTHOHIVE_PG_HOST') }}}}"
      port: "{{{{ env_var('SYNTHOHIVE_PG_PORT') | as_number }}}}"
      user: "{{{{ env_var('SYNTHOHIVE_PG_USER') }}}}"
      password: "{{{{ env_var('SYNTHOHIVE_PG_PASSWORD') }}}}"
      dbname: "{{{{ env_var('SYNTHOHIVE_PG_DBNAME') }}}}"
      schema: "{{{{ env_var('SYNTHOHIVE_PG_SCHEMA') }}}}"
      threads: 1
"""


def build_on_warehouse(request: Any, tmp_path_factory: Any, name: str, build: Callable[..., T]) -> T:
    """A test dbt project built by `build(root, target=, env=)` on the warehouse a fixture is parametrised with
    (`WAREHOUSES`): the DuckDB file of the `dev` target, or a fresh database on the session's PostgreSQL server
    (`pg`), whose variables go into the process environment for the CLI's dbt to read."""
    root = tmp_path_factory.mktemp(f"{name}_{request.param}") / name
    if request.param == "duckdb":
        return build(root)
    server = request.getfixturevalue("postgres_server")
    env = server.dbt_env(dbname=server.create_database(), schema="analytics")
    os.environ.update(env)
    return build(root, target="pg", env=env)


# the warehouses dbt runs on here; MariaDB is not one (dbt-mysql lags dbt-core): the warehouse tests that need
# no dbt run on it too, through tests/helpers/warehouses.py (`IO_WAREHOUSES`)
WAREHOUSES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


def seed_ar(project: Any, mode: str, schema: str, *args: str, backend: str = "AR") -> tuple[int, str]:
    """`synthohive seed` on a test project (its target, AR unless said, 3 epochs, seed 5): exit code and output
    on one line."""
    from click.testing import CliRunner

    from synthohive_dbt.cli import cli

    target = ["--target", project.target] if project.target else []
    res = CliRunner().invoke(cli, ["seed", "--project-dir", str(project.project_dir), *target, "--mode", mode,
                                   "--backend", backend, "--epochs", "3", "--seed", "5", "--target-schema", schema,
                                   *args], env={"COLUMNS": "400"})
    return res.exit_code, " ".join(res.output.split())
