"""Rules across foreign keys end to end on a dbt project (tests/helpers/invoice_project.py), on DuckDB and
PostgreSQL: in sources and mirror mode nobody declared them, `seed` learns and lists them, keeps them in every
synthetic row written to the warehouse, and dbt's own tests pass (`inspect` shows them on its sample first); `--export-rules`
writes them as singular tests (on the sources, as found in sources mode), which the project then adopts: dbt
compiles and runs them in the mirror-mode seed, and they pass."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.io import read_table
from synthohive_dbt.dbt import DbtProject
from tests.helpers.invoice_project import build_invoices
from tests.helpers.profiles import WAREHOUSES, build_on_warehouse, seed_ar

pytestmark = pytest.mark.slow


@pytest.fixture(params=WAREHOUSES)
def invoices(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    return build_on_warehouse(request, tmp_path_factory, "invoices", build_invoices)


def _hold(customers: pd.DataFrame, invoices: pd.DataFrame, lines: pd.DataFrame) -> None:
    country = invoices["customer_id"].map(customers.set_index("customer_id")["country"])
    assert (invoices["billing_country"] == country).all()
    amount = (lines["unit_price"] * lines["quantity"]).groupby(lines["invoice_id"]).sum()
    total = invoices["invoice_id"].map(amount).fillna(0.0).round(2)
    assert np.allclose(invoices["total"].astype(float), total, atol=0.003)
    count = invoices["invoice_id"].map(lines.groupby("invoice_id").size()).fillna(0)
    assert (invoices["item_count"].astype(int) == count.astype(int)).all()


def test_rules_across_keys_are_learned_kept_and_exported_in_both_modes(invoices: DbtProject) -> None:
    project, root = invoices, invoices.project_dir
    target = ["--target", project.target] if project.target else []
    res = CliRunner().invoke(cli, ["inspect", "--manifest", str(root / "target" / "manifest.json"),
                                   "--project-dir", str(root), *target], env={"COLUMNS": "400"})
    said = " ".join(res.output.split())
    assert res.exit_code == 0, said
    assert "learned rule (on 209 sampled rows) invoices: billing_country = customers.country via customer_id" in said
    exported = root.parent / "rules.yml"
    code, out = seed_ar(project, "sources", "synth_inv_sources", "--export-rules", str(exported))
    assert code == 0, out
    assert "rule invoices: billing_country = customers.country via customer_id (learned across a foreign key" in out
    assert "rule invoices: item_count = count(lines) via invoice_id" in out
    engine = project.engine()
    try:
        _hold(*(read_table(engine, ("synth_inv_sources", t)) for t in ("customers", "invoices", "lines")))
    finally:
        engine.dispose()
    singular = sorted((root.parent / "rules_tests").glob("*.sql"))
    assert [p.name for p in singular] == ["synthohive_invoices__billing_country.sql",
                                          "synthohive_invoices__billing_score.sql",
                                          "synthohive_invoices__item_count.sql",
                                          "synthohive_invoices__max_quantity.sql", "synthohive_invoices__total.sql"]
    (root / "tests").mkdir(exist_ok=True)
    for path in singular:  # adopted by the project: dbt runs them from now on
        shutil.copy(path, root / "tests" / path.name)
    for backend, mode in (("AR", "mirror"), ("CTGAN", "mirror"), ("CTGAN", "sources")):
        schema = f"synth_inv_{mode}_{backend.lower()}"
        code, out = seed_ar(project, mode, schema, backend=backend)  # dbt runs the adopted tests too
        assert code == 0, out
        prefix = "stg_" if mode == "mirror" else ""
        assert (f"rule {prefix}invoices: total = round(sum({prefix}lines.unit_price * {prefix}lines.quantity), 2) "
                "via invoice_id") in out
        engine = project.engine()
        try:
            _hold(*(read_table(engine, (schema, f"{prefix}{t}")) for t in ("customers", "invoices", "lines")))
        finally:
            engine.dispose()
