"""The public API: learn a whole relational database, sample a synthetic one that keeps its keys, and
measure every sample against the real data.

    synth = Synthesizer(metadata=meta, privacy_config=privacy, backend="CTGAN")
    synth.fit(data={"users": users, "orders": orders}, epochs=300, batch_size=500, seed=7)
    synth.pii_findings                                     # what was set aside as personal data, and why
    out = synth.sample(num_rows={"users": 1000}, gates=QualityGates())   # or scale=2.0, output_path_base=
    synth.last_evaluation.scores                           # quality of that sample against the real data
    synth.generate_validation_report("report.html")        # HTML + JSON twin
    synth.save("model.shm"); Synthesizer.load("model.shm").sample(scale=1.0)

The engine (relational/synthesizer.py) learns and samples and never imports the report; this class adds the
measurement from above, through the engine's `before_publish` hook, so gates still run before anything is
published. It measures through `report.measure`, the same entry point `synthohive seed --report` and
`synthohive report` use.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from synthohive_dbt.errors import ConfigError, ModelError
from synthohive_dbt.relational import synthesizer as engine
from synthohive_dbt.relational.sinks import executors_of
from synthohive_dbt.report.gates import QualityGates, check_gates
from synthohive_dbt.report.measure import RunFacts, measure_run, write_report
from synthohive_dbt.report.result import EvaluationResult

log = logging.getLogger(__name__)


class Synthesizer(engine.Synthesizer):
    """Learns every table of `metadata` and samples a synthetic database with valid keys and constraints;
    each sample is measured against the real data (`last_evaluation`) when there is real data at hand."""

    last_evaluation: EvaluationResult | None = None

    def fit(self, *args: Any, **kwargs: Any) -> Synthesizer:
        """`relational.synthesizer.Synthesizer.fit`; a new fit forgets the last sample's evaluation."""
        self.last_evaluation = None
        super().fit(*args, **kwargs)
        return self

    def sample(self, num_rows: Any = None, *, evaluate: bool = True, gates: QualityGates | None = None,
               **options: Any) -> engine.Output:
        """`relational.synthesizer.Synthesizer.sample`, measured.

        Quality: with real data at hand (kept after `fit`, or given as `real=`: frames or a folder), the
        sample is measured and kept as `last_evaluation` (at most EVALUATION_MAX_ROWS rows per table are
        compared, picked deterministically; keys use every row); `evaluate=False` skips that. `gates` raise
        QualityGateError listing every miss before anything is written: Parquet output goes to a staging
        folder beside `output_path_base` and replaces the previous files only once the gates pass.
        """
        if gates is not None and not evaluate:
            raise ConfigError("sample(gates=..., evaluate=False): gates need an evaluation",
                              hint="drop evaluate=False, or drop gates")
        if gates is not None and options.get("real") is None and self._real is None and self.plans:
            raise ConfigError("sample(gates=...) needs the real data to measure against, and this synthesizer "
                              "has none (it was loaded from a file)",
                              hint="pass real={table: frame, ...} or a folder of <table>.parquet / .csv")
        self.last_evaluation = None
        on_spark = self.spark_session is not None or executors_of(options.get("sink")) is not None
        if on_spark and gates is not None:
            raise ConfigError("sample(gates=...) is not available for a Spark sample (it is not measured on the "
                              "driver)", hint="drop gates, publish with save_to_hive, then run `synthohive report`")

        def measure_then_gate(drawn: engine.Drawn) -> None:
            if on_spark:
                log.info("Spark sample not evaluated on the driver: run `synthohive report` on the Hive tables")
            elif evaluate and drawn.real is not None:
                self.last_evaluation = self.measure(drawn.real, drawn.output, drawn.seed)
            elif evaluate:
                log.info("sample not evaluated: no real data (pass real=... to measure it)")
            if gates is not None and self.last_evaluation is not None:
                check_gates(self.last_evaluation, gates)

        return super().sample(num_rows, before_publish=measure_then_gate, **options)

    def measure(self, real: Any, output: engine.Output, seed: int | None = None) -> EvaluationResult:
        """This model's sample `output` measured against `real` frames (report.measure, with this model's
        metadata, PII and differential-privacy spend)."""
        return measure_run(real, output, RunFacts.of(self, seed=seed))

    def generate_validation_report(self, path: str | Path, real: engine.RealData | None = None,
                                   gates: QualityGates | None = None) -> tuple[Path, Path]:
        """Write the quality report: `path` (self-contained HTML) and the same name with `.json`.

        Uses the last sample's evaluation; with `real=`, or when the last sample was not evaluated, it
        measures the last sample now (sampling one at the real size first if there is none). `gates` only
        mark misses in the report; use `sample(gates=...)` to fail on them.
        """
        result = self.last_evaluation if real is None else None
        if result is None:
            if not self.plans or self.seed is None:
                raise ModelError("generate_validation_report() was called before fit()",
                                 hint="call fit(data=...) or Synthesizer.load(path), then sample()")
            real_frames, _ = self._real_data(real)
            if real_frames is None:
                raise ModelError("generate_validation_report() has no real data to measure against (this "
                                 "synthesizer was loaded from a file)",
                                 hint="pass real={table: frame, ...} or a folder of <table>.parquet / .csv")
            output = self._last_output if self._last_output is not None else self.sample(evaluate=False)
            result = self.last_evaluation = self.measure(real_frames, output, self.seed)
        return write_report(result, path, gates=gates)


__all__ = ["Synthesizer"]
