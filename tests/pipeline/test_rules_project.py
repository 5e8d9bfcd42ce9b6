"""Rules across columns end to end (tests/helpers/rules_project.py): in sources and mirror mode the declared
rules (expression_is_true, a singular test) and a learned one are listed, kept in every synthetic row, and
dbt's own tests pass on the synthetic data; --no-rule switches one off and --export-rules writes dbt tests."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.dbt import DbtProject
from synthohive_dbt.io import read_table
from synthohive_dbt.config import GroupRule
from synthohive_dbt.rules import group_violations, row_violations
from tests.helpers.profiles import WAREHOUSES, build_on_warehouse, seed_ar
from tests.helpers.rules_project import COUNTRY_OF, build_rules

SEQUENCE = "installment steps by 1 per rental_id"
PERIODS = "ranges [period_start, period_end) do not overlap per rental_id, each starting where the previous ends"


def _group_rules(frame: Any) -> dict[str, GroupRule]:
    seq = GroupRule(kind="sequence", columns=["installment"], partition_by=["rental_id"])
    periods = GroupRule(kind="ranges", columns=["period_start", "period_end"], partition_by=["rental_id"],
                        gaps="not_allowed")
    assert {seq.label, periods.label} == {SEQUENCE, PERIODS}
    return {SEQUENCE: seq, PERIODS: periods}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=WAREHOUSES)
def rules(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    return build_on_warehouse(request, tmp_path_factory, "rules", build_rules)


@pytest.mark.parametrize(("mode", "backend"), [("sources", "AR"), ("mirror", "AR"), ("mirror", "CTGAN"),
                                               ("sources", "CTGAN")])
def test_declared_and_learned_rules_hold_and_dbt_passes(rules: DbtProject, mode: str, backend: str,
                                                         tmp_path) -> None:
    exported = tmp_path / "rules.yml"
    schema = f"synth_rules_{mode}_{backend.lower()}"
    code, out = seed_ar(rules, mode, schema, "--export-rules", str(exported), backend=backend)
    assert code == 0, out
    assert "amount = price * days (declared by test.rules.expression_is_true" in out
    assert "deposit < price (learned: holds on all 300 real rows" in out
    assert "country = case city when " in out  # a function of another column, learned
    assert "total_due = amount + deposit (learned" in out  # arithmetic inside a row, learned
    for label in (SEQUENCE, PERIODS):  # rules within the rows of each rental's payments, learned
        assert f"{label} (learned: holds on all" in out, label
    if mode == "sources":  # the declared rule already computes amount from those columns: nothing learned twice
        assert "amount = days * price" not in out
    table = (schema, "rentals") if mode == "sources" else (schema, "stg_rentals")
    engine = rules.engine()
    try:
        frame = read_table(engine, table)
    finally:
        engine.dispose()
    for rule in ("amount = price * days", "deposit < price", "not (returned_on < rented_on)",
                 "total_due = amount + deposit"):
        assert not row_violations(frame, rule).any(), rule
    assert frame["country"].eq(frame["city"].map(COUNTRY_OF)).all()  # every synthetic city in its own country
    engine = rules.engine()
    try:
        payments = read_table(engine, (schema, "payments" if mode == "sources" else "stg_payments"))
    finally:
        engine.dispose()
    assert payments["rental_id"].duplicated().any()  # rentals with several payments: groups to keep the rules in
    for label, rule in _group_rules(payments).items():
        assert not group_violations(payments, rule).any(), label
    tests = yaml.safe_load(exported.read_text())
    assert {"dbt_utils.expression_is_true": {"expression": "deposit < price"}} in [
        t for section in ("sources", "models") for s in tests.get(section, [])
        for entry in (s.get("tables", [s])) for t in entry.get("data_tests", [])]


def test_a_rule_switched_off_is_said_off(rules: DbtProject) -> None:
    code, out = seed_ar(rules, "sources", "synth_rules_off", "--no-rule", "rentals:deposit < price", "--skip-dbt")
    assert code == 0, out
    assert "deposit < price (learned: holds on all 300 real rows, " in out and "- OFF" in out


def test_inspect_lists_the_rules_the_sample_shows(rules: DbtProject) -> None:
    target = ["--target", rules.target] if rules.target else []
    res = CliRunner().invoke(cli, ["inspect", "--manifest", str(rules.project_dir / "target" / "manifest.json"),
                                   "--project-dir", str(rules.project_dir), *target], env={"COLUMNS": "400"})
    out = " ".join(res.output.split())
    assert res.exit_code == 0, out
    assert "amount = price * days" in out  # declared (the expression_is_true test), on the model
    assert "learned rule (on 300 sampled rows) rentals: deposit < price" in out
