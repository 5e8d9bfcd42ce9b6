"""Bad input: every case raises a ManifestError whose message says what, where, and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthohive_dbt.errors import ManifestError
from synthohive_dbt.manifest import read_manifest
from tests.helpers import manifest_builders as b
from tests.helpers.manifests import MANIFESTS, write_manifest


def test_missing_file_says_run_dbt_parse(tmp_path: Path) -> None:
    missing = tmp_path / "target" / "manifest.json"
    with pytest.raises(ManifestError) as info:
        read_manifest(missing)
    assert str(info.value) == (f"manifest not found: {missing}\n  fix: run `dbt parse` in the dbt project "
                               "(it writes target/manifest.json) and pass that path")


def test_a_project_directory_is_accepted_when_target_has_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    write_manifest(tmp_path / "target", b.manifest(b.model("a", ["id"])))
    assert list(read_manifest(tmp_path).metadata.tables) == ["a"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match="manifest not found: .*/empty/target/manifest.json\n  fix: run"):
        read_manifest(tmp_path / "empty")


def test_not_json() -> None:
    with pytest.raises(ManifestError, match=r"truncated.json is not valid JSON \(line 1, column \d+: .*\)\n"
                                            r"  fix: the file is truncated or not a manifest; run `dbt parse`"):
        read_manifest(MANIFESTS / "truncated.json")


def test_json_that_is_not_an_object() -> None:
    with pytest.raises(ManifestError, match="run_results.json: top level is a list, not a JSON object"):
        read_manifest(MANIFESTS / "run_results.json")


def test_unsupported_schema_version() -> None:
    with pytest.raises(ManifestError) as info:
        read_manifest(MANIFESTS / "v7.json")
    assert "v7.json: manifest schema v7 is not supported (supported: v10-v12, i.e. dbt 1.6-1.11)" in str(info.value)
    assert "fix: re-run `dbt parse` with dbt-core 1.6 to 1.11" in str(info.value)


def test_missing_schema_version() -> None:
    with pytest.raises(ManifestError, match=r"no_version.json: metadata.dbt_schema_version is missing or not a "
                                            r"manifest schema URL \(found None\)"):
        read_manifest(MANIFESTS / "no_version.json")


def test_missing_nodes() -> None:
    with pytest.raises(ManifestError, match=r"no_nodes.json: the manifest has no 'nodes' object \(found NoneType\)"
                                            r"; it is broken.*\n  fix: run `dbt parse`"):
        read_manifest(MANIFESTS / "no_nodes.json")


def test_node_that_is_not_an_object(tmp_path: Path) -> None:
    raw = b.manifest(b.model("a"))
    raw["nodes"]["model.proj.b"] = ["not", "a", "node"]
    with pytest.raises(ManifestError, match=r"nodes\['model.proj.b'\] is a list, not an object"):
        read_manifest(write_manifest(tmp_path, raw))


def test_relationship_to_a_table_outside_the_selection(tmp_path: Path) -> None:
    parent, child = b.model("customers", ["id"]), b.model("orders", ["id", "customer_id"])
    rel = b.test("relationships_orders_customer_id", "relationships", child,
                 {"column_name": "customer_id", "to": "ref('customers')", "field": "id"},
                 deps=[parent["unique_id"], child["unique_id"]])
    path = write_manifest(tmp_path, b.manifest(parent, child, rel))
    with pytest.raises(ManifestError) as info:
        read_manifest(path, select=["orders"])
    assert str(info.value) == (
        "test test.proj.relationships_orders_customer_id: table 'orders' (model.proj.orders) has a foreign key "
        "(customer_id) to model.proj.customers (id), which is not in the selection\n"
        "  fix: add 'customers' to the selection (e.g. --select orders customers), or remove the selection to "
        "read every model, seed and source")
    assert [fk.label for fk in read_manifest(path, select=["orders", "customers"]).metadata.tables["orders"].fk] \
        == ["(customer_id) -> customers(id)"]


def test_relationship_to_an_unselected_snapshot_when_reading_everything(tmp_path: Path) -> None:
    snap = b.model("customer_history", ["id"], resource_type="snapshot")
    child = b.model("orders", ["customer_id"])
    rel = b.test("rel_snap", "relationships", child, {"column_name": "customer_id",
                                                     "to": "ref('customer_history')", "field": "id"},
                 deps=[snap["unique_id"], child["unique_id"]])
    with pytest.raises(ManifestError, match=r"fix: snapshot.proj.customer_history is a snapshot, read only when "
                                            r"selected: select it together with the tables you want"):
        read_manifest(write_manifest(tmp_path, b.manifest(snap, child, rel)))


def test_empty_selection(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="the selection is empty\n  fix: name at least one model"):
        read_manifest(write_manifest(tmp_path, b.manifest(b.model("a"))), select=[" , "])
