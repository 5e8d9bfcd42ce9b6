from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.config import Constraint, Metadata
from synthohive_dbt.errors import ConstraintViolationError, DataError
from synthohive_dbt.relational.keys import (
    declared_key_format,
    detect_key_format,
    detect_per_group_start,
    per_group_sequence,
)
from tests.relational.conftest import fit


def _fmt(values: list[object]):
    return detect_key_format(pd.Series(values, name="id"), table="t", column="id")


def test_dense_integers_become_a_sequence_from_the_real_start() -> None:
    fmt = _fmt([101, 102, 104, 105])
    assert fmt.kind == "int_sequence"
    assert fmt.generate(3, np.random.default_rng(0)).tolist() == [101, 102, 103]


def test_sparse_integers_stay_sparse_and_unique() -> None:
    fmt = _fmt([5, 90_000, 1_234_567])
    out = fmt.generate(1000, np.random.default_rng(0))
    assert fmt.kind == "int_random" and len(set(out.tolist())) == 1000 and out.min() >= 5


def test_uuid_format_is_kept_and_reproducible() -> None:
    fmt = _fmt(["3f2b8a3c-1d2e-4f5a-8b6c-7d8e9f0a1b2c", "a1b2c3d4-e5f6-4a7b-9c8d-e9f0a1b2c3d4"])
    a = fmt.generate(500, np.random.default_rng(1))
    b = fmt.generate(500, np.random.default_rng(1))
    assert fmt.kind == "uuid" and a.tolist() == b.tolist() and len(set(a)) == 500
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", v) for v in a)


def test_prefixed_zero_padded_pattern() -> None:
    fmt = _fmt(["C-000123", "C-000007", "C-004000"])
    assert (fmt.kind, fmt.prefix, fmt.width) == ("pattern", "C-", 6)
    assert fmt.generate(2, np.random.default_rng(0)).tolist() == ["C-004001", "C-004002"]  # past the real ones


def test_free_text_keys_become_unique_tokens_over_the_real_alphabet() -> None:
    fmt = _fmt(["ab", "ba", "aa"])
    out = fmt.generate(200, np.random.default_rng(0))
    assert fmt.kind == "token" and len(set(out)) == 200 and set("".join(out)) <= {"a", "b"}


def test_all_null_key_gets_a_fresh_key_of_its_type() -> None:
    """Nothing to learn a format from (an empty table, a key nobody fills yet): the column's type decides."""
    assert _fmt([None, None]).kind == "token"
    ints = detect_key_format(pd.Series([None, None], dtype="Int64"), table="t", column="id")
    assert ints.kind == "int_sequence" and ints.generate(3, np.random.default_rng(0)).tolist() == [1, 2, 3]
    with pytest.raises(DataError, match=r"table 't': key column 'id' is boolean"):
        detect_key_format(pd.Series([None], dtype="boolean"), table="t", column="id")


def test_date_keys_keep_microseconds_and_far_dates() -> None:
    real = pd.Series(np.array(["9999-12-30T00:00:00.000001", "9999-12-30T00:00:00.000003"], dtype="datetime64[us]"))
    fmt = detect_key_format(real, table="t", column="at")
    out = fmt.generate(2, np.random.default_rng(0))
    assert out.dtype == np.dtype("datetime64[us]") and out.tolist() == real.tolist()


def test_per_group_counter_is_detected_and_regenerated() -> None:
    frame = pd.DataFrame({"order_id": [1, 1, 2, 3, 3, 3], "line_no": [1, 2, 1, 1, 2, 3]})
    assert detect_per_group_start(frame, "line_no", ["order_id"]) == 1
    assert detect_per_group_start(frame.assign(line_no=[1, 5, 1, 1, 2, 3]), "line_no", ["order_id"]) is None
    assert per_group_sequence(np.array([7, 7, 9, 7]), 1).tolist() == [1, 2, 1, 3]


def test_a_key_declaring_accepted_values_is_drawn_from_them_without_repeats() -> None:
    fmt = declared_key_format(pd.Series(["currency"]), ["currency", "locale", "currency"], table="t", column="k")
    out = fmt.generate(2, np.random.default_rng(0), table="t", column="k")
    assert fmt.capacity == 2 and sorted(out.tolist()) == ["currency", "locale"]
    with pytest.raises(ConstraintViolationError, match=r"'t'.*'k'.*at most 2 row"):
        fmt.generate(3, np.random.default_rng(0), table="t", column="k")


def test_a_table_keyed_by_declared_values_never_grows_past_them() -> None:
    """A one-row settings table whose unique key lists its accepted values: the key is one of them (never a
    made-up string in their format), and scaling up cannot repeat it."""
    meta = Metadata()
    meta.add_table("settings", pk="setting_key",
                   constraints={"setting_key": Constraint(unique=True, accepted_values=["currency", "locale"])})
    meta.add_table("users", pk="user_id")
    real = {"settings": pd.DataFrame({"setting_key": ["currency"], "value": [978]}),
            "users": pd.DataFrame({"user_id": np.arange(1, 41), "age": np.arange(20, 60)})}
    synth = fit(meta, real)
    out = synth.sample(scale=3.0, evaluate=False)
    assert len(out["users"]) == 120
    assert len(out["settings"]) == 2 and set(out["settings"]["setting_key"]) == {"currency", "locale"}


def test_a_composite_key_generates_one_part_and_learns_the_categorical_ones() -> None:
    """(answer, colour, code): `code` carries uniqueness; yes/no and colours stay what they are."""
    rng = np.random.default_rng(0)
    n = 60
    meta = Metadata()
    meta.add_table("votes", pk=["answer", "colour", "code"])
    real = {"votes": pd.DataFrame({"answer": rng.choice(["yes", "no"], n), "colour": rng.choice(["red", "blue"], n),
                                   "code": [f"V{i:03d}" for i in range(n)], "score": rng.integers(0, 9, n)})}
    synth = fit(meta, real)
    assert list(synth.plans["votes"].key_formats) == ["code"]
    out = synth.sample(evaluate=False)["votes"]
    assert set(out["answer"]) <= {"yes", "no"} and set(out["colour"]) <= {"red", "blue"}
    assert not out[["answer", "colour", "code"]].duplicated().any()
