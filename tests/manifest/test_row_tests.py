"""dbt tests across the columns of a row read into row rules (manifest/row_tests.py)."""

from __future__ import annotations

import pytest

from synthohive_dbt.manifest.findings import NotModelled, RowRuleFinding
from synthohive_dbt.manifest.row_tests import (
    conditioned,
    multicolumn_sum,
    pair_greater,
    pair_in_set,
    rule_finding,
    singular_predicate,
)


@pytest.mark.parametrize(("sql", "rule"), [
    ("select * from {{ ref('rentals') }} where return_date < rental_date", "not (return_date < rental_date)"),
    ("-- why\nselect r.id from {{ ref('rentals') }} as r where r.a > r.b and r.c is not null",
     "not (a > b AND NOT c IS NULL)"),
    ("select * from {{ ref('a') }} join {{ ref('b') }} using (id) where x < 0", None),
    ("select count(*) from {{ ref('a') }} having count(*) = 0", None),
    ("select * from {{ ref('a') }}", None),
])
def test_singular_tests_of_the_common_shape(sql: str, rule: str | None) -> None:
    assert singular_predicate(sql) == rule


def test_pair_and_sum_tests() -> None:
    assert pair_greater({"column_A": "ends", "column_B": "starts", "or_equal": True}) == "ends >= starts"
    assert pair_greater({"column_A": "ends", "column_B": "starts"}) == "ends > starts"
    assert pair_in_set({"column_A": "a", "column_B": "b", "value_pairs_set": [[1, "x"], [2, "y"]]}) == (
        "(a = 1 and b = 'x') or (a = 2 and b = 'y')")
    assert multicolumn_sum({"column_list": ["a", "b"], "sum_total": 100}) == "a + b = 100"
    assert conditioned("a > 0", "b = 1") == "not (b = 1) or (a > 0)"


def test_a_rule_outside_the_grammar_is_not_modelled_with_the_reason() -> None:
    assert isinstance(rule_finding("t", "a <= b", "test.x"), RowRuleFinding)
    out = rule_finding("t", "a <= (select max(b) from t)", "test.x")
    assert isinstance(out, NotModelled) and "outside the grammar of row rules" in out.reason
