"""Do a column's values look like people's names, or like labels?

A column called `name` holds people in a customers table and labels everywhere else (issue labels such as
"bug", repositories such as "dbt-core", music genres, a lookup of 25 categories, Short/Medium/Long). The
column name cannot tell them apart; the values can:

- people's names are 1-4 alphabetic words (hyphens and apostrophes inside: "anna-maria o'neil"), mostly
  found in a first- or last-name list, often with a digit suffix in generated test data ("Anna123");
- labels are lower-case slugs ("good-first-issue", "dbt_core"), carry digits, slashes or other signs inside
  a word, are long phrases, or are few values repeated over many rows (a category, not a person).

`name_shape` measures those shares on a sample of distinct values; `NameShape.personal` is the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from synthohive_dbt.kinds import is_textual
from synthohive_dbt.privacy import vocabulary as voc

#: Few distinct values, each repeated this often, are categories (Short/Medium/Long), not people.
MAX_CATEGORIES = 30
MIN_REPEATS = 3.0
#: Share of distinct values that must look like a person's name (in shape and in the name lists).
MIN_PERSON_SHARE = 0.5
#: Share of distinct values that look like labels above which the column is labels, whatever else.
MAX_LABEL_SHARE = 0.5

_WORD = r"[^\W\d_]+(?:['’.-][^\W\d_]+)*\.?"
_PERSON = rf"{_WORD}(?:\s+{_WORD}){{0,3}}"
_DIGIT_SUFFIX = r"(?<=[^\W\d_])\d{1,6}(?=\s|$)"  # "Anna123" -> "Anna": generated test data (Synthea)
_SLUG = r"[a-z0-9]+(?:[-_][a-z0-9]+)+"  # dbt-core, good_first_issue
_SIGNS = r"[/:#@&+=<>|\\\[\]{}()!?%$*]"


@dataclass(frozen=True)
class NameShape:
    """How person-like the distinct values of a column are (shares of sampled distinct values)."""

    rows: int
    distinct: int
    person: float  # shaped like a name and at least half its words in the name lists
    label: float  # slug, signs or inner digits, or 5+ words
    first: float  # one word, a first name
    last: float  # one word, a last name
    digit_suffix: float  # words ending in digits ("Anna123")

    @property
    def categorical(self) -> bool:
        """Few values repeated over many rows: a category column, not people."""
        return self.distinct <= MAX_CATEGORIES and self.rows >= MIN_REPEATS * self.distinct

    @property
    def personal(self) -> bool:
        return not self.categorical and self.label < MAX_LABEL_SHARE and self.person >= MIN_PERSON_SHARE

    def kind(self) -> str:
        """first_name / last_name for one-word values of one list, else person_name."""
        if self.first >= 0.5 and self.first >= self.last:
            return "first_name"
        if self.last >= 0.5:
            return "last_name"
        return "person_name"

    def describe(self) -> str:
        """Why, in words: for review output and the reasons of findings."""
        if self.categorical:
            return (f"{self.distinct} distinct values repeated over {self.rows} rows look like categories, "
                    "not people")
        if self.label >= MAX_LABEL_SHARE:
            return f"{self.label:.0%} of {self.distinct} sampled values look like labels (slugs, codes, phrases)"
        share = f"{self.person:.0%} of {self.distinct} sampled values look like people's names"
        return share if self.personal else f"only {share}"


def name_shape(series: pd.Series, sample_size: int = 2000, seed: int = 0) -> NameShape | None:
    """The NameShape of a text column, or None when it holds no text to judge."""
    present = series.dropna()
    if present.empty or not is_textual(series):
        return None
    distinct = pd.Series(present.unique()).astype("string").str.strip()
    distinct = distinct[distinct.str.len() > 0]
    if distinct.empty:
        return None
    n_distinct = len(distinct)
    if n_distinct > sample_size:
        distinct = distinct.sample(sample_size, random_state=seed)
    v = distinct.reset_index(drop=True)
    suffixed = v.str.contains(_DIGIT_SUFFIX, regex=True).fillna(False)
    plain = v.str.replace(_DIGIT_SUFFIX, "", regex=True)
    shaped = plain.str.fullmatch(_PERSON).fillna(False)
    words = plain.str.lower().str.findall(r"[^\W\d_]{2,}")
    exploded = words.explode()
    names = voc.first_name_set() | voc.last_name_set()
    hit = exploded.isin(names).groupby(level=0).mean().reindex(v.index).fillna(0.0)
    person = shaped & (hit >= 0.5)
    one = plain.str.split().str.len() == 1
    low = plain.str.lower()
    inner_digits = v.str.contains(r"\d", regex=True).fillna(False) & ~suffixed
    label = (v.str.fullmatch(_SLUG).fillna(False) | v.str.contains(_SIGNS, regex=True).fillna(False)
             | inner_digits | (v.str.split().str.len() >= 5))
    return NameShape(
        rows=len(present), distinct=n_distinct, person=_mean(person), label=_mean(label),
        first=_mean(person & one & low.isin(voc.first_name_set())),
        last=_mean(person & one & low.isin(voc.last_name_set())), digit_suffix=_mean(suffixed))


def _mean(mask: pd.Series) -> float:
    return float(mask.astype(bool).mean()) if len(mask) else 0.0
