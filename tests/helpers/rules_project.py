"""A dbt project whose tests are rules across columns of a row, on a raw `rentals` table (schema `raw_rent`):

- `expression_is_true` (a project-local generic test, as dbt_utils writes it) on the model `stg_rentals`:
  `amount = price * days`, carried back to the raw columns in sources mode;
- a singular test `select * from stg_rentals where returned_on < rented_on` (a return before its rental);
- and rules nobody declared, learned from the data: `deposit < price`, `rented_on < returned_on`, and the
  country a function of the city (`country = case city when ... end`), `total_due = amount + deposit`; on the
  child `payments` (a relationships test to `rentals`), per rental: `installment` numbered 1, 2, 3 and billing periods
  `[period_start, period_end)` each starting where the previous ends (rules within groups of rows).

`build_rules(root, target, env)` writes the project, fills the raw table, runs `dbt deps` + `dbt build` on the real
data and returns it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthohive_dbt.dbt import DbtProject
from tests.helpers.messy_project import REPO, SOURCE_MACRO, load_and_build
from tests.helpers.profiles import profiles_yml

RAW = "raw_rent"
PROJECT = """name: rules
version: "1.0"
config-version: 2
profile: rules
models:
  rules:
    +materialized: table
"""
SOURCES = f"""version: 2
sources:
  - name: rent
    schema: {RAW}
    tables:
      - name: rentals
        columns:
          - name: id
            data_tests: [unique, not_null]
      - name: payments
        columns:
          - name: payment_id
            data_tests: [unique, not_null]
          - name: rental_id
            data_tests:
              - relationships:
                  arguments: {{to: "source('rent', 'rentals')", field: id}}
"""
MODELS = """version: 2
models:
  - name: stg_payments
    columns:
      - name: payment_id
        data_tests: [unique, not_null]
      - name: rental_id
        data_tests:
          - relationships:
              arguments: {to: "ref('stg_rentals')", field: rental_id}
  - name: stg_rentals
    data_tests:
      - expression_is_true:
          arguments:
            expression: "amount = price * days"
"""
MODEL_SQL = """select id as rental_id, rented_on, returned_on, price, days, amount, deposit, total_due, city, country
from {{ source('rent', 'rentals') }}
"""
PAYMENTS_SQL = """select payment_id, rental_id, installment, period_start, period_end, paid
from {{ source('rent', 'payments') }}
"""
GENERIC = """{% test expression_is_true(model, expression) %}
select * from {{ model }} where not ({{ expression }})
{% endtest %}
"""
SINGULAR = """select * from {{ ref('stg_rentals') }} where returned_on < rented_on
"""
DDL = {"rentals": "id INTEGER, rented_on DATE, returned_on DATE, price DOUBLE PRECISION, days INTEGER, "
                  "amount DOUBLE PRECISION, deposit DOUBLE PRECISION, total_due DOUBLE PRECISION, city TEXT, "
                  "country TEXT",
       "payments": "payment_id INTEGER, rental_id INTEGER, installment INTEGER, period_start DATE, period_end DATE, "
                   "paid DOUBLE PRECISION"}
COUNTRY_OF = {"Paris": "FR", "Lyon": "FR", "Berlin": "DE", "Hamburg": "DE", "Milan": "IT", "Rome": "IT",
              "Porto": "PT", "Lisbon": "PT"}


def real_frames(seed: int = 0, n: int = 300) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rented = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    price = rng.integers(5, 60, n).astype(float)
    days = rng.integers(1, 9, n)
    city = rng.choice(sorted(COUNTRY_OF), n)
    deposit = np.floor(price * rng.uniform(0, 1, n))
    return {"rentals": pd.DataFrame({
        "id": np.arange(1, n + 1), "rented_on": rented.date,
        "returned_on": (rented + pd.to_timedelta(days, unit="D")).date,
        "price": price, "days": days, "amount": price * days, "deposit": deposit, "total_due": price * days + deposit,
        "city": city, "country": [COUNTRY_OF[c] for c in city]}), "payments": _payments(rng, rented, n)}


def _payments(rng: np.random.Generator, rented: pd.DatetimeIndex, n: int) -> pd.DataFrame:
    """1-4 installments per rental, numbered from 1, each billing the period after the previous one."""
    k = rng.integers(1, 5, n)
    owner = np.repeat(np.arange(1, n + 1), k)
    starts, ends = [], []
    for i, j in enumerate(k):
        edges = rented[i] + pd.to_timedelta(np.concatenate([[0], rng.integers(7, 31, j)]).cumsum(), unit="D")
        starts.extend(edges[:-1].date)
        ends.extend(edges[1:].date)
    return pd.DataFrame({"payment_id": np.arange(1, len(owner) + 1), "rental_id": owner,
                         "installment": np.concatenate([np.arange(1, j + 1) for j in k]),
                         "period_start": starts, "period_end": ends,
                         "paid": np.round(rng.uniform(5, 80, len(owner)), 2)})


def build_rules(root: Path, *, target: str | None = None, env: dict[str, str] | None = None) -> DbtProject:
    for d in ("models", "macros", "tests/generic"):
        (root / d).mkdir(parents=True)
    (root / "dbt_project.yml").write_text(PROJECT)
    (root / "profiles.yml").write_text(profiles_yml("rules", "rules.duckdb"))
    (root / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    (root / "models" / "sources.yml").write_text(SOURCES)
    (root / "models" / "models.yml").write_text(MODELS)
    (root / "models" / "stg_rentals.sql").write_text(MODEL_SQL)
    (root / "models" / "stg_payments.sql").write_text(PAYMENTS_SQL)
    (root / "macros" / "source.sql").write_text(SOURCE_MACRO)
    (root / "tests" / "generic" / "expression_is_true.sql").write_text(GENERIC)
    (root / "tests" / "returns_after_rentals.sql").write_text(SINGULAR)
    return load_and_build(root, real_frames(), RAW, DDL, target=target, env=env)
