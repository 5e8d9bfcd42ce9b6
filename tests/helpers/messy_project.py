"""A dbt project holding, at once, what real warehouses hold and what broke synthohive on public projects.

Raw tables (created with SQL, declared as dbt sources in schema `raw_messy`):

- `customers`: two all-null columns (one text, one float) that a model selects; a DATE column whose unknown
  values are the sentinel 0001-01-01.
- `orders`: an upper-case key `CUSTOMER_ID` and float `AMOUNT` holding NULL, NaN, +inf and -inf; a
  TIMESTAMP `valid_to` that is 9999-12-31 23:59:59.999999 (the open end of a history) in 40% of rows, and
  otherwise carries microseconds.
- `odd_names`: columns named `Select`, `order` (reserved words) and `ünï "quote"` (unicode, a double
  quote), declared with `quote: true`.
- `settings` (1 row), `regions` (2 rows), `refunds` (0 rows).
- A relationships test to a disabled model (`legacy_customers`), which dbt moves to `disabled`.

Models (`stg_*` views, `fct_orders` table) select and join all of it. `build_messy(root, target, env)` writes
the project, creates and fills the raw tables on the target's warehouse, and runs `dbt deps` + `dbt build` on
the real data; it returns the project and the names of the tests that pass on real data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from tests.helpers.profiles import profiles_yml
from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.io.warehouse import run_sql

REPO = Path(__file__).resolve().parents[2]
RAW = "raw_messy"
ODD = 'ünï "quote"'
SENTINEL_TO = datetime(9999, 12, 31, 23, 59, 59, 999999)
UNKNOWN_DAY = date(1, 1, 1)

PROFILES = profiles_yml("messy", "messy.duckdb")
PROJECT = """name: messy
version: "1.0"
config-version: 2
profile: messy
models:
  messy:
    +materialized: view
    fct_orders: {+materialized: table}
"""
SOURCES = f"""version: 2
sources:
  - name: messy
    schema: {RAW}
    tables:
      - name: customers
        columns:
          - name: id
            data_tests: [unique, not_null]
          - name: segment
            data_tests:
              - not_null
              - accepted_values:
                  arguments: {{values: [consumer, business]}}
      - name: orders
        columns:
          - name: order_id
            data_tests: [unique, not_null]
          - name: CUSTOMER_ID
            quote: true
            data_tests:
              - not_null
              - relationships:
                  arguments: {{to: "source('messy', 'customers')", field: id}}
          - name: status
            data_tests:
              - not_null
              - accepted_values:
                  arguments: {{values: [open, shipped, returned]}}
          - name: valid_to
            data_tests: [not_null]
      - name: odd_names
        columns:
          - name: id
            data_tests: [unique, not_null]
          - name: Select
            quote: true
            data_tests: [not_null]
          - name: order
            quote: true
            data_tests:
              - not_null
              - accepted_values:
                  arguments: {{values: [a, b, c]}}
      - name: settings
        columns:
          - name: setting_key
            data_tests:
              - unique
              - not_null
              - accepted_values:
                  arguments: {{values: [currency]}}
      - name: regions
        columns:
          - name: region_code
            data_tests: [unique, not_null]
      - name: refunds
        columns:
          - name: refund_id
            data_tests: [unique, not_null]
          - name: order_id
            data_tests:
              - relationships:
                  arguments: {{to: "source('messy', 'orders')", field: order_id}}
"""
MODELS = """version: 2
models:
  - name: stg_orders
    columns:
      - name: order_id
        data_tests: [unique, not_null]
      - name: customer_id
        data_tests:
          - relationships:
              arguments: {to: "ref('stg_customers')", field: customer_id}
          - relationships:
              arguments: {to: "ref('legacy_customers')", field: id}
  - name: stg_customers
    columns:
      - name: customer_id
        data_tests: [unique, not_null]
  - name: fct_orders
    columns:
      - name: order_id
        data_tests: [unique, not_null]
      - name: segment
        data_tests: [not_null]
"""
SQL = {
    "stg_customers": "select id as customer_id, segment, legacy_code, score_unused, signup_on\n"
                     "from {{ source('messy', 'customers') }}\n",
    "stg_orders": 'select order_id, "CUSTOMER_ID" as customer_id, "AMOUNT" as amount, valid_to, status\n'
                  "from {{ source('messy', 'orders') }}\n",
    "stg_odd": 'select id, "Select" as select_value, "order" as order_value, "ünï ""quote""" as odd_value\n'
               "from {{ source('messy', 'odd_names') }}\n",
    "fct_orders": "select o.order_id, o.amount, o.valid_to, c.segment, c.legacy_code, s.setting_value,\n"
                  "  (select count(*) from {{ source('messy', 'regions') }}) as regions,\n"
                  "  (select count(*) from {{ source('messy', 'refunds') }}) as refunds\n"
                  "from {{ ref('stg_orders') }} o join {{ ref('stg_customers') }} c using (customer_id)\n"
                  "cross join {{ source('messy', 'settings') }} s\n",
    "legacy_customers": "{{ config(enabled=false) }}\nselect 1 as id\n",
}
SOURCE_MACRO = """{% macro source(source_name, table_name) %}
  {{ return(synthohive.source(source_name, table_name)) }}
{% endmacro %}
"""

DDL = {
    "customers": 'id INTEGER, segment VARCHAR(20), legacy_code VARCHAR(10), score_unused DOUBLE PRECISION, '
                 'signup_on DATE',
    "orders": 'order_id INTEGER, "CUSTOMER_ID" INTEGER, "AMOUNT" DOUBLE PRECISION, valid_to TIMESTAMP, '
              'status VARCHAR(20)',
    "odd_names": f'id INTEGER, "Select" INTEGER, "order" VARCHAR(5), "{ODD.replace(chr(34), chr(34) * 2)}" '
                 'DOUBLE PRECISION',
    "settings": "setting_key VARCHAR(20), setting_value INTEGER",
    "regions": "region_code VARCHAR(5), label VARCHAR(30)",
    "refunds": "refund_id INTEGER, order_id INTEGER",
}


@dataclass
class Messy:
    project: DbtProject
    real_passing: set[str]  # dbt tests that pass on the real data
    frames: dict[str, pd.DataFrame]

    @property
    def dir(self) -> Path:
        return self.project.project_dir

    def engine(self) -> sa.Engine:
        return self.project.engine()


def real_frames(seed: int = 0, customers: int = 40, orders: int = 160) -> dict[str, pd.DataFrame]:
    """The raw rows: every awkward shape at a known frequency."""
    rng = np.random.default_rng(seed)
    signup = [UNKNOWN_DAY if i % 8 == 0 else date(2021, 1, 1) + timedelta(days=int(rng.integers(0, 900)))
              for i in range(customers)]
    cust = pd.DataFrame({"id": np.arange(1, customers + 1), "segment": rng.choice(["consumer", "business"], customers),
                         "legacy_code": [None] * customers, "score_unused": [None] * customers, "signup_on": signup})
    amount = np.round(rng.gamma(2.0, 40.0, orders), 2).astype(object)
    kinds = rng.choice(["v", "nan", "inf", "-inf", "null"], orders, p=[0.8, 0.06, 0.05, 0.04, 0.05])
    special = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "null": None}
    amount = [special[k] if k in special else a for k, a in zip(kinds, amount)]
    valid_to = [SENTINEL_TO if rng.random() < 0.4 else
                datetime(2024, 1, 1) + timedelta(seconds=int(rng.integers(0, 3e7)), microseconds=int(rng.integers(1, 10**6)))
                for _ in range(orders)]
    ords = pd.DataFrame({"order_id": np.arange(1000, 1000 + orders),
                         "CUSTOMER_ID": rng.integers(1, customers + 1, orders),
                         # object dtype: a list of floats and None would become float64, NULLs turned NaN
                         "AMOUNT": pd.Series(amount, dtype=object),
                         "valid_to": valid_to, "status": rng.choice(["open", "shipped", "returned"], orders)})
    odd = pd.DataFrame({"id": np.arange(1, 31), "Select": rng.integers(0, 5, 30), "order": rng.choice(list("abc"), 30),
                        ODD: np.round(rng.normal(0, 1, 30), 3)})
    return {"customers": cust, "orders": ords, "odd_names": odd,
            "settings": pd.DataFrame({"setting_key": ["currency"], "setting_value": [978]}),
            "regions": pd.DataFrame({"region_code": ["EU", "NA"], "label": ["Europe", "North America"]}),
            "refunds": pd.DataFrame({"refund_id": pd.Series([], dtype="int64"),
                                     "order_id": pd.Series([], dtype="int64")})}


def write_project(root: Path) -> Path:
    """The project files (no data): profiles, sources, models, the source redirect, the local package."""
    (root / "models").mkdir(parents=True)
    (root / "macros").mkdir()
    (root / "dbt_project.yml").write_text(PROJECT)
    (root / "profiles.yml").write_text(PROFILES)
    (root / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    (root / "models" / "sources.yml").write_text(SOURCES, encoding="utf-8")
    (root / "models" / "models.yml").write_text(MODELS, encoding="utf-8")
    (root / "macros" / "source.sql").write_text(SOURCE_MACRO)
    for name, sql in SQL.items():
        (root / "models" / f"{name}.sql").write_text(sql, encoding="utf-8")
    return root


def load_raw(engine: sa.Engine, frames: dict[str, pd.DataFrame], *, schema: str = RAW,
             ddl: dict[str, str] | None = None) -> None:
    """CREATE + INSERT through the DB-API with bound parameters, so NaN, ±inf and year 1/9999 arrive as such."""
    ddl = ddl or DDL
    with engine.begin() as conn:
        run_sql(conn, f"CREATE SCHEMA {schema}")
        for name, frame in frames.items():
            run_sql(conn, f"CREATE TABLE {schema}.{name} ({ddl[name]})")
            if frame.empty:
                continue
            cols = ", ".join('"' + c.replace('"', '""') + '"' for c in frame.columns)
            marks = ", ".join(["%s" if engine.dialect.name == "postgresql" else "?"] * len(frame.columns))
            rows = [tuple(_plain(v) for v in row) for row in frame.itertuples(index=False, name=None)]
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                cursor.executemany(f"INSERT INTO {schema}.{name} ({cols}) VALUES ({marks})", rows)
            finally:
                cursor.close()


def load_and_build(root: Path, frames: dict[str, pd.DataFrame], schema: str, ddl: dict[str, str], *,
                   target: str | None = None, env: dict[str, str] | None = None) -> DbtProject:
    """A written project's raw tables filled, `dbt deps` + `dbt build` run on the real data (which must pass)."""
    project = DbtProject(root, target=target, env=env)
    engine = project.engine()
    try:
        load_raw(engine, frames, schema=schema, ddl=ddl)
    finally:
        engine.dispose()
    project.deps()
    result = project.build()
    assert result.success, [o.message for o in result.outcomes if not o.passed]
    return project


def _plain(v: object) -> object:
    if isinstance(v, np.generic):
        return v.item()
    return v


def build_messy(root: Path, *, target: str | None = None, env: dict[str, str] | None = None) -> Messy:
    project_dir = write_project(root)
    project = DbtProject(project_dir, target=target, env=env)
    frames = real_frames()
    engine = project.engine()
    try:
        load_raw(engine, frames)
    finally:
        engine.dispose()
    project.deps()
    result = project.build()
    passing = {o.name for o in result.tests() if o.status == "pass"}
    return Messy(project, passing, frames)
