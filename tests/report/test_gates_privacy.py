"""Gates and privacy metrics: a faithful table passes, each planted defect fails the right gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from synthohive_dbt.errors import ConfigError, QualityGateError
from synthohive_dbt.report import ColumnGate, QualityGates, check_gates, evaluate, gate_misses
from synthohive_dbt.report.privacy_metrics import copy_share, find_pii_leaks

NON_KEYS = ["age", "income", "segment", "signup_date", "score"]


def test_faithful_resample_passes_every_default_gate(real, faithful, holdout, metadata) -> None:
    for hold in (holdout, None):  # given holdout, and the seeded split fallback
        r = evaluate(real, faithful, metadata, holdout=hold,
                     dbt_tests=[{"name": "unique_customers_customer_id", "status": "pass", "failures": 0},
                                {"name": "warn_only", "status": "warn", "failures": 3}])
        check_gates(r, QualityGates())
        p = r.table_privacy("customers")
        assert p.exact_copies == 0
        assert p.holdout_source == ("given" if hold is not None else "split")
        ratio = p.dcr_synthetic["p5"] / p.dcr_holdout["p5"]
        assert 0.6 < ratio < 1.7, ratio


def test_shifted_column_fails_its_column_gate_with_values(real, faithful, metadata) -> None:
    syn = {**faithful, "customers": faithful["customers"].assign(income=faithful["customers"]["income"] * 1.6)}
    r = evaluate(real, syn, metadata, privacy_metrics=False)
    with pytest.raises(QualityGateError) as exc:
        check_gates(r, QualityGates())
    msg = str(exc.value)
    assert "column customers.income: column shape (1 - KS) = 0.5" in msg
    assert "(threshold 0.7)" in msg and "fix:" in msg
    assert "customers.age" not in msg
    # a per-column override relaxes exactly that column
    check_gates(r, QualityGates(columns={"customers.income": ColumnGate(min_shape=0.5)}))


def test_every_planted_defect_is_listed_in_one_error(real, faithful, metadata) -> None:
    c = faithful["customers"].copy()
    c["income"] = np.random.default_rng(5).permutation(c["income"].to_numpy())  # broken correlation
    c.loc[c.index[:4], "age"] = 150  # constraint violation
    c.loc[c.index[10], "email"] = real["customers"]["email"].iloc[3]  # leaked PII
    o = faithful["orders"].copy()
    o.loc[o.index[:25], "customer_id"] = 999_999  # orphans
    r = evaluate(real, {"customers": c, "orders": o}, metadata, privacy_metrics=False,
                 dbt_tests=[{"name": "relationships_orders_customer_id", "status": "fail", "failures": 25}])
    misses = gate_misses(r, QualityGates(min_pair_trend=0.85))
    text = "\n".join(map(str, misses))
    assert "pair customers.(age, income): pair trend (correlation)" in text
    assert "pair customers.(income, segment): pair trend (contingency)" in text  # segment followed income
    assert "column customers.age: constraint range [18.0, 90.0] = 4" in text
    assert "foreign key orders(customer_id) -> customers(customer_id): orphan rate = 0.008" in text
    assert "dbt test relationships_orders_customer_id: dbt test status 'fail' (failures) = 25" in text
    assert "column customers.email: real PII values of customers.email found verbatim (1 rows) = 1" in text
    with pytest.raises(QualityGateError, match=r"missed 6 quality/privacy gate\(s\)"):
        check_gates(r, QualityGates(min_pair_trend=0.85))


def test_copied_real_rows_fail_the_copy_gate(real, faithful, holdout, metadata) -> None:
    c = faithful["customers"].copy()
    c.loc[c.index[:45], NON_KEYS] = real["customers"][NON_KEYS].iloc[100:145].to_numpy()  # 3 % copies
    r = evaluate(real, {**faithful, "customers": c}, metadata, holdout=holdout)
    p = r.table_privacy("customers")
    assert p.exact_copies == 45
    assert p.exact_copy_share == pytest.approx(0.03)
    assert p.holdout_copy_share == 0.0
    with pytest.raises(QualityGateError, match=r"table customers: exact copy share 0.03 above the holdout's 0"):
        check_gates(r, QualityGates())


def test_memorised_rows_fail_the_dcr_gate(real, holdout, metadata) -> None:
    """A 'generator' that returns real rows with tiny noise: no exact copies, but far too close."""
    c = real["customers"].copy()
    c["income"] = c["income"] * (1 + np.random.default_rng(0).normal(0, 1e-4, len(c)))
    r = evaluate(real, {**real, "customers": c}, metadata, holdout=holdout)
    p = r.table_privacy("customers")
    assert p.exact_copies == 0
    assert p.dcr_synthetic["p5"] < 0.1 * p.dcr_holdout["p5"]
    assert p.share_closer_than_holdout_p5 > 0.9
    misses = [m for m in gate_misses(r, QualityGates()) if "DCR" in m.gate]
    assert [m.where for m in misses] == ["table customers"]


def test_copy_share_ignores_dtype_drift() -> None:
    a = pd.DataFrame({"x": [1, 2, 3], "s": ["a", "b", "c"]})
    b = pd.DataFrame({"x": [1.0, 2.5, 3.0], "s": pd.Series(["a", "b", "z"], dtype="category")})
    assert copy_share(b, a, ["x", "s"]) == (1, pytest.approx(1 / 3))


def test_pii_leak_search_counts_without_storing_values(real) -> None:
    syn = {"orders": pd.DataFrame({"note": ["hello", real["customers"]["email"].iloc[0], None],
                                   "n": [1, 2, 3]})}
    leaks = find_pii_leaks(real, syn, {"customers": ["email"]})
    assert [(x.table, x.column, x.leaked_values, x.leaked_rows) for x in leaks] == [("orders", "note", 1, 1)]
    assert "mail.test" not in repr(leaks)


def test_gate_configuration_errors_are_clear(real, faithful, metadata) -> None:
    with pytest.raises(ValidationError, match="min_overal"):
        QualityGates(min_overal=0.5)
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        QualityGates(min_column_shape=1.5)
    with pytest.raises(ConfigError, match=r"keys \['income'\] are not 'table.column'"):
        QualityGates(columns={"income": ColumnGate(min_shape=0.1)})
    r = evaluate(real, faithful, metadata, privacy_metrics=False)
    with pytest.raises(ConfigError, match=r"names \['customers.incme'\], which were not scored"):
        check_gates(r, QualityGates(columns={"customers.incme": ColumnGate(min_shape=0.1)}))
