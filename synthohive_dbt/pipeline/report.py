"""`synthohive report`: measure synthetic tables that are already written against the real ones, later.

    report = load model -> resolve (parse only) -> [dbt results of an earlier run] -> check the synthetic
             tables exist -> read real + synthetic -> evaluate -> [dbt test/build] -> HTML + JSON -> gates

`seed --report` measures the sample it has just drawn. This is the other half of the fit/generate split: CI
generates from a saved model (no real data there), and someone with access to the real warehouse measures
what CI wrote, through the same dbt profile `fit` read from, with the same table resolution as `generate`.
The synthetic side is a schema of that warehouse or a folder of Parquet / CSV files. Every check that can
refuse (a table missing from the synthetic schema, a synthetic relation that is a real one) runs before any
real row is read.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from synthohive_dbt.dbt import DbtResult
from synthohive_dbt.dbt.runner import outcomes_from_run_results
from synthohive_dbt.errors import ConfigError, DataError, QualityGateError, WarehouseError
from synthohive_dbt.io import Relation, list_tables, read_tables, validate_schema_name
from synthohive_dbt.io.warehouse import schema_exists
from synthohive_dbt.pipeline.progress import NullReporter, Reporter
from synthohive_dbt.pipeline.project import ProjectTables, parse, selected_ids, tables_for_model
from synthohive_dbt.pipeline.run import OutputOptions, ProjectOptions, _guard, _run_dbt, open_project
from synthohive_dbt.report import QualityGates, gate_misses, with_dbt_tests
from synthohive_dbt.report.gates import GateMiss
from synthohive_dbt.report.html import PlotLimits
from synthohive_dbt.report.measure import RunFacts, measure_run, write_report
from synthohive_dbt.report.result import EvaluationResult

log = logging.getLogger(__name__)

_FILE_SUFFIXES = (".parquet", ".pq", ".csv")


@dataclass(frozen=True)
class ReportOptions:
    """Where the synthetic tables are, where the report goes, and what makes it fail."""

    synthetic_schema: str | None = None  # a schema of the project's warehouse (what --target-schema wrote)
    synthetic_dir: Path | None = None  # or a folder of <table>.parquet / .csv (Synthesizer.sample output)
    out: Path = Path("synthohive_report.html")  # HTML; the JSON twin is the same name with .json
    gates: QualityGates | None = None  # None: report only, never fail on quality
    max_rows: int | None = None  # FK-consistent read budget per side (the metrics subsample 20k rows anyway)
    seed: int | None = None  # subsample seed; default the model's, so reruns measure the same rows
    limits: PlotLimits = field(default_factory=PlotLimits)
    dbt_results: Path | None = None  # run_results.json of an earlier dbt run on the synthetic tables
    run_dbt: bool = False  # run the project's dbt tests on the synthetic schema now (as `generate` does)
    build_schema: str | None = None  # sources mode with run_dbt: where `dbt build` puts the models

    @property
    def where(self) -> str:
        return f"schema {self.synthetic_schema!r}" if self.synthetic_schema else f"folder {str(self.synthetic_dir)!r}"


@dataclass
class ReportResult:
    """What the report says: its files, the evaluation, every gate miss and dbt's outcomes if it ran."""

    html: Path
    json: Path
    evaluation: EvaluationResult
    where: str
    misses: list[GateMiss] = field(default_factory=list)
    gates_checked: bool = False
    dbt: DbtResult | None = None

    @property
    def success(self) -> bool:
        return not self.misses and not (self.dbt is not None and self.dbt.failed)

    def summary(self) -> dict[str, Any]:
        """One JSON-able record for CI logs (the JSON file itself has every number)."""
        return {"html": str(self.html), "json": str(self.json), "synthetic": self.where,
                "tables": sorted(self.evaluation.tables), "scores": self.evaluation.scores,
                "gates_passed": (not self.misses) if self.gates_checked else None,
                "dbt_failed": [o.name for o in self.dbt.failed] if self.dbt is not None else [],
                "success": self.success}

    def check(self) -> None:
        """Raise QualityGateError naming every missed gate and failed dbt test (after the files are written)."""
        lines = [f"  - {m}" for m in self.misses]
        if self.dbt is not None:
            lines += [f"  - dbt test {o.name}: {o.status}" + (f" ({o.failures} failing rows)" if o.failures else "")
                      for o in self.dbt.failed]
        if lines:
            raise QualityGateError(
                f"the synthetic data in {self.where} missed {len(lines)} check(s):\n" + "\n".join(lines),
                hint=f"open {self.html} for the columns and relationships named; train longer or with more data, "
                     "fix the metadata, or relax the gate if the miss is acceptable")


def report(project_options: ProjectOptions, model_path: Path, options: ReportOptions,
           reporter: Reporter | None = None) -> ReportResult:
    """`synthohive report`: the quality and privacy report of synthetic tables already written somewhere."""
    from synthohive_dbt.relational.synthesizer import Synthesizer

    reporter = reporter or NullReporter()
    _check_options(options)
    earlier_tests = _earlier_dbt_tests(options.dbt_results)  # before dbt parse can touch target/
    project = open_project(project_options)
    reporter.step(f"loading the model {model_path}")
    synth = Synthesizer.load(model_path)
    project_options = project_options.with_fit_choices(synth.provenance)
    reporter.step(f"parsing the dbt project at {project.project_dir}")
    tables = tables_for_model(parse(project, "mirror"), synth.metadata.tables, project_options.mode)
    chosen = _selected(project, tables, project_options)
    seed = options.seed if options.seed is not None else (synth.seed or 0)
    with contextlib.ExitStack() as stack:
        builder = None
        if options.run_dbt:
            assert options.synthetic_schema is not None
            builder, _plan = _guard(project, tables, _output(options), stack, reporter, writes_target=False)
        real, synthetic = _read(project, tables, chosen, synth.metadata, options, seed, reporter)
        reporter.step(f"measuring {len(chosen)} synthetic table(s) in {options.where} against the real ones")
        evaluation = measure_run(real, synthetic, RunFacts.of(synth, seed=seed, tables=chosen))
        del real, synthetic
        dbt = None
        if options.run_dbt:
            dbt, _ = _run_dbt(project, builder, tables, _output(options), _dbt_selection(project_options, tables,
                                                                                         chosen), reporter)
            earlier_tests = [{"name": o.name, "status": o.status, "failures": o.failures} for o in dbt.tests()]
    evaluation = with_dbt_tests(evaluation, earlier_tests)
    html, js = write_report(evaluation, options.out, gates=options.gates, limits=options.limits)
    reporter.step(f"quality report: {html} (and {js})", html=str(html), json=str(js))
    misses = gate_misses(evaluation, options.gates) if options.gates is not None else []
    return ReportResult(html=html, json=js, evaluation=evaluation, where=options.where, misses=misses,
                        gates_checked=options.gates is not None, dbt=dbt)


# ------------------------------------------------------------------------------------------------ steps
def _check_options(options: ReportOptions) -> None:
    """Cheap refusals first: nothing is parsed or read for a run that cannot succeed."""
    if (options.synthetic_schema is None) == (options.synthetic_dir is None):
        raise ConfigError("say where the synthetic tables are: give exactly one of --synthetic-schema and "
                          "--synthetic-dir",
                          hint="--synthetic-schema <the --target-schema that `synthohive seed/generate` wrote>, "
                               "or --synthetic-dir <a folder of <table>.parquet / .csv>")
    if options.synthetic_schema is not None:
        validate_schema_name(options.synthetic_schema, what="synthetic schema")
    elif options.synthetic_dir is not None and not Path(options.synthetic_dir).is_dir():
        raise DataError(f"the synthetic folder {str(options.synthetic_dir)!r} does not exist",
                        hint="pass the folder that holds one <table>.parquet or <table>.csv per table")
    if options.run_dbt and options.synthetic_schema is None:
        raise ConfigError("--dbt-test runs dbt on a warehouse schema, but the synthetic tables are files "
                          f"in {str(options.synthetic_dir)!r}",
                          hint="write them with `synthohive generate --target-schema ...` and pass "
                               "--synthetic-schema, or drop --dbt-test")
    if options.run_dbt and options.dbt_results is not None:
        raise ConfigError("--dbt-test and --dbt-results both give dbt test outcomes",
                          hint="pass one: --dbt-test runs the tests now, --dbt-results reads an earlier run's")
    if options.max_rows is not None and options.max_rows < 1:
        raise ConfigError(f"--max-rows {options.max_rows} must be at least 1", hint="e.g. --max-rows 100000")


def _output(options: ReportOptions) -> OutputOptions:
    """The synthetic schema as `generate` saw it, so dbt is guarded and run exactly as there."""
    return OutputOptions(target_schema=str(options.synthetic_schema), build_schema=options.build_schema)


def _dbt_selection(options: ProjectOptions, tables: ProjectTables, chosen: Mapping[str, Any]) -> ProjectOptions:
    """Mirror mode without --select/--exclude tests the reported tables only: the synthetic schema holds
    nothing else, so tests of other nodes would read relations that are not there and error."""
    if options.mode != "mirror" or options.select or options.exclude:
        return options
    nodes = {**(tables.manifest.get("nodes") or {}), **(tables.manifest.get("sources") or {})}
    selectors = []
    for t in chosen.values():
        node = nodes.get(t.unique_id, {})
        selectors.append(f"source:{node['source_name']}.{node['name']}" if t.resource_type == "source"
                         and "source_name" in node else str(node.get("name", t.name)))
    return replace(options, select=tuple(selectors))


def _earlier_dbt_tests(path: Path | None) -> list[dict[str, Any]]:
    if path is None:
        return []
    outcomes = outcomes_from_run_results(path)
    tests = [{"name": o.name, "status": o.status, "failures": o.failures}
             for o in outcomes if o.resource_type in ("test", "unit_test")]
    if not tests:
        raise DataError(f"{path} holds no dbt test results ({len(outcomes)} other node(s))",
                        hint="pass the run_results.json of the `dbt test` / `dbt build` that ran on the synthetic "
                             "tables (copy it away before another dbt command replaces it), or use --dbt-test")
    return tests


def _selected(project: Any, tables: ProjectTables, options: ProjectOptions) -> dict[str, Any]:
    """The model's tables that --select/--exclude keep (dbt's selection syntax, via `dbt ls`)."""
    ids = selected_ids(project, options.select, options.exclude)
    if ids is None:
        return dict(tables.tables)
    keep = set(ids)
    chosen = {n: t for n, t in tables.tables.items() if t.unique_id in keep}
    if not chosen:
        raise ConfigError(
            f"--select {' '.join(options.select) or '(all)'} --exclude {' '.join(options.exclude) or '(none)'} "
            f"keeps none of the model's tables ({', '.join(sorted(tables.tables))})",
            hint="select some of the tables the model was trained on, or drop --select/--exclude")
    return chosen


def _read(project: Any, tables: ProjectTables, chosen: Mapping[str, Any], metadata: Any, options: ReportOptions,
          seed: int, reporter: Reporter) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Both sides, after checking that every synthetic table is there (a missing one costs no real read)."""
    engine = project.engine()
    try:
        synthetic_files = None
        if options.synthetic_schema is not None:
            synthetic_rels = _synthetic_relations(engine, tables, chosen, options.synthetic_schema)
        else:
            synthetic_files = _synthetic_files(Path(str(options.synthetic_dir)), chosen)
        budget = f" (at most ~{options.max_rows} rows per table, keys kept consistent)" if options.max_rows else ""
        reporter.step(f"reading {len(chosen)} real table(s){budget}")
        real = read_tables(engine, {n: t.real for n, t in chosen.items()}, foreign_keys=metadata,
                           max_rows=options.max_rows, seed=seed)
        if synthetic_files is None:
            reporter.step(f"reading {len(chosen)} synthetic table(s) from schema {options.synthetic_schema!r}{budget}")
            synthetic: dict[str, Any] = read_tables(engine, synthetic_rels, foreign_keys=metadata,
                                                    max_rows=options.max_rows, seed=seed)
        else:
            reporter.step(f"reading {len(chosen)} synthetic table(s) from {str(options.synthetic_dir)!r}")
            synthetic = {n: _read_file(p, real[n]) for n, p in synthetic_files.items()}
    finally:
        engine.dispose()  # DuckDB: dbt may run next and needs the file
    reporter.step("read " + ", ".join(f"{n}: {len(real[n])} real rows" for n in real),
                  rows={n: len(f) for n, f in real.items()})
    return real, synthetic


def _synthetic_relations(engine: Any, tables: ProjectTables, chosen: Mapping[str, Any],
                         schema: str) -> dict[str, Relation]:
    present = {t.lower(): t for t in list_tables(engine, schema)}
    real = {(r.schema.lower(), r.name.lower()) for r in tables.real_relations}
    rels: dict[str, Relation] = {}
    missing: list[str] = []
    for name, t in chosen.items():
        found = present.get(t.identifier.lower())
        if found is None:
            missing.append(t.identifier)
            continue
        if (schema.lower(), found.lower()) in real:
            raise ConfigError(
                f"{schema}.{found} is a real relation of this project ({t.unique_id}), not a synthetic copy: "
                "the report would compare the real data with itself",
                hint="pass the schema that `synthohive seed/generate --target-schema` wrote to as "
                     "--synthetic-schema")
        rels[name] = Relation(schema, found)
    if missing:
        where = (f"schema {schema!r} does not exist" if not schema_exists(engine, schema)
                 else f"schema {schema!r} has no table(s) {', '.join(sorted(missing))}")
        raise WarehouseError(
            f"{where}: the report needs a synthetic copy of each of "
            f"{', '.join(sorted(t.identifier for t in chosen.values()))}"
            + (f" (the schema holds: {', '.join(sorted(present.values()))})" if present else ""),
            hint=f"write them first with `synthohive generate --model <model> --target-schema {schema}`, pass "
                 "the schema they were written to, or narrow the report with --select/--exclude")
    return rels


def _synthetic_files(folder: Path, chosen: Mapping[str, Any]) -> dict[str, Path]:
    """<table>.parquet / .pq / .csv per table, named by the model's table name or the warehouse identifier."""
    files: dict[str, Path] = {}
    missing: list[str] = []
    for name, t in chosen.items():
        hit = next((folder / f"{stem}{suffix}" for stem in dict.fromkeys([name, t.identifier])
                    for suffix in _FILE_SUFFIXES if (folder / f"{stem}{suffix}").is_file()), None)
        if hit is None:
            missing.append(name)
        else:
            files[name] = hit
    if missing:
        found = sorted(p.name for p in folder.iterdir() if p.suffix in _FILE_SUFFIXES)
        raise DataError(
            f"folder {str(folder)!r} has no file for table(s) {', '.join(sorted(missing))} (found: {found})",
            hint="name each file <table>.parquet or <table>.csv (as Synthesizer.sample(output_path_base=...) "
                 "writes them), or narrow the report with --select/--exclude")
    return files


def _read_file(path: Path, like: pd.DataFrame) -> pd.DataFrame | str:
    """Parquet stays a path (the evaluation subsamples it row group by row group); CSV is read and its
    text dates and numbers are given the real table's types, since CSV carries none."""
    if path.suffix != ".csv":
        return str(path)
    frame = pd.read_csv(path)
    for col in frame.columns.intersection(like.columns):
        want = like[col].dtype
        if frame[col].dtype == want:
            continue
        try:
            if pd.api.types.is_datetime64_any_dtype(want):
                frame[col] = pd.to_datetime(frame[col], errors="coerce").astype(want)
            elif pd.api.types.is_bool_dtype(want) or pd.api.types.is_numeric_dtype(want):
                frame[col] = frame[col].astype(want)
        except (TypeError, ValueError) as exc:
            log.info("synthetic %s column %s kept as %s (not %s): %s", path.name, col, frame[col].dtype, want, exc)
    return frame


def load_gates(path: Path | str | None, min_overall: float | None = None) -> QualityGates | None:
    """Gates from a JSON or YAML file of QualityGates fields (the word `default` = the defaults), with
    `min_overall` on top. `--min-overall` alone checks only the overall score."""
    if path is None and min_overall is None:
        return None
    if path is None:
        off = {"min_overall": min_overall, "min_column_shape": None, "max_null_rate_delta": None,
               "max_orphan_rate": None, "constraints_must_pass": False, "dbt_tests_must_pass": False,
               "max_exact_copy_excess": None, "min_dcr_p5_ratio": None, "max_pii_leaks": None}
        return QualityGates(**off)
    if str(path) == "default":
        data: dict[str, Any] = {}
    else:
        data = _read_gates_file(Path(path))
    if min_overall is not None:
        data["min_overall"] = min_overall
    try:
        return QualityGates.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"gates file {str(path)!r} is not valid: {problems}",
                          hint="use the fields of synthohive_dbt.QualityGates, e.g. {\"min_overall\": 0.8, "
                               "\"min_column_shape\": 0.7}") from None


def _read_gates_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except OSError as exc:
        raise ConfigError(f"cannot read the gates file {str(path)!r}: {exc.strerror}",
                          hint="pass an existing JSON or YAML file, or --gates default") from None
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"the gates file {str(path)!r} is not valid JSON/YAML: {exc}",
                          hint="fix the syntax; e.g. {\"min_overall\": 0.8}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"the gates file {str(path)!r} holds a {type(data).__name__}, not a mapping",
                          hint="write QualityGates fields as keys, e.g. min_overall: 0.8")
    return data


__all__ = ["ReportOptions", "ReportResult", "load_gates", "report"]
