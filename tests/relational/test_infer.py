"""Foreign-key inference from the data: what is inferred, what is refused and why, and that the engine keeps
"every order has at least one payment" once the key is there (the jaffle-shop failure this fixes)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.config import Constraint, Metadata
from synthohive_dbt.errors import SchemaValidationError
from synthohive_dbt.pipeline.outcomes import summary_line, summary_record
from synthohive_dbt.pipeline.progress import NullReporter
from synthohive_dbt.pipeline.run import RunResult, TrainOptions, _infer_keys
from synthohive_dbt.relational.infer import apply_foreign_keys, infer_foreign_keys, infer_keys
from tests.helpers.tiny_shop import fit


def jaffle(seed: int = 0, n_customers: int = 60, n_orders: int = 80) -> dict[str, pd.DataFrame]:
    """The raw jaffle-shop shape: every order has 1..3 payments; no payment key is declared."""
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame({"id": np.arange(1, n_customers + 1),
                              "first_name": rng.choice(["Ann", "Bo", "Cy"], n_customers)})
    orders = pd.DataFrame({"id": np.arange(1, n_orders + 1),
                           "user_id": rng.integers(1, n_customers + 1, n_orders),
                           "status": rng.choice(["placed", "shipped", "completed"], n_orders)})
    per_order = rng.integers(1, 4, n_orders)
    order_id = np.repeat(orders["id"].to_numpy(), per_order)
    payments = pd.DataFrame({"id": np.arange(1, len(order_id) + 1), "order_id": order_id,
                             "payment_method": rng.choice(["card", "coupon"], len(order_id)),
                             "amount": rng.integers(1, 30, len(order_id))})
    return {"raw_customers": customers, "raw_orders": orders, "raw_payments": payments}


def jaffle_metadata(declare_user: bool = True) -> Metadata:
    meta = Metadata()
    meta.add_table("raw_customers", pk="id")
    meta.add_table("raw_orders", pk="id", fk={"user_id": "raw_customers.id"} if declare_user else None,
                   constraints={"status": Constraint(not_null=True)})
    meta.add_table("raw_payments", pk="id")
    return meta


# ------------------------------------------------------------------------------------------- positive
def test_order_id_is_inferred_with_numbers_and_evidence() -> None:
    frames = jaffle()
    found = infer_foreign_keys(frames, jaffle_metadata())
    assert [fk.label for fk in found] == ["raw_payments.order_id -> raw_orders.id"]
    fk = found[0]
    assert (fk.child_rows, fk.distinct, fk.parents_referenced, fk.parent_rows) == (len(frames["raw_payments"]),
                                                                                  80, 80, 80)
    assert fk.parent_coverage == 1.0
    assert fk.message() == (
        f"inferred foreign key raw_payments.order_id -> raw_orders.id: all 80 distinct values "
        f"({len(frames['raw_payments'])} rows) are keys of raw_orders; 80 of 80 parent keys (100%) have a child; "
        "evidence: column name 'order_id' names table 'raw_orders'")
    meta = apply_foreign_keys(jaffle_metadata(), found)
    assert [f.label for f in meta.tables["raw_payments"].fk] == ["(order_id) -> raw_orders(id)"]
    assert jaffle_metadata().tables["raw_payments"].fk == []  # the input is not changed


def test_same_key_name_string_keys_and_nulls() -> None:
    customers = pd.DataFrame({"customer_id": [f"C{i:03d}" for i in range(20)]})
    orders = pd.DataFrame({"order_key": range(30),
                           "customer_id": [f"C{i % 12:03d}" if i % 5 else None for i in range(30)]})
    meta = Metadata()
    meta.add_table("dim_customer", pk="customer_id")
    meta.add_table("fct_orders", pk="order_key")
    result = infer_keys({"dim_customer": customers, "fct_orders": orders}, meta)
    assert [fk.label for fk in result.inferred] == ["fct_orders.customer_id -> dim_customer.customer_id"]
    fk = result.inferred[0]
    assert (fk.child_rows, fk.distinct, fk.parents_referenced) == (24, 12, 12)
    assert "column name 'customer_id' is the key of 'dim_customer' and names that table" in fk.message()
    assert "12 of 20 parent keys (60%) have a child" in fk.message()


def test_declared_unique_column_is_a_parent_key_and_self_reference_is_allowed() -> None:
    cats = pd.DataFrame({"sk": range(10), "category_id": range(100, 110),
                         "parent_category_id": [None, None, 100, 100, 101, 101, 102, 103, 104, 105]})
    meta = Metadata()
    meta.add_table("categories", pk="sk", constraints={"category_id": Constraint(unique=True)})
    found = infer_foreign_keys({"categories": cats}, meta)
    assert [fk.label for fk in found] == ["categories.parent_category_id -> categories.category_id"]
    assert apply_foreign_keys(meta, found).topological_order() == ["categories"]


def test_same_layer_parent_wins_and_the_other_is_listed() -> None:
    orders = pd.DataFrame({"order_id": range(1, 21)})
    pay = pd.DataFrame({"payment_id": range(40), "order_id": np.arange(40) % 20 + 1})
    meta = Metadata()
    for name in ("orders", "stg_orders"):
        meta.add_table(name, pk="order_id")
    meta.add_table("stg_payments", pk="payment_id")
    result = infer_keys({"orders": orders, "stg_orders": orders.copy(), "stg_payments": pay}, meta)
    assert [fk.label for fk in result.inferred] == ["stg_payments.order_id -> stg_orders.order_id"]
    assert [s.message() for s in result.skipped] == [
        "not inferred: stg_payments.order_id -> orders.order_id: stg_orders.order_id is chosen instead "
        "(stronger name evidence, or the same layer as the child)"]


def test_source_system_prefix_and_fixture_suffix_are_weaker_evidence() -> None:
    """fivetran-style names: issue_id -> github_issue_data.id; issue_id -> issues.id would win over it."""
    issues = pd.DataFrame({"id": range(100, 120)})
    comments = pd.DataFrame({"id": range(30), "issue_id": np.arange(30) % 8 + 100})
    meta = Metadata()
    meta.add_table("github_issue_data", pk="id")
    meta.add_table("github_issue_comment_data", pk="id")
    found = infer_foreign_keys({"github_issue_data": issues, "github_issue_comment_data": comments}, meta)
    assert [(fk.label, fk.evidence) for fk in found] == [
        ("github_issue_comment_data.issue_id -> github_issue_data.id",
         "column name 'issue_id' ends the name of table 'github_issue_data'")]
    meta.add_table("issues", pk="id")
    result = infer_keys({"github_issue_data": issues, "github_issue_comment_data": comments,
                         "issues": issues.copy()}, meta)
    assert [fk.label for fk in result.inferred] == ["github_issue_comment_data.issue_id -> issues.id"]
    assert result.skipped[0].reason == ("issues.id is chosen instead (stronger name evidence, or the same layer "
                                        "as the child)")


def test_deterministic_whatever_the_order_of_tables_and_columns() -> None:
    frames = jaffle(seed=3)
    a = infer_keys(frames, jaffle_metadata())
    shuffled = {k: frames[k][list(reversed(frames[k].columns))] for k in reversed(list(frames))}
    b = infer_keys(shuffled, jaffle_metadata())
    assert a == b


# ------------------------------------------------------------------------------------ false positives
def test_unrelated_integer_columns_are_not_keys() -> None:
    """amount (1..29) and user_id fit inside payments.id / orders.id, but nothing in their names says so."""
    frames = jaffle()
    result = infer_keys(frames, jaffle_metadata(declare_user=False))
    labels = [fk.label for fk in result.inferred]
    assert labels == ["raw_payments.order_id -> raw_orders.id"]
    assert not any(s.column in ("amount", "user_id") for s in result.skipped)  # never even candidates


def test_user_id_needs_an_alias() -> None:
    frames = jaffle()
    found = infer_foreign_keys(frames, jaffle_metadata(declare_user=False), aliases={"user": "raw_customers"})
    assert [fk.label for fk in found] == ["raw_orders.user_id -> raw_customers.id",
                                          "raw_payments.order_id -> raw_orders.id"]
    assert found[0].evidence == "alias 'user' -> table 'raw_customers' given by the user"
    with pytest.raises(SchemaValidationError, match=r"(?s)aliases name table\(s\) \['users'\] that are not in the "
                                                    r"metadata.*fix: map a column stem"):
        infer_keys(frames, jaffle_metadata(), aliases={"user": "users"})


def test_partial_coverage_is_refused_with_the_numbers() -> None:
    frames = jaffle()
    orphan = pd.DataFrame({"id": [10_000], "order_id": [999], "payment_method": ["card"], "amount": [5]})
    frames["raw_payments"] = pd.concat([frames["raw_payments"], orphan], ignore_index=True)
    result = infer_keys(frames, jaffle_metadata())
    assert result.inferred == []
    assert [s.message() for s in result.skipped] == [
        "not inferred: raw_payments.order_id -> raw_orders.id: partial coverage: 80 of 81 distinct values "
        "(98.8%) are keys of raw_orders; missing e.g. [999] (with --max-rows, read all rows to check)"]


def test_too_few_values_and_type_clash_are_refused() -> None:
    orders = pd.DataFrame({"id": range(1, 11)})
    pay = pd.DataFrame({"id": range(6), "order_id": [1, 2, 1, 2, 1, 2]})
    notes = pd.DataFrame({"id": range(6), "order_id": [f"x{i}" for i in range(6)]})
    meta = Metadata()
    for name in ("orders", "payments", "notes"):
        meta.add_table(name, pk="id")
    result = infer_keys({"orders": orders, "payments": pay, "notes": notes}, meta)
    # a name that names the parent table needs no count of values; weaker evidence needs min_distinct
    assert [f.label for f in result.inferred] == ["payments.order_id -> orders.id"]
    assert sorted(s.message() for s in result.skipped) == [
        "not inferred: notes.order_id -> orders.id: the column holds text values but orders.id holds int values",
    ]
    orders2 = pd.DataFrame({"order_id": range(1, 11)})
    pay2 = pd.DataFrame({"id": range(6), "order_id": [1, 2, 1, 2, 1, 2]})
    meta2 = Metadata()
    meta2.add_table("orders_v2", pk="order_id")
    meta2.add_table("payments", pk="id")
    weak = infer_keys({"orders_v2": orders2, "payments": pay2}, meta2)  # same name only: needs 5 values
    assert weak.inferred == [] and any("fewer than 5" in s.message() for s in weak.skipped)


def test_float_values_and_non_unique_parents_are_not_keys() -> None:
    orders = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6, 6]})  # declared key, duplicated in the data
    pay = pd.DataFrame({"id": range(6), "order_id": [1, 2, 3, 4, 5, 6]})
    meta = Metadata()
    meta.add_table("orders", pk="id")
    meta.add_table("payments", pk="id")
    assert infer_keys({"orders": orders, "payments": pay}, meta).inferred == []
    orders = pd.DataFrame({"id": range(1, 11)})
    pay = pd.DataFrame({"id": range(6), "order_id": [1.5, 2, 3, 4, 5, 6]})
    assert infer_keys({"orders": orders, "payments": pay}, meta).skipped[0].reason == (
        "the column holds neither integers nor strings")
    pay["order_id"] = [1.0, 2, 3, 4, 5, None]  # integral floats (a nullable int read as float) are fine
    assert [f.label for f in infer_foreign_keys({"orders": orders, "payments": pay}, meta)] == [
        "payments.order_id -> orders.id"]


# ------------------------------------------------------------------------------- declared keys, cycles
def test_declared_foreign_key_wins() -> None:
    frames = jaffle()
    frames["stg_orders"] = frames["raw_orders"][["id"]].copy()
    meta = jaffle_metadata()
    meta.add_table("stg_orders", pk="id")
    meta.tables["raw_payments"].fk = [meta.tables["raw_orders"].fk[0].model_copy(
        update={"columns": ["order_id"], "parent": "stg_orders", "parent_columns": ["id"]})]
    assert infer_foreign_keys(frames, meta) == []  # a declared FK column is no candidate
    inferred = infer_foreign_keys(frames, jaffle_metadata())
    applied = apply_foreign_keys(meta, inferred)  # even when applied over a declared key
    assert [f.label for f in applied.tables["raw_payments"].fk] == ["(order_id) -> stg_orders(id)"]


def test_cycle_is_skipped_and_printed() -> None:
    teams = pd.DataFrame({"id": range(1, 11), "player_id": range(1, 11)})  # a captain, say
    players = pd.DataFrame({"id": range(1, 11), "team_id": range(1, 11)})
    meta = Metadata()
    meta.add_table("teams", pk="id")
    meta.add_table("players", pk="id", fk={"team_id": "teams.id"})
    result = infer_keys({"teams": teams, "players": players}, meta)
    assert result.inferred == []
    assert [s.message() for s in result.skipped] == [
        "not inferred: teams.player_id -> players.id: it would close a cycle of foreign keys "
        "(teams -> players -> teams, each references the next)"]


def test_undocumented_column_is_added_to_the_known_columns() -> None:
    frames = jaffle()
    meta = jaffle_metadata()
    meta.tables["raw_payments"].columns = ["id", "payment_method"]  # the manifest documents only some
    applied = apply_foreign_keys(meta, infer_foreign_keys(frames, meta))
    assert applied.tables["raw_payments"].columns == ["id", "payment_method", "order_id"]


# ---------------------------------------------------------------------------------- pipeline and engine
def test_pipeline_reports_every_inferred_key_and_the_flag_turns_it_off() -> None:
    steps: list[tuple[str, dict]] = []

    class Recorder(NullReporter):
        def step(self, message: str, **fields: object) -> None:
            steps.append((message, fields))

    frames = jaffle()
    tables = SimpleNamespace(metadata=jaffle_metadata())
    meta, inferred = _infer_keys(frames, tables, TrainOptions(), Recorder())  # type: ignore[arg-type]
    assert [f.label for f in meta.tables["raw_payments"].fk] == ["(order_id) -> raw_orders(id)"]
    assert steps[0][0].startswith("inferred foreign key raw_payments.order_id -> raw_orders.id: all 80")
    assert steps[0][1]["parent_coverage"] == 1.0 and steps[0][1]["column"] == "order_id"
    result = RunResult("sources", "synth", rows={"raw_payments": 3}, inferred_keys=inferred)
    assert summary_line(result).endswith(
        "; 1 inferred foreign key(s), review them: raw_payments.order_id -> raw_orders.id")
    assert summary_record(result)["inferred_keys"][0]["parent"] == "raw_orders"
    off_meta, off = _infer_keys(frames, tables, TrainOptions(infer_keys=False), Recorder())  # type: ignore[arg-type]
    assert off == [] and off_meta.tables["raw_payments"].fk == []


def test_engine_keeps_at_least_one_payment_per_order() -> None:
    """The cardinality model learns 'every order has 1..3 payments' through the inferred key."""
    frames = jaffle(n_orders=120)
    meta = apply_foreign_keys(jaffle_metadata(), infer_foreign_keys(frames, jaffle_metadata()))
    out = fit(meta, frames).sample(scale=1.0, seed=3, evaluate=False)
    orders, payments = out["raw_orders"], out["raw_payments"]
    per_order = payments.groupby("order_id").size().reindex(orders["id"], fill_value=0)
    assert len(orders) > 50
    assert per_order.min() == 1 and per_order.max() <= 3
    assert payments["order_id"].isin(orders["id"]).all()


def test_cli_offers_the_switch_on_seed_and_fit() -> None:
    from click.testing import CliRunner

    from synthohive_dbt.cli import cli

    for command in ("seed", "fit"):
        out = CliRunner().invoke(cli, [command, "--help"], terminal_width=200).output
        assert "--infer-keys / --no-infer-keys" in out
        assert "payments.order_id -> orders.id" in out
