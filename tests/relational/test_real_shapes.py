"""Issue #11, "take what real tables hold", end to end: a real DuckDB holds the shapes, `read_table` reads
them, `Synthesizer.fit` / `sample` (CTGAN and AR, small budgets) learn and generate them, and the writer's
path (`copy_frame`) puts the output back.

Shapes: columns null in every row, tables of 0, 1 and 2 rows (generated from formats, never copied), float
NaN / +inf / -inf next to SQL NULL, and dates from year 1 to 9999 with a 9999-12-31 sentinel (a point mass).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from synthohive_dbt import Synthesizer
from synthohive_dbt.config import Constraint, ConditionalConstraint, Metadata
from synthohive_dbt.io.copy import copy_frame
from synthohive_dbt.io.warehouse import read_table, reflect_columns
from tests.helpers.tiny_shop import TINY

SENTINEL = np.datetime64("9999-12-31T00:00:00", "us")
YEAR_ONE = np.datetime64("0001-01-01T00:00:00", "us")
N_HIST = 1000

_SQL = f"""
CREATE SCHEMA src;
CREATE TABLE src.hist AS SELECT i AS id,
  CASE WHEN i % 10 < 4 THEN TIMESTAMP '9999-12-31 00:00:00'
       ELSE TIMESTAMP '2020-01-01' + to_minutes(i * 3671) + to_microseconds(i * 7) END AS valid_to,
  CASE WHEN i % 5 = 0 THEN DATE '0001-01-01' ELSE DATE '2000-01-01' + (i * 13 % 3000)::INTEGER END AS d,
  CASE WHEN i % 10 = 0 THEN 'NaN'::DOUBLE WHEN i % 10 = 1 THEN 'Infinity'::DOUBLE
       WHEN i % 20 = 2 THEN '-Infinity'::DOUBLE WHEN i % 10 = 3 THEN NULL ELSE (i * 7919 % 1000) / 4.0 END AS x,
  'seg' || (i % 3) AS seg,
  NULL::VARCHAR AS unused_text, NULL::INTEGER AS unused_int, NULL::TIMESTAMP AS unused_ts,
  NULL::DOUBLE AS unused_float, NULL::BOOLEAN AS unused_flag
  FROM range({N_HIST}) t(i);
CREATE TABLE src.region AS SELECT * FROM (VALUES (7, 'NORTH-0417', 'open', 5812.25, DATE '2019-03-14'),
                                                 (9, 'South-2290', 'closed', 377.5, DATE '2021-11-02'))
  v(region_id, code, status, budget, opened);
CREATE TABLE src.store AS SELECT i AS store_id, CASE WHEN i % 2 = 0 THEN 7 ELSE 9 END AS region_id,
  i * 10.5 AS size, NULL::INTEGER AS manager_id FROM range(1, 41) t(i);
CREATE TABLE src.solo (solo_id INTEGER, label VARCHAR, at_time TIMESTAMP);
INSERT INTO src.solo VALUES (4242, 'Zed-93', TIMESTAMP '2021-06-01 10:11:12');
CREATE TABLE src.vendor (vendor_id INTEGER, name VARCHAR);
CREATE TABLE src.delivery (delivery_id INTEGER, vendor_id INTEGER, store_id INTEGER, weight DOUBLE);
"""
TABLES = ("hist", "region", "store", "solo", "vendor", "delivery")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> sa.Engine:
    path = Path(tmp_path_factory.mktemp("shapes")) / "w.duckdb"
    engine = sa.create_engine(f"duckdb:///{path}")
    with engine.begin() as conn:
        for statement in _SQL.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def real(warehouse: sa.Engine) -> dict[str, pd.DataFrame]:
    return {t: read_table(warehouse, ("src", t)) for t in TABLES}


def _metadata() -> Metadata:
    m = Metadata()
    m.add_table("hist", pk="id", constraints={"unused_flag": Constraint(not_null=True)})
    m.add_table("region", pk="region_id",
                constraints={"status": Constraint(accepted_values=["open", "closed", "planned"], not_null=True),
                             "budget": Constraint(min=0)})
    m.tables["region"].conditional_constraints.append(ConditionalConstraint(
        column="code", constraint=Constraint(accepted_values=["HQ"], where="status = 'open'")))
    m.add_table("store", pk="store_id", fk={"region_id": "region.region_id"})
    m.add_table("solo", pk="solo_id")
    m.add_table("vendor", pk="vendor_id")
    m.add_table("delivery", pk="delivery_id",
                fk={"vendor_id": "vendor.vendor_id", "store_id": "store.store_id"})
    return m


def _fit(real: dict[str, pd.DataFrame], backend: str, seed: int = 3) -> Synthesizer:
    kwargs = TINY if backend == "CTGAN" else {}
    # 30 epochs of 10 batches, cut to the small-table budget of 100 steps (TabularModel._planned_steps)
    return Synthesizer(_metadata(), backend=backend, model_kwargs=kwargs).fit(real, epochs=30, batch_size=100,
                                                                             seed=seed)


@pytest.fixture(scope="module", params=["CTGAN", "AR", "TVAE"])
def fitted(request, real) -> tuple[str, Synthesizer, dict[str, pd.DataFrame]]:
    synth = _fit(real, request.param)
    return request.param, synth, synth.sample(seed=5, evaluate=False)


def _float_counts(s: pd.Series) -> dict[str, int]:
    arr = s.array
    data, mask = (arr._data, arr._mask) if isinstance(s.dtype, pd.Float64Dtype) else (s.to_numpy(), s.isna())
    kept = ~np.asarray(mask)  # the data under a NULL's mask is arbitrary (it may be an old -inf): not a value
    return {"null": int(np.sum(mask)), "nan": int(np.sum(np.isnan(data) & kept)),
            "inf": int(np.sum((data == np.inf) & kept)), "-inf": int(np.sum((data == -np.inf) & kept))}


# ---------------------------------------------------------------- all-null columns
def test_all_null_columns_come_back_all_null_in_their_dtype(real, fitted) -> None:
    _, synth, out = fitted
    hist = out["hist"]
    for col in ("unused_text", "unused_int", "unused_ts", "unused_float"):
        assert hist[col].isna().all(), col
        assert hist[col].dtype == real["hist"][col].dtype, col
    assert "unused_text" not in synth.plans["hist"].model_columns  # the model never saw them
    assert set(synth.plans["hist"].null_columns) == {"unused_text", "unused_int", "unused_ts", "unused_float",
                                                     "unused_flag"}


def test_an_all_null_column_declared_not_null_gets_values_of_its_type(fitted) -> None:
    """The dbt test wins over the observed nulls (dbt would fail on the output otherwise)."""
    _, _, out = fitted
    flag = out["hist"]["unused_flag"]
    assert flag.notna().all() and str(flag.dtype) == "boolean"


def test_an_all_null_foreign_key_stays_null(real, fitted) -> None:
    _, synth, out = fitted
    assert real["store"]["manager_id"].isna().all()
    assert out["store"]["manager_id"].isna().all() and len(out["store"]) > 0


def test_all_null_columns_write_with_the_real_sql_types(warehouse, fitted) -> None:
    backend, _, out = fitted
    name = f"out_{backend.lower()}"
    with warehouse.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {name}")
        conn.exec_driver_sql(f"CREATE TABLE {name}.hist AS SELECT * FROM src.hist LIMIT 0")
        copy_frame(conn, f"{name}.hist", out["hist"], reflect_columns(conn, name, "hist"))
    back = read_table(warehouse, (name, "hist"))
    assert [c.sql_type for c in reflect_columns(warehouse, name, "hist")] == \
        [c.sql_type for c in reflect_columns(warehouse, "src", "hist")]
    assert back["unused_ts"].isna().all() and len(back) == len(out["hist"])


# ---------------------------------------------------------------- 0, 1 and 2 rows
def test_tables_too_small_to_learn_are_generated_from_formats(fitted) -> None:
    _, synth, out = fitted
    for name in ("region", "solo", "delivery"):
        assert type(synth.models[name]).__name__ == "FormatModel", name
    assert type(synth.models["hist"]).__name__ != "FormatModel"
    assert len(out["region"]) == 2 and len(out["solo"]) == 1


def test_empty_tables_and_their_children_are_empty_and_typed(real, fitted) -> None:
    _, _, out = fitted
    for name in ("vendor", "delivery"):
        assert len(out[name]) == 0
        assert list(out[name].columns) == list(real[name].columns)
        assert out[name].dtypes.to_dict() == real[name].dtypes.to_dict(), name


def test_no_real_row_of_a_tiny_table_is_copied_except_declared_values(real, fitted) -> None:
    _, _, out = fitted
    region, solo = out["region"], out["solo"]
    for col in ("code", "budget", "opened"):  # no declared values: formats only, never a real value
        assert not region[col].isin(real["region"][col]).any(), col
    assert not solo["label"].isin(real["solo"]["label"]).any()
    assert not solo["at_time"].isin(real["solo"]["at_time"]).any()
    assert set(region["status"]) <= {"open", "closed", "planned"}  # the project's own values
    # formats: same character classes and punctuation, same magnitude, decimals, years, resolution
    assert region["code"].str.fullmatch(r"[A-Z]{5}-\d{4}|[A-Z][a-z]{4}-\d{4}|HQ").all()
    assert (region["budget"] >= 0).all() and (region["budget"] < 10_000).all()
    assert np.allclose(region["budget"], region["budget"].round(2), rtol=0, atol=1e-9)
    assert region["opened"].dt.year.between(2019, 2021).all()
    assert solo["label"].str.fullmatch(r"[A-Z][a-z]{2}-\d{2}").all()
    assert solo["at_time"].dt.year.eq(2021).all() and solo["at_time"].dt.microsecond.eq(0).all()
    assert region.dtypes.to_dict() == real["region"].dtypes.to_dict()


def test_children_of_a_tiny_parent_point_at_generated_parents(fitted) -> None:
    _, _, out = fitted
    assert out["store"]["region_id"].isin(out["region"]["region_id"]).all()
    assert len(out["store"]) > 0


# ---------------------------------------------------------------- NaN / inf / NULL
def test_nan_inf_and_null_keep_their_own_frequencies(real, fitted) -> None:
    backend, _, out = fitted
    want, got = _float_counts(real["hist"]["x"]), _float_counts(out["hist"]["x"])
    assert want == {"null": 100, "nan": 100, "inf": 100, "-inf": 50}
    assert str(out["hist"]["x"].dtype) == "Float64"
    # AR reproduces marginals closely; CTGAN at this tiny budget (100 steps, tiny net) only roughly
    low, high = (0.6, 1.5) if backend == "AR" else (0.2, 2.5)
    for kind, n in want.items():
        assert low * n <= got[kind] <= high * n, (kind, got)


# ---------------------------------------------------------------- dates from year 1 to 9999
def test_sentinel_dates_keep_their_frequency_and_the_rest_stays_learned(real, fitted) -> None:
    backend, _, out = fitted
    valid_to, d = out["hist"]["valid_to"].to_numpy(), out["hist"]["d"].to_numpy()
    assert out["hist"]["valid_to"].dtype == "datetime64[us]"
    share, year_one = float(np.mean(valid_to == SENTINEL)), float(np.mean(d == YEAR_ONE))
    tol = 0.1 if backend == "AR" else 0.3
    assert abs(share - 0.4) <= tol and abs(year_one - 0.2) <= tol, (share, year_one)
    rest = pd.Series(valid_to[valid_to != SENTINEL])
    real_rest = real["hist"]["valid_to"][real["hist"]["valid_to"].to_numpy() != SENTINEL]
    assert rest.min() >= real_rest.min() and rest.max() <= real_rest.max()  # no year-5000 in between
    assert (rest.dt.microsecond != 0).any()  # learned down to microseconds
    assert not pd.Series(d[d != YEAR_ONE]).dt.year.lt(2000).any()


def test_microseconds_and_far_dates_round_trip_into_duckdb(warehouse, fitted) -> None:
    backend, _, out = fitted
    name = f"rt_{backend.lower()}"
    with warehouse.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {name}")
        conn.exec_driver_sql(f"CREATE TABLE {name}.hist AS SELECT * FROM src.hist LIMIT 0")
        copy_frame(conn, f"{name}.hist", out["hist"], reflect_columns(conn, name, "hist"))
    back = read_table(warehouse, (name, "hist"))
    for col in ("valid_to", "d"):
        assert back[col].to_numpy().tolist() == out["hist"][col].to_numpy().tolist(), col
    assert _float_counts(back["x"]) == _float_counts(out["hist"]["x"])


# ---------------------------------------------------------------- determinism, save / load
@pytest.mark.parametrize("backend", ["CTGAN", "AR"])
def test_same_seed_same_database_and_a_saved_model_agrees(real, backend, tmp_path) -> None:
    a = _fit(real, backend).sample(seed=5, evaluate=False)
    synth = _fit(real, backend)
    b = synth.sample(seed=5, evaluate=False)
    synth.save(tmp_path / "m.shm")
    c = Synthesizer.load(tmp_path / "m.shm").sample(seed=5, evaluate=False)
    for t in TABLES:
        pd.testing.assert_frame_equal(a[t], b[t])
        pd.testing.assert_frame_equal(a[t], c[t])


def test_a_copied_lookup_keeps_nan_inf_null_and_far_dates_through_save_and_load(tmp_path) -> None:
    """copy_as_is tables travel as JSON inside the plan: JSON has no NaN/inf and pandas would cut year 9999."""
    meta = Metadata()
    meta.add_table("lookup", pk="id", copy_as_is=True)
    x = pd.arrays.FloatingArray(np.array([np.nan, 0.0, np.inf, -np.inf, 2.5]),
                                np.array([False, True, False, False, False]))
    lookup = pd.DataFrame({
        "id": pd.array([1, 2, 3, 4, 5], dtype="Int64"), "x": x,
        "at": np.array(["0001-01-01T00:00:00.000001", "9999-12-31", "NaT", "2020-01-01T01:02:03.456789",
                        "1970-01-01"], dtype="datetime64[us]"),
        "label": ["a", None, "", "b", "c"]})
    synth = Synthesizer(meta).fit({"lookup": lookup}, seed=1)
    synth.save(tmp_path / "m.shm")
    for s in (synth, Synthesizer.load(tmp_path / "m.shm")):
        out = s.sample(evaluate=False)["lookup"]
        pd.testing.assert_frame_equal(out, lookup)
        assert out["label"].tolist() == ["a", None, "", "b", "c"]
        assert _float_counts(out["x"]) == {"null": 1, "nan": 1, "inf": 1, "-inf": 1}


def test_a_foreign_key_to_an_empty_parent_is_null_and_a_driving_one_gives_no_rows() -> None:
    """Real rows pointing at an empty parent are orphans: a second key to it stays null (the rows follow
    their other parent); a table whose only parent is empty gets no rows."""
    meta = Metadata()
    meta.add_table("team", pk="team_id")
    meta.add_table("coach", pk="coach_id")
    meta.add_table("player", pk="player_id", fk={"team_id": "team.team_id", "coach_id": "coach.coach_id"})
    meta.add_table("award", pk="award_id", fk={"coach_id": "coach.coach_id"})
    team = pd.DataFrame({"team_id": np.arange(1, 31), "city": [f"c{i % 4}" for i in range(30)]})
    coach = pd.DataFrame({"coach_id": pd.Series([], dtype="int64"), "name": pd.Series([], dtype=object)})
    player = pd.DataFrame({"player_id": np.arange(1, 61), "team_id": np.arange(60) % 30 + 1,
                           "coach_id": np.arange(60) % 5 + 1, "goals": np.arange(60) % 7})
    award = pd.DataFrame({"award_id": np.arange(1, 13), "coach_id": np.arange(12) % 3 + 1})
    out = Synthesizer(meta, model_kwargs=TINY).fit(
        {"team": team, "coach": coach, "player": player, "award": award}, epochs=2, seed=1).sample(evaluate=False)
    assert len(out["coach"]) == 0 and len(out["award"]) == 0
    assert len(out["player"]) > 0 and out["player"]["coach_id"].isna().all()
    assert out["player"]["team_id"].isin(out["team"]["team_id"]).all()
