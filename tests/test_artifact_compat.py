"""Artifacts saved by earlier releases keep loading and sampling the same rows.

tests/fixtures/artifacts/ was written by make_fixtures.py with the code of commit 63a1581 (the synthesizer
file format 2, the standalone model folder format 1), before the two formats became one. Never regenerate
these files: they stand for artifacts users already have.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from synthohive_dbt.models import load_model
from synthohive_dbt import Synthesizer

FIXTURES = Path(__file__).parent / "fixtures" / "artifacts"


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _frame(doc: dict) -> pd.DataFrame:
    return pd.DataFrame(doc["data"], columns=doc["columns"])


def test_a_synthesizer_saved_by_the_earlier_format_loads_and_samples_the_same_rows() -> None:
    synth = Synthesizer.load(FIXTURES / "synthesizer_v2.shm")
    expected = json.loads((FIXTURES / "synthesizer_v2.sample.json").read_text())
    out = synth.sample(seed=5, evaluate=False)
    assert sorted(out) == sorted(expected)
    for table, doc in expected.items():
        got = out[table].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, _frame(doc), check_dtype=False)


def test_a_model_folder_saved_by_the_earlier_format_loads_and_samples_the_same_rows() -> None:
    model = load_model(FIXTURES / "ctgan_v1", device="cpu")
    expected = _frame(json.loads((FIXTURES / "ctgan_v1.sample.json").read_text()))
    pd.testing.assert_frame_equal(model.sample(7, seed=9).reset_index(drop=True), expected, check_dtype=False)
