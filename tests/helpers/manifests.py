"""Manifests for the reader's tests: the fixture files, the shared corpus, and writing a built one to disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def write_manifest(tmp_path: Path, raw: dict[str, Any], name: str = "manifest.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(raw))
    return path
