"""Row rules (rules across the columns of one row) are kept in the output: derived columns are computed,
order rules swapped, the rest re-sampled; a declared rule the output breaks names the rule and the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt import Synthesizer
from synthohive_dbt.config import Metadata, RowRule
from synthohive_dbt.errors import ConfigError, ConstraintViolationError
from synthohive_dbt.rules import row_violations
from tests.helpers.tiny_shop import fit


def _orders(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    price = rng.integers(1, 50, n).astype(float)
    qty = rng.integers(1, 5, n)
    return pd.DataFrame({"id": np.arange(n), "ordered_at": start,
                         "shipped_at": start + pd.to_timedelta(rng.integers(0, 10, n), unit="D"),
                         "price": price, "quantity": qty, "total": price * qty,
                         "low": rng.integers(0, 10, n), "high": rng.integers(10, 20, n)})


def _meta(*rules: str) -> Metadata:
    meta = Metadata()
    table = meta.add_table("orders", pk="id")
    for r in rules:
        table.add_row_rule(RowRule(expression=r))
    return meta


def test_declared_rules_hold_on_every_synthetic_row() -> None:
    rules = ("ordered_at <= shipped_at", "total = price * quantity", "low + 5 < high")
    synth = fit(_meta(*rules), {"orders": _orders()})
    out = synth.sample(seed=3)["orders"]
    for r in rules:
        assert not row_violations(out, r).any(), r
    assert out["total"].nunique() > 5  # computed from the row, not a constant


def test_a_rule_the_model_cannot_meet_is_an_error_naming_rule_and_rows() -> None:
    synth = fit(_meta("price > 1000"), {"orders": _orders()})
    with pytest.raises(ConstraintViolationError, match=r"break the declared rule `price > 1000`, e\.g\. rows \["):
        synth.sample(seed=3)


def test_a_learned_rule_broken_is_a_warning_and_counted() -> None:
    meta = Metadata()
    meta.add_table("orders", pk="id").add_row_rule(RowRule(expression="price > 1000", origin="learned"))
    synth = fit(meta, {"orders": _orders()})
    synth.sample(seed=3)
    assert synth.last_sample_stats.tables["orders"].broken_rules["price > 1000"] > 0


def test_a_switched_off_rule_stays_off_after_save_and_load(tmp_path) -> None:
    meta = _meta("price > 1000")
    meta.tables["orders"].switch_rule("price > 1000", enabled=False)
    synth = fit(meta, {"orders": _orders()})
    synth.save(tmp_path / "m.synthohive")
    loaded = Synthesizer.load(tmp_path / "m.synthohive")
    assert loaded.metadata.tables["orders"].row_rules[0].enabled is False
    loaded.sample(seed=3)  # no error: the rule is off


def test_rules_outside_the_grammar_are_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError, match="outside the grammar"):
        row_violations(pd.DataFrame({"a": [1]}), "a <= (select max(b) from t)")
    with pytest.raises(ConfigError, match="no row rule"):
        _meta().tables["orders"].switch_rule("x > 1", enabled=False)


def _subscriptions() -> dict[str, pd.DataFrame]:
    """mrr-playbook's shape: per customer, subscriptions that start and end on a first of month, one at a time."""
    rng = np.random.default_rng(1)
    rows = []
    for c in range(60):
        month = pd.Timestamp("2020-01-01") + pd.DateOffset(months=int(rng.integers(0, 6)))
        for k in range(int(rng.integers(1, 4))):
            end = month + pd.DateOffset(months=int(rng.integers(1, 6)))
            rows.append((len(rows), c, month, end, k + 1))
            month = end + pd.DateOffset(months=int(rng.integers(0, 3)))
    subs = pd.DataFrame(rows, columns=["id", "customer_id", "start_date", "end_date", "seq"])
    return {"customers": pd.DataFrame({"customer_id": np.arange(60)}), "subscriptions": subs}


def test_group_rules_and_month_starts_hold_on_every_synthetic_row() -> None:
    from synthohive_dbt.config import GroupRule
    from synthohive_dbt.rules import group_violations
    meta = Metadata()
    meta.add_table("customers", pk="customer_id")
    subs = meta.add_table("subscriptions", pk="id", fk={"customer_id": "customers.customer_id"})
    subs.group_rules.append(GroupRule(kind="ranges", columns=["start_date", "end_date"], partition_by=["customer_id"]))
    subs.group_rules.append(GroupRule(kind="sequence", columns=["seq"], partition_by=["customer_id"]))
    for r in ("date_trunc('month', start_date) = start_date", "date_trunc('month', end_date) = end_date"):
        subs.add_row_rule(RowRule(expression=r))
    synth = fit(meta, _subscriptions())
    out = synth.sample(seed=2)["subscriptions"]
    for g in subs.group_rules:
        assert not group_violations(out, g).any(), g.label
    for r in subs.row_rules:
        assert not row_violations(out, r.expression).any(), r.expression


def test_strict_makes_a_broken_learned_rule_an_error() -> None:
    meta = Metadata()
    meta.add_table("orders", pk="id").add_row_rule(RowRule(expression="price > 1000", origin="learned"))
    synth = fit(meta, {"orders": _orders()})
    synth.strict_rules = True
    with pytest.raises(ConstraintViolationError, match="price > 1000"):
        synth.sample(seed=3)
    assert synth.metadata.tables["orders"].row_rules[0].origin == "learned"


def test_a_partition_on_an_executor_counts_broken_rules_and_keeps_strict(tmp_path) -> None:
    """What a Spark executor runs (relational/distributed.py), without Spark: the partition's statistics come
    back to the driver (merged there), and --strict travels with the partition plan."""
    from synthohive_dbt.relational.distributed import plan_partitions, sample_partition
    from synthohive_dbt.relational.progress import SampleStats
    from synthohive_dbt.relational.sinks import MemorySink

    meta = Metadata()
    meta.add_table("orders", pk="id").add_row_rule(RowRule(expression="price > 1000", origin="learned"))
    synth = fit(meta, {"orders": _orders(n=600)})
    synth.save(tmp_path / "m.shm")
    artifact = (tmp_path / "m.shm").read_bytes()
    plan = plan_partitions(synth.plans, synth.order, {"orders": 600}, 2, 3, min_rows_per_partition=100)
    assert plan.partitioned == ("orders",)
    reports = [sample_partition(artifact, part, MemorySink(), plan=plan) for part in range(2)]
    merged = SampleStats.merged(3, reports)
    broken = [r["tables"]["orders"]["broken_rules"]["price > 1000"] for r in reports]
    assert min(broken) > 0 and merged.tables["orders"].broken_rules["price > 1000"] == sum(broken)
    assert merged.tables["orders"].rows == 600
    strict = plan_partitions(synth.plans, synth.order, {"orders": 600}, 2, 3, min_rows_per_partition=100,
                             strict_rules=True)
    with pytest.raises(ConstraintViolationError, match="price > 1000"):
        sample_partition(artifact, 1, MemorySink(), plan=strict)


def test_a_rule_naming_a_missing_column_is_refused_before_training() -> None:
    with pytest.raises(ConfigError, match=r"rule `price <= cost` names column\(s\) \['cost'\]"):
        fit(_meta("price <= cost"), {"orders": _orders()})
