"""Fixtures for the manifest reader: the shared corpus, and a real `dbt parse` of the fixture project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.manifests import PARSE_PROJECT


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
