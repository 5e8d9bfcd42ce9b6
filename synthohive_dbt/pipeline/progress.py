"""How a pipeline run tells the person (or the CI log) what it is doing.

The pipeline only calls a `Reporter`; the CLI picks one: rich progress bars on stderr for people, one JSON
object per line on stderr for CI logs, or nothing (`--quiet`). Keeping the drawing out of the pipeline lets
tests run it silently and lets the JSON log carry exactly the events the bars show.
"""

from __future__ import annotations

import json
import logging
import sys
import time
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
        if event.epoch is not None:
            fields.update(generator_loss=round(event.epoch.generator_loss, 4),
                          discriminator_loss=round(event.epoch.discriminator_loss, 4))
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
        if event in ("loading", "loaded"):
            task = self._task(("write", table), f"writing {table} (rows)", rows)
            self.progress.update(task, completed=rows if event == "loaded" else 0, total=max(rows, 1))
        elif event == "swapping":
            self.step(f"swapping the staging schema into {table} ({rows} rows in all)")

    def close(self) -> None:
        self.progress.stop()


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


__all__ = ["JsonLogHandler", "JsonReporter", "NullReporter", "Reporter", "RichReporter"]
