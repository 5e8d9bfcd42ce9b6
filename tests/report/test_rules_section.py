"""The report's rules section: support on real rows and the share kept on synthetic rows, per rule."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthohive_dbt.config import GroupRule, Metadata, RowRule
from synthohive_dbt.report.evaluate import evaluate


def test_each_rule_gets_its_support_and_synthetic_share(tmp_path) -> None:
    n = 100
    real = pd.DataFrame({"id": np.arange(n), "a": np.arange(n), "b": np.arange(n) + 1})
    synthetic = real.copy()
    synthetic.loc[:9, "b"] = -1  # 10 rows break a <= b
    meta = Metadata()
    t = meta.add_table("t", pk="id")
    t.add_row_rule(RowRule(expression="a <= b", origin="learned", support=n))
    t.group_rules.append(GroupRule(kind="sequence", columns=["a"]))
    result = evaluate({"t": real}, {"t": synthetic}, meta, privacy_metrics=False)
    by_rule = {c.rule: c for c in result.rules}
    assert (by_rule["a <= b"].real_held, by_rule["a <= b"].real_rows) == (100, 100)
    assert by_rule["a <= b"].held_share == 0.9 and by_rule["a <= b"].origin == "learned"
    assert by_rule["a steps by 1"].synthetic_held == 100
    from synthohive_dbt.report.html import render_report
    html, _ = render_report(result, tmp_path / "r.html")
    assert "Rules across columns and rows" in html.read_text() and "a &lt;= b" in html.read_text()


def test_under_dp_learned_rules_are_listed_as_outside_epsilon() -> None:
    from synthohive_dbt.report.measure import RunFacts, measure_run
    n = 60
    frame = pd.DataFrame({"id": np.arange(n), "a": np.arange(n), "b": np.arange(n) + 1})
    meta = Metadata()
    meta.add_table("t", pk="id").add_row_rule(RowRule(expression="a <= b", origin="learned", support=n))
    dp = {"epsilon_total": 3.0, "delta_total": 1e-5, "tables": {"t": {}}, "not_covered": ["keys"]}
    result = measure_run({"t": frame}, {"t": frame}, RunFacts(metadata=meta, differential_privacy=dp))
    [check] = result.rules
    assert check.dp_covered is False
    assert any("not covered: keys; learned rules read from the real rows (t: a <= b)" in n for n in result.notes)
