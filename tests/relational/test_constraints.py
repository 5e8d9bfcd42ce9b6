from __future__ import annotations

import pandas as pd
import pytest

from synthohive_dbt.config import Constraint, TableConfig
from synthohive_dbt.errors import ConstraintViolationError
from synthohive_dbt.relational.constraints import assert_frame, check_frame
from synthohive_dbt.rules import violations


def test_each_rule_flags_exactly_the_offending_rows() -> None:
    s = pd.Series([0.0, 5.0, 10.0, None])
    assert violations(s, Constraint(min=0, min_inclusive=False))["range"].tolist() == [True, False, False, False]
    assert violations(s, Constraint(max=10))["range"].tolist() == [False, False, False, False]
    assert violations(s, Constraint(not_null=True))["not_null"].tolist() == [False, False, False, True]
    t = pd.Series(["a1", "b2", "a1", "zz"])
    assert violations(t, Constraint(regex=r"^[a-z]\d$"))["regex"].tolist() == [False, False, False, True]
    assert violations(t, Constraint(unique=True))["unique"].tolist() == [False, False, True, False]
    assert violations(t, Constraint(accepted_values=["a1", "b2"]))["accepted_values"].tolist() == \
        [False, False, False, True]
    assert violations(pd.Series([1, 2]), Constraint(accepted_values=["1"]))["accepted_values"].tolist() == \
        [False, True]
    assert violations(pd.Series([1.0, 1.5]), Constraint(dtype="int"))["dtype"].tolist() == [False, True]


def test_unique_across_chunks_uses_the_values_already_written() -> None:
    cfg = TableConfig(name="t", constraints={"x": Constraint(unique=True)})
    frame = pd.DataFrame({"x": [1, 2, 3]})
    assert check_frame(frame, cfg, ["x"], seen={"x": pd.Index([3])})["x"].tolist() == [False, False, True]


def test_final_check_names_table_column_rule_and_value() -> None:
    cfg = TableConfig(name="orders", constraints={"amount": Constraint(min=0, max=100, max_inclusive=False)})
    with pytest.raises(ConstraintViolationError,
                       match=r"table 'orders', column 'amount': 1 generated row\(s\) break the range constraint, "
                             r"e.g. value 100.0 \(allowed range \[0.0, 100.0\)\)"):
        assert_frame(pd.DataFrame({"amount": [1.0, 100.0]}), cfg)
