"""A foreign key with excepted values (`ForeignKey.except_values`, carried back from `nullif(x, '0')` before a
model's relationships test): rows holding '0' keep '0' at its real share, every other value is a generated
parent key, so the model's test finds no orphan."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthohive_dbt.config import ForeignKey, Metadata
from synthohive_dbt.relational.synthesizer import Synthesizer
from synthohive_dbt.report.relationships import orphans
from tests.helpers.tiny_shop import fit


def _data(n_patients: int = 60, n_visits: int = 400) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(4)
    ids = [f"P{i:04d}" for i in range(n_patients)]
    ref = rng.choice(ids, n_visits).astype(object)
    ref[rng.random(n_visits) < 0.25] = "0"  # "no patient": the staging model nulls it
    ref[rng.random(n_visits) < 0.05] = None
    return {"patients": pd.DataFrame({"id": ids, "age": rng.integers(1, 90, n_patients)}),
            "visits": pd.DataFrame({"visit_id": np.arange(n_visits), "patient_ref": ref,
                                    "kind": rng.choice(["new", "follow_up"], n_visits)})}


def _metadata(except_values: list[object]) -> Metadata:
    meta = Metadata()
    meta.add_table("patients", pk="id")
    meta.add_table("visits", pk="visit_id")
    meta.tables["visits"].fk.append(ForeignKey(columns=["patient_ref"], parent="patients", parent_columns=["id"],
                                               except_values=except_values))
    return meta


def test_excepted_values_stay_at_their_share_and_the_rest_references_generated_parents(tmp_path) -> None:
    data = _data()
    meta = _metadata(["0"])
    synth = fit(meta, data)
    out = synth.sample(seed=5)
    visits, patients = out["visits"], out["patients"]
    ref = visits["patient_ref"]
    real_share = float((data["visits"]["patient_ref"] == "0").mean())
    assert abs(float((ref == "0").mean()) - real_share) < 0.08
    linked = ref.notna() & (ref != "0")
    assert linked.any() and ref[linked].isin(patients["id"]).all()
    [fk] = meta.tables["visits"].fk
    assert orphans(visits, patients, fk) == (0, int(linked.sum()))
    # the plan (saved with the model) keeps the excepted value and its share
    path = tmp_path / "model.shm"
    synth.save(path)
    again = Synthesizer.load(path).sample(seed=5)
    pd.testing.assert_frame_equal(again["visits"], visits)


def test_without_the_exception_the_value_is_remapped_to_a_parent() -> None:
    data = _data()
    out = fit(_metadata([]), data).sample(seed=5)
    assert not (out["visits"]["patient_ref"] == "0").any()
