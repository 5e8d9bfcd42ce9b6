"""Format-generated values keep the real column's width and alphabet: an INTEGER of ten-digit values stays
below 2**31, and a UUID or digest column in a tiny table stays hex."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from synthohive_dbt.models.formats import ColumnFormat


def test_integers_stay_within_the_width_the_real_values_fit() -> None:
    fmt = ColumnFormat.learn(pd.Series([1_000_000_001, 1_000_000_002], name="external_id"))
    out = fmt.generate(500, np.random.default_rng(0))
    assert out.max() <= 2**31 - 1 and out.min() >= 0


def test_uuid_and_digest_columns_stay_hex() -> None:
    uuids = ColumnFormat.learn(pd.Series(["3f2b8a3c-1d2e-4f5a-8b6c-7d8e9f0a1b2c",
                                          "a1b2c3d4-e5f6-4a7b-9c8d-e9f0a1b2c3d4"], name="id"))
    digests = ColumnFormat.learn(pd.Series(["9F86D081884C7D65", "2C26B46B68FFC68F"], name="sha"))
    for fmt, pattern in ((uuids, r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
                         (digests, r"[0-9A-F]{16}")):
        assert all(re.fullmatch(pattern, v) for v in fmt.generate(200, np.random.default_rng(1)))


def test_a_flag_keeps_its_real_share() -> None:
    """`where not coalesce(_fivetran_deleted, false)`: a tiny table's all-false flag must not come back true."""
    fmt = ColumnFormat.learn(pd.Series([False, False], name="_fivetran_deleted"))
    assert not fmt.generate(100, np.random.default_rng(0)).any()
