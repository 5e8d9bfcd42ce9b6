"""The format model of tables too small to learn from: values of the columns' types, dbt tests and formats,
never a real value unless the project names it; deterministic; plain JSON state."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from synthohive_dbt.config import Constraint
from synthohive_dbt.models.formats import ColumnFormat, FormatModel


def _two_rows() -> pd.DataFrame:
    return pd.DataFrame({
        "code": ["NORTH-0417", "South-2290"],
        "status": ["open", "closed"],
        "amount": [5812.25, -377.5],
        "units": pd.array([12, None], dtype="Int64"),
        "at": np.array(["2019-03-14T10:11:12", "2021-11-02T08:00:00"], dtype="datetime64[us]"),
        "flag": pd.array([True, False], dtype="boolean"),
    })


def test_two_rows_give_values_of_their_formats_but_none_of_the_real_ones() -> None:
    real = _two_rows()
    model = FormatModel({"status": Constraint(accepted_values=["open", "closed", "planned"])}).fit(real)
    out = model.sample(200, seed=1)
    assert out.dtypes.to_dict() == real.dtypes.to_dict()
    assert not out["code"].isin(real["code"]).any()
    assert out["code"].str.fullmatch(r"[A-Z]{5}-\d{4}|[A-Z][a-z]{4}-\d{4}").all()
    assert set(out["status"]) == {"open", "closed", "planned"}  # the project's own values, all of them
    assert out["amount"].between(-10_000, 10_000).all() and (out["amount"] < 0).any()
    assert np.allclose(out["amount"], out["amount"].round(2), rtol=0, atol=1e-9)
    assert out["units"].isna().mean() > 0.3 and out["units"].dropna().between(0, 99).all()
    assert out["at"].dt.year.between(2019, 2021).all() and out["at"].dt.microsecond.eq(0).all()
    assert set(out["flag"].dropna()) == {True, False}


def test_declared_ranges_and_not_null_win_over_the_real_values() -> None:
    real = pd.DataFrame({"score": [7.0, None]})
    out = FormatModel({"score": Constraint(min=100, max=200, not_null=True)}).fit(real).sample(100, seed=0)
    assert out["score"].notna().all() and out["score"].between(100, 200).all()


def test_an_empty_table_is_generated_from_dtypes_alone() -> None:
    empty = pd.DataFrame({"i": pd.Series([], dtype="Int64"), "s": pd.Series([], dtype=object),
                          "t": pd.Series([], dtype="datetime64[us]"), "f": pd.Series([], dtype="float64")})
    out = FormatModel().fit(empty).sample(50, seed=3)
    assert out.dtypes.to_dict() == empty.dtypes.to_dict() and out.notna().all().all()
    assert out["s"].str.fullmatch(r"[a-z]{8}").all() and out["t"].dt.year.between(2000, 2024).all()


def test_same_seed_same_rows_and_the_state_is_plain_json() -> None:
    model = FormatModel({"status": Constraint(accepted_values=["open", "closed"])}).fit(_two_rows(), table="t")
    tensors, meta = model.state()
    assert tensors == {}
    again = FormatModel.from_state({}, json.loads(json.dumps(meta, allow_nan=False)))
    pd.testing.assert_frame_equal(model.sample(30, seed=9), again.sample(30, seed=9))
    assert not model.sample(30, seed=9).equals(model.sample(30, seed=10))


def test_a_one_row_number_keeps_its_magnitude_not_its_value() -> None:
    fmt = ColumnFormat.learn(pd.Series([4242], name="id"))
    values = fmt.generate(1000, np.random.default_rng(0))
    assert values.between(0, 9999).all() and (values != 4242).mean() > 0.99
