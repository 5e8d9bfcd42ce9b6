"""The import contract: the layers of `synthohive_dbt`, top to bottom, checked over the AST of every module.

A module imports only from layers below its own (function-level imports and `importlib` strings count:
a lazy import is still a dependency). Siblings on one layer do not import each other unless
`ALLOWED_SIBLINGS` says so. Beside the layers: torch only in `models/`, SQLAlchemy and PySpark only in `io/`,
dbt-core and subprocesses only in `dbt/`, no SQL-dialect branch outside `io/warehouses/` (the known
offenders are listed, and the list may only shrink), and no dtype question (`pd.api.types`) outside `kinds.py`.
The README's development section draws `LAYERS`.
"""

from __future__ import annotations

import ast
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "synthohive_dbt"
ROOT = "(root)"  # synthohive_dbt/__init__.py: the public API, imported lazily by name

# top to bottom; a unit is a top-level module or subpackage of synthohive_dbt
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli", "__main__", ROOT),
    ("pipeline",),
    ("report", "dbt"),
    ("relational",),
    ("models", "privacy", "io", "manifest"),
    ("transform", "rules"),
    ("config",),
    ("graph", "seeds", "kinds", "metrics", "processes", "quiet"),
    ("errors",),
)

# (importer, imported) on one layer, each with the reason the code needs it
ALLOWED_SIBLINGS: dict[tuple[str, str], str] = {
    ("cli", ROOT): "the CLI prints the package's __version__",
    ("__main__", "cli"): "`python -m synthohive_dbt` is the CLI",
}

# names any layer may import from the package root: plain facts, not the API (the root imports only config
# and errors eagerly, so reading them pulls in nothing from above)
ROOT_FACTS = {"__version__"}

# third-party modules that belong to one unit: (module prefixes, units allowed, why)
CONFINED: tuple[tuple[tuple[str, ...], frozenset[str], str], ...] = (
    (("torch", "opacus", "safetensors.torch"), frozenset({"models"}), "torch lives in models/"),
    (("sqlalchemy",), frozenset({"io"}), "warehouses are reached through io/"),
    (("pyspark",), frozenset({"io"}), "Spark is one more source behind io/"),
    (("dbt", "subprocess"), frozenset({"dbt"}), "dbt (dbtRunner) and processes run from dbt/"),
)

# known exceptions to CONFINED, as (file, imported module): each one a TODO for the file's owner
CONFINED_EXCEPTIONS: dict[tuple[str, str], str] = {}

# SQL-dialect branches belong in io/warehouses/ (one module per warehouse behind one interface)
DIALECT_BRANCH = re.compile(r"\.dialect\.name\b|\bdialect(?:_of\([^)]*\))?\s*(?:==|!=|(?:not\s+)?in\s*[(\[{])")
DIALECT_HOME = "io/warehouses/"
DIALECT_OFFENDERS: dict[str, int] = {}  # none left: a new branch outside io/warehouses/ fails the contract

# what kind of values a column holds is asked of kinds.py (one vocabulary), never of pandas directly
DTYPE_QUESTION = re.compile(r"\bapi\.types\b|\bpandas\.api\b|\bis_\w+_dtype\b|\binfer_dtype\b")
DTYPE_HOME = "kinds.py"
DTYPE_OFFENDERS: dict[str, int] = {}  # none: a new pd.api.types call outside kinds.py fails the contract


@dataclass(frozen=True)
class Edge:
    """One import: who (file and unit), what module, and on which line."""

    file: str  # relative to the package
    line: int
    unit: str
    module: str  # absolute dotted name
    names: tuple[str, ...] = ()  # for `from X import a, b`


def layer_of(unit: str) -> int | None:
    return next((i for i, units in enumerate(LAYERS) if unit in units), None)


def unit_of(module: str) -> str | None:
    """The layer unit of an absolute module name inside the package (None outside it)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    return ROOT if len(parts) == 1 else parts[1]


def _units(path: Path, package_dir: Path) -> tuple[str, str]:
    """(unit, dotted package of the file) for a file of the package."""
    rel = path.relative_to(package_dir)
    unit = ROOT if rel.name == "__init__.py" and len(rel.parts) == 1 else rel.parts[0].removesuffix(".py")
    package = ".".join([PACKAGE, *rel.parts[:-1]])
    return unit, package


def imports(package_dir: Path) -> Iterator[Edge]:
    """Every import of every module: statements (at any depth) and module paths named in strings."""
    for path in sorted(package_dir.rglob("*.py")):
        unit, package = _units(path, package_dir)
        file = path.relative_to(package_dir).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Edge(file, node.lineno, unit, alias.name)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                names = tuple(a.name for a in node.names)
                # `from synthohive_dbt import pipeline` imports the submodule, not the root
                subs = [n for n in names if (package_dir.joinpath(*module.split(".")[1:], n)).is_dir()
                        or package_dir.joinpath(*module.split(".")[1:], f"{n}.py").is_file()]
                for sub in subs:
                    yield Edge(file, node.lineno, unit, f"{module}.{sub}")
                rest = tuple(n for n in names if n not in subs)
                if rest or not subs:
                    yield Edge(file, node.lineno, unit, module, rest)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(rf"{PACKAGE}(\.\w+)+", node.value):
                yield Edge(file, node.lineno, unit, node.value)  # importlib.import_module(<this string>)


def layer_violations(package_dir: Path, edges: list[Edge]) -> list[str]:
    """Every import that breaks the layers, as 'file:line: message'."""
    problems: list[str] = []
    for path in sorted(package_dir.rglob("*.py")):
        unit, _ = _units(path, package_dir)
        if layer_of(unit) is None:
            problems.append(f"{path.relative_to(package_dir)}: {unit!r} is on no layer of the contract")
    for e in edges:
        target = unit_of(e.module)
        if target is None or target == e.unit:
            continue
        if target == ROOT and e.names and set(e.names) <= ROOT_FACTS:
            continue
        mine, theirs = layer_of(e.unit), layer_of(target)
        if mine is None or theirs is None:
            continue  # reported above, or a module that does not exist
        if theirs > mine or (e.unit, target) in ALLOWED_SIBLINGS:
            continue
        where = "a sibling on its own layer" if theirs == mine else "a layer above it"
        problems.append(f"{e.file}:{e.line}: {e.unit} imports {e.module} ({target}: {where})")
    return problems


def confinement_violations(edges: list[Edge]) -> list[str]:
    """Third-party imports outside the unit they belong to, and exceptions that are no longer needed."""
    problems: list[str] = []
    used: set[tuple[str, str]] = set()
    for e in edges:
        for prefixes, units, why in CONFINED:
            hit = next((p for p in prefixes if e.module == p or e.module.startswith(p + ".")), None)
            if hit is None or e.unit in units:
                continue
            if (e.file, hit) in CONFINED_EXCEPTIONS:
                used.add((e.file, hit))
                continue
            problems.append(f"{e.file}:{e.line}: imports {e.module}, but {why}")
    problems += [f"{f}: listed as importing {m} but no longer does: remove it from CONFINED_EXCEPTIONS"
                 for f, m in sorted(set(CONFINED_EXCEPTIONS) - used)]
    return problems


def matching_lines(package_dir: Path, pattern: re.Pattern[str], home: str) -> dict[str, int]:
    """File -> number of code lines (comments left out) that match `pattern`, outside the files under `home`."""
    found: dict[str, int] = {}
    for path in sorted(package_dir.rglob("*.py")):
        file = path.relative_to(package_dir).as_posix()
        if file.startswith(home):
            continue
        n = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if pattern.search(line.split("#", 1)[0]))
        if n:
            found[file] = n
    return found


def counted_violations(found: dict[str, int], offenders: dict[str, int], what: str, fix: str,
                       table: str) -> list[str]:
    """Files with more matching lines than `offenders` allows, and offenders whose count can be lowered."""
    problems = [f"{f}: {n} {what} (allowed: {offenders.get(f, 0)}); {fix}" for f, n in found.items()
                if n > offenders.get(f, 0)]
    problems += [f"{f}: down to {found.get(f, 0)} {what}: lower {table} to match"
                 for f, n in offenders.items() if found.get(f, 0) < n]
    return problems


def dialect_branches(package_dir: Path) -> dict[str, int]:
    """File -> number of lines that branch on the SQL dialect, outside io/warehouses/."""
    return matching_lines(package_dir, DIALECT_BRANCH, DIALECT_HOME)


def dialect_violations(package_dir: Path) -> list[str]:
    return counted_violations(dialect_branches(package_dir), DIALECT_OFFENDERS,
                              f"dialect branch(es) outside {DIALECT_HOME}",
                              "put the difference behind the warehouse interface", "DIALECT_OFFENDERS")


def dtype_violations(package_dir: Path) -> list[str]:
    """Lines that ask pandas about a dtype themselves, outside kinds.py."""
    return counted_violations(matching_lines(package_dir, DTYPE_QUESTION, DTYPE_HOME), DTYPE_OFFENDERS,
                              "line(s) ask pandas about dtypes",
                              f"ask {DTYPE_HOME} (kind_of, dtype_kind, is_numeric, ...)", "DTYPE_OFFENDERS")


def contract_violations(package_dir: Path) -> list[str]:
    edges = list(imports(package_dir))
    return (layer_violations(package_dir, edges) + confinement_violations(edges) + dialect_violations(package_dir)
            + dtype_violations(package_dir))


def draw(layers: tuple[tuple[str, ...], ...] = LAYERS) -> str:
    """The layers as the README draws them, top to bottom."""
    rows = [" | ".join("synthohive_dbt (root)" if u == ROOT else u for u in units) for units in layers]
    return "\n  v\n".join(rows)


# ------------------------------------------------------------------------------------------------- tests
def test_the_package_keeps_the_contract() -> None:
    assert contract_violations(REPO / PACKAGE) == []


def test_the_contract_names_only_modules_it_can_check() -> None:
    units = {u for layer in LAYERS for u in layer}
    assert len(units) == sum(len(layer) for layer in LAYERS), "a unit is on two layers"
    for a, b in ALLOWED_SIBLINGS:
        assert layer_of(a) == layer_of(b) is not None, (a, b)


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    copy = tmp_path / PACKAGE
    shutil.copytree(REPO / PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_an_engine_module_that_imports_the_report_breaks_the_contract(planted: Path) -> None:
    (planted / "relational" / "planted.py").write_text(
        "def gate(result):\n    from synthohive_dbt.report.gates import check_gates\n    check_gates(result)\n")
    assert contract_violations(planted) == [
        "relational/planted.py:2: relational imports synthohive_dbt.report.gates (report: a layer above it)"]


def test_siblings_strings_and_relative_imports_count(planted: Path) -> None:
    (planted / "models" / "planted.py").write_text(
        "import importlib\nfrom ..io import warehouse\n"
        "CLASS = importlib.import_module('synthohive_dbt.relational.keys')\n")
    assert contract_violations(planted) == [
        "models/planted.py:2: models imports synthohive_dbt.io.warehouse (io: a sibling on its own layer)",
        "models/planted.py:3: models imports synthohive_dbt.relational.keys (relational: a layer above it)"]


def test_torch_sqlalchemy_and_dialect_branches_stay_home(planted: Path) -> None:
    (planted / "report" / "planted.py").write_text(
        "import sqlalchemy as sa\nfrom torch import nn\n\n\n"
        "def pick(engine):\n    return 1 if engine.dialect.name == 'duckdb' else 2\n")
    (planted / "planted.py").write_text("X = 1\n")
    assert contract_violations(planted) == [
        "planted.py: 'planted' is on no layer of the contract",
        "report/planted.py:1: imports sqlalchemy, but warehouses are reached through io/",
        "report/planted.py:2: imports torch, but torch lives in models/",
        "report/planted.py: 1 dialect branch(es) outside io/warehouses/ (allowed: 0); put the difference behind "
        "the warehouse interface"]


def test_dtype_questions_go_to_kinds(planted: Path) -> None:
    (planted / "report" / "planted.py").write_text(
        "import pandas as pd\nfrom pandas.api.types import is_bool_dtype\n\n\n"
        "def numeric(s):\n    return pd.api.types.is_numeric_dtype(s)  # not here\n")
    assert contract_violations(planted) == [
        "report/planted.py: 2 line(s) ask pandas about dtypes (allowed: 0); ask kinds.py (kind_of, dtype_kind, "
        "is_numeric, ...)"]


def test_the_readme_draws_the_layers_of_the_contract() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert draw() in readme, "README.md (Development) must draw the layers as LAYERS has them:\n" + draw()
