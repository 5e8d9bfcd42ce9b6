"""`synthohive init`: install the synthohive dbt package and the source() override into a dbt project.

Two edits, planned first and shown as a diff, written only when asked (never with `--dry-run`):

- packages.yml (or dependencies.yml when that is where the project lists its packages) gets
  `- local: <the dbt package shipped inside this Python package>`, so `dbt deps` installs it offline. The
  entry is added as text after the last existing one, so the file's comments and formatting stay; the result
  is re-read as YAML and must equal the old list plus the new entry, or nothing is written.
- `<first macro path>/synthohive_source.sql` routes dbt's builtin source() through `synthohive.source`,
  which only moves a source's schema when `var('synthohive_schema')` is set. A package cannot override a
  builtin, so this one macro must live in the user's project; sources mode needs it (mirror mode does not).

A project that already has both is left alone ("nothing to change"); a source() macro the user wrote is never
overwritten: the run refuses, naming the file and the fix.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from synthohive_dbt.errors import ProjectSetupError

PACKAGE_NAME = "synthohive"
OVERRIDE_FILE = "synthohive_source.sql"
OVERRIDE_MACRO = """{#- Added by `synthohive init`. dbt's source() goes through the synthohive package, which calls the
    builtin first and moves only the schema, and only when var('synthohive_schema') is set (synthohive runs,
    or `dbt build --vars '{synthohive_schema: synthetic}'`). Without the var nothing changes. -#}
{% macro source(source_name, table_name) %}
  {{ return(synthohive.source(source_name, table_name)) }}
{% endmacro %}
"""
_SOURCE_MACRO = re.compile(r"\{%-?\s*macro\s+source\s*\(")
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9_./\\:~-]+$")


def dbt_package_dir() -> Path:
    """The dbt package `synthohive` inside the installed Python package (package data: dbt_project.yml, macros/)."""
    path = Path(str(resources.files("synthohive_dbt") / "dbt_package")).resolve()
    if not (path / "dbt_project.yml").is_file() or not (path / "macros").is_dir():
        raise ProjectSetupError(
            f"the dbt package is missing from the installed synthohive_dbt at {path}",
            hint="reinstall synthohive-dbt (`pip install --force-reinstall synthohive-dbt`); a build that "
                 "drops package data lacks dbt_package/dbt_project.yml and dbt_package/macros/")
    return path


@dataclass(frozen=True)
class FileChange:
    """One file `init` writes: its text before (None: a new file) and after."""

    path: Path
    before: str | None
    after: str

    def diff(self, root: Path) -> str:
        name = self.path.relative_to(root).as_posix() if self.path.is_relative_to(root) else str(self.path)
        return "".join(difflib.unified_diff(
            (self.before or "").splitlines(keepends=True), self.after.splitlines(keepends=True),
            fromfile="/dev/null" if self.before is None else f"a/{name}", tofile=f"b/{name}"))


@dataclass
class InitPlan:
    """What `init` would change in one project, and what it found already in place (`notes`)."""

    project_dir: Path
    changes: list[FileChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def diff(self) -> str:
        return "".join(c.diff(self.project_dir) for c in self.changes)

    def apply(self) -> list[Path]:
        """Write every change (each through a temp file and a rename, so a crash leaves old or new, never half)."""
        for change in self.changes:
            change.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = change.path.with_name(f".{change.path.name}.synthohive-init.tmp")
            tmp.write_text(change.after, encoding="utf-8")
            os.replace(tmp, change.path)
        return [c.path for c in self.changes]


def plan_init(project_dir: str | Path, *, package_dir: Path | None = None) -> InitPlan:
    """The edits that install the synthohive dbt package and the source() override; changes nothing on disk."""
    root = Path(project_dir).resolve()
    project_file = root / "dbt_project.yml"
    if not project_file.is_file():
        raise ProjectSetupError(f"{root} holds no dbt_project.yml",
                                hint="pass --project-dir pointing at your dbt project")
    package = (package_dir or dbt_package_dir()).resolve()
    config = _load_yaml(project_file)
    if not isinstance(config, dict):
        raise ProjectSetupError(f"{project_file} is not a YAML mapping", hint="fix dbt_project.yml (`dbt parse`)")
    plan = InitPlan(root)
    _plan_package(plan, root, package)
    _plan_override(plan, root, config)
    return plan


# ------------------------------------------------------------------------------------------------ packages.yml
def _plan_package(plan: InitPlan, root: Path, package: Path) -> None:
    path = _packages_file(root)
    text = path.read_text(encoding="utf-8") if path.is_file() else None
    data = _load_yaml(path) if text is not None else None
    if data is not None and not isinstance(data, dict):
        raise ProjectSetupError(f"{path} is not a YAML mapping with a `packages:` list",
                                hint=f"fix {path.name} (see https://docs.getdbt.com/docs/build/packages)")
    entries = (data or {}).get("packages") or []
    if not isinstance(entries, list):
        raise ProjectSetupError(f"`packages:` in {path} is not a list", hint=f"fix {path.name}")
    for entry in entries:
        found = _installed_by(entry, root, package)
        if found:
            plan.notes.append(f"{path.name} already installs the synthohive dbt package ({found}): left as it is")
            return
    value = _package_path(root, package)
    if not value.startswith("."):
        plan.notes.append(f"{path.name} names the package by its absolute path (synthohive is installed outside "
                          "this project's repository), so the entry holds on this machine only: rerun "
                          "`synthohive init` after moving the virtual environment, or on another machine")
    after = _with_entry(text or "", f"local: {_yaml_scalar(value)}", path)
    check = (yaml.safe_load(after) or {}).get("packages")
    if check != [*entries, {"local": value}]:
        raise ProjectSetupError(
            f"could not add the synthohive package to {path} without changing its other entries",
            hint=f"add this item to its `packages:` list by hand: - local: {_yaml_scalar(value)}")
    plan.changes.append(FileChange(path, text, after))


def _packages_file(root: Path) -> Path:
    """packages.yml, unless the project lists its packages in dependencies.yml (dbt refuses both)."""
    packages, dependencies = root / "packages.yml", root / "dependencies.yml"
    if not packages.is_file() and dependencies.is_file():
        data = _load_yaml(dependencies)
        if isinstance(data, dict) and "packages" in data:
            return dependencies
    return packages


def _installed_by(entry: Any, root: Path, package: Path) -> str | None:
    """How `entry` already installs a synthohive dbt package (None: it does not)."""
    if not isinstance(entry, dict):
        return None
    local = entry.get("local")
    if isinstance(local, str) and "{{" not in local:
        where = (root / local).resolve()
        if where == package:
            return f"local: {local}"
        if _project_name(where / "dbt_project.yml") == PACKAGE_NAME:
            return f"local: {local}, another copy of it"
    for key in ("git", "package", "tarball"):
        value = entry.get(key)
        if isinstance(value, str) and PACKAGE_NAME in value.lower():
            return f"{key}: {value}"
    return None


def _project_name(path: Path) -> str | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return data.get("name") if isinstance(data, dict) else None


def _package_path(root: Path, package: Path) -> str:
    """Relative to the project when both live in one repository (a project-local venv), else absolute."""
    anchor = next((p for p in (root, *root.parents) if (p / ".git").exists()), root)
    if package.is_relative_to(anchor):
        rel = Path(os.path.relpath(package, root)).as_posix()
        return rel if rel.startswith(".") else f"./{rel}"
    return package.as_posix()


def _yaml_scalar(value: str) -> str:
    return value if _PLAIN_PATH.match(value) else json.dumps(value)


def _with_entry(text: str, entry: str, path: Path) -> str:
    """`text` with `- entry` appended to its top-level block list `packages:` (created when absent)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    head = next((i for i, line in enumerate(lines) if re.match(r"packages\s*:", line)), None)
    if head is None:
        return "".join(lines) + f"packages:\n  - {entry}\n"
    value = lines[head].split(":", 1)[1].split("#", 1)[0].strip()
    if value in ("[]", "null", "~"):
        lines[head] = f"packages:\n  - {entry}\n"
        return "".join(lines)
    if value:
        raise ProjectSetupError(
            f"{path} writes `packages:` as a one-line list ({value[:40]}), which init does not rewrite",
            hint=f"write it as a block list (one `- ...` per line) or add this item by hand: - {entry}")
    last, indent = head, None
    for i in range(head + 1, len(lines)):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            continue
        depth = len(lines[i]) - len(lines[i].lstrip(" "))
        if depth == 0 and (not stripped.startswith("-") or stripped.startswith("---")):
            break  # the next top-level key or document
        if indent is None and stripped.startswith("-"):
            indent = depth
        last = i
    lines.insert(last + 1, f"{' ' * (2 if indent is None else indent)}- {entry}\n")
    return "".join(lines)


# ------------------------------------------------------------------------------------------------ source()
def _plan_override(plan: InitPlan, root: Path, config: dict[str, Any]) -> None:
    macro_paths = _paths(config, "macro-paths", "macros")
    scanned = [*macro_paths, *_paths(config, "test-paths", "tests")]
    defining = sorted({f for d in scanned for f in _sql_files(root / d)
                       if _SOURCE_MACRO.search(f.read_text(encoding="utf-8", errors="replace"))})
    ours = [f for f in defining if "synthohive.source(" in f.read_text(encoding="utf-8", errors="replace")]
    if ours:
        plan.notes.append(f"{ours[0].relative_to(root)} already routes source() to synthohive: left as it is")
        return
    if defining:
        files = ", ".join(str(f.relative_to(root)) for f in defining)
        raise ProjectSetupError(
            f"the project already defines its own source() macro ({files}); init will not replace it",
            hint="make that macro return synthohive.source(source_name, table_name) (it calls "
                 "builtins.source first and moves the schema only when var('synthohive_schema') is set), "
                 "or move your logic there and delete the file; then rerun `synthohive init`. Mirror mode "
                 "works without it")
    target = root / macro_paths[0] / OVERRIDE_FILE
    if target.exists():
        raise ProjectSetupError(f"{target.relative_to(root)} exists and does not define source()",
                                hint=f"rename that file, or add this macro to it by hand:\n{OVERRIDE_MACRO}")
    plan.changes.append(FileChange(target, None, OVERRIDE_MACRO))


def _paths(config: dict[str, Any], key: str, default: str) -> list[str]:
    value = config.get(key) or [default]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProjectSetupError(f"`{key}` in dbt_project.yml is not a list of folders",
                                hint=f'write it as e.g. {key}: ["{default}"]')
    return value


def _sql_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.sql")) if folder.is_dir() else []


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectSetupError(f"cannot read {path}: {exc}", hint="check the file's permissions") from exc
    except yaml.YAMLError as exc:
        raise ProjectSetupError(f"{path} is not valid YAML: {exc}", hint=f"fix {path.name} first") from exc


__all__ = ["OVERRIDE_MACRO", "FileChange", "InitPlan", "dbt_package_dir", "plan_init"]
