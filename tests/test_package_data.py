"""The report's page and style are files of the package: every one of them must be declared as package data,
or an installed wheel renders no report."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from synthohive_dbt.report import html

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

REPO = Path(__file__).resolve().parents[1]


def test_every_template_file_is_package_data() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = declared["synthohive_dbt.report"]
    folder = REPO / "synthohive_dbt" / "report" / "templates"
    files = [p.relative_to(folder.parent).as_posix() for p in folder.iterdir()]
    assert files and all(any(fnmatch.fnmatch(f, pat) for pat in patterns) for f in files), (files, patterns)


def test_the_templates_are_read_through_the_package() -> None:
    assert "{{ css|safe }}" in html._template("report.html")
    assert "body{" in html._template("report.css")
