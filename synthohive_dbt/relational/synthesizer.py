"""The engine: learn a whole relational database and sample a synthetic one that keeps its keys.

    synth = Synthesizer(metadata=meta, privacy_config=privacy, backend="CTGAN")
    synth.fit(data={"users": users, "orders": orders}, seed=7)   # epochs=, max_steps=, patience=, checkpoint=
    synth.pii_findings                                     # what was set aside as personal data, and why
    out = synth.sample(num_rows={"users": 1000})           # or scale=2.0, output_path_base=, before_publish=
    synth.save("model.shm"); Synthesizer.load("model.shm").sample(scale=1.0)

With a Spark session (`spark_session=`): `fit(database="real_db")` reads the tables from the Spark catalog
(cut on the cluster under `max_rows`, io/spark.py), `sample()` draws on the executors and returns Parquet
folders (relational/distributed.py, io/spark_hive.py), `save_to_hive(paths, target_db=...)` publishes them.

The engine never measures itself: `synthohive_dbt.Synthesizer` (report/synthesizer.py) is this class with
every sample measured against the real data, quality gates before publishing (through `before_publish`)
and the validation report.

Tables are trained parents first. Each table's model learns only its ordinary columns; keys are generated,
foreign keys are assigned from generated parents, PII is set aside and faked, lookups are copied, columns
null in every row are written back all-null, and tables under MIN_LEARN_ROWS (10) rows are not trained but
generated from their column types, dbt tests and value formats (models/formats.py); an empty table stays
empty. The real
frames stay on the object after fit (in memory only, never saved) so every sample can be measured.
"""

from __future__ import annotations

import functools
import json
import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from synthohive_dbt.config import Metadata, PrivacyConfig
from synthohive_dbt.errors import ArtifactError, ConfigError, ConstraintViolationError, ModelError
from synthohive_dbt.io.spark import parallelism_of, read_database
from synthohive_dbt.io.spark_hive import first_duplicate, run_folder, run_partitions, save_to_hive, warm_executors
from synthohive_dbt.io.writer import new_run_id
from synthohive_dbt.models.artifact import read_artifact, write_artifact
from synthohive_dbt.models.base import ConditionalGenerativeModel, Progress, TrainingMetrics
from synthohive_dbt.models.formats import MIN_LEARN_ROWS, FormatModel, named_values
from synthohive_dbt.models.registry import DEFAULT, backend_class, canonical_name
from synthohive_dbt.privacy.detect import PiiFinding
from synthohive_dbt.relational.checkpoint import FitCheckpoint, data_digest
from synthohive_dbt.relational.dp import dp_model_kwargs, privacy_report
from synthohive_dbt.relational.foreign_rules import learn_foreign_rules
from synthohive_dbt.relational.hierarchy import self_reference_labels, shape_label
from synthohive_dbt.relational.inputs import load_tables, validate_data
from synthohive_dbt.relational.group_invariants import learn_group_into
from synthohive_dbt.relational.invariants import check_rules, learn_into
from synthohive_dbt.relational.pii import (
    PiiSampling,
    fake_copied_tables,
    find_copies,
    find_pii,
    kinds_from_findings,
    real_pii_values,
)
from synthohive_dbt.relational.plan import TablePlan, learn_plan
from synthohive_dbt.relational.progress import (
    SampleStats,
    TableProgress,
    TableProgressCallback,
    TableStats,
)
from synthohive_dbt.relational.distributed import DEFAULT_MIN_ROWS_PER_PARTITION, plan_partitions, sample_partition
from synthohive_dbt.relational.generate import DEFAULT_CHUNK_ROWS, root_sizes, sample_database
from synthohive_dbt.relational.sinks import (
    EXECUTOR_MODULES,
    ExecutorSink,
    MemorySink,
    ParquetSink,
    Sink,
    discard,
    executors_of,
    publish,
    staging_folder,
)
from synthohive_dbt.seeds import derive_seed, fresh_seed

log = logging.getLogger(__name__)

RealData = Mapping[str, Any] | str | Path
Output = dict[str, pd.DataFrame] | dict[str, str]


@dataclass(frozen=True)
class Drawn:
    """A sample before it is published: what a gate sees (the synthetic tables, the real ones if any, the
    seed), so that measuring and gating live above the engine."""

    output: Output  # frames, or Parquet paths in the staging folder
    real: dict[str, pd.DataFrame] | None  # the frames to measure against (kept after fit, or given)
    seed: int


#: Called with each sample before it is published; raising stops the publication and discards the sample.
PublishGate = Callable[[Drawn], None]


class Synthesizer:
    """Learns every table of `metadata` and samples a synthetic database with valid keys and constraints."""

    def __init__(self, metadata: Metadata, privacy_config: PrivacyConfig | None = None,
                 spark_session: Any = None, backend: str = DEFAULT,
                 model: type[ConditionalGenerativeModel] | None = None,
                 model_kwargs: Mapping[str, Any] | None = None) -> None:
        if not isinstance(metadata, Metadata):
            raise ConfigError(f"Synthesizer(metadata=...) got a {type(metadata).__name__}",
                              hint="pass a synthohive_dbt.Metadata (e.g. read from the dbt manifest)")
        metadata.validate_schema()
        self.metadata = metadata
        self.privacy_config = privacy_config or PrivacyConfig()
        self.spark_session = spark_session
        self.model_class = model if model is not None else backend_class(backend)
        self.model_kwargs = dict(model_kwargs or {})
        self.order: list[str] = metadata.topological_order()
        self.plans: dict[str, TablePlan] = {}
        self.models: dict[str, ConditionalGenerativeModel] = {}
        self.seed: int | None = None
        self.fit_params: dict[str, Any] = {}
        self.pii_findings: list[PiiFinding] = []
        self.learn_rules = True  # find rules the real rows keep at fit (relational/invariants.py)
        self.rules_off: set[tuple[str, str]] = set()  # (table, rule) to switch off once found
        # (table, rule) to keep on once found, even under differential privacy (the report lists it as outside
        # epsilon): the user's explicit choice for a learned rule, which DP otherwise switches off
        self.rules_on: set[tuple[str, str]] = set()
        self.strict_rules = False  # a learned rule the output breaks is an error, not a warning
        self.provenance: dict[str, Any] = {}  # JSON facts a caller records with the model (e.g. the dbt selection)
        self.last_sample_stats: SampleStats | None = None
        self.spark_schemas: dict[str, str] = {}  # table -> its real Spark schema (JSON), when fit from Spark
        self.spark_database: str | None = None  # the Spark database fit read (never a target)
        # in memory only, never saved: the training frames (to measure samples) and their PII values
        self._real: dict[str, pd.DataFrame] | None = None
        self._real_pii: pd.Index | None = None
        self._last_output: dict[str, pd.DataFrame] | dict[str, str] | None = None

    # ------------------------------------------------------------------ fit
    def fit(self, data: Mapping[str, Any] | str | Path | None = None, *, database: str | None = None,
            max_rows: int | None = None, epochs: int | None = None, batch_size: int = 500,
            seed: int | None = None, progress: TableProgressCallback | None = None,
            max_steps: int | None = None, patience: int | None = None,
            checkpoint: str | Path | None = None, resume: bool = False,
            checkpoint_every: int | None = None,
            before_training: Callable[[Metadata], None] | None = None) -> Synthesizer:
        """Train on a dict of frames or a folder of <table>.csv / <table>.parquet, parents first.

        `before_training(metadata)` is called once the rules are settled (read, learned, switched by
        `rules_off` / `rules_on`) and before any table trains: where a run lists them for review.

        `epochs` (passes over a table's rows), `max_steps` (optimiser steps) and `patience` (scores without
        improvement before stopping early) end each table's training, whichever comes first; None leaves the
        backend's own default (CTGAN: 300 epochs, 300 steps; TVAE: 300 epochs; AR: 100 epochs, 2000 steps,
        patience 3). Each model's `training_metrics()` says what ran and why it stopped.

        With `checkpoint`, finished tables and (every `checkpoint_every` epochs, default every minute) the
        table in progress are saved there; with `resume=True` a fit continues from that file (or starts, if
        there is none): finished tables are loaded, not retrained, and the table in progress continues to
        the result an uninterrupted fit with the same seed gives (bit for bit on CPU with one thread). Without
        a `seed`, a resume takes the checkpoint's. See relational/checkpoint.py.

        PII is resolved first (declared, detected, copies through foreign keys; see `pii_findings`) and
        never reaches a model, a parent context, or the saved artifact.

        `database` (with a Spark session instead of `data`): the metadata's tables are read from that database
        (`db`, or `catalog.db`) of the Spark catalog; `max_rows` is the training budget of the largest table, cut on the cluster with
        foreign keys kept consistent (None reads everything). Each table's real Spark schema is kept
        (`spark_schemas`, saved with the model) so samples are written back with it.
        """
        if (data is None) == (database is None):
            raise ConfigError("fit() needs exactly one of data=... and database=...",
                              hint="pass frames or a folder as data, or a Spark database name as database")
        tables = load_tables(self._read_spark(database, max_rows, seed) if database is not None else data,
                             self.metadata)
        validate_data(tables, self.metadata)
        if seed is None and resume and checkpoint is not None:
            seed = FitCheckpoint.saved_seed(checkpoint)
        self.seed = int(seed) if seed is not None else fresh_seed()
        self.fit_params = {"epochs": epochs, "batch_size": batch_size, "max_steps": max_steps, "patience": patience}
        self.plans, self.models = {}, {}
        findings = find_pii(tables, self.metadata, self.privacy_config)
        kinds = kinds_from_findings(findings)
        copies: dict[str, dict[str, tuple[int, str]]] = {}
        for name in self.order:
            copies[name], more = find_copies(name, tables[name], self.metadata, tables, kinds)
            findings = [f for f in findings if not any(m.table == f.table and m.column == f.column for m in more)]
            findings.extend(more)
        self.pii_findings = sorted(findings, key=lambda f: (f.table, f.column))
        for f in self.pii_findings:
            log.info("PII set aside: %s.%s as %s (%s, confidence %.2f): %s", f.table, f.column, f.kind, f.source,
                     f.confidence, f.reason)
        self._real_pii = real_pii_values(tables, kinds)
        learn_from = fake_copied_tables(tables, self.metadata, kinds, self.privacy_config, self._real_pii)
        private = self.privacy_config.enable_differential_privacy
        for name in self.order:
            check_rules(self.metadata.tables[name], tables[name])
        if self.learn_rules:  # rules the real rows always keep (relational/invariants.py); off under DP
            # across foreign keys first (relational/foreign_rules.py): a column they compute is no in-row rule's
            learn_foreign_rules(self.metadata, tables, self.order, kinds, enabled=not private,
                                seed=derive_seed(self.seed, "foreign rules"))
            for name in (n for n in self.order if not self.metadata.tables[n].copy_as_is):
                cfg = self.metadata.tables[name]
                taken = {*kinds.get(name, ()), *(r.column for r in cfg.foreign_rules)}
                learn_into(cfg, tables[name], taken, enabled=not private, seed=derive_seed(self.seed, name, "rules"))
                learn_group_into(cfg, tables[name], taken, enabled=not private,
                                 seed=derive_seed(self.seed, name, "group rules"))
        for table, expression in sorted(self.rules_off):  # --no-rule: a declared or a just-learned rule
            if table not in self.metadata.tables:
                raise ConfigError(f"--no-rule names table {table!r}, which is not in the run",
                                  hint=f"pick one of {sorted(self.metadata.tables)}")
            if expression in self_reference_labels(self.metadata.tables[table]):
                continue  # a self-reference's shape: switched off once learned, below
            self.metadata.tables[table].switch_rule(expression, enabled=False)
        both = self.rules_off & self.rules_on
        if both:
            raise ConfigError(f"rule(s) {sorted(both)} are both switched off (--no-rule) and kept (--keep-rule)",
                              hint="name each rule in one of the two only")
        for table, expression in sorted(self.rules_on):  # --keep-rule: on, DP or not
            if table not in self.metadata.tables:
                raise ConfigError(f"--keep-rule names table {table!r}, which is not in the run",
                                  hint=f"pick one of {sorted(self.metadata.tables)}")
            if expression not in self_reference_labels(self.metadata.tables[table]):
                self.metadata.tables[table].switch_rule(expression, enabled=True)
        if before_training is not None:
            before_training(self.metadata)
        model_kwargs = dp_model_kwargs(self.model_class, self.privacy_config, self.model_kwargs,
                                       sum(not t.copy_as_is for t in self.metadata.tables.values()))
        model_kwargs.update({k: v for k, v in (("max_steps", max_steps), ("patience", patience)) if v is not None})
        ckpt = None
        if checkpoint is not None:
            ckpt = FitCheckpoint(checkpoint, self._fingerprint(tables, model_kwargs), checkpoint_every)
            if resume:
                ckpt.resume()
        contexts: dict[str, pd.DataFrame | None] = {}  # each table's context frame, for its children
        for index, name in enumerate(self.order):
            plan, training = learn_plan(self.metadata.tables[name], learn_from, self.metadata, kinds,
                                        copies[name], self.order, use_context=not private, contexts=contexts,
                                        date_context=self.model_class.dates_as_context)
            self.plans[name] = plan
            for f in plan.foreign_keys:
                label = (name, shape_label(f.columns, f.parent_columns))
                if f.hierarchy is not None and (label in self.rules_off or (private and label not in self.rules_on)):
                    f.hierarchy.enabled = False  # switched off, or learned under DP and not kept
            contexts[name] = training.context if training is not None else None
            at = (name, index, len(self.order))
            if training is None:
                _report(progress, TableProgress("fit", *at, 1, 1))
                continue
            cfg = self.metadata.tables[name]
            if len(training.data) < MIN_LEARN_ROWS:  # too small to learn: types, dbt tests and formats
                log.info("%s has %d rows (< %d): generated from column formats, not trained", name,
                         len(training.data), MIN_LEARN_ROWS)
                model: ConditionalGenerativeModel = FormatModel(cfg.constraints, named_values(cfg))
                # with differential privacy not even formats are read from the rows: types and tests only
                model.fit(training.data.iloc[:0] if private else training.data, table=name)
                self.models[name] = model
                _report(progress, TableProgress("fit", *at, 1, 1))
                continue
            self.models[name] = self._fit_table(training, at, model_kwargs, epochs, batch_size, progress, ckpt)
        self._real = tables
        self._last_output = None
        return self

    def _read_spark(self, database: str, max_rows: int | None, seed: int | None) -> dict[str, pd.DataFrame]:
        if self.spark_session is None:
            raise ConfigError("fit(database=...) reads Spark tables, but this Synthesizer has no spark_session",
                              hint="Synthesizer(metadata=..., spark_session=spark), or pass data=...")
        read = read_database(self.spark_session, database, self.metadata, max_rows=max_rows,
                             seed=int(seed) if seed is not None else 0)
        self.spark_schemas, self.spark_database = read.schemas, database
        for name, frame in read.frames.items():
            if len(frame) < read.real_rows[name]:
                log.info("%s: %d of %d rows read (training budget %s)", name, len(frame), read.real_rows[name],
                         max_rows)
        return read.frames

    def _fit_table(self, training: Any, at: tuple[str, int, int], model_kwargs: dict[str, Any], epochs: int | None,
                   batch_size: int, progress: TableProgressCallback | None,
                   ckpt: FitCheckpoint | None) -> ConditionalGenerativeModel:
        """One learned table: loaded finished from the checkpoint, or trained (resumed part-way if it can)."""
        name = at[0]
        done = ckpt.finished_model(name, lambda c: _resolve_class(c, self.model_class, ckpt.path)) \
            if ckpt is not None else None
        if done is not None:
            planned = done.planned_epochs(epochs)
            log.info("%s: finished before the interruption, loaded from the checkpoint", name)
            _report(progress, TableProgress("fit", *at, planned, planned, result=done.training_metrics(),
                                            restored=True))
            return done
        model = self.model_class(**model_kwargs)
        planned = model.planned_epochs(epochs)
        log.info("training %s on %d rows x %d columns", name, len(training.data), training.data.shape[1])
        # the start, before the first epoch: a log shows which table a long first epoch belongs to
        _report(progress, TableProgress("fit", *at, 0, planned))
        resumable: dict[str, Any] = {}
        if ckpt is not None and model.supports_resume:
            resumable = {"checkpoint": ckpt.for_table(name), "resume": ckpt.state_of(name)}
        model.fit(training.data, training.context, epochs=epochs, batch_size=batch_size,
                  seed=derive_seed(self.seed or 0, name, "fit"), progress=_epoch_callback(progress, *at),
                  table=name, **resumable)
        if ckpt is not None:
            ckpt.finish(name, model)
        _report(progress, TableProgress("fit", *at, planned, planned, result=model.training_metrics()))
        return model

    def _fingerprint(self, tables: Mapping[str, pd.DataFrame], model_kwargs: dict[str, Any]) -> dict[str, Any]:
        """What a checkpoint must match to be resumed: the seed, every option that changes training, the data."""
        return {"seed": self.seed, "fit_params": self.fit_params, "model_class": self.model_class.model_name,
                "model_kwargs": json.loads(json.dumps(model_kwargs, default=str)),
                "privacy": self.privacy_config.model_dump(mode="json", exclude={"secret"}),
                "metadata": json.loads(self.metadata.to_json()), "data": data_digest(tables)}

    def training_metrics(self) -> dict[str, TrainingMetrics]:
        """Each trained table's own convergence diagnostics (kept in the artifact); tables not trained are absent."""
        return {name: m for name, model in self.models.items()
                if (m := model.training_metrics()).stop_reason is not None}

    @property
    def pii_columns(self) -> dict[str, list[str]]:
        """Table -> the columns set aside as PII (declared, detected, copies), as the findings say."""
        return {t: sorted(c) for t, c in kinds_from_findings(self.pii_findings).items()}

    def privacy_report(self) -> dict[str, Any] | None:
        """Differential privacy spent per table (epsilon, delta, noise, steps), the worst-case total and what
        it does not cover; None when the fit was not differentially private."""
        copied = [t for t, cfg in self.metadata.tables.items() if cfg.copy_as_is]
        shapes = [f"{t}.{'/'.join(f.columns)}" for t, p in self.plans.items() for f in p.foreign_keys
                  if f.hierarchy is not None and f.hierarchy.enabled]
        return privacy_report(self.models, copied, shapes)

    # --------------------------------------------------------------- sample
    def sample(self, num_rows: Mapping[str, int] | None = None, *, scale: float | None = None,
               seed: int | None = None, output_path_base: str | Path | None = None,
               chunk_rows: int = DEFAULT_CHUNK_ROWS, progress: TableProgressCallback | None = None,
               real: RealData | None = None, before_publish: PublishGate | None = None,
               partitions: int | None = None,
               min_rows_per_partition: int = DEFAULT_MIN_ROWS_PER_PARTITION,
               sink: Sink | None = None) -> Output:
        """A synthetic database: frames by table, or Parquet paths when `output_path_base` is given
        (then every table is streamed to disk chunk by chunk and never held whole in memory).

        `num_rows` sizes the root tables (unnamed roots follow the same average factor); children follow
        from the learned children-per-parent distributions. `scale` multiplies every root's real size.

        `real` (frames or a folder) replaces the real data kept after `fit`: fakes avoid its PII values, and
        `before_publish` receives it with the sample. `before_publish` runs before anything is published:
        Parquet output goes to a staging folder beside `output_path_base` and replaces the previous files only
        once it returns; if it raises, the sample is discarded and the error propagates.

        With a Spark session the sample is drawn on the executors, in `partitions` partitions (default: the
        session's default parallelism), and the result is one Parquet folder per table (under
        `output_path_base`, a fresh temporary folder if None; on a cluster, a path every executor can write).
        Roots of at least `min_rows_per_partition` rows per partition are split, each partition drawing their
        children beside them; smaller tables are drawn alike in every partition and written once
        (relational/distributed.py). A fixed seed and partition count give identical tables; another count
        gives other rows of the same distribution.

        `sink` takes every chunk instead (`write(table, chunk)`, `close(table, columns)`, `results`): e.g. the
        warehouse writer's staged load (`io.StagedWrite`), so that no table is ever held whole in memory.
        """
        if not self.plans or self.seed is None:
            raise ModelError("sample() was called before fit()", hint="call fit(data=...) or Synthesizer.load(path)")
        if chunk_rows < 1:
            raise ConfigError(f"sample(chunk_rows={chunk_rows}) must be at least 1", hint="use e.g. 50000")
        real_frames, real_pii = self._real_data(real)
        sizes = root_sizes(self.plans, num_rows, scale)
        seed = int(seed) if seed is not None else self.seed
        spark = self.spark_session if self.spark_session is not None else executors_of(sink)
        if spark is not None:
            if sink is not None and executors_of(sink) is None:
                raise ConfigError("sample() got a sink with a Spark session: Spark samples are written by the "
                                  "executors", hint="drop sink=, or load the model without spark_session")
            if sink is not None and output_path_base is not None:
                raise ConfigError("sample() got both output_path_base and sink", hint="pass one of them")
            return self._sample_spark(spark, sizes, seed, output_path_base, chunk_rows, real_frames, real_pii,
                                      before_publish, partitions, min_rows_per_partition, progress, sink)
        staging = staging_folder(output_path_base) if output_path_base is not None else None
        if sink is not None and staging is not None:
            raise ConfigError("sample() got both output_path_base and sink", hint="pass one of them")
        if sink is None:
            sink = ParquetSink(staging) if staging is not None else MemorySink()
        settings = PiiSampling(self.privacy_config.pii_strategy, real_pii)
        self._last_output = None
        try:
            self.last_sample_stats = sample_database(self.plans, self.models, self._judged(), self.order, sizes,
                                                     seed, sink, chunk_rows, progress, settings)
            if before_publish is not None:
                before_publish(Drawn(sink.results, real_frames, seed))
        except BaseException:
            if staging is not None:
                discard(staging)
            raise
        results: Output = sink.results
        if staging is not None and output_path_base is not None:
            results = publish(staging, output_path_base, sink.results)  # type: ignore[arg-type]
        self._last_output = results
        return results

    def _sample_spark(self, spark: Any, sizes: dict[str, int], seed: int, output_path_base: str | Path | None,
                      chunk_rows: int, real_frames: dict[str, pd.DataFrame] | None, real_pii: pd.Index | None,
                      before_publish: PublishGate | None, partitions: int | None, min_rows_per_partition: int,
                      progress: TableProgressCallback | None, sink: ExecutorSink | None) -> Output:
        """The sample drawn on the executors (see `sample`); the model travels as its artifact bytes. Into a
        sink that offers its Spark session (`ExecutorSink`), each table's folder is handed to the sink;
        otherwise the folders are published under `output_path_base`."""
        count = int(partitions) if partitions is not None else parallelism_of(spark)
        plan = plan_partitions(self.plans, self.order, sizes, count, seed, chunk_rows=chunk_rows,
                               min_rows_per_partition=min_rows_per_partition, strict_rules=self.strict_rules)
        if sink is not None:
            base, staging = None, sink.partition_folder()
            schemas = {n: schema for n in self.order if (schema := sink.spark_schema(n)) is not None}
        else:
            base = Path(output_path_base) if output_path_base is not None else run_folder(
                spark, "synthohive-spark-sample-")
            staging, schemas = staging_folder(base), self.spark_schemas
        self._last_output = None
        try:
            with tempfile.TemporaryDirectory(prefix="synthohive-artifact-") as tmp:
                self.save(Path(tmp) / "model.shm")
                artifact = (Path(tmp) / "model.shm").read_bytes()
            settings = PiiSampling(self.privacy_config.pii_strategy, real_pii)
            rows, reports = run_partitions(spark, artifact, functools.partial(sample_partition, plan=plan,
                                                                              pii=settings),
                                           count, staging, schemas)
            staged = {name: str(staging / name) for name in self.order}
            self._check_unique_across_partitions(spark, staged, plan.partitioned)
            self.last_sample_stats = SampleStats.merged(seed, reports)
            self._drawn_on_executors(rows, progress)
            if before_publish is not None:
                before_publish(Drawn(staged, real_frames, seed))
        except BaseException:
            if sink is None:
                discard(staging)
                if output_path_base is None and base is not None:
                    discard(base)  # the run's own temporary folder, empty
            raise  # a sink's folder is its own: it removes it on the way out
        if sink is not None:
            for name in self.order:
                sink.adopt(name, staged[name], rows.get(name, 0))
            self._last_output = sink.results
            return sink.results
        assert base is not None
        results = publish(staging, base, staged)
        self._last_output = results
        return results

    def _drawn_on_executors(self, rows: Mapping[str, int], progress: TableProgressCallback | None) -> None:
        """What the driver path reports as it goes, said once the executors are done: each table's rows, and
        the learned rules the output breaks (warned on the executors, whose log the user does not see)."""
        assert self.last_sample_stats is not None
        for index, name in enumerate(self.order):
            if progress is not None:
                progress(TableProgress("sample", name, index, len(self.order), rows.get(name, 0), rows.get(name, 0)))
            for label, n in sorted(self.last_sample_stats.tables.get(name, TableStats()).broken_rules.items()):
                log.warning("table %r: %d generated row(s) break the learned rule `%s` (drawn on the Spark "
                            "executors)", name, n, label)

    def _check_unique_across_partitions(self, spark: Any, staged: Mapping[str, str],
                                        partitioned: tuple[str, ...]) -> None:
        """Keys are unique across partitions by construction; a unique learned or faked column is made unique
        within a partition only, so it is checked on the cluster before anything is published."""
        for name in partitioned:
            plan, cfg = self.plans[name], self.metadata.tables[name]
            columns = [c for c in plan.model_columns if cfg.constraint(c).unique]
            columns += [p.name for p in plan.pii if p.unique and p.copy_fk is None]
            for column in columns:
                value = first_duplicate(spark, staged[name], column)
                if value is not None:
                    raise ConstraintViolationError(
                        f"table {name!r}, column {column!r}: the value {value!r} was drawn in two partitions, "
                        "breaking its unique test; nothing was published",
                        hint="sample with fewer partitions (partitions=1 draws on one executor), or a larger "
                             "min_rows_per_partition so the table is drawn in one partition")

    def save_to_hive(self, paths: Mapping[str, str], target_db: str = "synthetic_db", *,
                     format: str = "parquet") -> dict[str, str]:
        """Publish a Spark sample (`sample()`'s folders) as the tables of database `target_db` (`db`, or
        `catalog.db`), with the real Spark schemas; returns table -> qualified name. Refuses a database holding
        the real tables or any relation synthohive did not write; see io/spark_hive.py for the switch and its
        short window."""
        if self.spark_session is None:
            raise ConfigError("save_to_hive() needs a Spark session",
                              hint="Synthesizer(metadata=..., spark_session=spark), or set synth.spark_session")
        protected = (self.spark_database,) if self.spark_database else ()
        return save_to_hive(self.spark_session, paths, target_db, schemas=self.spark_schemas, protected=protected,
                            fmt=format, run_id=new_run_id().replace("-", "_"))

    def _judged(self) -> Metadata:
        """The metadata sampling judges rows by: with `strict_rules`, a learned rule the output breaks is an
        error like a declared one (a copy; the saved metadata keeps each rule's origin)."""
        if not self.strict_rules:
            return self.metadata
        strict = self.metadata.model_copy(deep=True)
        for table in strict.tables.values():
            for rule in table.row_rules:
                rule.origin = "declared"
        return strict

    def _real_data(self, real: RealData | None) -> tuple[dict[str, pd.DataFrame] | None, pd.Index | None]:
        """The frames to measure against and the real PII values fakes must avoid (given > kept > none)."""
        if real is None:
            return self._real, self._real_pii
        frames = load_tables(real, self.metadata)
        return frames, real_pii_values(frames, kinds_from_findings(self.pii_findings))

    # ------------------------------------------------------------ save/load
    def save(self, path: str | Path) -> None:
        """One artifact file (models/artifact.py): safetensors for every model's tensors, JSON for everything
        else; no pickle, no real PII (plans keep only the shape of a PII column), no secret. Signed when
        SYNTHOHIVE_SIGNING_KEY is set."""
        if not self.plans or self.seed is None:
            raise ModelError("save() was called before fit()", hint="call fit(data=...) first")
        tensors: dict[str, Any] = {}
        model_states: dict[str, Any] = {}
        for name, model in self.models.items():
            weights, meta = model.state()
            tensors.update({f"{name}/{k}": v for k, v in weights.items()})
            model_states[name] = {"class": model.model_name, "meta": meta}
        state = {
            "metadata": json.loads(self.metadata.to_json()),
            "privacy": self.privacy_config.model_dump(mode="json", exclude={"secret"}),
            "model_class": self.model_class.model_name,
            "model_kwargs": self.model_kwargs,
            "seed": self.seed,
            "fit_params": self.fit_params,
            "order": self.order,
            "plans": {name: plan.to_dict() for name, plan in self.plans.items()},
            "models": model_states,
            "pii_findings": [asdict(f) for f in self.pii_findings],
            "provenance": self.provenance,
            "spark_schemas": self.spark_schemas,
            "spark_database": self.spark_database,
        }
        try:
            write_artifact(path, state, tensors, kind="synthesizer")
        except TypeError as exc:
            raise ModelError(f"the synthesizer state cannot be written as JSON: {exc}",
                             hint="model metas and model_kwargs must hold only JSON values") from exc

    @classmethod
    def load(cls, path: str | Path,
             model: type[ConditionalGenerativeModel] | None = None, spark_session: Any = None) -> Synthesizer:
        """Rebuild a saved synthesizer; no training data needed. `model` is required only for a custom
        model class (an artifact may name only a registered backend or the class you pass). With
        `spark_session`, samples are drawn on its executors (a custom model class cannot travel there), and
        their Python workers are started in the background now (`io.spark_hive.warm_executors`)."""
        state, tensors = read_artifact(path, kind="synthesizer")
        try:
            metadata = Metadata.model_validate(state["metadata"])
            privacy = PrivacyConfig.model_validate(state["privacy"])
            model_class = _resolve_class(state["model_class"], model, path)
            synth = cls(metadata, privacy, spark_session=spark_session, model=model_class,
                        model_kwargs=state["model_kwargs"])
            synth.seed = int(state["seed"])
            synth.fit_params = dict(state["fit_params"])
            synth.plans = {name: TablePlan.from_dict(p) for name, p in state["plans"].items()}
            synth.pii_findings = [PiiFinding(**f) for f in state["pii_findings"]]
            synth.provenance = dict(state.get("provenance") or {})
            synth.spark_schemas = dict(state.get("spark_schemas") or {})
            synth.spark_database = state.get("spark_database")
            for name, entry in state["models"].items():
                klass = _resolve_class(entry["class"], model, path)
                prefix = f"{name}/"
                own = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
                synth.models[name] = klass.from_state(own, entry["meta"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{str(path)!r} passed its checksum but its content is incomplete: {exc!r}",
                                hint="re-train and save with this version of synthohive-dbt") from exc
        if spark_session is not None:
            warm_executors(spark_session, EXECUTOR_MODULES)
        return synth


def _resolve_class(name: str, given: type[ConditionalGenerativeModel] | None,
                   path: str | Path) -> type[ConditionalGenerativeModel]:
    """The class an artifact names: the one passed as `model=`, or a registered backend (any spelling an
    earlier release recorded). Only those: an artifact cannot make us import a module of its choosing."""
    if given is not None and name in (given.__name__, given.model_name):
        return given
    if canonical_name(name) is not None:
        return backend_class(name)
    raise ArtifactError(f"{str(path)!r} was trained with model class {name!r}, which is not a built-in backend",
                        hint=f"pass it explicitly: Synthesizer.load(path, model={name})")


def _report(progress: TableProgressCallback | None, event: TableProgress) -> None:
    if progress is not None:
        progress(event)


def _epoch_callback(progress: TableProgressCallback | None, table: str, index: int, n: int):
    if progress is None:
        return None

    def forward(p: Progress) -> None:
        progress(TableProgress("fit", table, index, n, p.epoch, p.epochs, epoch=p))

    return forward
