"""Logical column types and the lossless trip between a pandas column and plain numpy "base" values.

The encoders work on base values only: int64 / float64 numbers, or an object array of categories. Dates and
timestamps become integers counted in the coarsest unit that divides every value (days, seconds, ...), so
they round-trip exactly through float64 and come back as the same dtype. Nulls travel as a separate mask.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthohive_dbt.errors import DataError
from synthohive_dbt.kinds import Kind, as_naive_utc, is_datetime, is_timedelta, kind_of, timezone_of

Logical = Literal["bool", "int", "float", "str", "date", "datetime"]

# coarsest first; each entry: unit name and how many of the column's native ticks it holds per nanosecond
_UNITS_NS = (("D", 86_400 * 10**9), ("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1))


@dataclass(frozen=True)
class ValueCodec:
    """How to turn one column into base values and back. JSON-serialisable through `asdict`."""

    logical: Logical
    dtype: str  # pandas dtype to restore, e.g. "int64", "Int64", "object", "datetime64[us, UTC]"
    integral: bool = False  # a float column whose values are all whole numbers (an int column with nulls)
    unit: str | None = None  # date/datetime: the base unit, e.g. "D" or "s"
    native_unit: str | None = None  # datetime: the numpy unit of the column, e.g. "us"
    tz: str | None = None
    python_objects: bool = False  # object column of datetime.date / datetime.datetime values
    null_is_nan: bool = False  # object column whose nulls were NaN rather than None: give back the same

    def to_state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ValueCodec:
        return cls(**state)


# a column's kind (synthohive_dbt.kinds) as the encoders see it: durations travel as their integer count of
# ticks (see to_base); text and anything else are categories
_LOGICAL: dict[Kind, Logical] = {"bool": "bool", "int": "int", "timedelta": "int", "float": "float",
                                 "date": "date", "datetime": "datetime"}


def _infer(series: pd.Series) -> Logical:
    return _LOGICAL.get(kind_of(series), "str")


def _coarsest_unit(ticks: np.ndarray, native_ns: int) -> tuple[str, int]:
    """The coarsest unit in which every value is a whole number, and the ticks per unit."""
    for name, ns in _UNITS_NS:
        if ns < native_ns or ns % native_ns:
            continue
        factor = ns // native_ns
        if ticks.size == 0 or not np.any(ticks % factor):
            return name, factor
    return "ns", 1


def detect(series: pd.Series) -> ValueCodec:
    """Decide the logical type of a column from its dtype and, for object columns, its values."""
    logical = _infer(series)
    dtype = str(series.dtype)
    if logical == "float":
        vals = pd.to_numeric(series.dropna(), errors="coerce").to_numpy(dtype=np.float64)
        integral = bool(vals.size) and bool(np.all(np.isfinite(vals))) and bool(np.all(vals == np.round(vals)))
        return ValueCodec("float", dtype, integral=integral)
    if logical in ("date", "datetime"):
        ticks, native, tz = _ticks(series.dropna(), logical)
        native_ns = dict(_UNITS_NS)[native] if native != "D" else 86_400 * 10**9
        unit, _ = _coarsest_unit(ticks, native_ns)
        return ValueCodec(logical, dtype, unit=unit, native_unit=native, tz=tz,
                          python_objects=dtype == "object")
    null_is_nan = False
    if dtype == "object":
        nulls = series[series.isna()]
        null_is_nan = bool(len(nulls)) and isinstance(nulls.iloc[0], float)
    return ValueCodec(logical, dtype, null_is_nan=null_is_nan)


def _ticks(series: pd.Series, logical: str) -> tuple[np.ndarray, str, str | None]:
    """Integer ticks of a date/datetime column in its own numpy unit, the unit, and its time zone."""
    if logical == "date":
        days = _objects_as_datetime64(series, "D").to_numpy(dtype="datetime64[D]")
        return days.view(np.int64), "D", None
    s = series if is_datetime(series) else _objects_as_datetime64(series, "us")
    zone = timezone_of(s.dtype)
    tz = None if zone is None else str(zone)
    s = as_naive_utc(s)
    arr = s.to_numpy()
    native = np.datetime_data(arr.dtype)[0]
    return arr.view(np.int64), native, tz


def _objects_as_datetime64(series: pd.Series, unit: str) -> pd.Series:
    """Python dates / datetimes (or datetime64 values) as datetime64 of `unit`, without pandas' parser:
    it would force nanoseconds and refuse 0001-01-01 and 9999-12-31. tz-aware values become UTC."""
    if is_datetime(series):
        return as_naive_utc(series).astype(f"datetime64[{'s' if unit == 'D' else unit}]")
    raw = series.tolist()
    aware = any(isinstance(v, _dt.datetime) and v.tzinfo is not None for v in raw)
    values = [v.astimezone(_dt.timezone.utc).replace(tzinfo=None)
              if isinstance(v, _dt.datetime) and v.tzinfo is not None else v for v in raw]
    try:
        out = pd.Series(np.array(values, dtype=f"datetime64[{unit}]"), index=series.index)
        return out.dt.tz_localize("UTC") if aware and unit != "D" else out
    except (TypeError, ValueError):  # text such as '2020-01-01': pandas parses it (in its own range)
        return pd.to_datetime(series)


def to_base(series: pd.Series, codec: ValueCodec) -> tuple[np.ndarray, np.ndarray]:
    """(values, null_mask). Numbers come back as int64/float64 (nulls filled with 0), the rest as object."""
    mask = series.isna().to_numpy()
    present = series[~mask]
    n = len(series)
    if codec.logical in ("date", "datetime"):
        ticks, native, _ = _ticks(present, codec.logical)
        per_unit = _factor(codec)
        out = np.zeros(n, dtype=np.int64)
        out[~mask] = ticks // per_unit
        return out, mask
    if codec.logical == "int":
        out = np.zeros(n, dtype=np.int64)
        if is_timedelta(series):
            out[~mask] = present.to_numpy().view(np.int64)
        else:
            out[~mask] = present.to_numpy(dtype=np.int64)
        return out, mask
    if codec.logical == "float":
        out = np.zeros(n, dtype=np.float64)
        out[~mask] = pd.to_numeric(present, errors="raise").to_numpy(dtype=np.float64)
        return out, mask
    out = np.empty(n, dtype=object)
    if codec.logical == "bool":
        out[~mask] = present.to_numpy(dtype=bool)
    else:
        out[~mask] = present.astype(str).to_numpy(dtype=object)
    return out, mask


def _factor(codec: ValueCodec) -> int:
    if codec.logical == "date" or codec.native_unit is None:
        return 1
    native_ns = dict(_UNITS_NS)[codec.native_unit]
    return dict(_UNITS_NS)[codec.unit or codec.native_unit] // native_ns


def from_base(values: np.ndarray, mask: np.ndarray, codec: ValueCodec, name: str,
              index: pd.Index) -> pd.Series:
    """Rebuild a column of the original dtype from base values and a null mask."""
    any_null = bool(mask.any())
    if codec.logical in ("date", "datetime"):
        ticks = np.asarray(values, dtype=np.int64)
        if codec.logical == "date":
            arr = ticks.astype("datetime64[D]")
            if codec.python_objects:
                objs = arr.astype(object)
                objs[mask] = None
                return pd.Series(objs, index=index, name=name, dtype=object)
            s = pd.Series(arr.astype("datetime64[s]"), index=index, name=name)
        else:
            arr = (ticks * _factor(codec)).astype(f"datetime64[{codec.native_unit}]")
            s = pd.Series(arr, index=index, name=name)
            if codec.tz:
                s = s.dt.tz_localize("UTC").dt.tz_convert(codec.tz)
        if any_null:
            s = s.where(~mask)
        if codec.python_objects:
            objs = s.astype(object).to_numpy()
            objs[mask] = None
            return pd.Series(objs, index=index, name=name, dtype=object)
        return s.astype(codec.dtype)
    if codec.logical == "float":
        vals = np.asarray(values, dtype=np.float64)
        if codec.integral:
            vals = np.round(vals)
    elif codec.logical == "int":
        vals = np.asarray(values, dtype=np.float64)
        vals = np.round(vals).astype(np.int64) if values.dtype.kind == "f" else np.asarray(values, np.int64)
    else:
        vals = np.asarray(values, dtype=object)
    if codec.dtype == "Float64":  # NULL is the mask, NaN a value: astype would turn NaN into NULL
        arr = pd.arrays.FloatingArray(np.asarray(vals, dtype=np.float64).copy(), np.asarray(mask, bool).copy())
        return pd.Series(arr, index=index, name=name)
    if is_timedelta(codec.dtype):
        s = pd.Series(np.asarray(vals, np.int64).view(codec.dtype), index=index, name=name)
        return s.where(~mask) if any_null else s
    if any_null:
        obj = np.asarray(vals, dtype=object).copy()
        obj[mask] = np.nan if codec.null_is_nan else None
        s = pd.Series(obj, index=index, name=name, dtype=object)
        if codec.dtype == "object":
            return s
        return s.astype(_nullable(codec.dtype))
    s = pd.Series(vals, index=index, name=name)
    return s.astype(codec.dtype)


def _nullable(dtype: str) -> str:
    """A dtype that can hold the nulls the model generated (a column without nulls in training has none)."""
    return {"int64": "Int64", "int32": "Int32", "bool": "boolean"}.get(dtype, dtype)


def json_value(v: Any) -> Any:
    """A category value as a JSON-safe Python scalar (numpy scalars unwrapped)."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (_dt.date, _dt.datetime, pd.Timestamp)):
        raise DataError(f"unexpected date value {v!r} in a category list",
                        hint="this is a bug: dates are encoded as integers before categorisation")
    return v
