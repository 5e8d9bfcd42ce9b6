"""The HTML report: self-contained, complete, and its images really decode in a browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from synthohive_dbt.privacy import detect_pii
from synthohive_dbt.report import QualityGates, evaluate
from synthohive_dbt.report.html import render_report
from tests.helpers.system import missing_reason
from tests.helpers.world import make_world, world_metadata

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    real = make_world(400, seed=0)
    syn = make_world(400, seed=1, start_id=50_000)
    syn["customers"]["income"] *= 1.5  # one visible defect, so the gate section shows a miss
    md = world_metadata()
    result = evaluate(real, syn, md, pii_findings=detect_pii(real, md),
                      dbt_tests=[{"name": "not_null_orders_amount", "status": "pass", "failures": 0},
                                 {"name": "<script>alert(1)</script>", "status": "fail", "failures": 2}])
    html, js = render_report(result, tmp_path_factory.mktemp("report") / "quality.html", QualityGates())
    # 7 column plots + correlation and NMI heatmaps (customers) + NMI (orders) + 1 FK + 2 DCR plots
    return html, js, 7 + 3 + 1 + 2


def test_report_is_self_contained_and_complete(report) -> None:
    html_path, json_path, n_images = report
    html = html_path.read_text()
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', html)) == n_images
    assert not re.search(r'(src|href)="(https?:)?//', html), "the report must not load anything"
    for title in ("Summary", "Columns", "Column pairs", "Relationships", "dbt tests", "Privacy"):
        assert f">{title}</h2>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "gate(s) missed" in html and "column customers.income" in html
    assert "font:14px/1.45 -apple-system,'Segoe UI'" in html  # CSS not HTML-escaped
    data = json.loads(json_path.read_text())
    assert set(data["scores"]) >= {"column_shapes", "column_pair_trends", "cardinality",
                                   "referential_integrity", "constraints", "overall", "dbt_tests"}
    assert data["gates"]["passed"] is False
    assert any(m["where"] == "column customers.income" for m in data["gates"]["misses"])
    assert data["relationships"][0]["counts"][0] == 0


@pytest.mark.skipif(CHROMIUM is None, reason=missing_reason("chromium", "renders the report headless"))
def test_images_decode_in_headless_chromium(report, tmp_path: Path) -> None:
    html_path, _, n_images = report
    probe = tmp_path / "probe.html"
    script = ("<script>window.addEventListener('load', () => { const im = [...document.images];"
              " document.title = 'images ' + im.length + ' decoded ' +"
              " im.filter(i => i.complete && i.naturalWidth > 100 && i.naturalHeight > 100).length; });</script>")
    probe.write_text(html_path.read_text().replace("</body>", script + "</body>"))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom",
           probe.as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    title = re.search(r"<title>(.*?)</title>", out.stdout)
    assert title is not None, out.stderr[-2000:]
    assert title.group(1) == f"images {n_images} decoded {n_images}"
