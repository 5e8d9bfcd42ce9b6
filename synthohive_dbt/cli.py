"""The `synthohive` command: thin. Arguments go to one entry point per subcommand; every SynthohiveError
becomes a clear message on stderr and exit status 1, never a traceback.

Exit status: 0 = done and every dbt test passed; 1 = a dbt test failed or errored, or synthohive refused /
failed (the message says which); 2 = bad command-line usage; 130 = interrupted (Ctrl-C). An interrupted
or failed run never leaves a half-written target schema (writes are staged and swapped atomically)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from synthohive_dbt import __version__
from synthohive_dbt.config import TRAINING_ROW_BUDGET
from synthohive_dbt.errors import SynthohiveError
from synthohive_dbt.models import registry as backends
from synthohive_dbt.quiet import silence_library_warnings


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SynthohiveError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.secho("interrupted: nothing was swapped into the target schema unless the run said so",
                        fg="red", err=True)
            sys.exit(130)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="synthohive")
def cli() -> None:
    """Synthetic data for dbt projects: read the project, learn the warehouse, seed a schema, test it."""


_declaration_options = [
    click.option("--not-pii", "not_pii", multiple=True, metavar="TABLE.COLUMN",
                 help="This column is not personal data: never fake it (repeat for more; as `meta: {pii: false}` "
                      "on the column). An explicit `pii: true` in the project still wins."),
    click.option("--keep-real", "keep_real", multiple=True, metavar="TABLE",
                 help="Keep this non-sensitive reference table (countries, currencies) as it is (repeat for more; "
                      "as `meta: {synthohive: {keep_real: true}}`); its declared or detected PII is still faked."),
]


def _with(options: list[Callable[..., Any]]) -> Callable[..., Any]:
    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            f = option(f)
        return f
    return wrap


@cli.command()
@click.option("--manifest", "manifest_path", required=True, type=click.Path(path_type=Path),
              help="dbt's target/manifest.json (run `dbt parse` to write it).")
@click.option("--select", "select", multiple=True, metavar="NAME",
              help="Only these models/seeds/sources (repeat, or separate names by spaces or commas).")
@click.option("--json", "as_json", is_flag=True, help="Print the machine-readable JSON contract instead.")
@click.option("--project-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The dbt project: its profile is used to sample column values for the personal-data plan "
                   "(default: the project the manifest sits in, when there is one).")
@click.option("--profiles-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where profiles.yml is (default: as dbt).")
@click.option("--target", "-t", default=None, help="The profile target (default: the profile's).")
@click.option("--profile", default=None, help="The profile (default: dbt_project.yml's `profile:`).")
@click.option("--sample-rows", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Rows read per table for the personal-data heuristics.")
@click.option("--no-values", is_flag=True, help="Read no values: decide on names and declarations only.")
@_with(_declaration_options)
@click.argument("more", nargs=-1, metavar="[NAME]...")
def inspect(manifest_path: Path, select: tuple[str, ...], as_json: bool, project_dir: Path | None,
            profiles_dir: Path | None, target: str | None, profile: str | None, sample_rows: int, no_values: bool,
            not_pii: tuple[str, ...], keep_real: tuple[str, ...], more: tuple[str, ...]) -> None:
    """Show what synthohive reads from a dbt manifest: tables, keys, foreign keys, constraints, the tests it
    cannot model, and which columns will be faked as personal data and why."""
    from rich.console import Console

    from synthohive_dbt.manifest import read_manifest
    from synthohive_dbt.manifest.render import render_result
    from synthohive_dbt.pipeline.inspect_pii import pii_plan

    if more and not select:
        raise click.UsageError("table names go after --select (e.g. --select orders customers)")
    result = read_manifest(manifest_path, select=[*select, *more] or None)
    if project_dir is None and (Path(manifest_path).resolve().parent.parent / "dbt_project.yml").exists():
        project_dir = Path(manifest_path).resolve().parent.parent
    plan = pii_plan(result, project_dir=None if no_values else project_dir, profiles_dir=profiles_dir,
                    target=target, profile=profile, sample_rows=sample_rows, not_pii=not_pii, keep_real=keep_real)
    if as_json:
        contract = result.to_contract()
        contract["pii"] = [dataclasses.asdict(d) for d in plan.decisions]
        contract["pii_notes"] = plan.notes
        contract["learned_rules"] = plan.rules
        click.echo(json.dumps(contract, indent=2))
        return
    console = Console(soft_wrap=False)
    render_result(result, console)
    _render_pii(plan, console)


def _render_pii(plan: Any, console: Any) -> None:
    """The personal-data plan as a table: what is faked (and as what), what a declaration kept, and why."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="personal data: faked or kept, and why", title_justify="left")
    for col in ("table", "column", "decision", "why"):
        table.add_column(col, overflow="fold")
    for d in plan.decisions:
        decision = f"[red]faked as {d.kind}[/]" if d.faked else "[green]kept[/]"
        table.add_row(escape(d.table), escape(d.column), decision, escape(f"{d.source}: {d.reason}"))
    if plan.decisions:
        console.print(table)
    else:
        console.print("personal data: no column is faked")
    for note in plan.notes:
        console.print(escape(note))
    for name, rules in plan.rules.items():
        for rule in rules:
            console.print(f"learned rule (on {plan.read.get(name, 0)} sampled rows) {escape(name)}: {escape(rule)}")


# ---------------------------------------------------------------------------------------------------------
# seed / fit / generate / demo: arguments -> one pipeline call -> outcome table and exit status

def _names(values: tuple[str, ...]) -> tuple[str, ...]:
    """dbt selection tokens; `-s "a b"`, `-s a -s b` and `-s a,b` (dbt's intersection) all pass through."""
    return tuple(t for v in values for t in v.split() if t)


def _project_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--project-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
                     show_default=True, help="The dbt project (holds dbt_project.yml)."),
        click.option("--profiles-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                     help="Where profiles.yml is (default: as dbt: $DBT_PROFILES_DIR, ., project, ~/.dbt)."),
        click.option("--target", "-t", default=None, help="The profile target (default: the profile's)."),
        click.option("--profile", default=None, help="The profile (default: dbt_project.yml's `profile:`)."),
        click.option("--mode", type=click.Choice(["mirror", "sources"]), default=None,
                     help="mirror (default): synthesize the selected models/seeds/sources and `dbt test` them; "
                          "sources: synthesize sources and seeds (with tests carried back from models) and `dbt "
                          "build`. generate/report default to the mode (and selection) the model was fitted with."),
        click.option("--select", "-s", multiple=True, metavar="SELECTOR",
                     help="dbt selection syntax (repeat, or quote several: -s 'a b')."),
        click.option("--exclude", multiple=True, metavar="SELECTOR", help="dbt selection syntax to leave out."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _train_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--epochs", type=click.IntRange(min=1), default=None,
                     help="At most this many passes over each table's rows (default: the backend's own: CTGAN and "
                          "TVAE 300, AR 100). Training ends at --epochs, --max-steps or early stop, whichever "
                          "comes first; the log says per table what ran and why it stopped."),
        click.option("--max-steps", type=click.IntRange(min=1), default=None,
                     help="At most this many optimiser steps per table, fewer on small tables (default: the "
                          "backend's own: CTGAN 300, AR 2000, TVAE none)."),
        click.option("--patience", type=click.IntRange(min=1), default=None,
                     help="Stop a table early after this many validation scores without improvement; the best "
                          "weights are kept (default: the backend's own: AR 3, CTGAN and TVAE never)."),
        click.option("--max-rows", type=click.IntRange(min=0), default=TRAINING_ROW_BUDGET, show_default=True,
                     help="Fit on about this many rows of the largest table: larger tables are sampled in the "
                          "warehouse, keys kept consistent across foreign keys, so fitting stays under 1 GB; "
                          "generated tables still get the real sizes. 0 reads every row."),
        click.option("--backend", type=click.Choice(backends.CHOICES), default=backends.DEFAULT, show_default=True,
                     help="table model: CTGAN (the paper's GAN), TVAE, or AR (autoregressive: best fidelity, fastest)"),
        click.option("--infer-keys/--no-infer-keys", default=True, show_default=True,
                     help="Add foreign keys the project does not declare when the data and the column names "
                          "support them (e.g. payments.order_id -> orders.id); each one is listed for review. "
                          "Undeclared identifier keys (unique ids, UUIDs) are always generated anew."),
        click.option("--dp-epsilon", type=click.FloatRange(min=0.0, min_open=True), default=None,
                     help="Train with differential privacy (DP-SGD, needs the `dp` extra) within this epsilon for "
                          "the whole database; the report states what it covers."),
        click.option("--no-rule", "no_rule", multiple=True, metavar="TABLE:RULE",
                     help="Switch off one rule across columns (declared or learned, as the run lists them), "
                          "e.g. --no-rule 'orders:ordered_at <= shipped_at'; repeatable; kept in the saved model."),
        click.option("--keep-rule", "keep_rule", multiple=True, metavar="TABLE:RULE",
                     help="Keep one learned rule on where differential privacy switches learned rules off (the "
                          "report lists it as not covered by epsilon); repeatable; kept in the saved model."),
        click.option("--export-rules", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     help="Write the learned rules as dbt tests (a schema YAML file) for the project to adopt; "
                          "rules across foreign keys go beside it as singular tests (<name>_tests/*.sql)."),
        *_declaration_options,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _train(epochs: int | None, seed: int | None, max_rows: int | None, backend: str, infer_keys: bool,
           dp_epsilon: float | None, not_pii: tuple[str, ...] = (), keep_real: tuple[str, ...] = (),
           max_steps: int | None = None, patience: int | None = None, resume: bool = False,
           no_rule: tuple[str, ...] = (), export_rules: Path | None = None, keep_rule: tuple[str, ...] = ()) -> Any:
    from synthohive_dbt import pipeline
    from synthohive_dbt.config import PrivacyConfig

    privacy = None if dp_epsilon is None else PrivacyConfig(enable_differential_privacy=True, epsilon=dp_epsilon)
    return pipeline.TrainOptions(epochs=epochs, seed=seed, max_rows=max_rows or None, backend=backend,
                                 infer_keys=infer_keys, privacy=privacy, not_pii=not_pii, keep_real=keep_real,
                                 max_steps=max_steps, patience=patience, resume=resume, rules_off=no_rule,
                                 rules_on=keep_rule, export_rules=export_rules)


def _sample_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--target-schema", required=True, help="Schema to (re)place with the synthetic tables."),
        click.option("--rows", type=int, default=None, help="Rows of the largest root table (others follow)."),
        click.option("--scale", type=float, default=None, help="Multiply every real table size by this."),
        click.option("--force", is_flag=True,
                     help="Replace relations in the target that synthohive did not write but whose names it "
                          "writes (listed first). Never drops other relations; never touches objects that read "
                          "the target (views elsewhere refuse the run)."),
        click.option("--adopt", is_flag=True,
                     help="Take over a target written by an earlier release that kept no ownership record: its "
                          "relations are listed, then counted as synthohive's."),
        click.option("--dry-run", is_flag=True,
                     help="Say what the run would create, replace and refuse in each schema; write nothing, "
                          "train nothing (exit 1 if it would refuse)."),
        click.option("--wait", type=click.FloatRange(min=0), default=0, show_default=True, metavar="SECONDS",
                     help="If another synthohive run is writing the same target, wait this long for it."),
        click.option("--build-schema", default=None,
                     help="Sources mode: where dbt builds the models (default: <target-schema>_build)."),
        click.option("--skip-dbt", is_flag=True, help="Only write the tables; run no dbt test/build."),
        click.option("--strict", is_flag=True,
                     help="A learned rule the synthetic rows break fails the run (default: a warning and a report "
                          "line; a declared rule always fails it)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _ui_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--seed", "seed_value", type=int, default=None, help="Random seed (reproducible runs).")(f)
    f = click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                     help="json: one JSON object per line on stderr (CI logs).")(f)
    f = click.option("--quiet", "-q", is_flag=True, help="No progress; print only failures.")(f)
    return f


@contextmanager
def _reporter(quiet: bool, log_format: str) -> Iterator[Any]:
    from synthohive_dbt.pipeline.progress import JsonLogHandler, JsonReporter, reporter_for

    logger = logging.getLogger("synthohive_dbt")
    if log_format == "json":
        reporter: Any = JsonReporter(sys.stderr)
        handler: logging.Handler = JsonLogHandler(sys.stderr)
        level = logging.INFO
    else:
        reporter = reporter_for(sys.stderr, log_format, quiet)
        handler = logging.StreamHandler(sys.stderr)
        level = logging.WARNING
    handler.setLevel(level)
    logger.addHandler(handler)
    old_level, old_propagate = logger.level, logger.propagate
    logger.setLevel(min(level, old_level) if old_level else level)
    logger.propagate = False  # dbt configures the root logger; our records must not print twice
    try:
        yield reporter
    finally:
        reporter.close()
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


def _finish(result: Any, reporter: Any, quiet: bool, log_format: str) -> None:
    from rich.console import Console

    from synthohive_dbt.pipeline.outcomes import outcome_records, render_outcomes, summary_record

    if result.dry_run:
        _finish_dry_run(result, reporter, log_format)
        return
    if log_format == "json":
        for record in outcome_records(result):
            reporter.emit("outcome", **record)
        reporter.emit("summary", **summary_record(result))
        click.echo(json.dumps(summary_record(result)))
    else:
        render_outcomes(result, Console(soft_wrap=False), only_failed=quiet)
    if not result.success:
        sys.exit(1)


def _finish_dry_run(result: Any, reporter: Any, log_format: str) -> None:
    """Print the plan (every schema: create / replace / drop / refuse); exit 1 when the run would refuse."""
    lines = result.plan.lines() if result.plan is not None else []
    refused = result.plan is not None and result.plan.refused
    if log_format == "json":
        reporter.emit("plan", lines=lines, refused=refused, notes=result.notes)
        click.echo(json.dumps({"dry_run": True, "refused": refused, "plan": lines, "notes": result.notes}))
    else:
        click.echo("dry run: nothing was written")
        for line in lines or ["nothing to do"]:
            click.secho(f"  {line}", fg="red" if line.startswith("REFUSE") else None)
        for note in result.notes:
            click.echo(f"  {note}")
    if refused:
        sys.exit(1)


def _pipeline_options(project_dir: Path, profiles_dir: Path | None, target: str | None, profile: str | None,
                      mode: str | None, select: tuple[str, ...], exclude: tuple[str, ...]) -> Any:
    from synthohive_dbt.pipeline import ProjectOptions

    return ProjectOptions(project_dir=project_dir, profiles_dir=profiles_dir, target=target, profile=profile,
                          mode=mode or "mirror", mode_given=mode is not None,  # type: ignore[arg-type]
                          select=_names(select), exclude=_names(exclude))


def _check_rows(rows: int | None, scale: float | None) -> None:
    if rows is not None and scale is not None:
        raise click.UsageError("--rows and --scale cannot be used together: pass one of them")


@cli.command()
@_project_options
@_train_options
@_sample_options
@click.option("--report", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the quality and privacy report here (HTML, plus a .json twin).")
@_ui_options
def seed(project_dir: Path, profiles_dir: Path | None, target: str | None, profile: str | None, mode: str | None,
         select: tuple[str, ...], exclude: tuple[str, ...], epochs: int | None, max_steps: int | None,
         patience: int | None, max_rows: int | None, backend: str,
         infer_keys: bool, dp_epsilon: float | None, no_rule: tuple[str, ...], keep_rule: tuple[str, ...],
         export_rules: Path | None,
         not_pii: tuple[str, ...], keep_real: tuple[str, ...], target_schema: str, rows: int | None, scale: float | None, force: bool, adopt: bool, dry_run: bool,
         wait: float, build_schema: str | None, skip_dbt: bool, strict: bool, report: Path | None,
         seed_value: int | None,
         log_format: str, quiet: bool) -> None:
    """Learn the real tables, write a synthetic copy into --target-schema, run the project's dbt tests on it."""
    _check_rows(rows, scale)
    from synthohive_dbt import pipeline  # heavy (dbt, torch): after the cheap checks

    options = _pipeline_options(project_dir, profiles_dir, target, profile, mode, select, exclude)
    with _reporter(quiet, log_format) as reporter:
        result = pipeline.seed(
            options, _train(epochs, seed_value, max_rows, backend, infer_keys, dp_epsilon, not_pii, keep_real,
                            max_steps, patience, no_rule=no_rule, export_rules=export_rules, keep_rule=keep_rule),
            pipeline.SampleOptions(rows=rows, scale=scale, strict=strict),  # samples with the training seed
            pipeline.OutputOptions(target_schema=target_schema, force=force, adopt=adopt, dry_run=dry_run,
                                   wait=wait, build_schema=build_schema, report=report, run_dbt=not skip_dbt),
            reporter)
    _finish(result, reporter, quiet, log_format)


@cli.command()
@_project_options
@_train_options
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Where to save the model (one file: safetensors + JSON; no pickle, no real personal data).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted fit from OUT.checkpoint (written while training, deleted once the model "
                   "is saved): finished tables are not retrained, the table in progress continues where it was. "
                   "Same data and options needed; without --seed the checkpoint's seed is used.")
@_ui_options
def fit(project_dir: Path, profiles_dir: Path | None, target: str | None, profile: str | None, mode: str | None,
        select: tuple[str, ...], exclude: tuple[str, ...], epochs: int | None, max_steps: int | None,
        patience: int | None, max_rows: int | None, backend: str,
        infer_keys: bool, dp_epsilon: float | None, no_rule: tuple[str, ...], keep_rule: tuple[str, ...],
         export_rules: Path | None,
        not_pii: tuple[str, ...], keep_real: tuple[str, ...], out: Path, resume: bool, seed_value: int | None, log_format: str, quiet: bool) -> None:
    """Learn the real tables and save the model, for `synthohive generate` in CI (no real data needed there)."""
    from synthohive_dbt import pipeline

    options = _pipeline_options(project_dir, profiles_dir, target, profile, mode, select, exclude)
    with _reporter(quiet, log_format) as reporter:
        path = pipeline.fit(options, _train(epochs, seed_value, max_rows, backend, infer_keys, dp_epsilon, not_pii,
                                            keep_real, max_steps, patience, resume, no_rule, export_rules,
                                            keep_rule), out,
                            reporter)
    if log_format == "json":
        click.echo(json.dumps({"model": str(path)}))
    elif not quiet:
        click.echo(f"model saved to {path}")


@cli.command()
@_project_options
@click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              required=True, help="A model saved by `synthohive fit --out`.")
@_sample_options
@_ui_options
def generate(project_dir: Path, profiles_dir: Path | None, target: str | None, profile: str | None, mode: str | None,
             select: tuple[str, ...], exclude: tuple[str, ...], model_path: Path, target_schema: str,
             rows: int | None, scale: float | None, force: bool, adopt: bool, dry_run: bool, wait: float,
             build_schema: str | None, skip_dbt: bool, strict: bool, seed_value: int | None, log_format: str,
             quiet: bool) -> None:
    """Sample a saved model into --target-schema and run the dbt tests; reads no real data (CI seeding)."""
    _check_rows(rows, scale)
    from synthohive_dbt import pipeline  # heavy (dbt, torch): after the cheap checks

    options = _pipeline_options(project_dir, profiles_dir, target, profile, mode, select, exclude)
    with _reporter(quiet, log_format) as reporter:
        result = pipeline.generate(options, model_path, pipeline.SampleOptions(rows=rows, scale=scale,
                                                                               seed=seed_value, strict=strict),
                                   pipeline.OutputOptions(target_schema=target_schema, force=force, adopt=adopt,
                                                          dry_run=dry_run, wait=wait, build_schema=build_schema,
                                                          run_dbt=not skip_dbt),
                                   reporter)
    _finish(result, reporter, quiet, log_format)


# ---------------------------------------------------------------------------------------------------------
# report: measure synthetic tables already written (by `generate` in CI) against the real ones

@cli.command()
@_project_options
@click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              required=True, help="The model the synthetic tables were sampled from (`synthohive fit --out`).")
@click.option("--synthetic-schema", default=None,
              help="Schema holding the synthetic tables (the --target-schema of seed/generate), same connection.")
@click.option("--synthetic-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Or a folder of <table>.parquet / <table>.csv files.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=Path("synthohive_report.html"),
              show_default=True, help="The HTML report; the JSON with every number goes next to it (.json).")
@click.option("--gates", "gates_path", default=None, metavar="FILE|default",
              help="Fail (exit 1) on missed quality/privacy gates: a JSON/YAML file of QualityGates fields, or "
                   "`default` for the default thresholds.")
@click.option("--min-overall", type=click.FloatRange(0.0, 1.0), default=None,
              help="Fail (exit 1) below this overall score (alone: the only gate; with --gates: overrides it).")
@click.option("--dbt-test", "run_dbt", is_flag=True,
              help="Also run the project's dbt tests on --synthetic-schema now, as `generate` does.")
@click.option("--dbt-results", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Or include the tests of an earlier run: its run_results.json.")
@click.option("--build-schema", default=None,
              help="Sources mode with --dbt-test: where dbt builds the models (default: <schema>_build).")
@click.option("--max-rows", type=click.IntRange(min=1), default=None,
              help="Read at most about this many rows of the largest table, per side (keys kept consistent).")
@click.option("--max-plots", type=click.IntRange(min=0), default=60, show_default=True,
              help="Distribution plots in the HTML, lowest scores first (the JSON keeps every number).")
@_ui_options
def report(project_dir: Path, profiles_dir: Path | None, target: str | None, profile: str | None, mode: str | None,
           select: tuple[str, ...], exclude: tuple[str, ...], model_path: Path, synthetic_schema: str | None,
           synthetic_dir: Path | None, out: Path, gates_path: str | None, min_overall: float | None,
           run_dbt: bool, dbt_results: Path | None, build_schema: str | None, max_rows: int | None,
           max_plots: int, seed_value: int | None, log_format: str, quiet: bool) -> None:
    """Measure synthetic tables already written against the real ones: HTML + JSON quality and privacy report."""
    from synthohive_dbt.pipeline.report import ReportOptions, load_gates
    from synthohive_dbt.pipeline.report import report as run_report
    from synthohive_dbt.report.html import PlotLimits

    options = ReportOptions(synthetic_schema=synthetic_schema, synthetic_dir=synthetic_dir, out=out,
                            gates=load_gates(gates_path, min_overall), max_rows=max_rows, seed=seed_value,
                            limits=PlotLimits(column_plots=max_plots), dbt_results=dbt_results, run_dbt=run_dbt,
                            build_schema=build_schema)
    with _reporter(quiet, log_format) as reporter:
        result = run_report(_pipeline_options(project_dir, profiles_dir, target, profile, mode, select, exclude),
                            model_path, options, reporter)
    if log_format == "json":
        reporter.emit("summary", **result.summary())
        click.echo(json.dumps(result.summary()))
    elif not quiet:
        scores = " · ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in result.evaluation.scores.items()
                            if v is not None)
        click.echo(f"report: {result.html}\njson:   {result.json}\nscores: {scores}")
    result.check()  # QualityGateError -> the miss list on stderr, exit 1


@cli.command()
@click.option("--work-dir", type=click.Path(path_type=Path, file_okay=False), default=Path(".synthohive/demo"),
              show_default=True, help="Where the example project is copied and built (replaced on each run).")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Training epochs per table.")
@click.option("--backend", type=click.Choice(backends.CHOICES), default=backends.DEFAULT, show_default=True,
              help="table model (see `synthohive seed --help`)")
@_ui_options
def demo(work_dir: Path, epochs: int | None, backend: str, seed_value: int | None, log_format: str,
         quiet: bool) -> None:
    """The whole loop on the bundled example shop (DuckDB): build it, learn it, seed `synthetic`, dbt build."""
    from synthohive_dbt.pipeline import demo as demo_module

    with _reporter(quiet, log_format) as reporter:
        result = demo_module.demo(work_dir, epochs=epochs or demo_module.DEFAULT_EPOCHS, backend=backend,
                                  seed_value=0 if seed_value is None else seed_value, reporter=reporter)
    _finish(result, reporter, quiet, log_format)


@cli.command()
@click.option("--project-dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=Path("."),
              show_default=True, help="The dbt project to set up.")
@click.option("--dry-run", is_flag=True, help="Show the diff and change nothing.")
def init(project_dir: Path, dry_run: bool) -> None:
    """Install the synthohive dbt package (packages.yml, offline `local:` path) and the source() override."""
    from synthohive_dbt.pipeline.init_project import plan_init

    plan = plan_init(project_dir)
    for note in plan.notes:
        click.echo(note)
    if not plan.changes:
        click.echo(f"{plan.project_dir} is already set up for synthohive: nothing to change")
        return
    click.echo(plan.diff(), nl=False)
    if dry_run:
        click.echo("dry run: nothing was changed")
        return
    written = plan.apply()
    click.echo(f"changed {', '.join(str(p.relative_to(plan.project_dir)) for p in written)}; next: `dbt deps` in "
               f"{plan.project_dir}, then `synthohive seed --project-dir {project_dir} --target-schema synthetic`")


def main() -> None:
    silence_library_warnings()
    try:
        cli()
        code: int = 0
    except SystemExit as exc:
        if isinstance(exc.code, str):
            sys.stderr.write(exc.code + "\n")
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    _exit(code)


def _exit(code: int) -> None:
    """End the process without the interpreter's teardown once torch is loaded: unloading torch and pandas costs
    ~0.4 s that every CI run would wait for (measured: 1.6 s vs 1.2 s for a process that only imports them).
    Everything this process opened is closed by then (engines disposed, staging done, dbt finished); logs and
    the standard streams are flushed first."""
    if "torch" not in sys.modules:
        sys.exit(code)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
