"""Constraints the model can break are repaired by re-sampling (counted), never clipped; what cannot be
repaired fails loudly with table, column and value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.config import Constraint, Metadata
from synthohive_dbt.errors import ConstraintViolationError
from tests.helpers.tiny_shop import fit


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"id": np.arange(300), "score": rng.integers(0, 10, 300),
                         "kind": rng.choice(["x", "y", "z"], 300)})


def test_rows_outside_a_range_are_resampled_and_counted() -> None:
    meta = Metadata()
    # the real scores spread over 0..9: a model trained on them emits ~half its rows above 4
    meta.add_table("t", pk="id", constraints={"score": Constraint(max=4)})
    synth = fit(meta, {"t": _data()})
    out = synth.sample(seed=1)["t"]
    assert out["score"].max() <= 4
    assert out["score"].nunique() > 1  # re-sampled, not clipped onto the bound
    stats = synth.last_sample_stats.tables["t"]
    assert stats.rejected_rows["score"] > 50 and stats.resample_rounds >= 1


def test_unrepairable_constraint_names_table_column_and_value() -> None:
    meta = Metadata()
    meta.add_table("t", pk="id", constraints={"kind": Constraint(accepted_values=["w"])})
    synth = fit(meta, {"t": _data()})
    with pytest.raises(ConstraintViolationError,
                       match=r"table 't', column 'kind': \d+ generated row\(s\) break the accepted_values "
                             r"constraint, e.g. value '[xyz]' \(accepted values \['w'\]\)"):
        synth.sample(seed=1)
