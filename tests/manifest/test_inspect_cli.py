"""`synthohive inspect`: readable tables, the exact JSON contract, and clean errors (never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from synthohive_dbt.cli import cli
from tests.helpers.manifests import MANIFESTS, REPO, corpus_manifest


def test_inspect_text() -> None:
    result = CliRunner().invoke(cli, ["inspect", "--manifest", str(corpus_manifest("duckdb_analytics_kit"))],
                                env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.replace("│", " ").split()) for line in result.output.splitlines()]
    assert lines[0].endswith("manifest v12, dbt 1.10.23: 14 tables, 4 tests not modelled")
    assert "stg_order_items model order_item_id (unique + not_null) (order_id) -> stg_orders(order_id)" in lines
    assert "(product_id) -> stg_products(product_id)" in lines
    assert "stg_customers email not null" in lines
    assert ("test.dbt_duckdb_analytics_kit.validate_price_positive singular data test: its logic is SQL the "
            "reader does not interpret") in lines


def test_inspect_shows_accepted_values_literally() -> None:
    """Values in brackets are the project's text, not rich markup (they once vanished from the table)."""
    result = CliRunner().invoke(cli, ["inspect", "--manifest", str(corpus_manifest("jaffle_shop_classic"))],
                                env={"COLUMNS": "250"})
    lines = [" ".join(line.replace("│", " ").split()) for line in result.output.splitlines()]
    assert "orders status in [placed, shipped, completed, return_pending, returned]" in lines


def test_inspect_json_contract() -> None:
    result = CliRunner().invoke(cli, ["inspect", "--manifest", str(corpus_manifest("jaffle_shop_classic")),
                                      "--select", "orders", "customers", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert sorted(data["tables"]) == ["model.jaffle_shop.customers", "model.jaffle_shop.orders"]
    assert data["tables"]["model.jaffle_shop.orders"]["foreign_keys"] == [
        {"columns": ["customer_id"], "parent": "model.jaffle_shop.customers", "parent_columns": ["customer_id"]}]
    assert data["tables"]["model.jaffle_shop.customers"]["primary_key"] == ["customer_id"]
    assert data["tables"]["model.jaffle_shop.customers"]["columns"]["customer_id"] == {
        "not_null": True, "unique": True, "accepted_values": None, "min": None, "max": None, "data_type": None}
    assert data["not_modelled"] == []


def test_inspect_errors_are_one_message_and_exit_1(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["inspect", "--manifest", str(tmp_path / "manifest.json")])
    assert missing.exit_code == 1
    assert "error: manifest not found:" in missing.output and "run `dbt parse`" in missing.output
    assert "Traceback" not in missing.output
    bad = runner.invoke(cli, ["inspect", "--manifest", str(MANIFESTS / "v7.json"), "--json"])
    assert bad.exit_code == 1 and "manifest schema v7 is not supported" in bad.output
    outside = runner.invoke(cli, ["inspect", "--manifest", str(corpus_manifest("jaffle_shop_classic")),
                                  "--select", "orders"])
    assert outside.exit_code == 1
    assert "which is not in the selection" in outside.output and "--select orders customers" in outside.output
    stray = runner.invoke(cli, ["inspect", "--manifest", str(MANIFESTS / "v7.json"), "orders"])
    assert stray.exit_code == 2 and "table names go after --select" in stray.output


def test_inspect_as_a_real_process(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("synthohive")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "synthohive_dbt"]
    ok = subprocess.run([*command, "inspect", "--manifest", str(corpus_manifest("jaffle_shop_classic")), "--json"],
                        capture_output=True, text=True, timeout=120, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["tables"]["model.jaffle_shop.orders"]["primary_key"] == ["order_id"]
    bad = subprocess.run([*command, "inspect", "--manifest", str(MANIFESTS / "no_nodes.json")],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr.startswith("error: ") and "the manifest has no 'nodes' object" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 2


def test_inspect_lists_row_and_group_rules() -> None:
    manifest = str(corpus_manifest("dbt_utils_integration"))
    result = CliRunner().invoke(cli, ["inspect", "--manifest", manifest, "--no-values"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.replace("│", " ").split()) for line in result.output.splitlines()]
    assert any(line.startswith("data_test_expression_is_true col_a + col_b = 1 test.") and line.endswith(" yes")
               for line in lines)
    assert any(line.startswith("data_test_sequential_values my_even_sequence steps by 2 per col_a") for line in lines)
    contract = json.loads(CliRunner().invoke(cli, ["inspect", "--manifest", manifest, "--no-values", "--json"]).output)
    [table] = [t for t in contract["tables"].values() if t["name"] == "data_test_expression_is_true"]
    assert {r["rule"] for r in table["rules"]} >= {"col_a + col_b = 1"}
