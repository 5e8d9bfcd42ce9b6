"""Quality after every sample: the evaluation kept on the synthesizer, its subsample cap, quality gates that
fail before anything is written (and leave the previous output alone), and the validation report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from synthohive_dbt import Synthesizer
from synthohive_dbt.errors import ConfigError, ModelError, QualityGateError
from synthohive_dbt.report import QualityGates
from synthohive_dbt.report.measure import EVALUATION_MAX_ROWS, RunFacts, measure_run, subsample, subsample_parquet

# every gate off but the column shapes, set so high that a 2-epoch model must miss it
STRICT = QualityGates(min_overall=None, min_column_shape=0.999, max_null_rate_delta=None, max_orphan_rate=None,
                      max_exact_copy_excess=None, min_dcr_p5_ratio=None, max_pii_leaks=None)
# the gates that hold by construction: no orphans, constraints met, no leaked PII
BY_CONSTRUCTION = QualityGates(min_overall=None, min_column_shape=None, max_null_rate_delta=None,
                               max_exact_copy_excess=None, min_dcr_p5_ratio=None)


def test_every_sample_is_measured_unless_switched_off(shop) -> None:
    real, synth = shop
    out = synth.sample(seed=2)
    result = synth.last_evaluation
    assert result is not None
    assert {t: v["rows_synthetic"] for t, v in result.tables.items()} == {t: len(f) for t, f in out.items()}
    assert {t: v["rows_real"] for t, v in result.tables.items()} == {t: len(f) for t, f in real.items()}
    assert {(r.child, r.parent): r.orphan_rate for r in result.relationships} == {
        ("orders", "users"): 0.0, ("items", "orders"): 0.0}
    assert result.scores["referential_integrity"] == 1.0 and result.scores["constraints"] == 1.0
    assert 0.0 < result.scores["overall"] <= 1.0
    assert {"table": "users", "column": "email", "reason": "PII column (replaced, not learned)"} in result.skipped
    assert [(f["table"], f["column"], f["source"]) for f in result.pii_findings] == [("users", "email", "declared")]
    assert result.pii_leaks == []
    synth.sample(seed=2, evaluate=False)
    assert synth.last_evaluation is None


def test_large_outputs_are_measured_on_a_capped_deterministic_subsample(shop, tmp_path: Path) -> None:
    real, synth = shop
    assert EVALUATION_MAX_ROWS == 20_000
    out = synth.sample(scale=2.0, seed=4, evaluate=False, chunk_rows=200)
    facts = RunFacts.of(synth, seed=4)
    small = measure_run(real, out, facts, max_rows=150)
    assert all(v["rows_evaluated_synthetic"] == 150 and v["rows_evaluated_real"] == 150
               for v in small.tables.values())
    assert any("deterministic subsample of at most 150 rows" in n for n in small.notes)
    # relationships are measured on every row, not on the subsample (which would cut children off parents)
    items = small.relationship("items", "orders")
    assert items.child_rows == len(out["items"]) and items.orphan_rate == 0.0
    assert items.mean_children_synthetic == pytest.approx(len(out["items"]) / len(out["orders"]))
    assert measure_run(real, out, facts, max_rows=150).scores == small.scores  # deterministic
    # a Parquet output is read back row group by row group, picking exactly the same rows
    paths = synth.sample(scale=2.0, seed=4, evaluate=False, output_path_base=tmp_path / "out", chunk_rows=200)
    for table, path in paths.items():
        pd.testing.assert_frame_equal(subsample_parquet(path, 150, 9), subsample(out[table], 150, 9),
                                      check_dtype=False)
    assert measure_run(real, paths, facts, max_rows=150).scores == small.scores


def test_a_missed_gate_raises_before_anything_is_written(shop, tmp_path: Path) -> None:
    _, synth = shop
    base = tmp_path / "synthetic"
    first = synth.sample(seed=1, output_path_base=base, gates=BY_CONSTRUCTION)
    before = {t: Path(p).read_bytes() for t, p in first.items()}
    assert first == {t: str(base / f"{t}.parquet") for t in ("users", "orders", "items")}
    with pytest.raises(QualityGateError) as err:
        synth.sample(seed=2, output_path_base=base, gates=STRICT)
    message = str(err.value)
    for column in ("users.tier", "users.age", "orders.amount", "orders.status", "items.qty"):
        assert f"column {column}: column shape" in message and "(threshold 0.999)" in message
    assert "\n  fix: open the HTML report" in message
    assert {t: Path(p).read_bytes() for t, p in first.items()} == before  # previous output untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthetic"]  # no staging folder left behind
    assert synth.last_evaluation is not None  # kept, so the report can show what missed
    # passing gates publish the new sample over the old one
    again = synth.sample(seed=2, output_path_base=base, gates=BY_CONSTRUCTION)
    assert again == first and any(Path(p).read_bytes() != before[t] for t, p in again.items())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthetic"]
    # in memory: the same error, and nothing returned
    with pytest.raises(QualityGateError, match=r"missed \d+ quality/privacy gate"):
        synth.sample(seed=2, gates=STRICT)


def test_gates_need_real_data_and_an_evaluation(shop, tmp_path: Path) -> None:
    real, synth = shop
    with pytest.raises(ConfigError, match=r"gates need an evaluation\n  fix: drop evaluate=False"):
        synth.sample(gates=QualityGates(), evaluate=False)
    synth.save(tmp_path / "m.shm")
    loaded = Synthesizer.load(tmp_path / "m.shm")
    with pytest.raises(ConfigError, match=r"needs the real data to measure against.*loaded from a file"):
        loaded.sample(gates=QualityGates())
    loaded.sample(seed=3)
    assert loaded.last_evaluation is None  # nothing to measure against: skipped, not an error
    loaded.sample(seed=3, real=real, gates=BY_CONSTRUCTION)
    assert loaded.last_evaluation is not None and loaded.last_evaluation.scores["referential_integrity"] == 1.0


def test_validation_report_writes_html_and_json(shop, tmp_path: Path) -> None:
    real, synth = shop
    out = synth.sample(seed=6, evaluate=False)
    assert synth.last_evaluation is None
    # no evaluation yet: the report measures the last sample now (one render: ~0.5 s per plot)
    html_path, json_path = synth.generate_validation_report(tmp_path / "report" / "quality.html")
    assert (html_path, json_path) == (tmp_path / "report" / "quality.html", tmp_path / "report" / "quality.json")
    html = html_path.read_text()
    for section in ('id="summary"', 'id="columns"', 'id="relationships"', 'id="constraints"', 'id="privacy"',
                    "PII detected (for review)", "<td>users</td><td>email</td>", "data:image/png;base64,"):
        assert section in html, section
    data = json.loads(json_path.read_text())
    assert synth.last_evaluation is not None
    assert data["scores"] == pytest.approx(synth.last_evaluation.scores)
    assert data["tables"]["orders"]["rows_synthetic"] == len(out["orders"])
    assert [(f["table"], f["column"]) for f in data["pii_findings"]] == [("users", "email")]
    assert {r["child"] for r in data["relationships"]} == {"orders", "items"}
    # a loaded synthesizer has no real data of its own
    synth.save(tmp_path / "m.shm")
    with pytest.raises(ModelError, match=r"no real data to measure against.*\n  fix: pass real="):
        Synthesizer.load(tmp_path / "m.shm").generate_validation_report(tmp_path / "r2.html")


def test_the_engine_publishes_only_after_its_gate_returns(shop, tmp_path: Path) -> None:
    """The engine never measures: a gate passed in as `before_publish` sees the staged sample, the real frames
    and the seed, and its error leaves nothing published."""
    from synthohive_dbt.relational import synthesizer as engine

    real, synth = shop
    assert not hasattr(engine.Synthesizer, "generate_validation_report")
    seen: list[engine.Drawn] = []

    def refuse(drawn: engine.Drawn) -> None:
        seen.append(drawn)
        raise QualityGateError("refused by the test", hint="none")

    base = tmp_path / "gated"
    with pytest.raises(QualityGateError, match="refused by the test"):
        engine.Synthesizer.sample(synth, seed=3, output_path_base=base, before_publish=refuse)
    assert not base.exists() and sorted(p.name for p in tmp_path.iterdir()) == []
    (drawn,) = seen
    assert drawn.seed == 3 and drawn.real is not None and set(drawn.real) == set(real)
    assert all(Path(p).suffix == ".parquet" for p in drawn.output.values())
