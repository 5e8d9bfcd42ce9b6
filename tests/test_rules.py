"""One rule set for the generator and the report: on tricky rows the enforcer's output is always judged
passing, and the judge's verdicts are the rule's, row count for row count."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.config import CastTarget, Constraint, TableConfig
from synthohive_dbt.relational.constraints import assert_frame, check_frame
from synthohive_dbt.report.constraints import check_constraint, table_checks
from synthohive_dbt.rules import violations

NAN = np.nan

# (column values, constraint, the rows the rule must flag)
TRICKY: dict[str, tuple[pd.Series, Constraint, list[bool]]] = {
    # numeric accepted values vs strings: compared as numbers in a numeric column, as SQL casts literals
    "int_vs_text_values": (pd.Series([1, 2, 3]), Constraint(accepted_values=["1", "2"]), [False, False, True]),
    "float_vs_int_values": (pd.Series([1.0, 2.5, NAN]), Constraint(accepted_values=[1, 2]), [False, True, False]),
    "nullable_int": (pd.Series([1, None, 4], dtype="Int64"), Constraint(accepted_values=[1.0, "4"]),
                     [False, False, False]),
    "text_vs_numeric_values": (pd.Series(["1", "01", "1.0", None], dtype=object), Constraint(accepted_values=[1]),
                               [False, True, True, False]),
    "mixed_object": (pd.Series([1, "1", "x"], dtype=object), Constraint(accepted_values=[1]), [False, False, True]),
    # case: exact text, as SQL compares it; booleans in any spelling
    "case": (pd.Series(["Gold", "gold", "GOLD", None]), Constraint(accepted_values=["gold"]),
             [True, False, True, False]),
    "bool_vs_text": (pd.Series([True, False, True]), Constraint(accepted_values=["true"]), [False, True, False]),
    "nullable_bool": (pd.Series([True, None, False], dtype="boolean"), Constraint(accepted_values=[True, "FALSE"]),
                      [False, False, False]),
    "text_true": (pd.Series(["True", "true"]), Constraint(accepted_values=[True]), [False, True]),
    "dates": (pd.Series(pd.to_datetime(["2020-01-01", "2020-01-02", None])),
              Constraint(accepted_values=["2020-01-01"]), [False, True, False]),
    # NaN: only not_null sees it
    "nan_not_null": (pd.Series([NAN, 1.0, None]), Constraint(not_null=True), [True, False, True]),
    "nan_range": (pd.Series([NAN, -1.0]), Constraint(min=0), [False, True]),
    # duplicate keys: every repeat after the first, nulls never
    "duplicates": (pd.Series([1, 1, 2, None, None, 2, 1]), Constraint(unique=True),
                   [False, True, False, False, False, True, True]),
    "duplicate_text": (pd.Series(["a", "A", "a"]), Constraint(unique=True), [False, False, True]),
    # range boundaries, inclusive and exclusive
    "inclusive": (pd.Series([0.0, 10.0, -1e-9, 10.000001]), Constraint(min=0, max=10), [False, False, True, True]),
    "exclusive": (pd.Series([0, 10, 5]), Constraint(min=0, max=10, min_inclusive=False, max_inclusive=False),
                  [True, True, False]),
    "half_open": (pd.Series([0.0, 1.0]), Constraint(max=1, max_inclusive=False), [False, True]),
    "text_numbers": (pd.Series(["5", "abc", "15", None]), Constraint(max=10), [False, False, True, False]),
    "bool_range": (pd.Series([True, False]), Constraint(max=0), [False, False]),
    "regex_numbers": (pd.Series([12, 7, None]), Constraint(regex=r"^\d\d$"), [False, True, False]),
    "dtype_int": (pd.Series([1.0, 1.5, NAN]), Constraint(dtype="int"), [False, True, False]),
    # a model casts `phone::bigint` (nullif(phone, '') first): '' is excepted, '+1-416' is not castable
    "castable": (pd.Series(["4165553960", "+1-416", "", None]),
                 Constraint(castable_to=[CastTarget(data_type="bigint", dtype="int", except_values=[""])]),
                 [False, True, False, False]),
    # a plain `phone::bigint`, nothing excepted
    "castable_plain": (pd.Series(["4165553960", "+1-416", None]),
                       Constraint(castable_to=[CastTarget(data_type="bigint", dtype="int")]), [False, True, False]),
}

# several rules on one column: each reported on its own
COMBINED = (pd.Series([5, 5, 50, None, 7]), Constraint(unique=True, not_null=True, max=10, accepted_values=[5, 50]))


def _cases() -> list[tuple[str, pd.Series, Constraint]]:
    return [(name, s, c) for name, (s, c, _) in TRICKY.items()] + [("combined", *COMBINED)]


@pytest.mark.parametrize("name", list(TRICKY))
def test_the_rule_flags_exactly_the_expected_rows(name: str) -> None:
    series, constraint, expected = TRICKY[name]
    masks = violations(series, constraint)
    assert len(masks) == 1, masks
    assert next(iter(masks.values())).tolist() == expected


@pytest.mark.parametrize("name,series,constraint", _cases(), ids=[n for n, *_ in _cases()])
def test_the_judge_counts_what_the_rule_flags(name: str, series: pd.Series, constraint: Constraint) -> None:
    checks, _ = check_constraint("t", "x", series, constraint)
    masks = violations(series, constraint)
    assert [c.check for c in checks] == list(masks)
    for check in checks:
        flagged = int(masks[check.check].sum())
        assert (check.violations, check.passed) == (flagged, flagged == 0), check


@pytest.mark.parametrize("name,series,constraint", _cases(), ids=[n for n, *_ in _cases()])
def test_what_the_enforcer_keeps_is_judged_passing(name: str, series: pd.Series, constraint: Constraint) -> None:
    cfg = TableConfig(name="t", constraints={"x": constraint})
    frame = pd.DataFrame({"x": series})
    bad = check_frame(frame, cfg, ["x"]).get("x", np.zeros(len(frame), dtype=bool))
    kept = frame[~bad].reset_index(drop=True)
    assert_frame(kept, cfg)  # the enforcer's own last gate
    checks, skipped = table_checks(cfg, kept)
    assert checks and not skipped
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]


def test_the_judge_and_the_enforcer_agree_on_every_single_row() -> None:
    """Row by row: a one-row frame is rejected by the enforcer exactly when the judge fails it."""
    for name, series, constraint in _cases():
        if constraint.unique:
            continue  # a single row is always unique; covered by the frame-level tests above
        cfg = TableConfig(name="t", constraints={"x": constraint})
        for i in range(len(series)):
            row = pd.DataFrame({"x": series.iloc[i:i + 1].reset_index(drop=True)})
            rejected = bool(check_frame(row, cfg, ["x"]))
            judged: list[Any] = [c.passed for c in table_checks(cfg, row)[0]]
            assert rejected == (not all(judged)), (name, i, series.iloc[i])


def test_try_cast_asks_nothing_of_the_raw_values() -> None:
    c = Constraint(castable_to=[CastTarget(data_type="bigint", dtype="int", strict=False)])
    assert violations(pd.Series(["x", "1"]), c) == {}


def test_row_rules_use_sql_three_valued_logic() -> None:
    from synthohive_dbt.rules import derivation, ordering, row_violations
    f = pd.DataFrame({"a": [1, 2, None, 5], "b": [2, 2, 3, 4],
                      "d1": pd.to_datetime(["2020-01-01", "2020-02-01", None, "2020-03-01"]),
                      "d2": pd.to_datetime(["2020-01-02", "2020-01-01", "2020-01-01", None])})
    assert row_violations(f, "a <= b").tolist() == [False, False, False, True]  # null passes
    assert row_violations(f, "a < b").tolist() == [False, True, False, True]
    assert row_violations(f, "d2 is null or d1 <= d2").tolist() == [False, True, False, False]
    assert row_violations(f, "not (a > b)").tolist() == [False, False, False, True]
    assert row_violations(f, "d1 >= '2020-01-15'").tolist() == [True, False, False, False]
    assert row_violations(f, "a in (1, 5) or a between 2 and 2").tolist() == [False, False, False, False]
    assert derivation("total = round(price * quantity, 2)")[0] == "total"
    assert ordering("b >= a") == ("a", "b", False) and ordering("d2 is null or d1 < d2") == ("d1", "d2", True)


def test_date_trunc_rules_and_their_projection() -> None:
    from synthohive_dbt.rules import derivation, derive, row_violations
    f = pd.DataFrame({"s": pd.to_datetime(["2020-01-01", "2020-02-03", None])})
    assert row_violations(f, "date_trunc('month', s) = s").tolist() == [False, True, False]
    assert row_violations(f, "s <= date_trunc('month', current_date)").tolist() == [False, False, False]
    col, how = derivation("date_trunc('month', s) = s")
    assert col == "s" and derive(f, how).iloc[1] == pd.Timestamp("2020-02-01")
