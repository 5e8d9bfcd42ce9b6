"""Rules the real rows always keep, learned at fit (relational/invariants.py) and kept in every synthetic row,
on CTGAN and AR; a rule broken by 1% of real rows, or independent columns, give no rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt import Synthesizer
from synthohive_dbt.config import Metadata, PrivacyConfig
from synthohive_dbt.relational.invariants import find_rules
from synthohive_dbt.rules import row_violations
from tests.helpers.tiny_shop import TINY

PLANTED = {"ordered_at <= shipped_at", "total = round(price * quantity, 2)", "net = total - discount"}


def planted(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    price = np.round(rng.uniform(1, 50, n), 3)  # totals are rounded to cents: a rule within rounding
    qty = rng.integers(1, 5, n)
    total = np.round(price * qty, 2)
    discount = np.round(rng.uniform(0, 1, n), 2)
    return pd.DataFrame({"id": np.arange(n), "ordered_at": start,
                         "shipped_at": start + pd.to_timedelta(rng.integers(0, 10, n), unit="D"),
                         "price": price, "quantity": qty, "total": total, "discount": discount,
                         "net": np.round(total - discount, 2), "noise": rng.normal(size=n)})


def _meta() -> Metadata:
    meta = Metadata()
    meta.add_table("orders", pk="id")
    return meta


def test_planted_rules_are_found_and_noise_gives_none() -> None:
    found = {r.expression for r in find_rules(planted(), _meta().tables["orders"])}
    assert PLANTED <= found
    assert not any("noise" in e for e in found)
    assert all(r.support == 300 and r.tried > 0 for r in find_rules(planted(), _meta().tables["orders"]))


def test_a_rule_broken_by_one_percent_of_rows_or_chance_is_not_taken() -> None:
    data = planted()
    data.loc[data.index[:3], "shipped_at"] = data["ordered_at"].iloc[:3] - pd.Timedelta(days=1)  # 99% hold
    found = {r.expression for r in find_rules(data, _meta().tables["orders"])}
    assert "ordered_at <= shipped_at" not in found
    rng = np.random.default_rng(1)
    noise = pd.DataFrame({"id": np.arange(500), **{f"c{i}": rng.normal(size=500) for i in range(6)},
                          "d": rng.integers(0, 5, 500), "e": rng.integers(0, 5, 500)})
    assert find_rules(noise, _meta().tables["orders"]) == []
    few = planted(n=20)  # 20 supporting rows: too few to tell a rule from chance
    assert find_rules(few, _meta().tables["orders"]) == []


@pytest.mark.parametrize(("backend", "kwargs"), [("CTGAN", TINY), ("AR", {"hidden_dim": 8})])
def test_learned_rules_hold_on_every_synthetic_row(backend: str, kwargs: dict, tmp_path) -> None:
    synth = Synthesizer(_meta(), backend=backend, model_kwargs=kwargs)
    synth.fit({"orders": planted()}, epochs=1, max_steps=5, batch_size=100, seed=3)
    rules = synth.metadata.tables["orders"].row_rules
    assert PLANTED <= {r.expression for r in rules} and all(r.origin == "learned" for r in rules)
    out = synth.sample(seed=4)["orders"]
    for r in rules:
        assert not row_violations(out, r.expression).any(), r.expression
    # switched off, the choice survives save and load and a re-fit on the same data
    synth.metadata.tables["orders"].switch_rule("net = total - discount", enabled=False)
    synth.save(tmp_path / "m.synthohive")
    loaded = Synthesizer.load(tmp_path / "m.synthohive")
    off = {r.expression for r in loaded.metadata.tables["orders"].row_rules if not r.enabled}
    assert off == {"net = total - discount"}
    loaded.fit({"orders": planted()}, epochs=1, max_steps=2, batch_size=100, seed=3)
    assert {r.expression for r in loaded.metadata.tables["orders"].row_rules if not r.enabled} == off


def test_under_differential_privacy_learned_rules_are_off_and_no_rule_uses_pii() -> None:
    data = planted()
    data["customer_email"] = [f"user{i}@example.com" for i in range(len(data))]
    data["credit"] = data["price"] * 2
    meta = _meta()
    meta.tables["orders"].pii_columns = ["credit"]
    rules = find_rules(data, meta.tables["orders"])
    assert not any("credit" in r.expression for r in rules)
    synth = Synthesizer(_meta(), PrivacyConfig(enable_differential_privacy=True, epsilon=5.0), model_kwargs=TINY)
    synth.fit({"orders": planted()}, epochs=1, max_steps=2, batch_size=100, seed=3)
    assert synth.metadata.tables["orders"].row_rules and not any(
        r.enabled for r in synth.metadata.tables["orders"].row_rules)
    # --keep-rule: the user keeps one learned rule on under DP; it holds, and the others stay off
    kept = Synthesizer(_meta(), PrivacyConfig(enable_differential_privacy=True, epsilon=5.0), model_kwargs=TINY)
    kept.rules_on = {("orders", "ordered_at <= shipped_at")}
    kept.fit({"orders": planted()}, epochs=1, max_steps=2, batch_size=100, seed=3)
    on = {r.expression for r in kept.metadata.tables["orders"].row_rules if r.enabled}
    assert on == {"ordered_at <= shipped_at"}
    assert not row_violations(kept.sample(seed=4)["orders"], "ordered_at <= shipped_at").any()


def test_an_order_with_nulls_is_learned_as_sql_reads_it_and_kept() -> None:
    """`b is null or a <= b`: rows with a null take no part (as in a dbt test); the rule is found on the others
    and every synthetic row with both values keeps it, while nulls are still drawn."""
    data = planted()
    data.loc[data.index[::4], "shipped_at"] = pd.NaT  # a quarter not shipped yet
    assert "ordered_at <= shipped_at" in {r.expression for r in find_rules(data, _meta().tables["orders"])}
    synth = Synthesizer(_meta(), backend="AR", model_kwargs={"hidden_dim": 8})
    synth.fit({"orders": data}, epochs=1, max_steps=5, batch_size=100, seed=3)
    out = synth.sample(seed=4)["orders"]
    assert out["shipped_at"].isna().any() and out["shipped_at"].notna().any()
    assert not row_violations(out, "ordered_at <= shipped_at").any()


def test_learned_rules_export_as_dbt_tests() -> None:
    import yaml

    from synthohive_dbt.config import GroupRule, RowRule
    from synthohive_dbt.relational.rules_yaml import rules_as_dbt_yaml
    meta = Metadata()
    t = meta.add_table("orders", pk="id", unique_id="source.shop.raw.orders", resource_type="source")
    t.add_row_rule(RowRule(expression="ordered_at <= shipped_at", origin="learned"))
    t.add_row_rule(RowRule(expression="price > 0"))  # declared: the project's own test already
    t.add_row_rule(RowRule(expression="net = total - discount", origin="learned", enabled=False))  # switched off
    t.group_rules.append(GroupRule(kind="sequence", columns=["line"], partition_by=["order_id"], origin="learned"))
    doc = yaml.safe_load(rules_as_dbt_yaml(meta))
    [source] = doc["sources"]
    assert source["name"] == "raw" and source["tables"][0]["name"] == "orders"
    assert source["tables"][0]["data_tests"] == [
        {"dbt_utils.expression_is_true": {"expression": "ordered_at <= shipped_at"}}]
    assert source["tables"][0]["columns"] == [{"name": "line", "data_tests": [
        {"dbt_utils.sequential_values": {"interval": 1.0, "group_by_columns": ["order_id"]}}]}]


def test_identifier_columns_give_no_rule() -> None:
    n = 200
    frame = pd.DataFrame({"customer_id": np.arange(n) // 3, "subscription_id": np.arange(n),
                          "orderId": np.arange(n) + 5})
    assert find_rules(frame, _meta().tables["orders"]) == []


def _cities(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    city = rng.choice(["Paris", "Lyon", "Rome", "Milan", "Oslo"], n)
    country = pd.Series(city).map({"Paris": "FR", "Lyon": "FR", "Rome": "IT", "Milan": "IT", "Oslo": "NO"})
    return pd.DataFrame({"id": np.arange(n), "city": city, "country": country.to_numpy(),
                         "colour": rng.choice(["red", "blue", "green"], n), "size": rng.choice(["S", "M", "L"], n)})


def test_a_functional_dependency_is_found_and_kept() -> None:
    rule = "country = case city when 'Lyon' then 'FR' when 'Milan' then 'IT' when 'Oslo' then 'NO' " \
           "when 'Paris' then 'FR' when 'Rome' then 'IT' end"
    found = {r.expression for r in find_rules(_cities(), _meta().tables["orders"])}
    assert found == {rule}  # independent colour and size: no rule
    broken = _cities()
    broken.loc[0, "country"] = "IT" if broken.loc[0, "city"] in ("Paris", "Lyon") else "FR"
    assert find_rules(broken, _meta().tables["orders"]) == []
    synth = Synthesizer(_meta(), backend="AR", model_kwargs={"hidden_dim": 8})
    synth.fit({"orders": _cities()}, epochs=1, max_steps=5, batch_size=100, seed=3)
    out = synth.sample(seed=4)["orders"]
    assert not row_violations(out, rule).any()
