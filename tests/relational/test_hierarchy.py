"""Issue #15, shapes of self-references: a hierarchy keeps its number of roots, its depth, the size of each
level and its children per node, and is always a forest (relational/hierarchy.py).

Measure of "children per node close": the KS distance between the real and the synthetic distributions of
the number of children of every row (leaves included), as the report's cardinality score does for foreign keys.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from synthohive_dbt import Synthesizer
from synthohive_dbt.config import ForeignKey, Metadata, PrivacyConfig
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.metrics import ks_statistic
from synthohive_dbt.io.warehouse import read_table
from synthohive_dbt.relational.cardinality import match_parents
from synthohive_dbt.relational.distributed import plan_partitions, sample_partition
from synthohive_dbt.relational.hierarchy import HierarchyShape, children_per_node, self_reference_labels, shape_of
from synthohive_dbt.relational.plan import ForeignKeyPlan
from synthohive_dbt.relational.sinks import MemorySink
from tests.helpers.hierarchy_project import org_chart
from tests.helpers.tiny_shop import TINY

MAX_CHILDREN_KS = 0.05


def _parents(frame: pd.DataFrame) -> np.ndarray:
    return match_parents(frame[["manager_id"]], frame[["employee_id"]])


def _shape(frame: pd.DataFrame) -> HierarchyShape:
    return HierarchyShape.learn(_parents(frame), frame["manager_id"].isna().to_numpy())


def _assert_forest(parent: np.ndarray, null: np.ndarray) -> int:
    """Every row reaches a root in at most len(parent) steps (no cycle); returns the maximum depth."""
    cur, depth, n = parent.copy(), np.zeros(len(parent), dtype=int), len(parent)
    cur[cur == np.arange(n)] = -1
    for _ in range(n + 1):
        live = cur >= 0
        if not live.any():
            return int(depth.max())
        depth[live] += 1
        cur[live] = np.where(parent[cur[live]] == cur[live], -1, parent[cur[live]])
    raise AssertionError("a cycle: some rows never reach a root")


# ---------------------------------------------------------------- the shape itself (no model)
def test_one_root_of_depth_four_stays_one_tree_at_every_scale() -> None:
    real = HierarchyShape.learn(p := _parents(org_chart()), p < 0)
    assert (real.roots, real.depth, real.rows) == (1, 4, 225)
    for n in (225, 450, 60, 3):
        out = real.sample(n, np.random.default_rng(n))
        assert len(out) == n and (out < 0).sum() == 1
        assert _assert_forest(out, out < 0) <= 4
    again = real.sample(225, np.random.default_rng(7))
    assert HierarchyShape.learn(again, again < 0).levels == real.levels  # scale 1: every level at its size
    assert ks_statistic(children_per_node(p), children_per_node(again)) <= MAX_CHILDREN_KS


def test_a_forest_keeps_its_roots_at_scale_one_and_scales_them_at_two() -> None:
    frame = org_chart(seed=2, roots=6, reports=(3, 3, 2))
    real = _shape(frame)
    assert real.roots == 6
    one = real.sample(real.rows, np.random.default_rng(1))
    two = real.sample(2 * real.rows, np.random.default_rng(1))
    assert HierarchyShape.learn(one, one < 0).levels == real.levels
    got = HierarchyShape.learn(two, two < 0)
    assert got.roots == 12 and got.depth == real.depth
    assert all(abs(g - 2 * r) <= 2 for g, r in zip(got.levels, real.levels))
    assert ks_statistic(children_per_node(_parents(frame)), children_per_node(two)) <= MAX_CHILDREN_KS


def test_a_top_row_pointing_at_itself_stays_so_and_real_cycles_are_cut() -> None:
    parent = np.array([0, 0, 0, 1, 1, 2])  # row 0 is its own manager (a not_null manager column)
    out = HierarchyShape.learn(parent, np.zeros(6, dtype=bool)).sample(6, np.random.default_rng(0))
    assert (out >= 0).all() and (out == np.arange(6)).sum() == 1
    cyclic = np.array([1, 2, 0, 0, 3, -1, 5])  # rows 0 -> 1 -> 2 -> 0 form a cycle, row 5 is a root
    shape = HierarchyShape.learn(cyclic, cyclic < 0)
    assert shape.roots == 2 and sum(shape.levels) == 7
    drawn = shape.sample(7, np.random.default_rng(0))
    _assert_forest(drawn, drawn < 0)


def test_the_shape_is_plain_json_and_old_plans_still_load() -> None:
    shape = _shape(org_chart())
    fk = ForeignKeyPlan(["manager_id"], "employees", ["employee_id"], 1 / 225, shape.children[0], "self",
                        hierarchy=shape)
    back = ForeignKeyPlan.from_dict(json.loads(json.dumps(fk.to_dict())))
    assert back.hierarchy == shape
    old = fk.to_dict()
    del old["hierarchy"]
    assert ForeignKeyPlan.from_dict(old).hierarchy is None
    assert "1 root, depth 4, rows per level 1/6/20/64/134" in shape.describe()


# ---------------------------------------------------------------- real DuckDB, CTGAN and AR
@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    path = Path(tmp_path_factory.mktemp("org")) / "w.duckdb"
    engine = sa.create_engine(f"duckdb:///{path}")
    frames = {"org": org_chart(), "forest": org_chart(seed=2, roots=6, reports=(3, 3, 2))}
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE SCHEMA src")
            for name, frame in frames.items():
                conn.exec_driver_sql(f"CREATE TABLE src.{name} (employee_id INTEGER, manager_id INTEGER, "
                                     "title VARCHAR, salary DOUBLE)")
                conn.exec_driver_sql(f"INSERT INTO src.{name} VALUES " + ", ".join(
                    f"({r.employee_id}, {'NULL' if pd.isna(r.manager_id) else int(r.manager_id)}, "
                    f"'{r.title}', {r.salary})" for r in frame.itertuples()))
        return {name: read_table(engine, ("src", name)) for name in frames}
    finally:
        engine.dispose()


def _fit(real: dict[str, pd.DataFrame], backend: str) -> Synthesizer:
    meta = Metadata()
    for name in real:
        meta.add_table(name, pk="employee_id", fk={"manager_id": f"{name}.employee_id"})
    return Synthesizer(meta, backend=backend, model_kwargs=TINY if backend == "CTGAN" else {}).fit(
        real, epochs=5, batch_size=100, seed=3)


@pytest.fixture(scope="module", params=["CTGAN", "AR"])
def fitted(request, real) -> Synthesizer:
    return _fit(real, request.param)


def test_fitted_hierarchies_keep_roots_depth_and_children(real, fitted, tmp_path) -> None:
    out = fitted.sample(seed=11, chunk_rows=50, evaluate=False)  # chunked: links span chunks
    for name, frame in real.items():
        want, got = _shape(frame), _shape(out[name])
        assert got.roots == want.roots and got.depth <= want.depth, name
        assert got.levels == want.levels, name
        assert out[name]["manager_id"].dropna().isin(out[name]["employee_id"]).all(), name
        _assert_forest(_parents(out[name]), out[name]["manager_id"].isna().to_numpy())
        ks = ks_statistic(children_per_node(_parents(frame)), children_per_node(_parents(out[name])))
        assert ks <= MAX_CHILDREN_KS, name
    assert fitted.plans["org"].foreign_keys[0].hierarchy == _shape(real["org"])
    twice = fitted.sample(scale=2.0, seed=11, evaluate=False)
    assert _shape(twice["org"]).roots == 1 and _shape(twice["forest"]).roots == 12
    assert _shape(twice["org"]).depth <= 4
    path = tmp_path / "org.shm"
    fitted.save(path)
    again = Synthesizer.load(path).sample(seed=11, chunk_rows=50, evaluate=False)
    for name in real:  # a fixed seed gives the same hierarchy, after save and load too
        pd.testing.assert_frame_equal(out[name], again[name])


def test_under_differential_privacy_the_shape_is_off_unless_kept_and_then_said_outside_epsilon(real) -> None:
    def fit(keep: bool) -> Synthesizer:
        meta = Metadata()
        meta.add_table("org", pk="employee_id", fk={"manager_id": "org.employee_id"})
        synth = Synthesizer(meta, PrivacyConfig(enable_differential_privacy=True, epsilon=3.0),
                            model_kwargs={"time_budget_s": None})
        if keep:  # --keep-rule 'org:<the shape's label>', as the run lists it
            synth.rules_on = {("org", label) for label in self_reference_labels(meta.tables["org"])}
        return synth.fit({"org": real["org"]}, epochs=1, batch_size=100, seed=1)

    off = fit(keep=False)
    assert not any(f.hierarchy.enabled for f in off.plans["org"].foreign_keys if f.hierarchy is not None)
    report = off.privacy_report()
    assert report is not None and not any("shape of self-references" in line for line in report["not_covered"])
    kept = fit(keep=True)
    report = kept.privacy_report()
    assert report is not None
    assert any("shape of self-references" in line and "org.manager_id" in line for line in report["not_covered"])
    assert _shape(kept.sample(seed=2, evaluate=False)["org"]).levels == _shape(real["org"]).levels


# ---------------------------------------------------------------- distributed sampling (no Spark needed)
def test_partitions_share_a_one_root_tree_and_split_a_forest(real, tmp_path) -> None:
    fitted = _fit(real, "AR")
    sizes = {"org": 450, "forest": 354}
    plan = plan_partitions(fitted.plans, fitted.order, sizes, 2, 7, min_rows_per_partition=50)
    assert plan.partitioned == ("forest",)  # one CEO is drawn whole, once; a forest of 6 trees splits
    fitted.save(tmp_path / "m.shm")
    artifact = (tmp_path / "m.shm").read_bytes()
    parts = []
    for p in range(2):
        sink = MemorySink()
        sample_partition(artifact, p, sink, plan=plan)
        parts.append(sink.results)
    assert "org" not in parts[1] and _shape(parts[0]["org"]).roots == 1
    roots = 0
    for part in parts:  # each partition's rows form a forest of their own, no deeper than the real one
        got = _shape(part["forest"])
        _assert_forest(_parents(part["forest"]), part["forest"]["manager_id"].isna().to_numpy())
        assert part["forest"]["manager_id"].dropna().isin(part["forest"]["employee_id"]).all()
        assert got.depth <= 3
        roots += got.roots
    assert roots == 12

    plans = dict(fitted.plans)  # a one-root hierarchy whose rows follow a split parent cannot be split
    driving = replace(plans["forest"].foreign_keys[0], role="driving", parent="forest")
    plans["org"] = replace(plans["org"], foreign_keys=[plans["org"].foreign_keys[0], driving])
    with pytest.raises(ConfigError, match="one hierarchy of one root"):
        plan_partitions(plans, ["forest", "org"], {"forest": 354}, 2, 7, min_rows_per_partition=50)


def test_a_shape_switched_off_stays_off_after_save_and_load(real, tmp_path) -> None:
    meta = Metadata()
    meta.add_table("org", pk="employee_id", fk={"manager_id": "org.employee_id"})
    synth = Synthesizer(meta, backend="AR")
    synth.rules_off = {("org", "manager_id -> employee_id")}  # what --no-rule 'org:manager_id -> employee_id' sets
    synth.fit({"org": real["org"]}, epochs=2, batch_size=100, seed=1)
    synth.save(tmp_path / "off.shm")
    loaded = Synthesizer.load(tmp_path / "off.shm")
    assert loaded.plans["org"].foreign_keys[0].hierarchy.enabled is False
    out = loaded.sample(seed=2, evaluate=False)["org"]  # the popularity forest: a forest, but not the real shape
    _assert_forest(_parents(out), out["manager_id"].isna().to_numpy())
    assert _shape(out).depth > 4


def test_the_report_compares_the_hierarchy(real, tmp_path) -> None:
    synth = _fit(real, "AR")
    synth.sample(seed=4)  # measured: the report's relationships carry the hierarchy's shape
    html, js = synth.generate_validation_report(tmp_path / "r.html")
    saved = json.loads(js.read_text())
    notes = {r["child"]: r["note"] for r in saved["relationships"]}
    assert notes["org"] == ("hierarchy: 1 root(s) real, 1 synthetic; depth 4 real, 4 synthetic; children per node "
                            "KS 0.000")
    assert "hierarchy: 6 root(s) real, 6 synthetic" in notes["forest"]
    assert "hierarchy: 1 root(s) real" in html.read_text()


def test_a_top_row_holding_an_excepted_value_keeps_it(real) -> None:
    """`manager_id = 0` for the CEO, mapped to null by the project (`nullif(manager_id, 0)`): the synthetic CEO
    holds 0 too, and every other manager key exists."""
    frame = real["org"].copy()
    frame["manager_id"] = frame["manager_id"].fillna(0).astype("int64")
    meta = Metadata()
    meta.add_table("org", pk="employee_id")
    meta.tables["org"].fk.append(ForeignKey(columns=["manager_id"], parent="org", parent_columns=["employee_id"],
                                            except_values=[0]))
    out = Synthesizer(meta, backend="AR").fit({"org": frame}, epochs=2, batch_size=100, seed=1).sample(
        seed=2, evaluate=False)["org"]
    assert (out["manager_id"] == 0).sum() == 1 and out["manager_id"].notna().all()
    shape = shape_of(out, ["manager_id"], ["employee_id"])
    assert (shape.roots, shape.levels) == (1, [1, 6, 20, 64, 134])
    assert out.loc[out["manager_id"] != 0, "manager_id"].isin(out["employee_id"]).all()
