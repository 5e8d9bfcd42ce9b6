"""Quantile-binned numbers (spiky columns, nulls, extremes) and derived columns (functional dependencies)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.errors import DataError
from synthohive_dbt.transform import DataTransformer, TransformerSettings
from synthohive_dbt.transform.derived import DerivedColumn
from synthohive_dbt.transform.quantile import QuantileBinner


def spiky(n: int = 5000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gain = np.where(rng.random(n) < 0.9, 0, rng.integers(100, 99_999, n))  # 90% zeros, like capital-gain
    hours = np.where(rng.random(n) < 0.5, 40, rng.integers(1, 99, n))  # a spike in the middle
    score = rng.normal(0, 1, n)
    score[::9] = np.nan
    return pd.DataFrame({"gain": gain, "hours": hours, "score": score})


def test_quantile_encoding_keeps_spikes_bins_balanced_and_decodes_exact_values() -> None:
    df = spiky()
    t = DataTransformer(TransformerSettings(numeric_encoding="quantile", quantile_bins=20)).fit(df)
    assert all(isinstance(t.encoders[c], QuantileBinner) for c in df.columns)
    enc = t.transform(df, seed=1)
    span = [s for s in t.layout.spans if s.column == "gain"][1]
    # ranks of tied values are spread over their mass: every bin holds ~1/20 of the rows, zeros included
    counts = enc[:, span.offset:span.end].sum(0)
    assert np.allclose(counts / len(df), 0.05, atol=0.01), counts
    back = t.inverse_transform(enc, seed=2)
    # the spikes survive, to the resolution of the stored quantile function (1000 knots)
    assert abs((back["gain"] == 0).mean() - (df["gain"] == 0).mean()) < 0.002
    assert abs((back["hours"] == 40).mean() - (df["hours"] == 40).mean()) < 0.002
    assert back["gain"].dtype == np.int64 and back["gain"].between(0, df["gain"].max()).all()
    assert back["score"].isna().sum() == df["score"].isna().sum()
    # uniform positions inside the bins reach the real extremes (SDMetrics bins each frame by its range)
    assert back["gain"].max() > 0.98 * df["gain"].max() and back["score"].min() < df["score"].quantile(0.001)
    again = DataTransformer.from_state(json.loads(json.dumps(t.state_dict())))
    pd.testing.assert_frame_equal(again.inverse_transform(enc, seed=2), back)


def test_quantile_ranks_are_uniform_and_out_of_range_values_clip() -> None:
    rng = np.random.default_rng(0)
    x = rng.exponential(1.0, 20_000)
    q = QuantileBinner.fit(x, np.zeros(x.size, bool), n_bins=10)
    u = q.ranks(x, rng)
    assert np.histogram(u, bins=10, range=(0, 1))[0] / x.size == pytest_approx(0.1, 0.01)
    assert q.ranks(np.array([-5.0, 1e9]), rng).tolist() == [0.0, 1.0]


def pytest_approx(value: float, tol: float):  # noqa: ANN201 - local helper keeping the import list short
    import pytest

    return pytest.approx(value, abs=tol)


def education_table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    levels = np.array(["HS", "Bachelors", "Masters", "Doctorate"], dtype=object)
    edu = rng.choice(levels, n, p=[0.5, 0.3, 0.15, 0.05])
    num = pd.Series(edu).map({"HS": 9, "Bachelors": 13, "Masters": 14, "Doctorate": 16}).to_numpy()
    return pd.DataFrame({"education": edu, "education_num": num, "sex": rng.choice(["F", "M"], n),
                         "label": np.where(pd.isna(edu), None, "x")})


def test_a_column_determined_by_another_is_derived_not_learned() -> None:
    df = education_table()
    df.loc[::50, "education"] = None  # null maps to a null too
    df.loc[::50, "education_num"] = np.nan
    t = DataTransformer().fit(df)
    enc = t.encoders["education_num"]
    assert isinstance(enc, DerivedColumn) and enc.source == "education"
    assert not isinstance(t.encoders["sex"], DerivedColumn)  # independent: learned
    assert "education_num" not in {s.column for s in t.layout.spans}  # no span: nothing to learn
    # whatever education the model generates, education_num follows it in every row
    x = t.transform(df, seed=0)
    rng = np.random.default_rng(1)
    span = next(s for s in t.layout.spans if s.column == "education")
    x[:, span.offset:span.end] = np.eye(span.width)[rng.integers(span.width, size=len(x))]
    out = DataTransformer.from_state(json.loads(json.dumps(t.state_dict()))).inverse_transform(x)
    mapping = {"HS": 9, "Bachelors": 13, "Masters": 14, "Doctorate": 16}
    present = out["education"].notna()
    assert (out.loc[present, "education_num"] == out.loc[present, "education"].map(mapping)).all()
    assert out.loc[~present, "education_num"].isna().all() and (~present).any()
    assert out["education_num"].dtype == df["education_num"].dtype


def test_no_dependency_is_derived_from_too_few_rows_or_when_switched_off() -> None:
    small = education_table(n=30)  # 4 keys x 10 rows needed: a coincidence in small data is no rule
    assert not any(isinstance(e, DerivedColumn) for e in DataTransformer().fit(small).encoders.values())
    df = education_table()
    off = DataTransformer(TransformerSettings(derive_dependencies=False)).fit(df)
    assert not any(isinstance(e, DerivedColumn) for e in off.encoders.values())


def test_token_decoding_matches_decoding_the_one_hot_rows() -> None:
    """inverse_tokens (for models that emit one slot per column) gives what inverse_transform gives for the
    same slots with uniform positions: same categories, same bins, nulls and derived columns included."""
    df = spiky(2000)
    df["kind"] = np.where(df["gain"] > 0, "paid", np.random.default_rng(1).choice(["a", "b", None], 2000))
    settings = TransformerSettings(numeric_encoding="quantile", quantile_bins=16, quantile_position="uniform")
    t = DataTransformer(settings).fit(df)
    enc = t.transform(df, seed=3)
    tokens = np.stack([enc[:, s.offset:s.end].argmax(1) for s in t.layout.softmax_spans], axis=1)
    by_tokens, by_rows = t.inverse_tokens(tokens, seed=4), t.inverse_transform(enc, seed=4)
    pd.testing.assert_frame_equal(by_tokens, by_rows)
    assert by_tokens["kind"].isna().sum() == df["kind"].isna().sum()
    with pytest.raises(DataError, match="tokens for 4 learned columns"):
        t.inverse_tokens(tokens[:, :2])


def test_a_small_tables_distinct_values_are_not_decoded_verbatim() -> None:
    """On a small table each distinct value is one person's (a hire date, a salary): decoding interpolates
    between observed values instead of handing them back, while the range stays the real one."""
    rng = np.random.default_rng(0)
    days = np.sort(rng.choice(2000, 30, replace=False))
    df = pd.DataFrame({"hired_on": pd.Timestamp("2018-01-01") + pd.to_timedelta(days, unit="D"),
                       "salary": rng.gamma(2.0, 20_000.0, 30).round(2)})
    t = DataTransformer(TransformerSettings(numeric_encoding="quantile", quantile_position="uniform")).fit(df)
    back = t.inverse_transform(t.transform(df, seed=1), seed=2)  # every row's own bin, a fresh position
    assert back["hired_on"].isin(df["hired_on"]).mean() < 0.15  # observed-value knots gave ~1.0
    assert back["salary"].isin(df["salary"]).mean() < 0.05
    assert back["hired_on"].between(df["hired_on"].min(), df["hired_on"].max()).all()
    assert back["salary"].between(df["salary"].min(), df["salary"].max()).all()


def test_decoded_numbers_keep_the_decimal_places_of_the_real_ones() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"price": rng.choice([9.99, 19.99, 4.5, 120.0, 7.25], 500) + rng.integers(0, 50, 500),
                       "ratio": rng.random(500)})
    t = DataTransformer(TransformerSettings(numeric_encoding="quantile", quantile_position="uniform")).fit(df)
    back = t.inverse_transform(t.transform(df, seed=1), seed=2)
    assert np.allclose(back["price"], back["price"].round(2)) and not np.allclose(back["price"], back["price"].round(1))
    assert t.encoders["price"].decimals == 2 and t.encoders["ratio"].decimals is None
    state = json.loads(json.dumps(t.state_dict()))
    state["columns"][0]["encoder"].pop("decimals")  # a state saved before the field existed still loads
    assert DataTransformer.from_state(state).encoders["price"].decimals is None
