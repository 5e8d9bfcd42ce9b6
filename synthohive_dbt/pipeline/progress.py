"""How a pipeline run tells the person (or the CI log) what it is doing.

The pipeline only calls a `Reporter`; `reporter_for` picks one for the CLI: rich progress bars when stderr is
a terminal, plain timestamped lines when it is not (a CI log, a pipe: bars would be lost or garbled there), one
JSON object per line for `--log-format json`, or nothing (`--quiet`). Keeping the drawing out of the pipeline
lets tests run it silently and lets the JSON log carry exactly the events the bars show.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

from synthohive_dbt.relational.progress import TableProgress


class Reporter(Protocol):
    """What a run reports: steps, training/sampling progress per table, writes, and the end."""

    def step(self, message: str, **fields: Any) -> None: ...

    def table(self, event: TableProgress) -> None: ...

    def write(self, event: str, table: str, rows: int) -> None: ...

    def close(self) -> None: ...


class NullReporter:
    """Says nothing (`--quiet`, library use, tests)."""

    def step(self, message: str, **fields: Any) -> None:
        return None

    def table(self, event: TableProgress) -> None:
        return None

    def write(self, event: str, table: str, rows: int) -> None:
        return None

    def close(self) -> None:
        return None


class JsonReporter:
    """One JSON object per line, for CI logs. Epoch events are thinned to one per table every `every` s."""

    def __init__(self, stream: IO[str] | None = None, every: float = 2.0) -> None:
        self.stream = stream or sys.stderr
        self.every = every
        self._last: dict[tuple[str, str], float] = {}

    def emit(self, event: str, **fields: Any) -> None:
        record = {"ts": round(time.time(), 3), "event": event, **fields}
        self.stream.write(json.dumps(record, default=str) + "\n")
        self.stream.flush()

    def step(self, message: str, **fields: Any) -> None:
        self.emit("step", message=message, **fields)

    def table(self, event: TableProgress) -> None:
        key, now = (event.stage, event.table), time.monotonic()
        finished = event.done >= event.total
        if not finished and now - self._last.get(key, 0.0) < self.every:
            return
        self._last[key] = now
        fields: dict[str, Any] = {"stage": event.stage, "table": event.table, "done": event.done,
                                  "total": event.total}
        if event.epoch is not None:  # the model's own diagnostics, under its own names
            fields.update({k: round(v, 4) for k, v in event.epoch.metrics.items()}, steps=event.epoch.steps)
            if event.epoch.score is not None:
                fields["score"] = round(event.epoch.score, 4)
        if event.result is not None and event.result.stop_reason is not None:
            r = event.result
            fields.update(epochs_run=r.epochs, epochs_planned=r.planned_epochs, steps=r.steps,
                          stop_reason=r.stop_reason, restored=event.restored)
        self.emit("progress", **fields)

    def write(self, event: str, table: str, rows: int) -> None:
        self.emit("write", stage=event, table=table, rows=rows)

    def close(self) -> None:
        return None


class RichReporter:
    """Progress bars on stderr: one per table while training and sampling, one per table while writing."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console or Console(stderr=True)
        self.progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=self.console, transient=False)
        self.progress.start()
        self._tasks: dict[tuple[str, str], Any] = {}
        self._written: dict[str, int] = {}

    def step(self, message: str, **fields: Any) -> None:
        from rich.markup import escape

        self.progress.console.print(f"[bold cyan]>[/] {escape(message)}")

    def _task(self, key: tuple[str, str], description: str, total: int) -> Any:
        if key not in self._tasks:
            self._tasks[key] = self.progress.add_task(description, total=max(total, 1))
        return self._tasks[key]

    def table(self, event: TableProgress) -> None:
        verb = "training" if event.stage == "fit" else "sampling"
        unit = "epochs" if event.stage == "fit" else "rows"
        task = self._task((event.stage, event.table), f"{verb} {event.table} ({unit})", event.total)
        self.progress.update(task, completed=event.done, total=max(event.total, 1))

    def write(self, event: str, table: str, rows: int) -> None:
        if event == "loading":  # one event per chunk handed to the warehouse (tables are streamed)
            task = self._task(("write", table), f"writing {table} (rows)", rows)
            done = self._written[table] = self._written.get(table, 0) + rows
            self.progress.update(task, completed=done, total=max(done, 1))
        elif event == "loaded":
            task = self._task(("write", table), f"writing {table} (rows)", rows)
            self.progress.update(task, completed=rows, total=max(rows, 1))
        elif event == "swapping":
            self.step(f"publishing the staged tables into {table} ({rows:,} rows in all)")

    def close(self) -> None:
        self.progress.stop()


@dataclass
class _Phase:
    """One table's training or sampling as the line reporter follows it."""

    started: float
    last_line: float
    last_epoch: int | None = None  # the last epoch the model reported (fewer than planned: it stopped early)
    ended: bool = False


class LineReporter:
    """Plain lines with the seconds since the start, for logs: stderr is not a terminal (CI, a pipe, a file).

    At most two lines per table and phase (training starts / ends, with epochs and seconds; one line per table
    sampled and per table written), plus a heartbeat line every `heartbeat` seconds while one phase runs long,
    so a log shows where the time went and that the run is alive, without one line per epoch."""

    def __init__(self, stream: IO[str] | None = None, heartbeat: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.heartbeat = heartbeat
        self._clock = clock
        self._start = self._last_event = clock()
        self._phases: dict[tuple[str, str], _Phase] = {}
        self._writing: dict[str, float] = {}

    def _line(self, text: str, now: float | None = None) -> None:
        elapsed = (self._clock() if now is None else now) - self._start
        self.stream.write(f"[{elapsed:7.1f}s] {text}\n")
        self.stream.flush()

    def step(self, message: str, **fields: Any) -> None:
        self._last_event = self._clock()
        self._line(message, self._last_event)

    def table(self, event: TableProgress) -> None:
        now = self._clock()
        key, where = (event.stage, event.table), f"{event.table} ({event.table_index + 1}/{event.n_tables})"
        phase = self._phases.get(key)
        if phase is None:
            # training announces its start (done == 0, before the first epoch; its total is the epochs asked
            # for, which the model's own budget may shorten, so it is not printed); sampling's first event
            # comes after chunk 1, so its phase began when the previous event ended
            started = now if event.done == 0 else self._last_event
            phase = self._phases[key] = _Phase(started=started, last_line=now)
            if event.stage == "fit" and event.done == 0:
                self._line(f"training {where}", now)
            elif event.stage == "fit" and event.done < event.total:
                self._line(f"training {where}: {event.total} epochs", now)
        self._last_event = now
        if event.epoch is not None:
            phase.last_epoch = event.epoch.epoch
        if phase.ended:
            return
        seconds = now - phase.started
        # a table's training ends with the engine's own event (no epoch report; it says what ran and why it
        # stopped), not with its last epoch
        if event.done >= event.total and (event.stage != "fit" or event.epoch is None):
            phase.ended = True
            if event.stage == "fit":
                self._line(_trained(event, where, phase, seconds), now)
            else:
                self._line(f"sampled {where}: {event.total:,} rows in {seconds:.1f}s", now)
        elif now - phase.last_line >= self.heartbeat:
            phase.last_line = now
            unit = "epochs" if event.stage == "fit" else "rows"
            verb = "training" if event.stage == "fit" else "sampling"
            self._line(f"{verb} {where}: {event.done:,}/{event.total:,} {unit} after {seconds:.1f}s", now)

    def write(self, event: str, table: str, rows: int) -> None:
        now = self._last_event = self._clock()
        if event == "staging":
            self._line(f"writing into staging: {table}", now)  # a schema, or a folder (Spark's Parquet files)
        elif event == "loading":
            self._writing[table] = now
        elif event == "loaded":
            seconds = now - self._writing.pop(table, now)
            self._line(f"wrote {table}: {rows:,} rows in {seconds:.1f}s", now)
        elif event == "swapping":
            self._line(f"publishing the staged tables into {table} ({rows:,} rows in all)", now)
        elif event == "done":
            self._line(f"{table} now holds the synthetic tables ({rows:,} rows)", now)
        else:
            self._line(f"{event} {table} ({rows:,} rows)", now)

    def close(self) -> None:
        self.stream.flush()


def _trained(event: TableProgress, where: str, phase: _Phase, seconds: float) -> str:
    """A table's end: what ran (epochs, steps) and why it stopped, as the model reports it."""
    ran = event.result.describe() if event.result is not None else ""
    if event.restored:
        return f"kept {where} from the checkpoint: {ran or 'finished'}"
    if ran:
        return f"trained {where}: {ran} in {seconds:.1f}s"
    epochs = phase.last_epoch if phase.last_epoch is not None else event.done
    stop = " (stopped early)" if epochs < event.total else ""
    return f"trained {where}: {epochs}/{event.total} epochs{stop} in {seconds:.1f}s"


def _is_terminal(stream: IO[str]) -> bool:
    """Bars only where a person watches a terminal able to redraw them."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
    except ValueError:  # a closed stream
        return False


def reporter_for(stream: IO[str] | None = None, log_format: str = "text", quiet: bool = False) -> Reporter:
    """The CLI's reporter: JSON lines when asked (even with --quiet: a CI log wants them), nothing when quiet,
    bars on a terminal, plain timestamped lines elsewhere."""
    out = stream or sys.stderr
    if log_format == "json":
        return JsonReporter(out)
    if quiet:
        return NullReporter()
    if _is_terminal(out):
        if out is sys.stderr:
            return RichReporter()
        from rich.console import Console

        return RichReporter(Console(file=out))
    return LineReporter(out)


class JsonLogHandler(logging.Handler):
    """Log records as JSON lines, next to the reporter's events (for `--log-format json`)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__()
        self.stream = stream or sys.stderr

    def emit(self, record: logging.LogRecord) -> None:
        self.stream.write(json.dumps({"ts": round(record.created, 3), "event": "log",
                                      "level": record.levelname.lower(), "logger": record.name,
                                      "message": record.getMessage()}) + "\n")
        self.stream.flush()


__all__ = ["JsonLogHandler", "JsonReporter", "LineReporter", "NullReporter", "Reporter", "RichReporter",
           "reporter_for"]
