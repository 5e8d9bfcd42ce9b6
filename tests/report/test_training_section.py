"""The report's training section: each table's own diagnostics as curves, read from the saved artifact, so
`synthohive report` on a saved model shows them too."""

from __future__ import annotations

import json
from pathlib import Path

from synthohive_dbt.relational.synthesizer import Synthesizer
from synthohive_dbt.report.html import PlotLimits
from synthohive_dbt.report.measure import RunFacts, measure_run, write_report
from tests.helpers import interrupted_fit


def test_a_saved_model_reports_its_training_curves(tmp_path: Path) -> None:
    fitted = interrupted_fit.fit()
    fitted.save(tmp_path / "m.shm")
    loaded = Synthesizer.load(tmp_path / "m.shm")
    assert loaded.training_metrics() == fitted.training_metrics()  # kept by the artifact
    facts = RunFacts.of(loaded)
    assert set(facts.training) == {"users", "orders"}
    users = facts.training["users"]
    assert set(users["series"]) == {"generator_loss", "discriminator_loss", "validation_fidelity"}
    assert users["epochs"] == interrupted_fit.EPOCHS and users["stop_reason"] == "epochs" and users["steps"] > 0
    _, data = interrupted_fit.shop()
    result = measure_run(data, loaded.sample(scale=1.0, seed=2), facts)
    html, js = write_report(result, tmp_path / "r.html")
    page = html.read_text()
    assert 'id="training"' in page and 'alt="orders: generator_loss"' in page and "epochs done" in page
    assert json.loads(js.read_text())["training"]["orders"]["series"]["discriminator_loss"]
    capped, _ = write_report(result, tmp_path / "capped.html", limits=PlotLimits(training_plots=2))
    assert capped.read_text().count('alt="users: ') + capped.read_text().count('alt="orders: ') == 2
    assert "4 training curve(s) left out" in capped.read_text()


def test_an_ar_model_reports_its_own_likelihoods_not_gan_losses() -> None:
    synth = interrupted_fit.fit(backend="AR")
    record = synth.training_metrics()["users"]
    assert set(record.series) == {"train_nll", "held_out_likelihood"} and record.score_name == "held_out_likelihood"
