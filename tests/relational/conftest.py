"""Small relational fixtures: the tiny shop (tests/helpers/tiny_shop.py) fitted once per session with a tiny
CTGAN (the real model; few epochs) so the whole area stays fast."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from synthohive_dbt import Synthesizer
from tests.helpers.tiny_shop import fit, shop_data, shop_metadata


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shop() -> tuple[dict[str, pd.DataFrame], Synthesizer]:
    data = shop_data()
    return data, fit(shop_metadata(), data)
