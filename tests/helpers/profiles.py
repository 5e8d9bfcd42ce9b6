"""profiles.yml for the small dbt projects tests write: a DuckDB file next to the project (`dev`) and the
session's PostgreSQL server through SYNTHOHIVE_PG_* variables (`pg`)."""

from __future__ import annotations


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
