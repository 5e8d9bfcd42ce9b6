"""Fidelity metrics: known values, and planted defects each caught by the right metric."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.config import Metadata
from synthohive_dbt.errors import DataError
from synthohive_dbt.metrics import ks_statistic
from synthohive_dbt.report import EvaluationResult, FidelitySettings, evaluate
from synthohive_dbt.report.quality import nmi_from_joint, select_pairs, tvd
from tests.helpers.world import make_world


def test_metric_primitives_give_known_values() -> None:
    assert ks_statistic(np.arange(10.0), np.arange(5.0, 15.0)) == pytest.approx(0.5)
    assert ks_statistic(np.array([1.0, np.nan]), np.array([1.0])) == 0.0
    assert tvd(pd.Series(["a", "b"]), pd.Series(["a", "a"])) == pytest.approx(0.5)
    assert tvd(pd.Series([1, 2, None]), pd.Series(["1", "2"])) == 0.0  # nulls apart, 1 == "1"
    assert nmi_from_joint(np.outer([0.5, 0.5], [0.3, 0.7])) == pytest.approx(0.0, abs=1e-12)
    assert nmi_from_joint(np.diag([0.25, 0.25, 0.5])) == pytest.approx(1.0)


def test_faithful_resample_scores_high(real, faithful, metadata) -> None:
    r = evaluate(real, faithful, metadata, privacy_metrics=False)
    assert r.scores["column_shapes"] > 0.93
    assert r.scores["column_pair_trends"] > 0.85
    assert r.scores["cardinality"] > 0.9
    assert r.scores["referential_integrity"] == 1.0
    assert r.scores["constraints"] == 1.0
    assert r.scores["overall"] > 0.93
    assert {(s["column"], s["reason"].split(" ")[0]) for s in r.skipped} == {
        ("customer_id", "key"), ("order_id", "key"), ("email", "PII")}
    assert r.column("customers", "segment").metric == "tvd"
    assert r.column("customers", "signup_date").kind == "datetime"
    assert r.column("customers", "score").null_rate_real == pytest.approx(0.15, abs=0.03)


def test_shifted_column_is_caught_by_its_shape_only(real, faithful, metadata) -> None:
    syn = {**faithful, "customers": faithful["customers"].assign(income=faithful["customers"]["income"] * 1.6)}
    r = evaluate(real, syn, metadata, privacy_metrics=False)
    assert r.column("customers", "income").score < 0.7
    for col in ("age", "segment", "signup_date", "score"):
        assert r.column("customers", col).score > 0.9, col


def test_broken_correlation_is_caught_by_pair_trend(real, faithful, metadata) -> None:
    c = faithful["customers"].copy()
    c["income"] = np.random.default_rng(5).permutation(c["income"].to_numpy())  # same marginal, no link
    r = evaluate(real, {**faithful, "customers": c}, metadata, privacy_metrics=False)
    base = evaluate(real, faithful, metadata, privacy_metrics=False)
    assert r.column("customers", "income").score == base.column("customers", "income").score  # shape is blind
    assert base.pair("customers", "age", "income").score > 0.97
    pair = r.pair("customers", "age", "income")
    assert pair.metric == "correlation"
    assert pair.real_correlation == pytest.approx(0.5, abs=0.06)
    assert abs(pair.synthetic_correlation) < 0.08
    assert pair.score < 0.8
    assert r.pair("customers", "income", "segment").mi_drift > 0.2  # segment followed income


def test_null_rate_change_is_measured(real, faithful, metadata) -> None:
    c = faithful["customers"].copy()
    c["score"] = c["score"].fillna(0.1)
    r = evaluate(real, {**faithful, "customers": c}, metadata, privacy_metrics=False)
    assert r.column("customers", "score").null_rate_synthetic == 0.0
    assert r.column("customers", "score").null_rate_delta == pytest.approx(0.15, abs=0.03)


def test_orphans_and_cardinality(real, faithful, metadata) -> None:
    o = faithful["orders"].copy()
    o.loc[o.index[:40], "customer_id"] = 999_999
    r = evaluate(real, {**faithful, "orders": o}, metadata, privacy_metrics=False)
    rel = r.relationship("orders", "customers")
    assert rel.orphans == 40
    assert rel.orphan_rate == pytest.approx(40 / len(o))
    assert rel.orphan_rate_real == 0.0
    assert r.scores["referential_integrity"] == pytest.approx(1 - 40 / len(o))

    crowded = faithful["orders"].copy()  # all orders on a tenth of the customers
    ids = faithful["customers"]["customer_id"].to_numpy()[:150]
    crowded["customer_id"] = np.random.default_rng(1).choice(ids, len(crowded))
    r2 = evaluate(real, {**faithful, "orders": crowded}, metadata, privacy_metrics=False)
    rel2 = r2.relationship("orders", "customers")
    assert rel2.orphans == 0
    assert rel2.childless_share_synthetic > 0.85
    assert rel2.childless_share_real == pytest.approx(np.exp(-2), abs=0.03)
    assert rel2.cardinality_score < 0.3
    assert sum(rel2.parents_real) == pytest.approx(1.0)


def test_composite_foreign_key() -> None:
    parent = pd.DataFrame({"a": [1, 1, 2], "b": ["x", "y", "x"], "v": [1.0, 2.0, 3.0]})
    child = pd.DataFrame({"id": range(5), "pa": [1, 1, 2, 2, 3], "pb": ["x", "x", "x", "y", "x"]})
    md = Metadata()
    md.add_table("p", pk=["a", "b"])
    md.add_table("c", pk="id", fk={"pa, pb": "p.(a, b)"})
    r = evaluate({"p": parent, "c": child}, {"p": parent, "c": child}, md, privacy_metrics=False)
    rel = r.relationship("c", "p")
    assert rel.orphans == 2  # (2, y) and (3, x) have no parent
    assert rel.counts[:3] == [0, 1, 2]
    assert rel.parents_real[:3] == pytest.approx([1 / 3, 1 / 3, 1 / 3])  # (1,x)->2, (1,y)->0, (2,x)->1


def test_constraint_violations_are_counted(real, faithful, metadata) -> None:
    c = faithful["customers"].copy()
    c.loc[c.index[:5], "age"] = 150
    c.loc[c.index[5:8], "segment"] = "platinum"
    c.loc[c.index[9], "customer_id"] = c.loc[c.index[10], "customer_id"]
    r = evaluate(real, {**faithful, "customers": c}, metadata, privacy_metrics=False)
    got = {(x.column, x.check): x.violations for x in r.constraints if x.table == "customers"}
    assert got[("age", "range")] == 5
    assert got[("segment", "accepted_values")] == 3
    assert got[("customer_id", "primary_key_unique")] == 1  # the repeat, not the first row
    assert got[("age", "not_null")] == 0
    assert r.scores["constraints"] == pytest.approx(7 / 10)


def test_pair_cap_is_deterministic_and_noted() -> None:
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.normal(size=(300, 30)), columns=[f"c{i:02d}" for i in range(30)])
    settings = FidelitySettings(max_pairs=50, seed=3)
    r1 = evaluate({"w": wide}, {"w": wide.sample(frac=1, random_state=1)}, fidelity=settings,
                  privacy_metrics=False)
    r2 = evaluate({"w": wide}, {"w": wide}, fidelity=settings, privacy_metrics=False)
    assert len(r1.pairs) == 50
    assert [(p.column_a, p.column_b) for p in r1.pairs] == [(p.column_a, p.column_b) for p in r2.pairs]
    assert any("435 column pairs, scored a deterministic sample of 50" in n for n in r1.notes)
    assert select_pairs(["a", "b", "c"], 10, 0) == ([("a", "b"), ("a", "c"), ("b", "c")], 3)


def test_hundred_thousand_rows_score_in_seconds(metadata) -> None:
    big_r = make_world(50_000, seed=0)
    big_s = make_world(50_000, seed=1, start_id=1_000_000)
    assert len(big_r["customers"]) + len(big_r["orders"]) > 140_000
    start = time.perf_counter()
    r = evaluate(big_r, big_s, metadata)
    elapsed = time.perf_counter() - start
    assert r.scores["column_shapes"] > 0.97
    assert elapsed < 15, f"{elapsed:.1f}s"  # ~2 s on an idle 2-core machine


def test_json_round_trip_keeps_every_number(real, faithful, metadata) -> None:
    r = evaluate(real, faithful, metadata,
                 dbt_tests=[{"name": "not_null_customers_age", "status": "pass", "failures": 0}])
    data = json.loads(r.to_json())
    assert data["scores"]["overall"] == pytest.approx(r.scores["overall"])
    back = EvaluationResult.from_dict(data)
    assert back.column("customers", "income").statistic == pytest.approx(r.column("customers", "income").statistic)
    assert back.relationship("orders", "customers").counts == r.relationship("orders", "customers").counts
    assert back.columns[0].distribution.real == pytest.approx(r.columns[0].distribution.real)
    assert back.dbt_tests[0].name == "not_null_customers_age"


def test_errors_name_the_problem(real) -> None:
    with pytest.raises(DataError, match=r"no table is in both.*\['customers', 'orders'\].*\['other'\]"):
        evaluate(real, {"other": real["customers"]})
    with pytest.raises(DataError, match=r"dbt test outcome #0 .* has no \['status'\]"):
        evaluate(real, real, dbt_tests=[{"name": "x"}], privacy_metrics=False)
