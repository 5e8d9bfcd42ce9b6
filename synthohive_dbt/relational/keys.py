"""Key columns are generated, not learned: learn each key's *format* from the real values, then make fresh,
unique values of that format.

A model would reproduce real identifiers (a privacy leak) and could not promise uniqueness; a format can.
Formats: integer sequences or sparse random integers, UUIDs, prefixed / zero-padded patterns ('C-000123'),
random tokens over the real alphabet, float / date sequences, per-group counters for the non-foreign-key
part of a composite key (order_items(order_id, line_no)), and the project's own `accepted_values` for a key
that declares them (drawn without replacement: the declaration wins over any learned format).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthohive_dbt.errors import ConstraintViolationError, DataError
from synthohive_dbt.kinds import as_naive_utc, is_bool, is_datetime, is_float, is_int, is_integral

KeyKind = Literal["int_sequence", "int_random", "float_sequence", "date_sequence", "uuid", "pattern", "token",
                  "declared"]

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PATTERN = re.compile(r"^(\D*)(\d+)(\D*)$")
_HEX = np.array(list("0123456789abcdef"))
# a sparse integer key is regenerated in a range at least this many times the rows, so draws rarely collide
_SPARSE_FACTOR = 4


@dataclass(frozen=True)
class KeyFormat:
    """How to make n fresh unique values that look like the real key column."""

    kind: KeyKind
    dtype: str = "int64"
    start: float = 0
    step: float = 1
    low: int = 0
    high: int = 0
    prefix: str = ""
    suffix: str = ""
    width: int = 0
    uppercase: bool = False
    alphabet: str = ""
    length: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeyFormat:
        return cls(**data)

    @property
    def capacity(self) -> int | None:
        """How many distinct values the format can make (None: unbounded)."""
        return len(self.extra["values"]) if self.kind == "declared" else None

    def generate(self, n: int, rng: np.random.Generator, *, table: str = "?", column: str = "?") -> np.ndarray:
        """n unique values of this format (an object array for strings, a numeric/datetime array otherwise)."""
        if self.kind == "declared":
            return _declared(self.extra["values"], n, rng, table=table, column=column)
        if n == 0:
            if self.kind in ("uuid", "pattern", "token"):
                return np.array([], dtype=object)
            try:
                return np.array([], dtype=self.dtype)
            except TypeError:  # a pandas extension dtype (Int64): the frame casts it back
                return np.array([], dtype=np.int64)
        if self.kind == "int_sequence":  # step is 1 except in a partition of a distributed sample
            return _as_int(int(self.start) + int(self.step) * np.arange(n, dtype=np.int64), self.dtype)
        if self.kind == "int_random":
            values = _unique_ints(n, self.low, self.high, rng)
            if "slot" in self.extra:  # partition `slot` of `stride`: its own residue class
                values = self.low + (values - self.low) * int(self.extra["stride"]) + int(self.extra["slot"])
            return _as_int(values, self.dtype)
        if self.kind == "float_sequence":
            return self.start + self.step * np.arange(n, dtype=np.float64)
        if self.kind == "date_sequence":  # start and step count ticks of the dtype's unit (ns in old plans)
            unit = _datetime_unit(self.dtype)
            base = np.datetime64(int(self.start), unit)
            return base + np.arange(n, dtype=np.int64) * np.timedelta64(int(self.step), unit)
        if self.kind == "uuid":
            return _uuids(n, rng, self.uppercase)
        if self.kind == "pattern":
            nums = (int(self.start) + int(self.step) * np.arange(n, dtype=np.int64)).astype(str)
            if self.width:
                nums = np.char.zfill(nums, self.width)
            return np.char.add(np.char.add(self.prefix, nums), self.suffix).astype(object)
        if self.kind == "token":
            tokens = _tokens(n, rng, self.alphabet, self.length)
            if "slot" in self.extra:  # partition `slot`: its own first characters
                tokens = np.char.add(_slot_code(self.alphabet, int(self.extra["slot"]), int(self.extra["stride"])),
                                     tokens.astype(str)).astype(object)
            return tokens
        raise DataError(f"unknown key format {self.kind!r}", hint="re-fit the synthesizer with this version")


    def in_partition(self, slot: int, stride: int) -> KeyFormat:
        """This format for partition `slot` of `stride` in a distributed sample: the values of different
        partitions never meet (sequences interleave, random integers take their own residue class, tokens
        their own first characters; UUIDs are random enough as they are). A declared key cannot be split."""
        if stride == 1:
            return self
        if self.kind in ("int_sequence", "pattern", "float_sequence", "date_sequence"):
            return replace(self, start=self.start + slot * self.step, step=self.step * stride)
        if self.kind in ("int_random", "token"):
            return replace(self, extra={**self.extra, "slot": slot, "stride": stride})
        if self.kind == "uuid":
            return self
        raise ConstraintViolationError(
            f"a key drawn from declared values ({self.kind}) cannot be split over {stride} partitions",
            hint="sample this table on one partition (a table with declared key values is small)")


def declared_key_format(values: pd.Series, accepted: list[Any], *, table: str, column: str) -> KeyFormat:
    """A key whose project declares its `accepted_values`: every generated value is one of them, no repeats."""
    distinct = list(dict.fromkeys(accepted))
    if not distinct:
        raise DataError(f"table {table!r}: key column {column!r} declares an empty accepted_values list",
                        hint="list the values in the dbt test, or remove the accepted_values test")
    return KeyFormat("declared", dtype=str(values.dtype), extra={"values": distinct})


def detect_key_format(values: pd.Series, *, table: str, column: str) -> KeyFormat:
    """Learn a key column's format from its real values (nulls ignored)."""
    s = values.dropna()
    if s.empty:  # an empty table, or a key nobody filled yet: a fresh key of the column's type
        return key_format_for_dtype(values.dtype, table=table, column=column)
    dtype = str(values.dtype)
    if is_bool(s):
        raise DataError(f"table {table!r}: key column {column!r} is boolean and cannot be a unique key",
                        hint="remove the column from the primary key / unique tests")
    if is_integral(s):
        ints = s.astype(np.int64)
        lo, hi, n = int(ints.min()), int(ints.max()), len(ints)
        int_dtype = dtype if is_int(values) else "int64"
        if hi - lo + 1 <= 2 * n + 10:  # dense: 1, 2, 3, ... with a few gaps
            return KeyFormat("int_sequence", dtype=int_dtype, start=lo)
        return KeyFormat("int_random", dtype=int_dtype, low=lo, high=hi)
    if is_float(s):
        step = float(np.median(np.diff(np.sort(s.unique())))) if s.nunique() > 1 else 1.0
        return KeyFormat("float_sequence", dtype="float64", start=float(s.min()), step=step or 1.0)
    if is_datetime(s):  # microseconds: years 1..9999 fit, nanoseconds do not
        us = as_naive_utc(s).astype("datetime64[us]").to_numpy().view(np.int64)
        diffs = np.diff(np.unique(us))
        step = int(np.median(diffs)) if len(diffs) else 86_400 * 10**6
        return KeyFormat("date_sequence", dtype="datetime64[us]", start=int(us.min()), step=step or 10**6)
    text = s.astype(str)
    if bool(text.str.match(_UUID).all()):
        return KeyFormat("uuid", dtype="object", uppercase=bool((text == text.str.upper()).all()))
    parts = text.str.extract(_PATTERN)
    if parts.notna().all().all() and parts[0].nunique() == 1 and parts[2].nunique() == 1:
        digits = parts[1]
        lengths = digits.str.len()
        padded = bool(digits.str.startswith("0").any()) or lengths.nunique() == 1
        width = int(lengths.max()) if padded else 0
        # numbered past the real ones: a prefixed id is an identifier, so no real one is published
        return KeyFormat("pattern", dtype="object", prefix=str(parts[0].iloc[0]), suffix=str(parts[2].iloc[0]),
                         width=width, start=int(digits.astype(np.int64).max()) + 1)
    alphabet = "".join(sorted(set("".join(text.unique()[:10_000]))))
    length = int(text.str.len().mode().iloc[0])
    return KeyFormat("token", dtype="object", alphabet=alphabet or "abcdefghijklmnopqrstuvwxyz",
                     length=max(length, 1))


def key_format_for_dtype(dtype: Any, *, table: str, column: str) -> KeyFormat:
    """A key format from the column's type alone (no value to learn from: an empty table or an all-null key):
    integers count from 1, floats likewise, timestamps by day from 2000-01-01, text as random tokens."""
    if is_bool(dtype):
        raise DataError(f"table {table!r}: key column {column!r} is boolean and cannot be a unique key",
                        hint="remove the column from the primary key / unique tests in the dbt project")
    if is_int(dtype):
        return KeyFormat("int_sequence", dtype=str(dtype), start=1)
    if is_float(dtype):
        return KeyFormat("float_sequence", dtype="float64", start=1.0, step=1.0)
    if is_datetime(dtype):
        start = int(np.datetime64("2000-01-01", "us").astype(np.int64))
        return KeyFormat("date_sequence", dtype="datetime64[us]", start=start, step=86_400 * 10**6)
    return KeyFormat("token", dtype="object", alphabet="0123456789abcdefghijklmnopqrstuvwxyz", length=12)


def _datetime_unit(dtype: str) -> str:
    match = re.search(r"datetime64\[(\w+)", dtype)
    return match.group(1) if match else "ns"


def per_group_sequence(groups: np.ndarray, start: int) -> np.ndarray:
    """A counter restarting in every group (line numbers within an order), unique per (group, counter): each row's
    rank among the earlier rows of its group. Sorted in numpy rather than grouped by pandas, whose hash table
    held ~100 MB more at 4M rows (the peak of a 10M-row run)."""
    order = np.argsort(groups, kind="stable")  # rows of a group together, in row order
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]]) if len(order) else order
    del sorted_groups
    rank = np.arange(len(order), dtype=np.int64)
    rank -= np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    out = np.empty(len(order), dtype=np.int64)
    out[order] = rank
    return out + int(start)


def detect_per_group_start(frame: pd.DataFrame, column: str, group_cols: list[str]) -> int | None:
    """The counter's first value when `column` counts rows within each group (1, 2, 3 per order), else None."""
    s = frame[column]
    if s.isna().any() or not is_integral(s):
        return None
    mins = frame.groupby(group_cols, dropna=False)[column].transform("min")
    if mins.nunique() != 1:
        return None
    ranks = frame.groupby(group_cols, dropna=False)[column].rank(method="first")
    start = int(mins.iloc[0])
    return start if bool(((ranks - 1 + start) == s).all()) else None


def ensure_unique(values: np.ndarray, *, table: str, column: str) -> None:
    """Generated keys must be unique; say so loudly if a format could not deliver."""
    idx = pd.Index(values)
    if not idx.is_unique:
        dup = idx[idx.duplicated()][0]
        raise ConstraintViolationError(
            f"table {table!r}: generated key column {column!r} repeats the value {dup!r}",
            hint="report this as a bug; as a workaround declare the key as an integer column")


def _as_int(values: np.ndarray, dtype: str) -> np.ndarray:
    try:
        target = np.dtype(dtype)
    except TypeError:  # pandas extension dtypes such as Int64 stay int64 here; the frame casts them back
        return values
    if target.kind in "iu" and np.iinfo(target).max >= values.max() and np.iinfo(target).min <= values.min():
        return values.astype(target)
    return values


def _unique_ints(n: int, low: int, high: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct integers in [low, high], widening the range when it is too narrow for n."""
    high = max(high, low + _SPARSE_FACTOR * n)
    span = high - low + 1
    if span <= 20_000_000:
        return low + rng.choice(span, size=n, replace=False).astype(np.int64)
    out = rng.integers(low, high + 1, size=n, dtype=np.int64)
    for _ in range(64):
        dup = pd.Series(out).duplicated().to_numpy()
        if not dup.any():
            return out
        out[dup] = rng.integers(low, high + 1, size=int(dup.sum()), dtype=np.int64)
    return out


def _declared(values: list[Any], n: int, rng: np.random.Generator, *, table: str, column: str) -> np.ndarray:
    if n > len(values):
        raise ConstraintViolationError(
            f"table {table!r}: key column {column!r} must be unique and one of its {len(values)} accepted "
            f"values, so the table can hold at most {len(values)} row(s), but {n} were asked for",
            hint=f"sample {table!r} with at most {len(values)} row(s) (a smaller scale / num_rows), or widen "
                 "the accepted_values test in the dbt project")
    out = np.empty(n, dtype=object)
    out[:] = [values[i] for i in rng.permutation(len(values))[:n]]
    return out


def _slot_code(alphabet: str, slot: int, stride: int) -> str:
    """`slot` written in base len(alphabet) with a fixed width for `stride` slots."""
    letters = alphabet or "abcdefghijklmnopqrstuvwxyz"
    base, width = max(len(letters), 2), 1
    while base ** width < stride:
        width += 1
    digits = []
    for _ in range(width):
        slot, d = divmod(slot, base)
        digits.append(letters[d % len(letters)])
    return "".join(reversed(digits))


def _uuids(n: int, rng: np.random.Generator, upper: bool) -> np.ndarray:
    """Version-4 style UUID strings from the seeded generator (uuid.uuid4 is not reproducible)."""
    nib = rng.integers(0, 16, size=(n, 32), dtype=np.int64)
    nib[:, 12] = 4
    nib[:, 16] = 8 + (nib[:, 16] & 3)
    chars = _HEX[nib]
    dash = np.full((n, 1), "-")
    full = np.concatenate([chars[:, :8], dash, chars[:, 8:12], dash, chars[:, 12:16], dash,
                           chars[:, 16:20], dash, chars[:, 20:]], axis=1)
    out = np.ascontiguousarray(full).view("<U36").ravel()
    return (np.char.upper(out) if upper else out).astype(object)


def _tokens(n: int, rng: np.random.Generator, alphabet: str, length: int) -> np.ndarray:
    """Random strings over the real alphabet, long enough that n of them are distinct."""
    letters = np.array(list(alphabet))
    while len(letters) ** length < 20 * n:
        length += 1
    out = np.ascontiguousarray(letters[rng.integers(0, len(letters), size=(n, length))]).view(f"<U{length}").ravel()
    for _ in range(64):
        dup = pd.Series(out).duplicated().to_numpy()
        if not dup.any():
            break
        k = int(dup.sum())
        out[dup] = np.ascontiguousarray(letters[rng.integers(0, len(letters), size=(k, length))]).view(
            f"<U{length}").ravel()
    return out.astype(object)
