"""Training data in: a dict of frames (pandas or anything with `toPandas()`, such as Spark) or a folder of
CSV / Parquet files named after the tables; then the data checks that must fail before any training."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from synthohive_dbt.config import Metadata
from synthohive_dbt.errors import DataError
from synthohive_dbt.kinds import Kind, kind_of

_SUFFIXES = (".parquet", ".pq", ".csv")


def load_tables(data: Mapping[str, Any] | str | Path, metadata: Metadata) -> dict[str, pd.DataFrame]:
    """One pandas frame per metadata table, from frames or from `<folder>/<table>.{parquet,csv}`."""
    if isinstance(data, (str, Path)):
        return {name: _read_file(Path(data), name, metadata) for name in metadata.tables}
    if not isinstance(data, Mapping):
        raise DataError(f"fit(data=...) got a {type(data).__name__}",
                        hint="pass a dict {table name: DataFrame} or a folder of <table>.csv / <table>.parquet")
    missing = [t for t in metadata.tables if t not in data]
    if missing:
        raise DataError(f"no training data for table(s) {missing} (given: {sorted(data)})",
                        hint="pass a frame for every table in the metadata, or remove those tables from it")
    out: dict[str, pd.DataFrame] = {}
    for name in metadata.tables:
        frame = data[name]
        if hasattr(frame, "toPandas") and not isinstance(frame, pd.DataFrame):
            frame = frame.toPandas()
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"table {name!r}: training data is a {type(frame).__name__}, not a DataFrame",
                            hint="pass a pandas (or Spark) DataFrame per table")
        out[name] = frame.reset_index(drop=True)
    return out


def _read_file(folder: Path, name: str, metadata: Metadata) -> pd.DataFrame:
    if not folder.is_dir():
        raise DataError(f"training data folder {str(folder)!r} does not exist",
                        hint="pass an existing folder with one <table>.csv or <table>.parquet per table")
    for suffix in _SUFFIXES:
        path = folder / f"{name}{suffix}"
        if path.is_file():
            frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
            return _parse_declared_dates(frame, name, metadata)
    found = sorted(p.name for p in folder.iterdir() if p.suffix in _SUFFIXES)
    raise DataError(f"table {name!r}: no {name}.parquet or {name}.csv in {str(folder)!r} (found: {found})",
                    hint="name each file after its table, or pass the frames as a dict")


def _parse_declared_dates(frame: pd.DataFrame, name: str, metadata: Metadata) -> pd.DataFrame:
    """CSV has no types: parse the columns the metadata declares as dates, so they are learned as dates."""
    for col, c in metadata.tables[name].constraints.items():
        if c.dtype in ("date", "datetime") and col in frame.columns and frame[col].dtype == object:
            parsed = pd.to_datetime(frame[col], errors="coerce")
            if parsed.notna().sum() == frame[col].notna().sum():
                frame[col] = parsed
    return frame


def validate_data(tables: dict[str, pd.DataFrame], metadata: Metadata) -> None:
    """Missing columns, foreign keys whose type does not match the parent key.

    Empty tables and all-null columns are accepted: real projects have them (a model selecting a column
    nobody fills yet, a table that is empty in dev). The plan writes all-null columns back as all-null of
    their type, and tables too small to learn from are generated from their formats (models/formats.py).
    """
    for name, cfg in metadata.tables.items():
        frame = tables[name]
        needed = [*cfg.pk, *(c for fk in cfg.fk for c in fk.columns), *cfg.constraints, *cfg.pii_columns]
        missing = sorted({c for c in needed if c not in frame.columns})
        if missing:
            raise DataError(f"table {name!r}: column(s) {missing} named in the metadata are not in the data "
                            f"(columns: {list(frame.columns)})",
                            hint="fix the metadata or select those columns when reading the table")
    for name, cfg in metadata.tables.items():
        for fk in cfg.fk:
            parent = tables[fk.parent]
            for col, pcol in zip(fk.columns, fk.parent_columns):
                if pcol not in parent.columns:
                    raise DataError(f"table {fk.parent!r}: column {pcol!r} referenced by {name}.{col} is not in "
                                    "the data", hint="fix the foreign key or load the column")
                if tables[name][col].isna().all() or parent[pcol].isna().all():
                    continue  # no value on one side (an empty table, an unused key): nothing to compare
                a, b = kind(tables[name][col]), kind(parent[pcol])
                if a != b:
                    raise DataError(
                        f"table {name!r}: foreign key column {col!r} holds {a} values but the parent key "
                        f"{fk.parent}.{pcol} holds {b} values",
                        hint="cast one of the columns so both hold the same type (e.g. both integers)")


# a column's kind (synthohive_dbt.kinds) as a key comparison sees it: a parent key of int64 and a child
# column of floats (an int column with nulls) or of Python ints hold the same keys
_COARSE: dict[Kind, str] = {"bool": "bool", "int": "number", "float": "number", "date": "datetime",
                            "datetime": "datetime", "text": "text"}


def kind(s: pd.Series) -> str:
    """A coarse type family for comparing keys: 'number', 'text', 'datetime', 'bool' or 'other'."""
    return _COARSE.get(kind_of(s), "other")
