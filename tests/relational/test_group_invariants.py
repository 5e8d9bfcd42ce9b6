"""Order within groups of rows, learned at fit (relational/group_invariants.py): line numbers 1..k per customer and
periods that follow each other per customer are found, kept in every synthetic group on CTGAN and AR, and a
switched-off one stays off after save and load; a rule broken in one group, or random columns, give no rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt import Synthesizer
from synthohive_dbt.config import Metadata, PrivacyConfig
from synthohive_dbt.relational.group_invariants import find_group_rules
from synthohive_dbt.relational.invariants import learn_into
from synthohive_dbt.rules import group_violations
from tests.helpers.tiny_shop import TINY

SEQUENCE = "line_number steps by 1 per customer_id"
PERIODS = "ranges [starts_on, ends_on) do not overlap per customer_id, each starting where the previous ends"


def planted(n: int = 150, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame({"customer_id": np.arange(1, n + 1), "segment": rng.choice(["a", "b"], n)})
    k = rng.integers(1, 6, n)
    owner = np.repeat(customers["customer_id"].to_numpy(), k)
    lines = pd.DataFrame({"line_id": np.arange(len(owner)), "customer_id": owner,
                          "line_number": np.concatenate([np.arange(1, j + 1) for j in k]),
                          "quantity": rng.integers(1, 10, len(owner)), "bucket": rng.integers(1, 5, len(owner))})
    m = rng.integers(1, 5, n)
    who = np.repeat(customers["customer_id"].to_numpy(), m)
    starts, ends = [], []
    for j in m:  # each period starts where the one before ends
        edges = pd.Timestamp("2023-01-01") + pd.to_timedelta(
            np.concatenate([[rng.integers(0, 100)], rng.integers(10, 60, j)]).cumsum(), unit="D")
        starts.extend(edges[:-1])
        ends.extend(edges[1:])
    periods = pd.DataFrame({"period_id": np.arange(len(who)), "customer_id": who, "starts_on": starts,
                            "ends_on": ends})
    return {"customers": customers, "lines": lines, "periods": periods}


def _meta() -> Metadata:
    meta = Metadata()
    meta.add_table("customers", pk="customer_id")
    meta.add_table("lines", pk="line_id", fk={"customer_id": "customers.customer_id"})
    meta.add_table("periods", pk="period_id", fk={"customer_id": "customers.customer_id"})
    return meta


def _found(data: dict[str, pd.DataFrame]) -> set[str]:
    meta = _meta()
    out = set()
    for name in ("lines", "periods"):
        cfg = meta.tables[name]
        learn_into(cfg, data[name], [], enabled=True)  # the in-row order a range needs: starts_on < ends_on
        out |= {g.label for g in find_group_rules(data[name], cfg)}
    return out


def test_planted_group_rules_are_found_and_random_columns_give_none() -> None:
    data = planted()
    assert _found(data) == {SEQUENCE, PERIODS}
    rule = find_group_rules(data["lines"], _meta().tables["lines"])[0]
    assert rule.origin == "learned" and rule.support == len(data["lines"]) - 150 and rule.tried > 0


def test_a_rule_broken_in_one_group_or_with_too_little_support_is_not_taken() -> None:
    data = planted()
    lines = data["lines"]
    twice = lines.index[(lines["customer_id"] == lines["customer_id"].iloc[-1])][-1]
    lines.loc[twice, "line_number"] = lines.loc[twice, "line_number"] - 1  # one group numbers 1, 2, 2
    periods = data["periods"]
    first = periods.index[periods.duplicated("customer_id", keep="last")][0]
    periods.loc[first, "ends_on"] += pd.Timedelta(days=1)  # one period overlaps the next by a day
    assert _found(data) == set()
    assert _found(planted(n=8)) == set()  # 8 customers: too few rows after the first of their group (< 30)


@pytest.mark.parametrize(("backend", "kwargs"), [("CTGAN", TINY), ("AR", {"hidden_dim": 8})])
def test_learned_group_rules_hold_in_every_synthetic_group(backend: str, kwargs: dict, tmp_path: Path) -> None:
    synth = Synthesizer(_meta(), backend=backend, model_kwargs=kwargs)
    synth.fit(planted(), epochs=1, max_steps=5, batch_size=100, seed=3)
    rules = {t: synth.metadata.tables[t].group_rules for t in ("lines", "periods")}
    assert [g.label for g in rules["lines"]] == [SEQUENCE] and [g.label for g in rules["periods"]] == [PERIODS]
    out = synth.sample(scale=2, seed=4)
    for table, found in rules.items():
        assert out[table]["customer_id"].duplicated().any()  # groups of several rows to keep the rule in
        for g in found:
            assert g.origin == "learned" and not group_violations(out[table], g).any(), (table, g.label)
    synth.metadata.tables["lines"].switch_rule(SEQUENCE, enabled=False)
    synth.save(tmp_path / "m.synthohive")
    loaded = Synthesizer.load(tmp_path / "m.synthohive")
    assert [g.enabled for g in loaded.metadata.tables["lines"].group_rules] == [False]
    loaded.fit(planted(), epochs=1, max_steps=2, batch_size=100, seed=3)
    assert [g.enabled for g in loaded.metadata.tables["lines"].group_rules] == [False]


def test_under_differential_privacy_group_rules_are_found_but_off() -> None:
    synth = Synthesizer(_meta(), PrivacyConfig(enable_differential_privacy=True, epsilon=5.0), model_kwargs=TINY)
    synth.fit(planted(), epochs=1, max_steps=2, batch_size=100, seed=3)
    found = [g for t in ("lines", "periods") for g in synth.metadata.tables[t].group_rules]
    assert {g.label for g in found} == {SEQUENCE, PERIODS} and not any(g.enabled for g in found)
