"""The main job end to end: dbt project -> real tables -> model -> synthetic schema -> dbt's own tests.

`run.seed / run.fit / run.generate` are the entry points the CLI calls (one call per subcommand);
`project` decides the tables, `redirect` makes dbt read the synthetic ones, `progress` and `outcomes` tell
people and CI logs what happened. `demo` runs it all on the bundled example project.
"""

from __future__ import annotations

from synthohive_dbt.pipeline.run import (
    OutputOptions,
    ProjectOptions,
    RunResult,
    SampleOptions,
    TrainOptions,
    fit,
    generate,
    seed,
)

__all__ = ["OutputOptions", "ProjectOptions", "RunResult", "SampleOptions", "TrainOptions", "fit", "generate",
           "seed"]
