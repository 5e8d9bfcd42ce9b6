"""The one vocabulary of column kinds: what each dtype and each kind of object column is called, and the
edges where the private ladders it replaced used to disagree."""

from __future__ import annotations

import datetime as dt
import decimal

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt import kinds


@pytest.mark.parametrize(("series", "dtype_kind", "kind_of"), [
    (pd.Series([True, False]), "bool", "bool"),
    (pd.Series([True, None], dtype="boolean"), "bool", "bool"),
    (pd.Series([1, 2]), "int", "int"),
    (pd.Series([1, None], dtype="Int64"), "int", "int"),
    (pd.Series([1.5, None]), "float", "float"),
    (pd.Series(pd.to_datetime(["2020-01-01"])), "datetime", "datetime"),
    (pd.Series(pd.to_datetime(["2020-01-01"]).tz_localize("UTC")), "datetime", "datetime"),
    (pd.Series([pd.Timedelta(1)]), "timedelta", "timedelta"),
    (pd.Series(["a", None], dtype="string"), "text", "text"),
    # object columns: by their values
    (pd.Series(["a", None]), "other", "text"),
    (pd.Series([1, 2], dtype=object), "other", "int"),
    (pd.Series([decimal.Decimal("1.5")]), "other", "float"),
    (pd.Series([dt.date(2020, 1, 1)]), "other", "date"),
    (pd.Series([dt.datetime(2020, 1, 1)], dtype=object), "other", "datetime"),
    (pd.Series([True, None], dtype=object), "other", "bool"),
    (pd.Series([1, "a"]), "other", "other"),
    (pd.Series([None, None], dtype=object), "other", "other"),  # no value says nothing
    (pd.Series(["a", "b"], dtype="category"), "other", "other"),
    (pd.Series([1 + 2j]), "other", "other"),
])
def test_one_vocabulary(series: pd.Series, dtype_kind: str, kind_of: str) -> None:
    assert kinds.dtype_kind(series.dtype) == dtype_kind
    assert kinds.kind_of(series) == kind_of


def test_booleans_are_not_numbers_and_dtype_names_are_understood() -> None:
    assert not kinds.is_numeric(pd.Series([True]))
    assert kinds.is_numeric("Int64") and kinds.is_numeric(np.dtype("float32"))
    assert kinds.is_datetime("datetime64[us, UTC]") and kinds.is_timedelta("timedelta64[ns]")


@pytest.mark.parametrize(("series", "integral"), [
    (pd.Series([1, 2]), True), (pd.Series([1.0, None, 3.0]), True), (pd.Series([1.5]), False),
    (pd.Series([1.0, np.inf]), False), (pd.Series([], dtype="float64"), True),
])
def test_integral_numbers(series: pd.Series, integral: bool) -> None:
    assert kinds.is_integral(series) is integral


def test_an_object_column_is_not_integral_by_dtype() -> None:
    assert not kinds.is_integral(pd.Series([1, 2], dtype=object))


@pytest.mark.parametrize(("series", "key"), [
    (pd.Series([1, 2]), "int"),
    (pd.Series([1.0, 2.0]), "int"),  # an integer column pandas widened to float
    (pd.Series([1, 2], dtype=object), "int"),
    (pd.Series(["a1", "b2"]), "text"),
    (pd.Series([1.5, 2.0]), None),
    (pd.Series([True, False]), None),
    (pd.Series(pd.to_datetime(["2020-01-01"])), None),
    (pd.Series([1, "a"]), None),
])
def test_what_a_key_can_hold(series: pd.Series, key: str | None) -> None:
    assert kinds.key_kind(series) == key


def test_time_zones() -> None:
    aware = pd.Series(pd.to_datetime(["2020-01-01 12:00"]).tz_localize("Europe/Paris"))
    assert str(kinds.timezone_of(aware.dtype)) == "Europe/Paris"
    assert kinds.timezone_of("datetime64[us]") is None
    naive = kinds.as_naive_utc(aware)
    assert kinds.timezone_of(naive.dtype) is None
    assert naive.iloc[0] == pd.Timestamp("2020-01-01 11:00")


def test_textual_columns() -> None:
    assert kinds.is_textual(pd.Series([1, "a"]))  # an object column may hold text
    assert kinds.is_textual(pd.Series(["a"], dtype="string"))
    assert kinds.is_textual(pd.Series(["a"], dtype="category"))
    assert not kinds.is_textual(pd.Series([1]))
