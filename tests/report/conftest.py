"""Fixtures of the report tests: the two-table world of tests/helpers/world.py, drawn three times."""

from __future__ import annotations

import pandas as pd
import pytest

from synthohive_dbt.config import Metadata
from tests.helpers.world import make_world, world_metadata


@pytest.fixture(scope="session")
def real() -> dict[str, pd.DataFrame]:
    return make_world(seed=0)


@pytest.fixture(scope="session")
def faithful() -> dict[str, pd.DataFrame]:
    return make_world(seed=1, start_id=100_000)


@pytest.fixture(scope="session")
def holdout() -> dict[str, pd.DataFrame]:
    return make_world(n_customers=500, seed=2, start_id=200_000)


@pytest.fixture(scope="session")
def metadata() -> Metadata:
    return world_metadata()
