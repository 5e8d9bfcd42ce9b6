"""The end of a run, for people (a rich table of dbt outcomes) and for CI (JSON lines)."""

from __future__ import annotations

from typing import Any

from synthohive_dbt.dbt import Outcome
from synthohive_dbt.pipeline.run import RunResult

_STYLE = {"pass": "green", "success": "green", "warn": "yellow", "fail": "red", "error": "red",
          "runtime error": "red", "skipped": "dim", "not run": "dim"}


def render_outcomes(result: RunResult, console: Any, *, only_failed: bool = False) -> None:
    """A table of every dbt node that ran (or only the failed ones), then a one-line summary."""
    from rich.markup import escape
    from rich.table import Table

    outcomes = result.outcomes
    shown = [o for o in outcomes if not o.passed] if only_failed else outcomes
    if shown:
        table = Table(title=escape(f"dbt on synthetic data in schema {result.target_schema!r}"),
                      title_justify="left")
        for col in ("status", "type", "name", "failures", "message"):
            table.add_column(col, overflow="fold")
        for o in sorted(shown, key=lambda o: (o.passed, o.resource_type, o.name)):
            style = _STYLE.get(o.status, "")
            status = escape(o.status)
            table.add_row(f"[{style}]{status}[/]" if style else status, o.resource_type, escape(o.name),
                          "" if o.failures is None else str(o.failures),
                          "" if o.passed else escape(o.message or ""))
        console.print(table)
    if not only_failed or not result.success:
        console.print(escape(summary_line(result)))


def summary_line(result: RunResult) -> str:
    rows = sum(result.rows.values())
    tests = result.tests
    passed = sum(o.passed for o in tests)
    text = f"{len(result.rows)} table(s), {rows} rows written to {result.target_schema!r}"
    if result.dbt is not None:
        text += f"; dbt tests: {passed}/{len(tests)} passed"
        if result.failed:
            text += f", {len(result.failed)} failed or errored"
        not_run = [c for c in result.checks if c.resource_type == "test" and c.status == "not run"]
        if not_run:
            text += f", {len(not_run)} not run (they touch tables this run did not make synthetic)"
        sizes = [c for c in result.checks if c.resource_type == "model size" and c.status != "skipped"]
        if sizes:
            ok = sum(c.passed for c in sizes)
            text += f"; model sizes: {ok}/{len(sizes)} within 1/10 of real"
    if result.report is not None:
        text += f"; report: {result.report}"
    for note in result.notes:
        text += f"; {note}"
    if result.inferred_keys:
        text += (f"; {len(result.inferred_keys)} inferred foreign key(s), review them: "
                 + ", ".join(fk.label for fk in result.inferred_keys))
    return text


def outcome_records(result: RunResult) -> list[dict[str, Any]]:
    """Outcomes as plain dicts (for `--log-format json`)."""
    return [_record(o) for o in result.outcomes]


def _record(o: Outcome) -> dict[str, Any]:
    return {"unique_id": o.unique_id, "name": o.name, "resource_type": o.resource_type, "status": o.status,
            "failures": o.failures, "message": None if o.passed else o.message}


def summary_record(result: RunResult) -> dict[str, Any]:
    tests = result.tests
    return {"mode": result.mode, "target_schema": result.target_schema, "build_schema": result.build_schema,
            "rows": result.rows, "tests": len(tests), "tests_passed": sum(o.passed for o in tests),
            "failed": [o.unique_id for o in result.failed], "success": result.success,
            "report": str(result.report) if result.report else None,
            "model": str(result.model_path) if result.model_path else None,
            "inferred_keys": [fk.to_dict() for fk in result.inferred_keys], "notes": result.notes}
