"""The main job, as ordered steps: resolve the project, guard the targets, read, fit, sample, write, test.

    seed     = resolve -> guard -> read -> fit -> sample -> [report] -> write -> dbt test/build
    fit      = resolve -> read -> fit -> save
    generate = load model -> saved manifest (parse only if the project changed) -> guard -> sample+write
               (streamed into staging, chunk by chunk) -> dbt test/build

Every check that can refuse a run (target schema holds real tables, build schema would overwrite real
models, no source redirect in the project, clashing table names) runs BEFORE the real data is read, so a
mistake costs seconds, not a training run. Nothing is written anywhere before `io.write_tables`, which
stages and swaps atomically: an interrupted or failed run leaves the previous target schema as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthohive_dbt.config import TRAINING_ROW_BUDGET, Metadata, PrivacyConfig
from synthohive_dbt.dbt import DbtProject, DbtResult, Outcome
from synthohive_dbt.dbt.worker import DbtWorker, runs_out_of_process
from synthohive_dbt.errors import ConfigError, UnsafeTargetError
from synthohive_dbt.io import (
    count_rows,
    new_run_id,
    open_staged_write,
    read_tables,
    real_columns,
    validate_schema_name,
    warehouse_for,
    write_tables,
)
from synthohive_dbt.models.registry import DEFAULT, backend_class
from synthohive_dbt.pipeline.judging import built_models, judged_tests, same_relation_ids
from synthohive_dbt.pipeline.progress import NullReporter, Reporter
from synthohive_dbt.pipeline.project import (
    QUIET_DBT,
    Mode,
    ProjectTables,
    load_raw_manifest,
    parse,
    resolve,
    selected_ids,
    tables_for_model,
)
from synthohive_dbt.pipeline.redirect import (
    build_project,
    built_relations,
    defer_args,
    ids_at,
    sources_at,
    state_manifest,
    write_state,
)
from synthohive_dbt.pipeline.saved_project import (
    SCHEMA_VAR,
    SavedProject,
    changed_nodes,
    fingerprint,
    location,
    record,
    relocated,
)
from synthohive_dbt.pipeline.rules import report_hierarchies, report_rules, rule_refs
from synthohive_dbt.pipeline.safety import RunPlan, check_plan, plan_run, record_build, run_lock, run_workspace
from synthohive_dbt.privacy.detect import unmark_hint
from synthohive_dbt.privacy.overrides import apply_declarations, kept_real_note, parse_column_refs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectOptions:
    """Which dbt project, connection and tables (dbt's own flags and selection syntax)."""

    project_dir: Path = Path(".")
    profiles_dir: Path | None = None
    target: str | None = None
    profile: str | None = None
    mode: Mode = "mirror"
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None  # extra environment for dbt (tests); users set it in their shell
    mode_given: bool = True  # False: `generate`/`report` take the mode the model was fitted with

    def with_fit_choices(self, fitted: Mapping[str, Any]) -> ProjectOptions:
        """For a saved model: the mode and selection `fit` used, unless given again here (then those win)."""
        mode = self.mode if self.mode_given or fitted.get("mode") not in ("mirror", "sources") else fitted["mode"]
        if self.select or self.exclude:
            return dataclasses.replace(self, mode=mode)
        return dataclasses.replace(self, mode=mode, select=tuple(fitted.get("select", ())),
                                   exclude=tuple(fitted.get("exclude", ())))


@dataclass(frozen=True)
class TrainOptions:
    """How the real data is read and learned."""

    epochs: int | None = None  # passes over each table; None = the backend's own (CTGAN/TVAE 300, AR 100)
    seed: int | None = None
    max_rows: int | None = TRAINING_ROW_BUDGET  # FK-consistent row budget of the largest table; None reads all
    batch_size: int = 500
    backend: str = DEFAULT  # a name of models/registry.py
    privacy: PrivacyConfig | None = None
    infer_keys: bool = True  # add undeclared foreign keys the data and column names support (relational.infer)
    not_pii: tuple[str, ...] = ()  # TABLE.COLUMN declared not personal data (--not-pii): never faked by heuristics
    keep_real: tuple[str, ...] = ()  # tables kept as they are (--keep-real): non-sensitive reference tables
    max_steps: int | None = None  # optimiser steps per table; None = the backend's own (CTGAN 300, AR 2000)
    patience: int | None = None  # scores without improvement before stopping; None = the backend's (AR 3)
    resume: bool = False  # `fit --resume`: continue from the checkpoint an interrupted fit left beside --out
    rules_off: tuple[str, ...] = ()  # TABLE:RULE switched off (--no-rule): declared or learned row/group rules
    rules_on: tuple[str, ...] = ()  # TABLE:RULE kept on under differential privacy (--keep-rule): learned rules
    export_rules: Path | None = None  # write the learned rules as dbt tests here (--export-rules)


@dataclass(frozen=True)
class SampleOptions:
    """How many rows: `rows` for the largest root table (the others follow), or `scale` x the real sizes."""

    rows: int | None = None
    scale: float | None = None
    seed: int | None = None
    strict: bool = False  # a learned rule the output breaks fails the run (--strict)


@dataclass(frozen=True)
class OutputOptions:
    """Where synthetic tables go and what dbt runs on them afterwards."""

    target_schema: str
    force: bool = False  # replace same-named relations synthohive did not write (never other ones)
    adopt: bool = False  # take over a target written by a release that kept no ownership record
    dry_run: bool = False  # say what would be created, replaced and refused; write nothing
    wait: float = 0.0  # seconds to wait for another run holding the target's lock
    build_schema: str | None = None  # sources mode: where `dbt build` puts the models; default <target>_build
    report: Path | None = None
    run_dbt: bool = True

    def build_schema_name(self) -> str:
        return self.build_schema or f"{self.target_schema}_build"


@dataclass
class RunResult:
    """What a run did: rows written per table, dbt's outcomes, where the report and model are."""

    mode: Mode
    target_schema: str
    rows: dict[str, int] = field(default_factory=dict)
    dbt: DbtResult | None = None
    build_schema: str | None = None
    report: Path | None = None
    model_path: Path | None = None
    not_modelled: int = 0
    inferred_keys: list[Any] = field(default_factory=list)  # relational.infer.InferredFK, for review
    plan: RunPlan | None = None  # what the run did (or, with dry_run, would do) in each schema
    dry_run: bool = False
    checks: list[Outcome] = field(default_factory=list)  # synthohive's own checks (sources mode: model sizes)
    notes: list[str] = field(default_factory=list)  # declarations worth stating (tables kept real)

    @property
    def outcomes(self) -> list[Outcome]:
        """dbt's outcomes, then synthohive's own checks: what the outcome table shows."""
        return [*(self.dbt.outcomes if self.dbt else []), *self.checks]

    @property
    def tests(self) -> list[Outcome]:
        return self.dbt.tests() if self.dbt else []

    @property
    def failed(self) -> list[Outcome]:
        return [*(self.dbt.failed if self.dbt else []), *(c for c in self.checks if c.status == "fail")]

    @property
    def success(self) -> bool:
        return not self.failed and not (self.plan is not None and self.plan.refused)


def open_project(options: ProjectOptions, run_id: str | None = None) -> DbtProject:
    """The user's project, with dbt's artifacts in a workspace of this run's own (see `safety`)."""
    project = DbtProject(options.project_dir, profiles_dir=options.profiles_dir, target=options.target,
                         profile=options.profile, env=options.env)
    project.target_path = run_workspace(project.project_dir, run_id or new_run_id())
    return project


def _locked(project: DbtProject, output: OutputOptions, reporter: Reporter) -> contextlib.AbstractContextManager[None]:
    """The target's run lock (none for a dry run, which writes nothing)."""
    if output.dry_run:
        return contextlib.nullcontext()
    return run_lock(project, output.target_schema, wait=output.wait, reporter=reporter)


# --------------------------------------------------------------------------------------------- commands
def seed(project_options: ProjectOptions, train: TrainOptions, sample: SampleOptions, output: OutputOptions,
         reporter: Reporter | None = None) -> RunResult:
    """`synthohive seed`: learn the real tables and replace the target schema with a synthetic copy."""
    reporter = reporter or NullReporter()
    _check_output(output)
    _check_sizes(sample)
    run_id = new_run_id()
    project = open_project(project_options, run_id)
    with _locked(project, output, reporter), contextlib.ExitStack() as stack:
        tables = _resolve(project, project_options, reporter)
        notes = _declaration_notes(_declared(tables.metadata, train))  # bad flags refuse before any read
        builder, plan = _guard(project, tables, output, stack, reporter)
        if output.dry_run:
            return RunResult(project_options.mode, output.target_schema, plan=plan, dry_run=True, notes=notes)
        _ready_to_write(project)
        synth, inferred = _fit(project, tables, train, reporter)
        frames = _sample(synth, sample, reporter)
        result = RunResult(project_options.mode, output.target_schema, report=output.report, plan=plan,
                           not_modelled=len(tables.read.not_modelled), inferred_keys=inferred, notes=notes)
        try:
            result = _write_and_run(project, builder, tables, frames, output, project_options, reporter, result,
                                    run_id, size_factor(synth.plans, frames))
        except Exception:  # a failed write or dbt run still leaves the report of what was measured
            _report(synth, output.report, result.dbt, reporter)
            raise
        _explain_faked_failures(result, tables, synth.pii_findings)
        _report(synth, output.report, result.dbt, reporter)
        return result


def fit(project_options: ProjectOptions, train: TrainOptions, out: Path,
        reporter: Reporter | None = None) -> Path:
    """`synthohive fit`: learn the real tables and save the model (safetensors + JSON, no pickle)."""
    from synthohive_dbt.models.artifact import remove_stale_temp_files

    reporter = reporter or NullReporter()
    for stale in remove_stale_temp_files(out):
        reporter.step(f"removed {stale}, left by an earlier `synthohive fit` that was interrupted")
    project = open_project(project_options)
    tables = _resolve(project, project_options, reporter)
    out = Path(out)
    checkpoint = checkpoint_path(out)
    if train.resume and checkpoint.is_file():
        reporter.step(f"resuming from {checkpoint}: finished tables are loaded, the table in progress continues")
    saved = record(project, {t.identifier: t.real for t in tables.tables.values()}, tables.manifest)
    synth, _ = _fit(project, tables, train, reporter, checkpoint)
    synth.provenance = {"mode": project_options.mode, "select": list(project_options.select),
                        "exclude": list(project_options.exclude), **saved.to_provenance()}
    out.parent.mkdir(parents=True, exist_ok=True)
    synth.save(out)
    checkpoint.unlink(missing_ok=True)  # it holds the critics too, which the saved model leaves out
    reporter.step(f"saved the model to {out}", path=str(out))
    return out


def checkpoint_path(out: Path) -> Path:
    """Where `synthohive fit --out OUT` checkpoints its training (and `--resume` looks): beside OUT."""
    return out.with_name(out.name + ".checkpoint")


def generate(project_options: ProjectOptions, model_path: Path, sample: SampleOptions, output: OutputOptions,
             reporter: Reporter | None = None) -> RunResult:
    """`synthohive generate`: sample a saved model into the target schema. Reads no real data and no real
    relation: the tables' columns and the manifest come from the model (the project is parsed again only when
    its files or target changed since `fit`), and every table is streamed chunk by chunk into staging."""
    reporter = reporter or NullReporter()
    _check_output(output)
    _check_sizes(sample)
    run_id = new_run_id()
    project = open_project(project_options, run_id)
    with _locked(project, output, reporter), contextlib.ExitStack() as stack:
        adapter = project.resolved_profile().spec.dialect
        worker = stack.enter_context(DbtWorker(project, adapter)) \
            if output.run_dbt and not output.dry_run and runs_out_of_process(adapter) else None
        if not output.dry_run:
            from synthohive_dbt.relational.sinks import EXECUTOR_MODULES

            _ready_to_write(project, EXECUTOR_MODULES)
        from synthohive_dbt.relational.synthesizer import Synthesizer  # torch: after the worker started

        reporter.step(f"loading the model {model_path}")
        synth = Synthesizer.load(model_path)
        saved = SavedProject.from_provenance(synth.provenance)
        project_options = project_options.with_fit_choices(synth.provenance)
        manifest, reusable = _manifest_for_model(project, saved, reporter)
        tables = tables_for_model(manifest, synth.metadata.tables, project_options.mode)
        tables.manifest_is_final = reusable
        builder, plan = _guard(project, tables, output, stack, reporter)
        if output.dry_run:
            return RunResult(project_options.mode, output.target_schema, plan=plan, dry_run=True,
                             model_path=Path(model_path))
        result = RunResult(project_options.mode, output.target_schema, model_path=Path(model_path), plan=plan,
                           notes=_declaration_notes(synth.metadata))
        if worker is not None and tables.mode == "mirror" and tables.manifest_is_final:
            worker.prepare(*_mirror_manifest(tables, output))  # built and warmed while this process samples
        else:
            worker = None
        result.rows = _stream(project, synth, tables, saved, sample, output, reporter, plan, run_id)
        by_name = {t.name: result.rows.get(t.identifier, 0) for t in tables.tables.values()}
        _after_write(project, builder, tables, output, project_options, reporter, result, run_id,
                     size_factor(synth.plans, by_name), worker)
        _explain_faked_failures(result, tables, synth.pii_findings)
        return result


def _ready_to_write(project: DbtProject, modules: Sequence[str] = ()) -> None:
    """Before any real data is read or any model loaded: refuse what would stop the write at the end of the run
    (`check_can_write`), then, for a run that samples, let the warehouse start what draws the rows (Spark: the
    executors' Python workers, importing `modules`) while this process loads the model and checks the target."""
    engine = project.engine()
    try:
        warehouse = warehouse_for(engine)
        warehouse.check_can_write(engine)
        if modules:
            warehouse.prepare_to_sample(engine, modules)
    finally:
        engine.dispose()


def _manifest_for_model(project: DbtProject, saved: SavedProject, reporter: Reporter) -> tuple[Path, bool]:
    """The manifest saved with the model while the project is as it was at fit time (no parse); otherwise a
    fresh `dbt parse`, with each node that changed since fit and whether the model still covers it. The flag:
    the saved manifest is used and dbt may run with it as is (its parse ignores our --vars), parsing nothing."""
    if saved.manifest is not None and saved.fingerprint == fingerprint(project):
        engine = project.engine()
        try:
            here = location(project, engine)
        finally:
            engine.dispose()
        manifest, moved = saved.manifest, ""
        if saved.location and here != saved.location:
            manifest = relocated(manifest, saved.location, here)
            moved = f", moved from {saved.location} to {here}"
        path = project.target_path / "manifest.json"
        path.write_text(json.dumps(manifest))
        reporter.step("the dbt project is unchanged since `fit` (files, profile, target, dbt version): using the "
                      f"manifest saved with the model{moved}, no parse")
        return path, saved.parse_ignores_vars
    why = "it changed since `fit`" if saved.manifest is not None else "the model carries no manifest"
    reporter.step(f"parsing the dbt project at {project.project_dir} ({why})")
    path = parse(project, "mirror")
    if saved.manifest is not None:
        changes = changed_nodes(saved.manifest, load_raw_manifest(path), list(saved.columns), saved.columns)
        for change in changes:
            reporter.step(("" if change.covered else "WARNING: ") + change.message(), unique_id=change.unique_id,
                          change=change.change, covered=change.covered)
        uncovered = sum(not c.covered for c in changes)
        reporter.step(f"{len(changes)} node(s) changed since `fit`; the model covers "
                      f"{'all of them' if not uncovered else f'all but {uncovered}'}",
                      changed=len(changes), uncovered=uncovered)
    return path, False


class _ToTarget:
    """A sampling sink that hands each chunk to the staged write under the table's target identifier, with
    its columns in the real table's order. When the staged write offers a Spark session (an `ExecutorSink`,
    Spark's), so does this: the tables are then drawn on the executors and handed over as folders."""

    def __init__(self, staged: Any, identifiers: Mapping[str, str]) -> None:  # a StagedWrite or the warehouse's own
        self.staged, self.identifiers = staged, identifiers
        self.results = staged.counts
        self.spark_session = getattr(staged, "spark_session", None)

    def write(self, table: str, frame: pd.DataFrame) -> None:
        ident = self.identifiers[table]
        names = [c.name for c in self.staged.columns[ident]]
        self.staged.write(ident, frame[names] if set(names) == set(frame.columns) else frame)

    def close(self, table: str, columns: list[str]) -> None:
        self.staged.close(self.identifiers[table], columns)

    def partition_folder(self) -> Path:
        return Path(self.staged.partition_folder())

    def spark_schema(self, table: str) -> str | None:
        return self.staged.spark_schema(self.identifiers[table])  # type: ignore[no-any-return]

    def adopt(self, table: str, folder: str, rows: int) -> None:
        self.staged.adopt(self.identifiers[table], folder, rows)


def _stream(project: DbtProject, synth: Any, tables: ProjectTables, saved: SavedProject, sample: SampleOptions,
            output: OutputOptions, reporter: Reporter, plan: RunPlan, run_id: str) -> dict[str, int]:
    """Sample straight into the staging schema, chunk by chunk, then swap: memory does not grow with the rows."""
    engine = project.engine()
    try:
        reporter.step(f"sampling and writing {len(tables.tables)} synthetic table(s) into schema "
                      f"{output.target_schema!r} chunk by chunk ({warehouse_for(engine).publishing}; only "
                      "relations synthohive wrote are replaced)")
        columns = _target_columns(engine, tables, saved, reporter)
        identifiers = {t.name: t.identifier for t in tables.tables.values()}
        with open_staged_write(engine, output.target_schema, columns, force=output.force, adopt=output.adopt,
                               run_id=run_id, ours_elsewhere=plan.ours_elsewhere, on_progress=reporter.write,
                               on_note=reporter.step) as staged:
            _sample(synth, sample, reporter, sink=_ToTarget(staged, identifiers))
        return dict(staged.counts)
    finally:
        engine.dispose()


def _target_columns(engine: Any, tables: ProjectTables, saved: SavedProject, reporter: Reporter
                    ) -> dict[str, list[Any]]:
    """Each table's columns as fitted (names, order, types spelled by this warehouse); a model saved by an
    earlier release, which has none, falls back to the real relations' columns."""
    idents = [t.identifier for t in tables.tables.values()]
    if saved.warehouse is not None and all(i in saved.columns for i in idents):
        columns = saved.columns_for(engine)
        here = warehouse_for(engine).dialect
        if here != saved.warehouse:
            reporter.step(f"the model was fitted on {saved.warehouse}: its column types are written as {here} types")
        return {i: columns[i] for i in idents}
    reporter.step("WARNING: this model carries no column types (saved by an earlier release): reading them from "
                  "the real relations; refit with `synthohive fit` to seed a database that holds no real tables")
    return real_columns(engine, {t.identifier: t.real for t in tables.tables.values()})


# ------------------------------------------------------------------------------------------------ steps
def _check_output(output: OutputOptions) -> None:
    """Names first: a bad schema name must not cost a dbt parse, let alone a training run."""
    validate_schema_name(output.target_schema, what="target schema")
    validate_schema_name(output.build_schema_name(), what="build schema")


def _check_sizes(sample: SampleOptions) -> None:
    if sample.rows is not None and sample.scale is not None:
        raise ConfigError("--rows and --scale were both given", hint="pass one of them")
    if sample.rows is not None and sample.rows < 1:
        raise ConfigError(f"--rows {sample.rows} must be at least 1", hint="e.g. --rows 1000")
    if sample.scale is not None and sample.scale <= 0:
        raise ConfigError(f"--scale {sample.scale} must be positive", hint="e.g. --scale 0.5 or --scale 2")


def _resolve(project: DbtProject, options: ProjectOptions, reporter: Reporter) -> ProjectTables:
    how = "compiling" if options.mode == "sources" else "parsing"
    reporter.step(f"{how} the dbt project at {project.project_dir}")
    tables = resolve(project, options.mode, select=options.select, exclude=options.exclude)
    reporter.step(f"{len(tables.tables)} table(s) to synthesize ({options.mode} mode): "
                  f"{', '.join(sorted(tables.tables))}", tables=sorted(tables.tables),
                  not_modelled=len(tables.read.not_modelled))
    for entry in tables.read.not_modelled:
        log.info("not modelled: %s: %s", entry.test, entry.reason)
    for line in tables.left_out:
        reporter.step(f"left out: {line}")
    return tables


def _guard(project: DbtProject, tables: ProjectTables, output: OutputOptions, stack: contextlib.ExitStack,
           reporter: Reporter, *, writes_target: bool = True) -> tuple[DbtProject | None, RunPlan]:
    """Every refusal before any real data is read; returns the build project (sources mode) or None, and the
    plan of what the run will change (with `dry_run`, the plan is returned unchecked: the caller prints it)."""
    builder, built, build_schema = None, [], None
    if output.run_dbt and tables.mode == "sources":
        build_schema = validate_schema_name(output.build_schema_name(), what="build schema")
        if build_schema.lower() == output.target_schema.lower():
            raise ConfigError(f"the build schema {build_schema!r} is the target schema",
                              hint="models must not be built into the schema that holds the synthetic sources")
        builder = stack.enter_context(build_project(project, build_schema))
        reporter.step(f"parsing the project with models building into {build_schema!r}")
        built = built_relations(json.loads(parse(builder, "mirror").read_text()))
        real = {(r.schema.lower(), r.name.lower()) for r in tables.real_relations}
        guarded = {output.target_schema.lower(), f"{output.target_schema}__synthohive_staging".lower()}
        clash = sorted(f"{uid} -> {rel}" for uid, rel in built
                       if (rel.schema.lower(), rel.name.lower()) in real or rel.schema.lower() in guarded)
        if clash:
            raise UnsafeTargetError(
                f"with models building into schema {build_schema!r}, dbt would write over real or synthetic "
                f"relations: {', '.join(clash[:5])}{' ...' if len(clash) > 5 else ''}",
                hint="pass another --build-schema; if the project's generate_schema_name ignores the target "
                     "schema, models cannot be moved away from the real ones, so use --mode mirror")
    names = [t.identifier for t in tables.tables.values()] if writes_target else None
    plan = plan_run(project, output.target_schema, names, force=output.force, adopt=output.adopt,
                    build_schema=build_schema, built=[rel for _, rel in built], real=tables.real_relations)
    if not output.dry_run:
        check_plan(plan, output.target_schema, reporter)
    return builder, plan


def _fit(project: DbtProject, tables: ProjectTables, train: TrainOptions, reporter: Reporter,
         checkpoint: Path | None = None) -> tuple[Any, list[Any]]:
    from synthohive_dbt.report.synthesizer import Synthesizer  # measured: `seed --report` reports the sample

    for knob, value in (("epochs", train.epochs), ("max-steps", train.max_steps), ("patience", train.patience)):
        if value is not None and value < 1:
            raise ConfigError(f"--{knob} {value} must be at least 1", hint=f"e.g. --{knob} 300, or leave it out "
                                                                            "for the backend's default")
    budget = f" (at most ~{train.max_rows} rows per table, keys kept consistent)" if train.max_rows else ""
    reporter.step(f"reading {len(tables.tables)} real table(s){budget}")
    engine = project.engine()
    try:
        frames = read_tables(engine, tables.real_relations_of(), foreign_keys=tables.metadata,
                             max_rows=train.max_rows, seed=train.seed or 0)
        real_sizes = ({n: count_rows(engine, r) for n, r in tables.real_relations_of().items()}
                      if train.max_rows is not None else None)
    finally:
        engine.dispose()
    reporter.step("read " + ", ".join(f"{n}: {len(f)} rows" for n, f in frames.items()),
                  rows={n: len(f) for n, f in frames.items()})
    metadata, inferred = _infer_keys(frames, tables, train, reporter)
    metadata = _declared(metadata, train)
    for note in _declaration_notes(metadata):
        reporter.step(note)
    synth = Synthesizer(metadata, privacy_config=train.privacy, backend=train.backend)
    synth.rules_off = rule_refs(train.rules_off)
    synth.rules_on = rule_refs(train.rules_on, "--keep-rule")
    limits = backend_class(train.backend).training_limits(train.epochs, train.max_steps, train.patience)
    reporter.step(f"training {train.backend} per table: {limits}")
    synth.fit(frames, epochs=train.epochs, batch_size=train.batch_size, seed=train.seed, progress=reporter.table,
              max_steps=train.max_steps, patience=train.patience, checkpoint=checkpoint, resume=train.resume,
              before_training=lambda meta: report_rules(meta, reporter, train.export_rules))  # listed for review
    for name, real in (real_sizes or {}).items():  # sampled under the budget: scale 1 means the real size
        if name in synth.plans and real > synth.plans[name].n_real:
            reporter.step(f"{name}: fitted on {synth.plans[name].n_real} of its {real} rows (--max-rows "
                          f"{train.max_rows}); generated sizes follow the {real}")
            synth.plans[name].n_real = real
    report_hierarchies(synth.plans, reporter)  # learned table by table while training
    for finding in synth.pii_findings:
        reporter.step(f"personal data in {finding.table}.{finding.column} ({finding.kind}) is replaced by fakes",
                      table=finding.table, column=finding.column, kind=finding.kind)
    dp = synth.privacy_report()
    if dp is not None:
        reporter.step(f"differential privacy: epsilon {dp['epsilon_total']:.3g}, delta {dp['delta_total']:.1e} spent "
                      f"over {len(dp['tables'])} table(s); the report lists what this does not cover",
                      epsilon=dp["epsilon_total"], delta=dp["delta_total"])
    return synth, inferred


def _declared(metadata: Metadata, train: TrainOptions) -> Metadata:
    """The metadata with --not-pii / --keep-real added to the project's own declarations."""
    return apply_declarations(metadata, parse_column_refs(train.not_pii), train.keep_real)


def _declaration_notes(metadata: Metadata) -> list[str]:
    note = kept_real_note(metadata)
    return [note] if note else []


def _explain_faked_failures(result: RunResult, tables: ProjectTables, findings: Sequence[Any]) -> None:
    """A failing test on a column that was faked says so, why, and how to unmark it (never "train longer")."""
    if result.dbt is None or not findings:
        return
    by_uid = {t.unique_id: t.name for t in tables.tables.values()}
    faked = {(f.table, f.column.lower()): f for f in findings}
    nodes = tables.manifest.get("nodes") or {}
    explained = []
    for o in result.dbt.outcomes:
        node = nodes.get(o.unique_id) or {}
        column = node.get("column_name") or ((node.get("test_metadata") or {}).get("kwargs") or {}).get("column_name")
        attached = [node.get("attached_node"), *((node.get("depends_on") or {}).get("nodes") or [])]
        table = next((by_uid[u] for u in attached if u in by_uid), None)
        finding = faked.get((table, str(column).strip('"`').lower())) if table and column else None
        if o.passed or o.resource_type != "test" or finding is None:
            explained.append(o)
            continue
        explained.append(dataclasses.replace(o, message=f"{o.message or 'failed'}; {unmark_hint(finding)}"))
    result.dbt.outcomes = explained


def _infer_keys(frames: Mapping[str, pd.DataFrame], tables: ProjectTables, train: TrainOptions,
                reporter: Reporter) -> tuple[Any, list[Any]]:
    """Undeclared keys and foreign keys found in the data (declared ones win); each is reported so a user can
    review it and declare it (a `unique` or relationships test). --no-infer-keys turns off foreign keys only:
    an identifier is never published, whatever the links. Columns that hold another table's keys but could not
    be linked are reported before training."""
    from synthohive_dbt.relational.infer import infer_keys

    found = infer_keys(frames, tables.metadata, foreign_keys=train.infer_keys)
    for key in found.keys:
        reporter.step(key.message(), **key.to_dict())
    for fk in found.inferred:
        reporter.step(fk.message(), **fk.to_dict())
    for ref in found.undeclared:
        reporter.step("WARNING: " + ref.message(), **ref.to_dict())
    for skipped in found.skipped:
        log.info("%s", skipped.message())
    if not found.inferred and not found.keys:
        return tables.metadata, []
    return found.apply(tables.metadata), found.inferred


def _sample(synth: Any, sample: SampleOptions, reporter: Reporter, sink: Any = None) -> dict[str, Any]:
    """Draw the synthetic tables; without `sample.seed`, the synthesizer's own seed (the training seed) is used."""
    scale = sample.scale
    if sample.rows is not None:
        roots = {n: p.n_real for n, p in synth.plans.items() if p.driving is None and p.copied is None}
        largest = max(roots, key=lambda n: (roots[n], n))
        scale = sample.rows / max(roots[largest], 1)
    from synthohive_dbt.io.spark import master_of, parallelism_of
    from synthohive_dbt.relational.sinks import executors_of

    spark = executors_of(sink)
    reporter.step("sampling the synthetic tables" + (
        "" if spark is None else f" on the Spark executors ({parallelism_of(spark)} partitions at "
                                 f"{master_of(spark)}; each partition writes its own files)"))
    synth.strict_rules = sample.strict
    frames = synth.sample(scale=scale, seed=sample.seed, progress=reporter.table, sink=sink)
    return dict(frames)


def _report(synth: Any, path: Path | None, dbt: DbtResult | None, reporter: Reporter) -> None:
    """The report (if one was asked for), rendered once: the sample as measured when it was drawn, and dbt's
    outcomes once dbt has tested the written tables."""
    from synthohive_dbt.report.measure import write_report

    if path is None:
        return
    note = kept_real_note(synth.metadata)
    if note and synth.last_evaluation is not None and note not in synth.last_evaluation.notes:
        synth.last_evaluation.notes.append(note)

    tests = [{"name": o.name, "status": o.status, "failures": o.failures}
             for o in (dbt.outcomes if dbt is not None else []) if o.resource_type == "test"]
    assert synth.last_evaluation is not None  # `seed` keeps the real data, so every sample is measured
    html, js = write_report(synth.last_evaluation, path, dbt_tests=tests)
    with_tests = f", with {len(tests)} dbt test outcome(s)" if tests else ""
    reporter.step(f"quality report: {html} (and {js}){with_tests}", html=str(html), json=str(js))


def _write_and_run(project: DbtProject, builder: DbtProject | None, tables: ProjectTables,
                   frames: Mapping[str, pd.DataFrame], output: OutputOptions, options: ProjectOptions,
                   reporter: Reporter, result: RunResult, run_id: str, factor: float = 1.0) -> RunResult:
    assert result.plan is not None
    result.rows = _write(project, tables, frames, output, reporter, result.plan, run_id)
    return _after_write(project, builder, tables, output, options, reporter, result, run_id, factor)


def _after_write(project: DbtProject, builder: DbtProject | None, tables: ProjectTables, output: OutputOptions,
                 options: ProjectOptions, reporter: Reporter, result: RunResult, run_id: str,
                 factor: float = 1.0, worker: DbtWorker | None = None) -> RunResult:
    """dbt on what was written (test in mirror mode, build in sources mode), and the model sizes check."""
    assert result.plan is not None
    if output.run_dbt:
        try:
            result.dbt, not_run = _run_dbt(project, builder, tables, output, options, reporter, worker)
            result.checks.extend(not_run)
        finally:
            if tables.mode == "sources":
                record_build(project, output.build_schema_name(), result.plan.built, run_id)
        result.build_schema = output.build_schema_name() if tables.mode == "sources" else None
        if tables.mode == "sources" and builder is not None:
            result.checks.extend(_model_sizes(project, builder, tables, result, factor, reporter))
    return result


def _model_sizes(project: DbtProject, builder: DbtProject, tables: ProjectTables, result: RunResult,
                 factor: float, reporter: Reporter) -> list[Outcome]:
    """Each model built on the synthetic sources against the same model on real data (see `model_sizes`)."""
    from synthohive_dbt.pipeline.model_sizes import compare_model_sizes

    assert result.dbt is not None
    build_manifest = json.loads((builder.target_path / "manifest.json").read_text())
    engine = project.engine()
    try:
        sizes = compare_model_sizes(engine, tables.manifest, build_manifest, result.dbt.outcomes, factor)
    finally:
        engine.dispose()
    failed = [m for m in sizes if m.failed]
    compared = [m for m in sizes if m.real_rows is not None]
    reporter.step(f"model sizes on synthetic vs real data: {len(compared) - len(failed)}/{len(compared)} models "
                  f"within 1/10 of their real size" + (f", {len(sizes) - len(compared)} never built on real data"
                                                       if len(sizes) > len(compared) else ""))
    return [m.outcome() for m in sizes]


def size_factor(plans: Mapping[str, Any], frames: Mapping[str, pd.DataFrame | int]) -> float:
    """How much larger the synthetic data is than the real (the median over tables of rows / real rows);
    `frames` holds the tables or their row counts."""
    ratios = sorted((f if isinstance(f, int) else len(f)) / p.n_real for n, p in plans.items()
                    if p.n_real > 0 and (f := frames.get(n)) is not None)
    return ratios[len(ratios) // 2] if ratios else 1.0


def _write(project: DbtProject, tables: ProjectTables, frames: Mapping[str, pd.DataFrame],
           output: OutputOptions, reporter: Reporter, plan: RunPlan, run_id: str) -> dict[str, int]:
    engine = project.engine()
    try:
        reporter.step(f"writing {len(frames)} synthetic table(s) into schema {output.target_schema!r} "
                      f"({warehouse_for(engine).publishing}; only relations synthohive wrote are replaced)")
        by_ident = {t.identifier: t for t in tables.tables.values()}
        columns = real_columns(engine, {ident: t.real for ident, t in by_ident.items()})
        out = {}
        for ident, t in by_ident.items():
            frame = frames[t.name]
            names = [c.name for c in columns[ident]]
            out[ident] = frame[names] if set(names) == set(frame.columns) else frame
        return write_tables(engine, out, output.target_schema, columns=columns, force=output.force,
                            adopt=output.adopt, run_id=run_id, ours_elsewhere=plan.ours_elsewhere,
                            on_progress=reporter.write, on_note=reporter.step)
    finally:
        engine.dispose()


def _run_dbt(project: DbtProject, builder: DbtProject | None, tables: ProjectTables, output: OutputOptions,
             options: ProjectOptions, reporter: Reporter, worker: DbtWorker | None = None
             ) -> tuple[DbtResult, list[Outcome]]:
    """dbt on the synthetic tables; only the tests whose every node is synthetic run (see `judging`). Returns
    dbt's result and the tests that touch this run but were not run, with the reason. `worker`: a dbt worker
    process started with the command (its imports done meanwhile), used for the one `dbt test` of mirror mode."""
    variables = ["--vars", json.dumps({SCHEMA_VAR: output.target_schema})]
    state_dir = project.target_path / "synthohive_state"
    ours = [t.unique_id for t in tables.tables.values()]
    if tables.mode == "mirror":
        judged = judged_tests(tables.manifest, same_relation_ids(tables.manifest, ours))
        reporter.step(f"dbt test on the synthetic tables in {output.target_schema!r}: {len(judged.runnable)} "
                      f"test(s) touch only synthetic tables" + (f", {len(judged.kept_out)} touch real ones and are "
                                                               "not run" if judged.kept_out else "")
                      + ("; dbt runs with the saved manifest, no parse" if tables.manifest_is_final else ""))
        if worker is not None:  # prepared in `generate` with the manifest moved as below: no parse, no defer
            result = _test_only(worker, judged.runnable.values(), options, variables)
            return result, judged.not_run(result.outcomes)
        positioned, sources = _mirror_manifest(tables, output)
        if tables.manifest_is_final:  # dbt is handed the manifest with the synthetic nodes moved: no parse, no defer
            result = _test_only(project, judged.runnable.values(), options, variables, sources_in=sources,
                                manifest=positioned)
        else:
            write_state(state_dir, positioned)
            result = _test_only(project, judged.runnable.values(), options, [*variables, *defer_args(state_dir)],
                                sources_in=sources)
        return result, judged.not_run(result.outcomes)
    assert builder is not None
    build_manifest = json.loads((builder.target_path / "manifest.json").read_text())
    raw = same_relation_ids(build_manifest, ours)
    seeds = {uid for uid in raw if uid.startswith("seed.")}
    defer: list[str] = []
    if seeds:
        write_state(state_dir, state_manifest(build_manifest, seeds, output.target_schema))
        defer = defer_args(state_dir)
    selected = selected_ids(builder, options.select, options.exclude)
    wanted = None if selected is None else set(selected)
    built = built_models(build_manifest, raw, wanted)
    # a selected model that reads a source this run left real cannot be built on synthetic data: not built
    left_out = {uid: str(n["name"]) for uid, n in (build_manifest.get("nodes") or {}).items()
                if n.get("resource_type") in ("model", "snapshot") and uid not in built
                and (wanted is None or uid in wanted)}
    unbuildable = sorted(left_out.values())
    judged = judged_tests(build_manifest, raw | built, left_out)
    if unbuildable:
        reporter.step(f"not built (they read sources or seeds this run left real): {', '.join(unbuildable)}")
    reporter.step(f"dbt build with sources read from {output.target_schema!r}, models built into "
                  f"{output.build_schema_name()!r}")
    select = ["--select", *options.select] if options.select else []
    kept_out = [judged_name for uid in judged.kept_out if (judged_name := _test_name(build_manifest, uid))]
    # sources read the synthetic schema through the manifest dbt is handed: no macro in the project needed
    # (by unique_id: a source whose schema follows target.schema lives elsewhere under the build profile)
    moved = {uid: output.target_schema for uid in raw if uid.startswith("source.")}
    result = builder.invoke(["build", *select, "--exclude", "resource_type:seed", "resource_type:unit_test",
                             *options.exclude, *kept_out, *unbuildable, *variables, *defer, *QUIET_DBT],
                            sources_in=moved)
    ran = {o.unique_id for o in result.outcomes}
    missing = [name for uid, name in judged.runnable.items() if uid not in ran]
    if missing:  # e.g. the tests declared on seeds, which `build` leaves out with the seeds themselves
        reporter.step(f"dbt test on {len(missing)} more test(s) of the synthetic tables (declared on seeds, or "
                      "left out by dbt's selection)")
        results = builder.target_path / "run_results.json"
        built = json.loads(results.read_text()) if results.is_file() else None
        extra = _test_only(builder, missing, options, [*variables, *defer], sources_in=moved)
        if built is not None and results.is_file():  # one run_results.json for the run, as dbt would write it
            more = json.loads(results.read_text())
            results.write_text(json.dumps({**built, "results": [*built.get("results", []),
                                                                *more.get("results", [])]}))
        result = DbtResult(command=result.command, success=result.success and extra.success,
                           outcomes=[*result.outcomes, *extra.outcomes], logs=[*result.logs, *extra.logs])
    return result, judged.not_run(result.outcomes)


def _mirror_manifest(tables: ProjectTables, output: OutputOptions) -> tuple[dict[str, Any], dict[str, str]]:
    """Mirror mode's manifest for dbt: the synthesized models, seeds and snapshots moved to the target schema
    (what `--defer --state` with it gives), and the synthesized sources to move there too (`sources_in`)."""
    reals = [t.real for t in tables.tables.values()]
    moved = ids_at(tables.manifest, reals)
    return (state_manifest(tables.manifest, moved, output.target_schema),
            sources_at(tables.manifest, reals, output.target_schema))


def _test_only(project: DbtProject | DbtWorker, names: Any, options: ProjectOptions, extra: list[str],
               sources_in: Mapping[str, str] | None = None, manifest: Mapping[str, Any] | None = None) -> DbtResult:
    """`dbt test` on exactly these tests (none: no dbt call at all, rather than dbt's "select everything")."""
    names = list(names)
    if not names:
        return DbtResult(command=["test"], success=True)
    args = ["test", "--select", *names, "--exclude", "resource_type:unit_test", *options.exclude, *extra, *QUIET_DBT]
    if isinstance(project, DbtWorker):  # prepared with the manifest and the moved sources
        return project.invoke(args)
    return project.invoke(args, sources_in=sources_in, manifest=manifest)


def _test_name(manifest: Mapping[str, Any], uid: str) -> str | None:
    node = (manifest.get("nodes") or {}).get(uid) or {}
    return node.get("name")


def summary_counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    return counts
