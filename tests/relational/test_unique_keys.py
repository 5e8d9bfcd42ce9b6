"""Keys nobody declared: raw tables with only not_null tests still get their ids generated as keys, and the
children that hold those ids are linked (by name, or by value for UUIDs) or reported, never left holding
real ids that match no synthetic parent."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from synthohive_dbt.config import Metadata
from synthohive_dbt.relational.infer import infer_keys
from tests.helpers.tiny_shop import fit


def _uuids(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)]


def _raw() -> tuple[dict[str, pd.DataFrame], Metadata]:
    rng = np.random.default_rng(0)
    repos = pd.DataFrame({"id": np.arange(101, 141), "name": [f"{a}-{b}" for a in ("dbt", "core", "utils", "audit", "shop")
                                                            for b in ("api", "web", "cli", "docs", "lib", "sdk", "ui", "db")],
                          "stars": rng.integers(0, 500, 40)})
    users = pd.DataFrame({"user_uuid": _uuids(30, 1), "age": rng.integers(18, 70, 30)})
    issues = pd.DataFrame({"id": np.arange(1, 201), "repo_id": rng.choice(repos["id"], 200),
                           "author": rng.choice(users["user_uuid"], 200),
                           "amount": rng.permutation(np.arange(5000, 5200)),  # unique, but not an identifier
                           "owner_ref": rng.choice(repos["id"], 200)})  # holds repo ids; its name says nothing
    meta = Metadata()
    for name in ("repos", "users", "issues"):
        meta.add_table(name)  # no key declared anywhere: only the data can tell
    for t in meta.tables.values():
        t.resource_type = "source"
    return {"repos": repos, "users": users, "issues": issues}, meta


def test_unique_identifier_columns_become_keys_and_their_children_are_linked() -> None:
    frames, meta = _raw()
    found = infer_keys(frames, meta)
    assert sorted(k.label for k in found.keys) == ["issues.id", "repos.id", "users.user_uuid"]
    assert "issues.amount" not in {k.label for k in found.keys}
    assert sorted(f.label for f in found.inferred) == ["issues.author -> users.user_uuid",
                                                       "issues.repo_id -> repos.id"]
    by_value = next(f for f in found.inferred if f.column == "author")
    assert "UUID" in by_value.evidence


def test_a_reference_named_column_left_unlinked_is_reported_before_training() -> None:
    frames, meta = _raw()
    frames["issues"] = frames["issues"].rename(columns={"owner_ref": "owner_id"})
    found = infer_keys(frames, meta)
    assert [r.message().split(":")[0] for r in found.undeclared] == ["issues.owner_id"]
    assert "declare a relationships test" in found.undeclared[0].message()


def test_raw_data_never_references_a_model() -> None:
    frames, meta = _raw()
    meta.tables["repos"].resource_type = "model"
    found = infer_keys(frames, meta)
    assert "issues.repo_id -> repos.id" not in {f.label for f in found.inferred}
    assert any("raw data references only raw data" in s.message() for s in found.skipped)


def test_synthetic_children_join_their_synthetic_parents_and_no_real_id_is_published() -> None:
    frames, meta = _raw()
    found = infer_keys(frames, meta)
    synth = fit(found.apply(meta), frames)
    out = synth.sample(evaluate=False)
    issues, repos, users = out["issues"], out["repos"], out["users"]
    assert issues["repo_id"].isin(repos["id"]).all() and issues["author"].isin(users["user_uuid"]).all()
    assert issues["id"].is_unique and repos["id"].is_unique and users["user_uuid"].is_unique
    assert not set(users["user_uuid"]) & set(frames["users"]["user_uuid"])  # UUIDs: none of the real ones
    assert not set(issues["author"]) & set(frames["users"]["user_uuid"])


def test_placeholders_beside_uuid_references_are_kept_and_the_references_remapped() -> None:
    """`patient_ref` holds a patient's UUID or '0' (no patient): '0' is not in the key's format, so it is a
    placeholder, excepted from the foreign key; the UUIDs are remapped to generated patients, none published."""
    rng = np.random.default_rng(2)
    patients = pd.DataFrame({"PATIENT": _uuids(40, 3), "age": rng.integers(1, 90, 40)})
    refs = rng.choice(patients["PATIENT"], 300).astype(object)
    refs[rng.random(300) < 0.3] = "0"
    frames = {"patients": patients, "visits": pd.DataFrame({"visit_id": np.arange(300), "patient_ref": refs})}
    meta = Metadata()
    for name in frames:
        meta.add_table(name)
    found = infer_keys(frames, meta)
    [fk] = found.inferred
    assert (fk.label, fk.except_values, fk.child_rows) == ("visits.patient_ref -> patients.PATIENT", ("0",),
                                                           int((refs != "0").sum()))
    assert "besides '0', not in the key's format" in fk.message()
    out = fit(found.apply(meta), frames).sample(evaluate=False)
    ref = out["visits"]["patient_ref"]
    assert 0.15 < float((ref == "0").mean()) < 0.45  # the placeholder at about its real share
    assert ref[ref != "0"].isin(out["patients"]["PATIENT"]).all()
    assert not set(ref) & set(patients["PATIENT"])

    # a value in the key's format that no patient has is a dangling reference: no key, as before
    frames["visits"].loc[0, "patient_ref"] = _uuids(1, 9)[0]
    assert infer_keys(frames, meta).inferred == []
    # nor are many values outside the format placeholders
    frames["visits"]["patient_ref"] = [*refs[:-5], "a", "b", "c", "d", "e"]
    assert infer_keys(frames, meta).inferred == []
