"""Fixtures for the manifest reader: the shared corpus, and a real `dbt parse` of the fixture project."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.system import require_system, shared_dir

REPO = Path(__file__).resolve().parents[2]
CORPUS = shared_dir() / "corpus"  # ../shared beside the repository, or SYNTHOHIVE_SHARED_DIR
PARSE_PROJECT = REPO / "tests" / "fixtures" / "parse_project"
MANIFESTS = REPO / "tests" / "fixtures" / "manifests"


def corpus_manifest(name: str) -> Path:
    path = CORPUS / name / "manifest.json"
    if not path.exists():
        require_system("shared corpus", f"corpus manifest {path} is not here")
    return path


@pytest.fixture(scope="session")
def parsed_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the real `dbt parse` on tests/fixtures/parse_project once; outputs go to a temp dir."""
    from dbt.cli.main import dbtRunner

    out = tmp_path_factory.mktemp("dbt_parse")
    project = out / "project"
    shutil.copytree(PARSE_PROJECT, project)  # dbt may write beside the project; keep the fixture clean
    result = dbtRunner().invoke([
        "--quiet", "--no-send-anonymous-usage-stats", "parse", "--project-dir", str(project),
        "--profiles-dir", str(project), "--target-path", str(out / "target"), "--log-path", str(out / "logs"),
        "--no-partial-parse"])
    assert result.success, f"dbt parse failed: {result.exception}"
    return out / "target" / "manifest.json"


def write_manifest(tmp_path: Path, raw: dict[str, Any], name: str = "manifest.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(raw))
    return path
