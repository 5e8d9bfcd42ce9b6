"""The table transformer: exact round trips, bounded encodings, JSON state, clear errors."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.errors import DataError
from synthohive_dbt.transform import DataTransformer, Span, SpanLayout, TransformerSettings

MODE = TransformerSettings(numeric_encoding="mode")  # the paper's mixture encoding (the default is quantile)


def mixed_table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "amount": np.concatenate([rng.normal(10, 1, n // 2), rng.normal(100, 5, n - n // 2)]),
        "qty": rng.integers(0, 1000, n),
        "tier": rng.integers(1, 4, n),
        "cat": rng.choice(["a", "b", "c"], n),
        "flag": rng.random(n) < 0.3,
        "day": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
        "ts": pd.to_datetime("2021-01-01", utc=True) + pd.to_timedelta(rng.integers(0, 10**8, n), unit="s"),
        "pydate": [dt.date(2020, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 500, n)],
    })
    df["maybe"] = df["amount"].where(rng.random(n) > 0.2)
    df["nint"] = pd.array(rng.integers(0, 100, n), dtype="Int64")
    df.loc[::7, "nint"] = pd.NA
    df["ncat"] = df["cat"].where(rng.random(n) > 0.1)
    df.loc[::5, "pydate"] = None
    df["nbool"] = pd.array(rng.random(n) < 0.5, dtype="boolean")
    df.loc[::3, "nbool"] = pd.NA
    return df


def test_mixed_table_round_trips_exactly_also_through_json_state() -> None:
    df = mixed_table()
    t = DataTransformer(MODE).fit(df, seed=1)
    enc = t.transform(df, seed=2, dtype=np.float64)
    assert enc.shape == (len(df), t.layout.width)
    # floats within tolerance; ints, categories, bools, dates, timestamps and nulls exactly
    back = t.inverse_transform(enc)
    pd.testing.assert_frame_equal(back, df, check_exact=False, rtol=1e-9)
    assert back["qty"].dtype == np.int64 and back["nint"].dtype == "Int64"
    assert back["pydate"].iloc[1] == df["pydate"].iloc[1] and back["pydate"].iloc[0] is None
    state = json.loads(json.dumps(t.state_dict()))
    pd.testing.assert_frame_equal(DataTransformer.from_state(state).inverse_transform(enc), df,
                                  check_exact=False, rtol=1e-9)


def test_layout_spans_and_kinds() -> None:
    df = mixed_table()
    layout = DataTransformer(MODE).fit(df).layout
    by_col = {}
    for s in layout.spans:
        by_col.setdefault(s.column, []).append(s)
    # a two-mode numeric column: one tanh offset plus a softmax over its modes (here exactly two)
    assert [(s.activation, s.width) for s in by_col["amount"]] == [("tanh", 1), ("softmax", 2)]
    # few distinct integers are a category; nulls get their own slot
    assert [(s.activation, s.width, s.conditional) for s in by_col["tier"]] == [("softmax", 3, True)]
    assert by_col["ncat"][0].width == 4 and by_col["nbool"][0].width == 3
    # offsets are contiguous and computed once
    assert [s.offset for s in layout.spans] == list(np.cumsum([0] + [s.width for s in layout.spans])[:-1])
    assert layout.width == sum(s.width for s in layout.spans)
    manual = SpanLayout((Span("a", 1, "tanh"), Span("a", 3, "softmax"), Span("b", 2, "softmax", conditional=True)))
    assert [s.offset for s in manual.spans] == [0, 1, 4] and manual.conditional_width == 2


def test_null_rate_of_numeric_column_is_encoded() -> None:
    df = mixed_table()
    t = DataTransformer().fit(df)
    enc = t.transform(df)
    span = [s for s in t.layout.spans if s.column == "maybe"][1]
    null_slot = enc[:, span.end - 1]
    assert null_slot.mean() == pytest.approx(df["maybe"].isna().mean())


def test_high_cardinality_text_keeps_top_categories_and_resamples_the_tail() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    frequent = rng.choice(["paid", "open", "void"], n, p=[0.5, 0.3, 0.2])
    ids = np.array([f"user_{i}" for i in range(n)], dtype=object)
    tail_rows = rng.random(n) < 0.25
    values = np.where(tail_rows, ids, frequent)
    df = pd.DataFrame({"label": values, "id": ids})
    t = DataTransformer(TransformerSettings(max_categories=50)).fit(df)
    widths = {s.column: s.width for s in t.layout.spans}
    assert widths["label"] == 4  # 3 frequent values + "other"; not 5000 unique one-hot slots
    assert widths["id"] == 1  # every value seen once: a single "other" slot, resampled from the tail
    enc = t.transform(df)
    back = t.inverse_transform(enc, seed=3)
    top = back["label"].value_counts(normalize=True)
    assert top["paid"] == pytest.approx((values == "paid").mean(), abs=1e-12)
    drawn = back.loc[tail_rows, "label"]
    assert drawn.str.startswith("user_").all() and drawn.isin(set(ids)).all()
    assert len(json.dumps(t.state_dict())) < 200_000  # the kept tail is capped (1000 values)


def test_transform_of_unseen_category_is_a_clear_error() -> None:
    df = pd.DataFrame({"c": ["a", "b", "a"], "x": [1.5, 2.5, 3.5]})
    t = DataTransformer().fit(df, table="orders")
    with pytest.raises(DataError, match=r"table 'orders', column 'c': value 'z' was not seen"):
        t.transform(pd.DataFrame({"c": ["z"], "x": [1.0]}), table="orders")
    enc = t.transform(pd.DataFrame({"c": ["z"], "x": [1.0]}), unknown="ignore")
    assert enc[0, :2].tolist() == [0.0, 0.0]


def test_empty_table_and_all_null_column_are_refused_with_clear_messages() -> None:
    with pytest.raises(DataError, match=r"table 'orders' is empty \(0 rows\)") as exc:
        DataTransformer().fit(pd.DataFrame({"a": pd.Series([], dtype=float)}), table="orders")
    assert "fix:" in str(exc.value)
    df = pd.DataFrame({"a": [1.0, 2.0], "gone": [None, None]})
    with pytest.raises(DataError, match=r"table 'orders': column\(s\) \['gone'\] contain only nulls"):
        DataTransformer().fit(df, table="orders")


def test_mixture_fit_uses_a_sample_and_stays_fast_on_many_rows() -> None:
    import time

    rng = np.random.default_rng(0)
    n = 300_000
    df = pd.DataFrame({"x": np.concatenate([rng.normal(0, 1, n // 2), rng.normal(50, 3, n // 2)]),
                       "c": rng.choice(["a", "b"], n)})
    t0 = time.perf_counter()
    t = DataTransformer(MODE).fit(df)
    enc = t.transform(df)
    elapsed = time.perf_counter() - t0
    assert elapsed < 10, f"fit+transform of {n} rows took {elapsed:.1f}s"
    means = t.encoders["x"].means  # type: ignore[union-attr]
    assert 2 <= means.size <= 10
    # every kept mode sits on one of the two true modes (none on the empty space between them)
    assert np.all((np.abs(means) < 4) | (np.abs(means - 50) < 12)), means
    assert enc.dtype == np.float32
