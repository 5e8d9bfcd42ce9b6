"""The command line: `inspect` lists what will be faked and why (values read through the profile), the
`--not-pii` / `--keep-real` flags, and failing tests on faked columns that say how to unmark them."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.dbt import DbtResult, Outcome
from synthohive_dbt.pipeline.run import RunResult, TrainOptions, _explain_faked_failures
from synthohive_dbt.privacy.detect import PiiFinding
from tests.helpers.profiles import profiles_yml
from tests.helpers.manifest_builders import column, manifest, model
from tests.helpers.manifest_builders import test as dbt_test

PEOPLE = ["Veronica Parrish", "anna-maria o'neil", "John Smith", "Mary Johnson", "Robert Brown", "Linda Davis",
          "James Miller", "Patricia Wilson", "Michael Moore", "Barbara Taylor"]
LABELS = ["bug", "enhancement", "good-first-issue", "question", "wontfix", "duplicate", "help wanted"]


def _project(tmp_path: Path) -> Path:
    """A dbt project with a DuckDB file: customers (people), labels (a lookup), currencies (reference)."""
    project = tmp_path / "proj"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: proj\nprofile: proj\nversion: '1.0'\n")
    (project / "profiles.yml").write_text(profiles_yml("proj", str(project / "warehouse.duckdb")))
    con = duckdb.connect(str(project / "warehouse.duckdb"))
    con.execute("create table customers (customer_id int, name varchar, nickname varchar, password varchar)")
    con.executemany("insert into customers values (?, ?, ?, ?)",
                    [(i, p, p.split()[0], f"{i:064x}") for i, p in enumerate(PEOPLE)])
    con.execute("create table labels (label_id int, name varchar)")
    con.executemany("insert into labels values (?, ?)", list(enumerate(LABELS * 3)))
    con.execute("create table currencies (code varchar, name varchar)")
    con.executemany("insert into currencies values (?, ?)", [("EUR", "Euro"), ("USD", "US Dollar")])
    con.close()
    customers = model("customers", ["customer_id", "name", "nickname", "password"])
    customers["columns"]["nickname"] = column("nickname", meta={"pii": False})
    labels = model("labels", ["label_id", "name"])
    currencies = model("currencies", ["code", "name"], config={"enabled": True, "materialized": "table",
                                                                "meta": {"synthohive": {"keep_real": True}}})
    nodes = [customers, labels, currencies,
             dbt_test("unique_customers_customer_id", "unique", customers, {"column_name": "customer_id"}),
             dbt_test("unique_labels_label_id", "unique", labels, {"column_name": "label_id"})]
    (project / "target" / "manifest.json").write_text(json.dumps(manifest(*nodes)))
    return project


def test_inspect_lists_what_is_faked_and_why(tmp_path: Path) -> None:
    project = _project(tmp_path)
    result = CliRunner().invoke(cli, ["inspect", "--manifest", str(project / "target" / "manifest.json"), "--json",
                                      "--not-pii", "customers.password"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    got = {(d["table"], d["column"]): (d["faked"], d["kind"], d["source"]) for d in data["pii"]}
    assert got[("customers", "name")] == (True, "person_name", "name+values")  # a customers table, and people
    assert got[("customers", "nickname")] == (False, None, "not_pii")  # meta: {pii: false}
    assert got[("customers", "password")] == (False, None, "not_pii")  # --not-pii beats the secret rule
    assert got[("labels", "name")] == (False, None, "values_disagree")  # labels, not people
    assert any("kept real" in n and "currencies" in n for n in data["pii_notes"])


def test_inspect_without_values_says_so_and_renders_a_table(tmp_path: Path) -> None:
    project = _project(tmp_path)
    result = CliRunner().invoke(cli, ["inspect", "--manifest", str(project / "target" / "manifest.json"),
                                      "--no-values"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "personal data: faked or kept, and why" in result.output
    assert "faked as secret" in result.output  # customers.password: a secret by default
    assert "values not read" in result.output


def test_inspect_refuses_an_unknown_table_in_a_flag(tmp_path: Path) -> None:
    project = _project(tmp_path)
    result = CliRunner().invoke(cli, ["inspect", "--manifest", str(project / "target" / "manifest.json"),
                                      "--keep-real", "countries"])
    assert result.exit_code == 1
    assert "--keep-real names table 'countries'" in result.output and "fix:" in result.output
    assert "Traceback" not in result.output


def test_seed_and_fit_take_the_declaration_flags() -> None:
    for command in ("seed", "fit"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert "--not-pii TABLE.COLUMN" in result.output and "--keep-real TABLE" in result.output
    assert TrainOptions(not_pii=("a.b",), keep_real=("c",)).keep_real == ("c",)


def test_a_failing_test_on_a_faked_column_says_how_to_unmark_it(tmp_path: Path) -> None:
    from synthohive_dbt.pipeline.project import ProjectTables, SyntheticTable
    from synthohive_dbt.io import Relation
    from synthohive_dbt.manifest import read_manifest

    project = _project(tmp_path)
    path = project / "target" / "manifest.json"
    raw = json.loads(path.read_text())
    read = read_manifest(path)
    tables = ProjectTables("mirror", read, {"labels": SyntheticTable(
        "labels", "model.proj.labels", "model", Relation("main", "labels"), "labels")}, path, raw)
    failed = Outcome("test.proj.accepted_values_labels_name", "accepted_values_labels_name", "test", "fail", 3,
                     "Got 3 results")
    raw["nodes"][failed.unique_id] = dbt_test("accepted_values_labels_name", "accepted_values",
                                          raw["nodes"]["model.proj.labels"], {"column_name": "name"})
    passed = Outcome("test.proj.unique_labels_label_id", "unique_labels_label_id", "test", "pass", 0, None)
    result = RunResult("mirror", "synthetic", dbt=DbtResult(["test"], False, [failed, passed]))
    finding = PiiFinding("labels", "name", "person_name", 0.5, "column is called 'name'", "name")
    _explain_faked_failures(result, tables, [finding])
    message = result.dbt.outcomes[0].message  # type: ignore[union-attr]
    assert message.startswith("Got 3 results; labels.name was replaced by fakes")
    assert "meta: {pii: false}" in message and "--not-pii labels.name" in message
    assert result.dbt.outcomes[1] == passed  # type: ignore[union-attr]
