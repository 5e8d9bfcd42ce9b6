"""`synthohive init`: the dbt package (package data) and the source() override, installed in one command."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from synthohive_dbt.cli import cli
from synthohive_dbt.errors import ProjectSetupError
from synthohive_dbt.pipeline.init_project import OVERRIDE_MACRO, dbt_package_dir, plan_init
from synthohive_dbt.pipeline.redirect import sources_at
from synthohive_dbt.io import Relation

REPO = Path(__file__).resolve().parents[2]
PROJECT = 'name: shop\nversion: "1.0"\nconfig-version: 2\nprofile: shop\n'


def _project(root: Path, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(PROJECT)
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _init(root: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["init", "--project-dir", str(root), *args])
    return res.exit_code, res.output


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_dbt_package_is_package_data_and_the_repo_root_points_at_it() -> None:
    package = dbt_package_dir()
    assert package == (REPO / "synthohive_dbt" / "dbt_package").resolve()  # the worktree's copy is imported
    assert sorted(p.name for p in (package / "macros").glob("*.sql")) == \
        ["emit_metadata.sql", "schema_lifecycle.sql", "source.sql"]
    shipped = yaml.safe_load((package / "dbt_project.yml").read_text())
    root = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    for key in ("name", "version", "require-dbt-version"):
        assert shipped[key] == root[key], key
    # one copy of the macros: the root package reads the shipped folder
    assert root["macro-paths"] == ["synthohive_dbt/dbt_package/macros"] and not (REPO / "macros").exists()
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"dbt_package/dbt_project.yml", "dbt_package/macros/*.sql"' in pyproject


def test_init_on_a_bare_project_shows_the_diff_then_writes_once(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop")
    before = _tree(root)
    code, out = _init(root, "--dry-run")
    assert code == 0, out
    assert "+++ b/packages.yml" in out and "+++ b/macros/synthohive_source.sql" in out
    assert f"+  - local: {dbt_package_dir().as_posix()}" in out and "dry run: nothing was changed" in out
    assert _tree(root) == before

    code, out = _init(root)
    assert code == 0, out
    assert "changed packages.yml, macros/synthohive_source.sql; next: `dbt deps`" in " ".join(out.split())
    assert yaml.safe_load((root / "packages.yml").read_text()) == \
        {"packages": [{"local": dbt_package_dir().as_posix()}]}
    assert (root / "macros" / "synthohive_source.sql").read_text() == OVERRIDE_MACRO

    after = _tree(root)
    code, out = _init(root)
    assert code == 0 and "is already set up for synthohive: nothing to change" in out
    assert "already installs the synthohive dbt package" in out and "already routes source()" in out
    assert _tree(root) == after


def test_an_existing_packages_yml_keeps_its_entries_comments_and_layout(tmp_path: Path) -> None:
    text = ("# pinned by the data team\npackages:\n    # utilities first\n    - package: dbt-labs/dbt_utils\n"
            "      version: [\">=1.0.0\", \"<2.0.0\"]\n    - local: ../shared_macros  # ours\n\n"
            "# end of the list\n")
    root = _project(tmp_path / "shop", {"packages.yml": text})
    plan = plan_init(root)
    assert [c.path.name for c in plan.changes] == ["packages.yml", "synthohive_source.sql"]
    after = plan.changes[0].after
    entry = f"    - local: {dbt_package_dir().as_posix()}\n"
    assert after == text.replace("  # ours\n", "  # ours\n" + entry)


@pytest.mark.parametrize("text", ["packages: []\n", "packages:\n", ""])
def test_an_empty_packages_list_gets_the_entry(tmp_path: Path, text: str) -> None:
    root = _project(tmp_path / "shop", {"packages.yml": text})
    after = plan_init(root).changes[0].after
    assert yaml.safe_load(after) == {"packages": [{"local": dbt_package_dir().as_posix()}]}


def test_a_one_line_packages_list_is_refused_with_the_line_to_add(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop", {"packages.yml": "packages: [{local: ../x}]\n"})
    with pytest.raises(ProjectSetupError, match=r"(?s)one-line list .* add this item by hand: - local: /"):
        plan_init(root)


def test_dependencies_yml_is_edited_when_it_lists_the_packages(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop",
                    {"dependencies.yml": "projects:\n  - name: core\npackages:\n  - local: ../x\n"})
    change = plan_init(root).changes[0]
    assert change.path.name == "dependencies.yml" and not (root / "packages.yml").exists()
    assert yaml.safe_load(change.after)["packages"] == [{"local": "../x"}, {"local": dbt_package_dir().as_posix()}]


def test_a_checkout_of_the_package_already_installed_is_left_alone(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop", {"packages.yml": f"packages:\n  - local: {REPO.as_posix()}\n"})
    plan = plan_init(root)
    assert [c.path.name for c in plan.changes] == ["synthohive_source.sql"]
    assert "another copy of it" in plan.notes[0]


def test_the_path_is_relative_when_the_package_lives_in_the_projects_repository(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    package = tmp_path / "repo" / ".venv" / "site-packages" / "synthohive_dbt" / "dbt_package"
    (package / "macros").mkdir(parents=True)
    (package / "dbt_project.yml").write_text("name: synthohive\n")
    root = _project(tmp_path / "repo" / "dbt")
    after = plan_init(root, package_dir=package).changes[0].after
    assert after == "packages:\n  - local: ../.venv/site-packages/synthohive_dbt/dbt_package\n"


def test_a_source_macro_the_user_wrote_is_never_replaced(tmp_path: Path) -> None:
    own = "{% macro source(source_name, table_name) %}\n  {{ return(builtins.source(source_name, table_name)) }}\n" \
          "{% endmacro %}\n"
    root = _project(tmp_path / "shop", {"macros/sources/mine.sql": own})
    before = _tree(root)
    code, out = _init(root)
    text = " ".join(out.split())
    assert code == 1
    assert "the project already defines its own source() macro (macros/sources/mine.sql)" in text
    assert "make that macro return synthohive.source(source_name, table_name)" in text
    assert _tree(root) == before


def test_a_file_of_the_same_name_is_not_overwritten(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop", {"macros/synthohive_source.sql": "{% macro other() %}{% endmacro %}\n"})
    with pytest.raises(ProjectSetupError, match="synthohive_source.sql exists and does not define source()"):
        plan_init(root)


def test_the_override_is_looked_for_in_the_projects_own_macro_paths(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop", {"dbt_project.yml": PROJECT + 'macro-paths: ["dbt_macros"]\n',
                                        "dbt_macros/route.sql": OVERRIDE_MACRO})
    plan = plan_init(root)
    assert [c.path.name for c in plan.changes] == ["packages.yml"]
    assert "dbt_macros/route.sql already routes source() to synthohive: left as it is" in plan.notes


def test_a_project_dir_without_dbt_project_yml_says_so(tmp_path: Path) -> None:
    code, out = _init(tmp_path)
    assert code == 1 and "holds no dbt_project.yml" in out and "pass --project-dir" in out


def test_mirror_mode_moves_every_source_at_a_synthesized_relation() -> None:
    manifest = {
        "sources": {"source.p.raw.orders": {"unique_id": "source.p.raw.orders", "resource_type": "source",
                                            "schema": "raw", "identifier": "orders", "name": "orders"},
                    "source.p.raw.users": {"unique_id": "source.p.raw.users", "resource_type": "source",
                                           "schema": "raw", "identifier": "users", "name": "users"}},
        "nodes": {"seed.p.orders": {"unique_id": "seed.p.orders", "resource_type": "seed", "schema": "RAW",
                                    "alias": "orders", "name": "orders"}},
    }
    assert sources_at(manifest, [Relation("raw", "ORDERS")], "synthetic") == {"source.p.raw.orders": "synthetic"}
