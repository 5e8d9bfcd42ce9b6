"""Mostly-distinct text nobody declared categorical (titles, comments, tokens) is generated in its format: no
real value is written back, none is repeated the way categories are, and none is kept in the saved model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthohive_dbt.config import Constraint, Metadata
from synthohive_dbt import Synthesizer
from tests.helpers.tiny_shop import fit

WORDS = ["fix", "crash", "when", "loading", "large", "files", "add", "support", "for", "dark", "mode", "docs",
         "typo", "in", "readme", "update", "deps", "slow", "query", "planner"]


def _data(n: int = 300) -> tuple[dict[str, pd.DataFrame], Metadata]:
    rng = np.random.default_rng(0)
    titles = [" ".join(rng.choice(WORDS, rng.integers(3, 8))).capitalize() + f" #{i}" for i in range(n)]
    issues = pd.DataFrame({"issue_id": np.arange(1, n + 1), "title": titles,
                           "label": rng.choice(["bug", "feature", "docs"], n),
                           "priority": rng.choice(["p1", "p2"], n)})
    meta = Metadata()
    meta.add_table("issues", pk="issue_id",
                   constraints={"title": Constraint(not_null=True),
                                "priority": Constraint(accepted_values=["p1", "p2"])})
    return {"issues": issues}, meta


def test_free_text_is_generated_in_its_format_and_never_copied(tmp_path: Path) -> None:
    real, meta = _data()
    synth = fit(meta, real)
    assert list(synth.plans["issues"].text_formats) == ["title"]  # label and priority stay learned categories
    out = synth.sample(evaluate=False)["issues"]
    titles = out["title"]
    assert titles.notna().all() and not set(titles) & set(real["issues"]["title"])
    assert titles.value_counts().max() <= 3  # not a handful of real values repeated
    assert set(out["label"]) <= {"bug", "feature", "docs"}
    synth.save(tmp_path / "model.shm")
    saved = (tmp_path / "model.shm").read_bytes().decode("utf-8", errors="ignore")
    assert "feature" in saved  # a learned category is in the artifact (so this search can find text) ...
    assert not any(t in saved for t in real["issues"]["title"])  # ... but no title is


def test_the_text_format_survives_save_and_load(tmp_path: Path) -> None:
    real, meta = _data()
    synth = fit(meta, real)
    synth.save(tmp_path / "model.shm")
    again = Synthesizer.load(tmp_path / "model.shm")
    assert again.plans["issues"].text_formats == synth.plans["issues"].text_formats
    a = synth.sample(seed=4, evaluate=False)["issues"]["title"].tolist()
    b = again.sample(seed=4, evaluate=False)["issues"]["title"].tolist()
    assert a == b


def test_values_the_project_names_keep_their_share_in_free_text() -> None:
    """A conditional accepted_values test names one title: rows holding it keep it (a model filtering on it
    stays non-empty); every other title is generated in its format."""
    from synthohive_dbt.config import ConditionalConstraint

    real, meta = _data()
    real["issues"].loc[real["issues"].index[::5], "title"] = "Release notes"  # 20% of the rows
    meta.tables["issues"].conditional_constraints.append(ConditionalConstraint(
        column="title", constraint=Constraint(accepted_values=["Release notes"], where="label = 'docs'"),
        test="accepted_values_issues_title"))
    synth = fit(meta, real)
    titles = synth.sample(evaluate=False)["issues"]["title"]
    share = (titles == "Release notes").mean()
    assert 0.1 < share < 0.3, share
    others = titles[titles != "Release notes"]
    assert not set(others) & set(real["issues"]["title"])


def test_a_named_value_is_written_even_where_its_share_rounds_to_nothing(tmp_path: Path) -> None:
    """A lookup of 15 labels, each once, that a model filters by `where name = 'Rock'` (lineage names 'Rock'):
    whatever the seed, 'Rock' is written, so the filtered model is never empty; so is a named free-text value
    held by 1 row of 300. A named value the real column never holds is not invented."""
    styles = ["Rock", "Jazz", "Pop", "Blues", "Folk", "Metal", "Punk", "Soul", "Funk", "Reggae", "Disco", "Ambient",
              "Techno", "House", "Gospel"]
    real, meta = _data()
    real["issues"].loc[7, "title"] = "Release notes"
    meta.tables["issues"].constraints["title"] = Constraint(not_null=True, named_values=["Release notes"])
    real["styles"] = pd.DataFrame({"style_id": np.arange(1, 16), "name": styles})
    meta.add_table("styles", pk="style_id", constraints={"name": Constraint(named_values=["Rock", "Polka"])})
    synth = fit(meta, real)
    assert synth.plans["styles"].named == {"name": ["Rock"]} and "name" in synth.plans["styles"].model_columns
    synth.save(tmp_path / "model.shm")
    assert Synthesizer.load(tmp_path / "model.shm").plans["styles"].named == {"name": ["Rock"]}
    for seed in range(6):
        out = synth.sample(seed=seed, evaluate=False)
        assert "Rock" in set(out["styles"]["name"]) and "Polka" not in set(out["styles"]["name"])
        assert (out["issues"]["title"] == "Release notes").sum() >= 1
