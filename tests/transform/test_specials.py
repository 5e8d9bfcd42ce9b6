"""Special values (NaN / +-inf next to NULL, edge sentinels such as 9999-12-31) as slots of their own: encoded
and decoded exactly, at their frequency, through JSON state and the token path the AR model uses."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.transform.specials import SpecialValues, find_specials
from synthohive_dbt.transform.table import DataTransformer, TransformerSettings

SENTINEL = np.datetime64("9999-12-31T00:00:00", "us")
YEAR_ONE = np.datetime64("0001-01-01T00:00:00", "us")


def _frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = rng.random(n)
    x = rng.gamma(2.0, 10.0, n)
    null = k > 0.9
    x[k < 0.1] = np.nan
    x[(k >= 0.1) & (k < 0.2)] = np.inf
    x[(k >= 0.2) & (k < 0.25)] = -np.inf
    stamps = np.datetime64("2020-01-01", "us") + rng.integers(0, 10**13, n).astype("timedelta64[us]")
    days = np.datetime64("2000-01-01", "us") + rng.integers(0, 3000, n).astype("timedelta64[D]")
    return pd.DataFrame({
        "x": pd.arrays.FloatingArray(x.copy(), null),  # NaN a value, <NA> a NULL
        "y": np.where(null, np.nan, x),  # plain float64: NaN is the NULL, inf a value
        "valid_to": np.where(rng.random(n) < 0.4, SENTINEL, stamps),
        "d": np.where(rng.random(n) < 0.3, YEAR_ONE, days),
        "few": pd.arrays.FloatingArray(np.where(k < 0.5, np.nan, np.round(k * 4)), k > 0.95),  # discrete
    })


def _counts(s: pd.Series) -> tuple[int, int, int, int]:
    if isinstance(s.dtype, pd.Float64Dtype):
        data, mask = s.array._data, s.array._mask
    else:
        data, mask = s.to_numpy(np.float64), s.isna().to_numpy()
    return (int(mask.sum()), int((np.isnan(data) & ~mask).sum()), int((data == np.inf).sum()),
            int((data == -np.inf).sum()))


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, DataTransformer]:
    frame = _frame()
    return frame, DataTransformer().fit(frame, seed=1)


def test_special_values_are_found_as_slots_of_their_own(fitted) -> None:
    frame, t = fitted
    for col in ("x", "y", "valid_to", "d", "few"):
        assert isinstance(t.encoders[col], SpecialValues), col
    assert [str(v) for v in t.encoders["x"].values] == ["nan", "inf", "-inf"]
    assert [str(v) for v in t.encoders["y"].values] == ["inf", "-inf"]  # float64 NaN is a NULL, not a value
    assert t.encoders["valid_to"].values == [int(SENTINEL.astype(np.int64))]  # exact microsecond ticks
    assert t.encoders["valid_to"].copies == [8]  # 40% of 20 quantile bins: slots of about equal share


def test_encoding_and_decoding_keeps_every_special_value_exactly(fitted) -> None:
    frame, t = fitted
    back = t.inverse_transform(t.transform(frame, seed=2), seed=3)
    assert str(back["x"].dtype) == "Float64" and back["y"].dtype == "float64"
    for col in ("x", "y", "few"):
        assert _counts(back[col]) == _counts(frame[col]), col
    assert back["valid_to"].dtype == "datetime64[us]"
    assert (back["valid_to"].to_numpy() == SENTINEL).sum() == (frame["valid_to"].to_numpy() == SENTINEL).sum()
    assert (back["d"].to_numpy() == YEAR_ONE).sum() == (frame["d"].to_numpy() == YEAR_ONE).sum()
    rest = back["valid_to"][back["valid_to"].to_numpy() != SENTINEL]
    real_rest = frame["valid_to"][frame["valid_to"].to_numpy() != SENTINEL]
    assert rest.min() >= real_rest.min() and rest.max() <= real_rest.max()  # nothing between 2020 and 9999


def test_state_json_and_tokens_keep_them(fitted) -> None:
    frame, t = fitted
    state = json.loads(json.dumps(t.state_dict(), allow_nan=False))  # strict JSON: no NaN / Infinity tokens
    again = DataTransformer.from_state(state)
    enc = again.transform(frame, seed=2)
    tokens = np.stack([enc[:, s.offset:s.end].argmax(axis=1) for s in again.layout.softmax_spans], axis=1)
    back = again.inverse_tokens(tokens, seed=4)
    for col in ("x", "y", "few"):
        assert _counts(back[col]) == _counts(frame[col]), col
    assert (back["valid_to"].to_numpy() == SENTINEL).sum() == (frame["valid_to"].to_numpy() == SENTINEL).sum()


def test_slot_frequencies_sum_to_one_and_hold_the_special_shares(fitted) -> None:
    _, t = fitted
    for freqs in t.discrete_frequencies():
        assert abs(float(np.sum(freqs)) - 1.0) < 1e-9
    enc = t.encoders["valid_to"]
    assert abs(sum(enc.frequencies[-enc.copies[0]:]) - enc.rates[0]) < 1e-12


def test_mode_encoding_takes_special_values_too() -> None:
    frame = _frame(300)
    t = DataTransformer(TransformerSettings(numeric_encoding="mode")).fit(frame[["x", "valid_to"]], seed=0)
    back = t.inverse_transform(t.transform(frame[["x", "valid_to"]], seed=1), seed=2)
    assert _counts(back["x"]) == _counts(frame["x"])


def test_sentinels_need_a_gap_and_two_rows() -> None:
    days = np.arange(100, dtype=np.int64)
    none = np.zeros(100, dtype=bool)
    assert find_specials(days, none, sentinels=True) == []  # the natural last day is one step away
    far = np.append(days, [2_932_896, 2_932_896])
    assert find_specials(far, np.zeros(102, dtype=bool), sentinels=True) == [2_932_896]
    assert find_specials(np.append(days, [2_932_896]), np.zeros(101, dtype=bool), sentinels=True) == []


def test_python_dates_of_year_one_and_9999_are_learned() -> None:
    """What psycopg2 gives for DATE columns: date objects, which pandas' own parser refuses past 2262."""
    rng = np.random.default_rng(0)
    values = [dt.date(9999, 12, 31) if rng.random() < 0.3 else dt.date(1, 1, 1) if rng.random() < 0.1
              else dt.date(2000, 1, 1) + dt.timedelta(days=int(rng.integers(0, 3000))) for _ in range(300)]
    frame = pd.DataFrame({"d": pd.Series(values, dtype=object)})
    t = DataTransformer().fit(frame)
    back = t.inverse_transform(t.transform(frame), seed=0)
    assert back["d"].map(type).eq(dt.date).all()
    assert (back["d"] == dt.date(9999, 12, 31)).sum() == (frame["d"] == dt.date(9999, 12, 31)).sum()
