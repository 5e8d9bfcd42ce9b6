"""The plain line reporter (stderr not a terminal): one line per table and phase, each with the seconds since
the start, a heartbeat on long phases, never one line per epoch; and `reporter_for` picks it for logs."""

from __future__ import annotations

import io
import json
import re

import pytest

from synthohive_dbt.models.base import Progress, TrainingMetrics
from synthohive_dbt.pipeline.progress import (
    JsonReporter,
    LineReporter,
    NullReporter,
    RichReporter,
    reporter_for,
)
from synthohive_dbt.relational.progress import TableProgress


class Clock:
    """A clock the test moves by hand, so the elapsed seconds in the lines are exact."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _fit(table: str, index: int, epoch: int, epochs: int, with_epoch: bool = True) -> TableProgress:
    report = Progress(epoch, epochs, 0.0, None, {"generator_loss": 1.0, "discriminator_loss": 0.5}, epoch) \
        if with_epoch else None
    return TableProgress("fit", table, index, 2, epoch, epochs, epoch=report)


def _train(reporter: LineReporter, clock: Clock, table: str, index: int, epochs: int, seconds_each: float,
           stop_after: int | None = None) -> None:
    """What the synthesizer sends: one event per epoch, then the table's end (epochs/epochs, no epoch report)."""
    for epoch in range(1, (stop_after or epochs) + 1):
        clock.now += seconds_each
        reporter.table(_fit(table, index, epoch, epochs))
    reporter.table(_fit(table, index, epochs, epochs, with_epoch=False))


@pytest.fixture
def run() -> tuple[LineReporter, Clock, io.StringIO]:
    clock, out = Clock(), io.StringIO()
    return LineReporter(out, heartbeat=30.0, clock=clock), clock, out


def test_a_whole_run_is_one_line_per_table_and_phase(run: tuple[LineReporter, Clock, io.StringIO]) -> None:
    reporter, clock, out = run
    clock.now += 2.5
    reporter.step("reading 2 real table(s)")
    _train(reporter, clock, "customers", 0, epochs=300, seconds_each=0.01)
    _train(reporter, clock, "orders", 1, epochs=300, seconds_each=0.02, stop_after=40)
    for table, index, rows in (("customers", 0, 1000), ("orders", 1, 5000)):
        for done in range(0, rows + 1, 500)[1:]:
            clock.now += 0.1
            reporter.table(TableProgress("sample", table, index, 2, done, rows))
    reporter.write("staging", "synthetic__staging", 0)
    for table, rows in (("customers", 1000), ("orders", 5000)):
        reporter.write("loading", table, rows)
        clock.now += 0.4
        reporter.write("loaded", table, rows)
    reporter.write("swapping", "synthetic", 6000)
    reporter.write("done", "synthetic", 6000)
    reporter.close()
    assert out.getvalue().splitlines() == [
        "[    2.5s] reading 2 real table(s)",
        "[    2.5s] training customers (1/2): 300 epochs",
        "[    5.5s] trained customers (1/2): 300/300 epochs in 3.0s",
        "[    5.5s] training orders (2/2): 300 epochs",
        "[    6.3s] trained orders (2/2): 40/300 epochs (stopped early) in 0.8s",
        "[    6.5s] sampled customers (1/2): 1,000 rows in 0.2s",
        "[    7.5s] sampled orders (2/2): 5,000 rows in 1.0s",
        "[    7.5s] writing into staging: synthetic__staging",
        "[    7.9s] wrote customers: 1,000 rows in 0.4s",
        "[    8.3s] wrote orders: 5,000 rows in 0.4s",
        "[    8.3s] publishing the staged tables into synthetic (6,000 rows in all)",
        "[    8.3s] synthetic now holds the synthetic tables (6,000 rows)",
    ]


def test_a_long_phase_gets_a_heartbeat_every_30_seconds(run: tuple[LineReporter, Clock, io.StringIO]) -> None:
    reporter, clock, out = run
    _train(reporter, clock, "events", 0, epochs=100, seconds_each=1.0)  # 100 s: heartbeats at 31, 61 and 91 s
    lines = out.getvalue().splitlines()
    assert lines[0] == "[    1.0s] training events (1/2): 100 epochs"
    assert lines[1:4] == ["[   31.0s] training events (1/2): 31/100 epochs after 31.0s",
                          "[   61.0s] training events (1/2): 61/100 epochs after 61.0s",
                          "[   91.0s] training events (1/2): 91/100 epochs after 91.0s"]
    assert lines[4:] == ["[  100.0s] trained events (1/2): 100/100 epochs in 100.0s"]


def test_a_table_with_nothing_to_train_and_a_one_chunk_sample_are_one_line_each(
        run: tuple[LineReporter, Clock, io.StringIO]) -> None:
    reporter, clock, out = run
    reporter.table(_fit("countries", 0, 1, 1, with_epoch=False))  # copied as is: only its end
    clock.now += 1.0
    reporter.table(TableProgress("sample", "countries", 0, 2, 20, 20))
    assert out.getvalue().splitlines() == ["[    0.0s] trained countries (1/2): 1/1 epochs in 0.0s",
                                           "[    1.0s] sampled countries (1/2): 20 rows in 1.0s"]


def test_an_explicit_start_event_starts_the_clock_of_the_table(run: tuple[LineReporter, Clock, io.StringIO]) -> None:
    reporter, clock, out = run
    clock.now += 5.0
    reporter.table(_fit("users", 0, 0, 10, with_epoch=False))  # done == 0: the engine says training starts now
    clock.now += 2.0
    reporter.table(_fit("users", 0, 10, 10))
    reporter.table(_fit("users", 0, 10, 10, with_epoch=False))  # the engine's end of the table
    assert out.getvalue().splitlines() == ["[    5.0s] training users (1/2)",
                                           "[    7.0s] trained users (1/2): 10/10 epochs in 2.0s"]


def test_the_end_of_a_table_says_what_ran_and_why_it_stopped(run: tuple[LineReporter, Clock, io.StringIO]) -> None:
    reporter, clock, out = run
    reporter.table(_fit("users", 0, 0, 300, with_epoch=False))
    for epoch in range(1, 4):
        clock.now += 1.0
        reporter.table(_fit("users", 0, epoch, 300))
    ran = TrainingMetrics({}, None, 3, 300, 300, "max_steps")
    reporter.table(TableProgress("fit", "users", 0, 2, 300, 300, result=ran))
    reporter.table(TableProgress("fit", "orders", 1, 2, 100, 100, result=TrainingMetrics(
        {}, None, 12, 100, 240, "patience"), restored=True))
    assert out.getvalue().splitlines() == [
        "[    0.0s] training users (1/2)",
        "[    3.0s] trained users (1/2): 3/300 epochs, 300 steps (step budget) in 3.0s",
        "[    3.0s] kept orders (2/2) from the checkpoint: 12/100 epochs, 240 steps (early stop)"]


def test_the_json_log_names_each_models_own_metrics() -> None:
    out = io.StringIO()
    reporter = JsonReporter(out, every=0.0)
    vae = Progress(1, 5, 0.0, 0.8, {"loss": 2.0, "reconstruction": 0.9, "kl": 0.2}, 4)
    reporter.table(TableProgress("fit", "users", 0, 1, 1, 5, epoch=vae))
    reporter.table(TableProgress("fit", "users", 0, 1, 5, 5, result=TrainingMetrics({}, None, 5, 5, 20, "epochs")))
    first, last = (json.loads(line) for line in out.getvalue().splitlines())
    assert {k: first[k] for k in ("loss", "reconstruction", "kl", "score", "steps")} == {
        "loss": 2.0, "reconstruction": 0.9, "kl": 0.2, "score": 0.8, "steps": 4}
    assert "generator_loss" not in first
    assert {k: last[k] for k in ("epochs_run", "steps", "stop_reason")} == {
        "epochs_run": 5, "steps": 20, "stop_reason": "epochs"}


def test_every_line_starts_with_the_elapsed_seconds(run: tuple[LineReporter, Clock, io.StringIO]) -> None:
    reporter, clock, out = run
    clock.now += 12345.67
    reporter.step("a very long run")
    assert re.fullmatch(r"\[ *\d+\.\ds\] .+", out.getvalue().strip())
    assert out.getvalue().startswith("[12345.7s] ")


class _Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_reporter_for_picks_lines_for_logs_and_bars_for_terminals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    assert isinstance(reporter_for(_Pipe(), "text", quiet=False), LineReporter)
    assert isinstance(reporter_for(_Pipe(), "json", quiet=False), JsonReporter)
    assert isinstance(reporter_for(_Pipe(), "json", quiet=True), JsonReporter)
    assert isinstance(reporter_for(_Pipe(), "text", quiet=True), NullReporter)
    bars = reporter_for(_Terminal(), "text", quiet=False)
    try:
        assert isinstance(bars, RichReporter)
    finally:
        bars.close()
    monkeypatch.setenv("TERM", "dumb")
    assert isinstance(reporter_for(_Terminal(), "text", quiet=False), LineReporter)


def test_the_real_engine_gives_two_lines_per_trained_table_and_one_per_sampled_table() -> None:
    """The events as the synthesizer really sends them (a tiny CTGAN, 3 epochs, a 3-table shop)."""
    from synthohive_dbt.relational.synthesizer import Synthesizer
    from tests.helpers.tiny_shop import TINY, shop_data, shop_metadata

    out = io.StringIO()
    reporter = LineReporter(out)
    synth = Synthesizer(metadata=shop_metadata(), model_kwargs=TINY)
    synth.fit(shop_data(n_users=60), epochs=3, batch_size=50, seed=1, progress=reporter.table)
    synth.sample(scale=1.0, seed=1, progress=reporter.table)
    body = [re.sub(r"^\[ *\d+\.\ds\] ", "", line) for line in out.getvalue().splitlines()]
    body = [re.sub(r"in \d+\.\ds$", "in Xs", line) for line in body]
    # the start line comes before the first epoch (a long first epoch is not silent); the end says what ran
    body = [re.sub(r"epochs, \d+ steps", "epochs, N steps", line) for line in body]
    assert body[:6] == ["training users (1/3)", "trained users (1/3): 3/3 epochs, N steps (epochs done) in Xs",
                        "training orders (2/3)", "trained orders (2/3): 3/3 epochs, N steps (epochs done) in Xs",
                        "training items (3/3)", "trained items (3/3): 3/3 epochs, N steps (epochs done) in Xs"]
    assert [re.sub(r": [\d,]+ rows", ": N rows", line) for line in body[6:]] == [
        "sampled users (1/3): N rows in Xs", "sampled orders (2/3): N rows in Xs", "sampled items (3/3): N rows in Xs"]
