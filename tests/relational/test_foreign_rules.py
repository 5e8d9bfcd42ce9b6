"""Rules across a foreign key (relational/foreign_rules.py): lookups `child.col = parent.col` and aggregates
`parent.col = count/sum/min/max(child ...)`, learned at fit from a planted invoice schema, kept in every synthetic
row on CTGAN and AR (across chunks, in memory and streamed to Parquet), judged by the report, exported as singular
tests that run on real DuckDB; a rule broken by 1% of real rows, and independent columns, give no rule."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from synthohive_dbt import Synthesizer
from synthohive_dbt.config import ForeignRule, PrivacyConfig
from synthohive_dbt.models.artifact import read_artifact
from synthohive_dbt.relational import aggregate_sink
from synthohive_dbt.relational.distributed import plan_partitions, sample_partition
from synthohive_dbt.relational.foreign_rules import foreign_violations, learn_foreign_rules
from synthohive_dbt.relational.rules_yaml import foreign_rule_tests
from synthohive_dbt.relational.sinks import MemorySink
from synthohive_dbt.report.evaluate import evaluate
from tests.helpers.invoice_rules import AGGREGATES, LOOKUPS, invoice_frames, invoice_metadata
from tests.helpers.tiny_shop import TINY


def _learned(frames: dict[str, pd.DataFrame]) -> dict[str, ForeignRule]:
    meta = invoice_metadata()
    return {r.expression: r for _, r in learn_foreign_rules(meta, frames, meta.topological_order(), {}, True)}


def test_planted_lookups_and_aggregates_are_found_and_noise_gives_none() -> None:
    frames = invoice_frames()
    # an identifier copied from the parent (`account_id`, never a key here) is no rule: ids are generated anew
    frames["customers"]["account_id"] = np.arange(len(frames["customers"])) * 7
    frames["invoices"]["account_id"] = frames["invoices"]["customer_id"].map(
        frames["customers"].set_index("customer_id")["account_id"])
    found = _learned(frames)
    assert set(found) == LOOKUPS | AGGREGATES
    assert all(r.support >= 30 and r.tried > len(found) for r in found.values())
    assert found["item_count = count(lines) via invoice_id"].empty == 0.0
    assert found["max_quantity = max(lines.quantity) via invoice_id"].empty is None


def test_a_rule_broken_by_one_percent_of_real_rows_or_chance_is_not_taken() -> None:
    frames = invoice_frames()
    inv = frames["invoices"]
    inv.loc[inv.index[5:7], "billing_country"] = "ZZ"  # 2 of 209 invoices: 99% hold
    inv.loc[inv.index[10:12], "total"] += 1.0
    found = _learned(frames)
    assert "billing_country = customers.country via customer_id" not in found
    assert not any(e.startswith("total =") for e in found)
    assert "item_count = count(lines) via invoice_id" in found  # the rules not broken still stand
    rng = np.random.default_rng(4)
    parents = pd.DataFrame({"id": np.arange(200), "a": rng.normal(size=200), "b": rng.integers(0, 9, 200),
                            "c": rng.choice(["x", "y", "z"], 200)})
    children = pd.DataFrame({"line_id": np.arange(900), "parent_id": rng.integers(0, 200, 900),
                             "x": rng.normal(size=900), "y": rng.integers(0, 9, 900), "z": rng.choice(["x", "y"], 900)})
    meta = invoice_metadata()
    meta.add_table("p", pk="id")
    meta.add_table("ch", pk="line_id", fk={"parent_id": "p.id"})
    assert learn_foreign_rules(meta, {"p": parents, "ch": children}, ["p", "ch"], {}, True) == []
    few = invoice_frames(n_customers=12)  # fewer than 30 supporting parents: not told from chance
    meta = invoice_metadata()
    assert learn_foreign_rules(meta, few, meta.topological_order(), {}, True) == []


@pytest.mark.parametrize(("backend", "kwargs", "parquet"), [("CTGAN", TINY, False), ("AR", {"hidden_dim": 8}, True)])
def test_rules_across_keys_hold_on_every_synthetic_row(backend: str, kwargs: dict, parquet: bool, tmp_path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    if parquet:  # the held invoices beyond 100 rows wait in a temporary Parquet file, not in memory
        monkeypatch.setattr(aggregate_sink, "MEMORY_ROWS", 100)
    real = invoice_frames()
    synth = Synthesizer(invoice_metadata(), backend=backend, model_kwargs=kwargs)
    synth.fit(real, epochs=1, max_steps=5, batch_size=100, seed=3)
    rules = synth.metadata.tables["invoices"].foreign_rules
    assert {r.expression for r in rules} == LOOKUPS | AGGREGATES
    # the aggregated columns are no in-row rule's (`item_count <= total` follows from the children)
    assert not any("total" in r.expression for r in synth.metadata.tables["invoices"].row_rules)
    out = synth.sample(scale=1.5, seed=4, chunk_rows=40, output_path_base=tmp_path / "out" if parquet else None)
    frames = {t: pd.read_parquet(p) for t, p in out.items()} if parquet else out
    for r in rules:
        judged, broken = foreign_violations(r, synth.metadata, "invoices", frames)
        assert judged > 0 and broken == 0, r.expression
    assert frames["invoices"]["item_count"].dtype == real["invoices"]["item_count"].dtype
    assert frames["invoices"].dtypes.to_dict() == synth.sample(seed=4, chunk_rows=40)["invoices"].dtypes.to_dict()
    assert frames["invoices"]["invoice_id"].is_unique and len(frames["invoices"]) == round(1.5 * 209)
    report = evaluate(real, frames, synth.metadata, privacy_metrics=False)
    across = [c for c in report.rules if c.rule in LOOKUPS | AGGREGATES]
    assert len(across) == 5 and all(c.real_held == c.real_rows and c.synthetic_held == c.synthetic_rows
                                    for c in across)


def test_a_rule_switched_off_stays_off_after_save_load_and_refit(tmp_path) -> None:
    real = invoice_frames()
    synth = Synthesizer(invoice_metadata(), backend="AR", model_kwargs={"hidden_dim": 8})
    synth.rules_off = {("invoices", "total = round(sum(lines.unit_price * lines.quantity), 2) via invoice_id"),
                       ("invoices", "billing_country = customers.country via customer_id")}
    synth.fit(real, epochs=1, max_steps=3, batch_size=100, seed=3)
    synth.save(tmp_path / "m.synthohive")
    state, _ = read_artifact(tmp_path / "m.synthohive", kind="synthesizer")  # the rules are JSON in the artifact
    assert len(state["metadata"]["tables"]["invoices"]["foreign_rules"]) == 5
    loaded = Synthesizer.load(tmp_path / "m.synthohive")
    off = {r.expression for r in loaded.metadata.tables["invoices"].foreign_rules if not r.enabled}
    assert off == {e for _, e in synth.rules_off}
    loaded.fit(real, epochs=1, max_steps=2, batch_size=100, seed=3)
    assert {r.expression for r in loaded.metadata.tables["invoices"].foreign_rules if not r.enabled} == off
    out = loaded.sample(seed=5)
    total = next(r for r in loaded.metadata.tables["invoices"].foreign_rules if r.column == "total")
    assert foreign_violations(total, loaded.metadata, "invoices", out)[1] > 0  # off: the model's own totals


def test_under_differential_privacy_rules_across_keys_are_off_and_never_on_pii() -> None:
    real = invoice_frames()
    meta = invoice_metadata()
    meta.tables["customers"].pii_columns = ["country"]
    found = {r.expression for _, r in learn_foreign_rules(meta, real, meta.topological_order(),
                                                          {"customers": {"country": "pii"}}, True)}
    assert not any("country" in e for e in found) and "item_count = count(lines) via invoice_id" in found
    synth = Synthesizer(invoice_metadata(), PrivacyConfig(enable_differential_privacy=True, epsilon=5.0),
                        model_kwargs=TINY)
    synth.fit(real, epochs=1, max_steps=2, batch_size=100, seed=3)
    rules = synth.metadata.tables["invoices"].foreign_rules
    assert rules and not any(r.enabled for r in rules)


def _render(sql: str) -> str:
    """The singular test as dbt would compile it on DuckDB with plain table names."""
    return re.sub(r"\{\{ adapter\.quote\('([^']+)'\) \}\}", r'"\1"', sql)


def test_exported_singular_tests_pass_on_real_rows_and_catch_a_broken_one() -> None:
    real = invoice_frames()
    meta = invoice_metadata()
    learn_foreign_rules(meta, real, meta.topological_order(), {}, True)
    tests = foreign_rule_tests(meta)
    assert sorted(tests) == ["synthohive_invoices__billing_country.sql", "synthohive_invoices__billing_score.sql",
                             "synthohive_invoices__item_count.sql", "synthohive_invoices__max_quantity.sql",
                             "synthohive_invoices__total.sql"]
    con = duckdb.connect()
    for name, frame in real.items():
        con.register(name, frame)
    for name, sql in tests.items():
        assert con.execute(_render(sql)).fetchall() == [], name
    broken = real["invoices"].copy()
    broken.loc[broken.index[20], "total"] += 0.05
    broken.loc[broken.index[21], "billing_country"] = "ZZ"
    broken.loc[broken.index[0], "item_count"] = 1  # an invoice without lines
    con.unregister("invoices")
    con.register("invoices", broken)
    assert len(con.execute(_render(tests["synthohive_invoices__total.sql"])).fetchall()) == 1
    assert len(con.execute(_render(tests["synthohive_invoices__billing_country.sql"])).fetchall()) == 1
    assert len(con.execute(_render(tests["synthohive_invoices__item_count.sql"])).fetchall()) == 1


def test_aggregates_chain_over_two_levels_across_chunks() -> None:
    """customers.spent sums invoices.total, itself the sum of the lines: each parent is written after the
    children it sums, which are final by then."""
    real = invoice_frames(n_customers=120)
    inv, ids = real["invoices"], real["customers"]["customer_id"]
    spent = inv.groupby("customer_id")["total"].sum()
    real["customers"]["spent"] = spent.reindex(ids, fill_value=0).round(2).to_numpy()
    real["customers"]["invoice_count"] = inv.groupby("customer_id").size().reindex(ids, fill_value=0).to_numpy()
    synth = Synthesizer(invoice_metadata(), backend="AR", model_kwargs={"hidden_dim": 8})
    synth.fit(real, epochs=1, max_steps=3, batch_size=100, seed=3)
    on_customers = {r.expression for r in synth.metadata.tables["customers"].foreign_rules}
    assert on_customers == {"spent = round(sum(invoices.total), 2) via customer_id",
                            "invoice_count = count(invoices) via customer_id"}
    out = synth.sample(seed=2, chunk_rows=30)
    for name in ("customers", "invoices"):
        for r in synth.metadata.tables[name].foreign_rules:
            assert foreign_violations(r, synth.metadata, name, out)[1] == 0, r.expression


def test_rules_across_keys_hold_in_a_distributed_sample(tmp_path) -> None:
    """Partitions draw each split parent beside its children (relational/distributed.py): the lookups and
    aggregates hold in every partition, hence in their union."""
    synth = Synthesizer(invoice_metadata(), backend="AR", model_kwargs={"hidden_dim": 8})
    synth.fit(invoice_frames(), epochs=1, max_steps=3, batch_size=100, seed=3)
    synth.save(tmp_path / "m.synthohive")
    artifact = (tmp_path / "m.synthohive").read_bytes()
    plan = plan_partitions(synth.plans, synth.order, {"customers": 90}, 3, 7, min_rows_per_partition=10, chunk_rows=25)
    assert plan.partitioned == ("customers", "invoices", "lines")
    parts = []
    for part in range(3):
        sink = MemorySink()
        sample_partition(artifact, part, sink, plan=plan)
        parts.append(sink.results)
    out = {t: pd.concat([p[t] for p in parts], ignore_index=True) for t in ("customers", "invoices", "lines")}
    for r in synth.metadata.tables["invoices"].foreign_rules:
        assert foreign_violations(r, synth.metadata, "invoices", out)[1] == 0, r.expression


def test_under_dp_the_report_lists_rules_across_keys_outside_epsilon() -> None:
    from synthohive_dbt.report.measure import RunFacts, measure_run
    real = invoice_frames()
    meta = invoice_metadata()
    learn_foreign_rules(meta, real, meta.topological_order(), {}, False)
    dp = {"epsilon_total": 3.0, "delta_total": 1e-5, "tables": {"invoices": {}}, "not_covered": ["keys"]}
    result = measure_run(real, real, RunFacts(metadata=meta, differential_privacy=dp))
    across = [c for c in result.rules if c.rule in LOOKUPS | AGGREGATES]
    assert len(across) == 5 and not any(c.dp_covered or c.enabled for c in across)
    assert any("invoices: item_count = count(lines) via invoice_id" in n for n in result.notes)


def test_the_run_lists_rules_across_keys_and_writes_them_beside_the_yaml(tmp_path) -> None:
    from synthohive_dbt.pipeline.progress import NullReporter
    from synthohive_dbt.pipeline.rules import report_rules

    class Said(NullReporter):
        def __init__(self) -> None:
            self.lines: list[str] = []

        def step(self, message: str, **fields: object) -> None:
            self.lines.append(message)

    meta = invoice_metadata()
    learn_foreign_rules(meta, invoice_frames(), meta.topological_order(), {}, True)
    meta.tables["invoices"].switch_rule("item_count = count(lines) via invoice_id", enabled=False)
    said = Said()
    report_rules(meta, said, tmp_path / "rules.yml")
    assert ("rule invoices: item_count = count(lines) via invoice_id (learned across a foreign key: holds on all 171 "
            "real parents, 67 candidates tried) - OFF") in said.lines
    assert any(line.startswith("4 learned rule(s) across foreign keys written as singular dbt tests")
               for line in said.lines)
    assert sorted(p.name for p in (tmp_path / "rules_tests").iterdir()) == [
        "synthohive_invoices__billing_country.sql", "synthohive_invoices__billing_score.sql",
        "synthohive_invoices__max_quantity.sql", "synthohive_invoices__total.sql"]  # the one switched off is not


def test_first_and_latest_dates_of_the_children_are_learned_and_kept() -> None:
    """`customers.first_order = min(orders.ordered_at)`, `last_order = max(...)` (jaffle_shop's marts): learned on
    dates, computed from the synthetic orders, written back as dates; a customer without orders keeps nulls."""
    from synthohive_dbt.config import Metadata

    rng = np.random.default_rng(3)
    n = 120
    owner = rng.integers(1, n + 1, 400)
    orders = pd.DataFrame({"order_id": np.arange(1, 401), "customer_id": owner,
                           "ordered_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, 400),
                                                                                      unit="D"),
                           "amount": np.round(rng.uniform(5, 90, 400), 2)})
    per = orders.groupby("customer_id")["ordered_at"]
    customers = pd.DataFrame({"customer_id": np.arange(1, n + 1), "segment": rng.choice(["a", "b"], n)})
    customers["first_order"] = customers["customer_id"].map(per.min())
    customers["last_order"] = customers["customer_id"].map(per.max())
    meta = Metadata()
    meta.add_table("customers", pk="customer_id")
    meta.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    synth = Synthesizer(meta, backend="AR", model_kwargs={"hidden_dim": 8})
    synth.fit({"customers": customers, "orders": orders}, epochs=1, max_steps=5, batch_size=100, seed=3)
    rules = {r.expression for r in synth.metadata.tables["customers"].foreign_rules}
    assert {"first_order = min(orders.ordered_at) via customer_id",
            "last_order = max(orders.ordered_at) via customer_id"} <= rules, rules
    out = synth.sample(scale=1.5, seed=4)
    assert out["customers"]["first_order"].dtype.kind == "M"
    for rule in synth.metadata.tables["customers"].foreign_rules:
        judged, bad = foreign_violations(rule, synth.metadata, "customers", out)
        assert judged == len(out["customers"]) and bad == 0, rule.expression
    expect = out["orders"].groupby("customer_id")["ordered_at"].min()
    got = out["customers"].set_index("customer_id")["first_order"]
    assert got.loc[expect.index].eq(expect).all() and got.drop(expect.index).isna().all()
