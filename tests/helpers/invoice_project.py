"""A dbt project on the planted invoice schema of tests/helpers/invoice_rules.py (raw schema `raw_inv`): sources
`inv.customers`, `inv.invoices`, `inv.lines` with keys and relationships tests, staged one to one as models
`stg_customers`, `stg_invoices`, `stg_lines` with the same tests. Nobody declared the rules across the keys
(`billing_country = customers.country`, `total = sum(unit_price * quantity)`, `item_count = count(lines)`, ...):
they are learned. `build_invoices(root, target, env)` writes it, fills the raw tables, runs `dbt build`."""

from __future__ import annotations

from pathlib import Path

from synthohive_dbt.dbt import DbtProject
from tests.helpers.invoice_rules import invoice_frames
from tests.helpers.messy_project import REPO, SOURCE_MACRO, load_and_build
from tests.helpers.profiles import profiles_yml

RAW = "raw_inv"
PROJECT = """name: invoices
version: "1.0"
config-version: 2
profile: invoices
models:
  invoices:
    +materialized: table
"""
DDL = {"customers": "customer_id INTEGER, country VARCHAR(4), score DOUBLE PRECISION",
       "invoices": "invoice_id INTEGER, customer_id INTEGER, invoiced_on DATE, billing_country VARCHAR(4), "
                   "billing_score DOUBLE PRECISION, total DOUBLE PRECISION, item_count INTEGER, "
                   "max_quantity DOUBLE PRECISION, noise DOUBLE PRECISION",
       "lines": "line_id INTEGER, invoice_id INTEGER, unit_price DOUBLE PRECISION, quantity INTEGER, "
                "discount DOUBLE PRECISION"}
KEYS = {"customers": ("customer_id", None), "invoices": ("invoice_id", ("customer_id", "customers")),
        "lines": ("line_id", ("invoice_id", "invoices"))}


def _columns(name: str, ref: str, pad: str) -> str:
    """The key tests of one table, indented by `pad` (sources sit deeper than models)."""
    pk, fk = KEYS[name]
    out = f"columns:\n  - name: {pk}\n    data_tests: [unique, not_null]\n"
    if fk is not None:
        out += (f"  - name: {fk[0]}\n    data_tests:\n      - relationships:\n"
                f"          arguments: {{to: \"{ref.format(fk[1])}\", field: {fk[0]}}}\n")
    return "".join(pad + line + "\n" for line in out.splitlines())


def build_invoices(root: Path, *, target: str | None = None, env: dict[str, str] | None = None) -> DbtProject:
    for d in ("models", "macros"):
        (root / d).mkdir(parents=True)
    (root / "dbt_project.yml").write_text(PROJECT)
    (root / "profiles.yml").write_text(profiles_yml("invoices", "invoices.duckdb"))
    (root / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
    sources = f"version: 2\nsources:\n  - name: inv\n    schema: {RAW}\n    tables:\n"
    sources += "".join(f"      - name: {t}\n" + _columns(t, "source('inv', '{}')", " " * 8) for t in KEYS)
    (root / "models" / "sources.yml").write_text(sources)
    models = "version: 2\nmodels:\n" + "".join(f"  - name: stg_{t}\n" + _columns(t, "ref('stg_{}')", " " * 4)
                                                 for t in KEYS)
    (root / "models" / "models.yml").write_text(models)
    for t in KEYS:
        (root / "models" / f"stg_{t}.sql").write_text(f"select * from {{{{ source('inv', '{t}') }}}}\n")
    (root / "macros" / "source.sql").write_text(SOURCE_MACRO)
    return load_and_build(root, invoice_frames(), RAW, DDL, target=target, env=env)
