"""What kind of values a column holds: the one vocabulary every layer asks, and the one place that asks pandas.

Why one module: the transformer, the fake formats, the key detectors, the FK checks, the report and the
privacy metrics each used to keep a private ladder of `pd.api.types` calls, with four vocabularies that
disagreed at the edges (is an object column of `True`/`False` a bool? is `1.0, 2.0` an integer key?). Here
the question is answered once, and callers translate the answer into their own words in one line.

Two questions, because callers need both:

- `dtype_kind(dtype)`: what the *dtype* promises, nothing more. An `object` column is "other" however tidy
  its values; a pandas `string` column is "text". For code that must treat a column by its storage (casts,
  the report's numeric view, fakes in the column's type).
- `kind_of(series)`: the dtype first, and for an `object` column what its non-null values are (Python
  ints, floats and Decimals, dates, datetimes, bools, strings). For code that learns from values read from a
  warehouse or a CSV, where an object column is common.

The vocabulary (`Kind`): "bool", "int", "float", "datetime" (datetime64, tz-aware or not, or Python
datetimes), "date" (Python `datetime.date` values in an object column), "timedelta" (timedelta64),
"text", and "other" (everything else: mixed values, bytes, categoricals, complex numbers, an object
column with no value). Booleans are never numbers here, although numpy and pandas count them as such.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as _t

Kind = Literal["bool", "int", "float", "datetime", "date", "timedelta", "text", "other"]
KeyKind = Literal["int", "text"]

# pandas' `infer_dtype` names of an object column's values, in this module's vocabulary
_INFERRED: dict[str, Kind] = {
    "boolean": "bool",
    "integer": "int",
    "floating": "float",
    "mixed-integer-float": "float",
    "decimal": "float",
    "date": "date",
    "datetime": "datetime",
    "datetime64": "datetime",
    "string": "text",
}


def dtype_kind(dtype: Any) -> Kind:
    """The kind a dtype (or the dtype of a Series, or a dtype's name such as "Int64") promises."""
    dtype = getattr(dtype, "dtype", dtype)
    if _t.is_bool_dtype(dtype):
        return "bool"
    if _t.is_datetime64_any_dtype(dtype):
        return "datetime"
    if _t.is_timedelta64_dtype(dtype):
        return "timedelta"
    if _t.is_integer_dtype(dtype):
        return "int"
    if _t.is_float_dtype(dtype):
        return "float"
    if _t.is_string_dtype(dtype) and not _t.is_object_dtype(dtype):  # pandas "string", Arrow strings
        return "text"
    return "other"


def kind_of(series: pd.Series) -> Kind:
    """The kind of a column: its dtype's, and for an `object` column the kind of its non-null values."""
    kind = dtype_kind(series.dtype)
    if kind != "other" or not _t.is_object_dtype(series.dtype):
        return kind
    return _INFERRED.get(_t.infer_dtype(series, skipna=True), "other")


def is_bool(x: Any) -> bool:
    """A boolean dtype (numpy bool, pandas "boolean"); `x` is a Series, a dtype or a dtype's name."""
    return dtype_kind(x) == "bool"


def is_numeric(x: Any) -> bool:
    """An integer or float dtype; booleans excluded (every caller wants numbers it can bin or average)."""
    return dtype_kind(x) in ("int", "float")


def is_float(x: Any) -> bool:
    """A float dtype (numpy or pandas "Float64"): where NaN and whole-number checks apply."""
    return dtype_kind(x) == "float"


def is_int(x: Any) -> bool:
    """An integer dtype (numpy or a pandas nullable one such as "Int64")."""
    return dtype_kind(x) == "int"


def is_datetime(x: Any) -> bool:
    """A datetime64 dtype, with or without a time zone."""
    return dtype_kind(x) == "datetime"


def is_timedelta(x: Any) -> bool:
    """A timedelta64 dtype: neither a number nor a date to pandas, so callers say what it is to them."""
    return dtype_kind(x) == "timedelta"


def is_integral(series: pd.Series) -> bool:
    """An integer column, or a float column whose non-null values are all finite whole numbers (an integer
    column that pandas widened to float to hold nulls). Judged by the dtype: object columns are not."""
    kind = dtype_kind(series.dtype)
    if kind != "float":
        return kind == "int"
    x = series.dropna().to_numpy(np.float64)
    return bool(np.all(np.isfinite(x)) and np.all(x == np.round(x)))


def is_textual(series: pd.Series) -> bool:
    """A column whose dtype can hold text: object, pandas string, or a categorical of strings. Its values
    may still be anything; `kind_of(series) == "text"` says they are all strings."""
    return _t.is_object_dtype(series.dtype) or _t.is_string_dtype(series)


def key_kind(series: pd.Series) -> KeyKind | None:
    """What a key column holds: "int" (integral numbers, also a float column of whole numbers or an object
    column of Python ints), "text", or None for what no key is (floats, dates, booleans, mixed values)."""
    kind = kind_of(series)
    if kind == "int" or (kind == "float" and is_integral(series)):
        return "int"
    return "text" if kind == "text" else None


def timezone_of(dtype: Any) -> _dt.tzinfo | None:
    """The time zone of a datetime dtype (or its name, such as "datetime64[us, UTC]"); None when naive."""
    return getattr(_t.pandas_dtype(getattr(dtype, "dtype", dtype)), "tz", None)


def as_naive_utc(series: pd.Series) -> pd.Series:
    """A datetime column without its time zone, in UTC (numpy's datetime64 cannot hold one); naive
    columns come back as they are."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series


__all__ = ["Kind", "KeyKind", "as_naive_utc", "dtype_kind", "is_bool", "is_datetime", "is_float", "is_int",
           "is_integral", "is_numeric", "is_textual", "is_timedelta", "key_kind", "kind_of", "timezone_of"]
