"""PII inside the Synthesizer: declared (dbt), configured and detected columns, and a child's denormalised copy
of its parent's email, never reach a model, a parent context, the saved artifact or the sampled output.

The real names are drawn from the same name pools the fakes come from, so a fake equal to a real value would
happen by chance here (about one per sample) unless the synthesizer avoids real values on purpose."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt import Synthesizer
from synthohive_dbt.config import Constraint, Metadata, PrivacyConfig
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.privacy.vocabulary import first_names, last_names
from synthohive_dbt.relational.pii import find_pii, kinds_from_findings
from tests.helpers.tiny_shop import EPOCHS, TINY

SECRET = "hmac-secret-that-must-never-be-saved"


def people(n: int = 240, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    firsts = [x for x in first_names() if len(x) >= 6]
    lasts = [x for x in last_names() if len(x) >= 6]
    first = rng.choice(rng.choice(firsts, 60, replace=False), n)
    last = rng.choice(rng.choice(lasts, 60, replace=False), n)
    ids = np.arange(1, n + 1)
    email = [f"{f.lower()}.{s.lower()}{i}@acme-mail.net" for f, s, i in zip(first, last, ids)]
    customers = pd.DataFrame({
        "customer_id": ids, "first_name": first, "last_name": last, "email": email,
        "phone": [f"(415) {rng.integers(200, 999)}-{i:04d}" for i in ids],
        "birth_date": pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 18_000, n), unit="D"),
        "segment": rng.choice(["retail", "business", "vip"], n, p=[0.6, 0.3, 0.1]),
        "age": rng.integers(18, 90, n),
    })
    per = rng.integers(0, 4, n)
    cust = np.repeat(ids, per)
    orders = pd.DataFrame({
        "order_id": np.arange(1, len(cust) + 1), "customer_id": cust,
        "customer_email": customers.set_index("customer_id").loc[cust, "email"].to_numpy(),  # denormalised
        "amount": rng.gamma(2, 30, len(cust)).round(2),
        "status": rng.choice(["placed", "shipped"], len(cust)),
    })
    return {"customers": customers, "orders": orders}


def people_metadata() -> Metadata:
    meta = Metadata()
    meta.add_table("customers", pk="customer_id", pii_columns=["email"],  # as dbt `meta: {pii: true}` gives it
                   constraints={"email": Constraint(unique=True), "age": Constraint(min=18, max=90)})
    meta.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"},
                   constraints={"amount": Constraint(min=0)})
    return meta


PRIVACY = PrivacyConfig(pii_columns={"customers": ["phone"]}, secret=SECRET)
PII = {"customers": ["first_name", "last_name", "email", "phone", "birth_date"], "orders": ["customer_email"]}


def _real_values(data: dict[str, pd.DataFrame]) -> set[str]:
    out: set[str] = set()
    for table, cols in PII.items():
        for col in cols:
            s = data[table][col]
            out |= set(s.dt.strftime("%Y-%m-%d") if col == "birth_date" else s.astype(str))
    return out


def _cells(frames: dict[str, pd.DataFrame]) -> set[str]:
    cells: set[str] = set()
    for f in frames.values():
        for col in f.columns:
            s = f[col].dropna()
            cells |= set(s.dt.strftime("%Y-%m-%d") if pd.api.types.is_datetime64_any_dtype(s) else s.astype(str))
    return cells


@pytest.fixture(scope="module")
def fitted() -> tuple[dict[str, pd.DataFrame], Synthesizer]:
    data = people()
    synth = Synthesizer(people_metadata(), PRIVACY, model_kwargs=TINY)
    return data, synth.fit(data, epochs=EPOCHS, batch_size=100, seed=3)


def test_pii_sources_are_all_found_and_kept_out_of_the_models(fitted) -> None:
    _, synth = fitted
    found = {(f.table, f.column): (f.kind, f.source) for f in synth.pii_findings}
    assert found[("customers", "email")] == ("email", "declared")
    assert found[("customers", "phone")] == ("phone", "declared")
    assert found[("customers", "first_name")][0] == "first_name" and found[("customers", "first_name")][1] != "declared"
    assert found[("customers", "last_name")][0] == "last_name"
    assert found[("customers", "birth_date")][0] == "date_of_birth"
    assert found[("orders", "customer_email")] == ("email", "copy")
    copy = next(f for f in synth.pii_findings if f.column == "customer_email")
    assert "equals customers.email through foreign key (customer_id) -> customers(customer_id) on 100%" in copy.reason
    assert synth.pii_columns == {t: sorted(c) for t, c in PII.items()}
    assert synth.plans["customers"].model_columns == ["segment", "age"]
    assert synth.plans["orders"].model_columns == ["amount", "status"]
    # the child model's context is the parent's safe columns only
    assert synth.plans["orders"].context is not None
    assert set(synth.plans["orders"].context.parent_columns) == {"segment", "age"}


def test_no_real_pii_in_the_artifact_or_in_any_sample(fitted, tmp_path: Path) -> None:
    data, synth = fitted
    real = _real_values(data)
    assert len(real) > 700
    path = tmp_path / "model.shm"
    synth.save(path)
    raw = path.read_bytes()
    escaped = {v: json.dumps(v)[1:-1].encode() for v in real}  # how a value would sit inside the JSON header
    found = [v for v in real if v.encode() in raw or escaped[v] in raw]
    assert found == [], f"real PII in the artifact: {found[:5]}"
    assert SECRET.encode() not in raw and b"secret" not in raw
    # fitted synthesizer, several seeds and a scale: no output cell equals a real PII value
    for seed in (1, 2):
        out = synth.sample(scale=1.5, seed=seed, evaluate=False)
        assert not real & _cells(out)
    # loaded from the file: no real values in memory, so they are given for the no-collision check
    loaded = Synthesizer.load(path)
    out = loaded.sample(seed=1, real=data, evaluate=False)
    assert not real & _cells(out)
    # ... and even without them, identifiers (emails, phones) are of reserved shapes no real value has
    out = loaded.sample(seed=4, evaluate=False)
    assert out["customers"]["email"].str.fullmatch(r"[a-z]+\.[a-z]+\d{1,2}@example\.(com|org|net)").all()
    # phones keep the real format "(415) 123-4567", with the exchange 555 that is kept for fiction
    assert out["customers"]["phone"].str.fullmatch(r"\(\d{3}\) 555-\d{4}").all()
    assert loaded.pii_findings == synth.pii_findings


def test_fakes_agree_within_a_row_and_across_tables(fitted) -> None:
    _, synth = fitted
    out = synth.sample(scale=2.0, seed=5, chunk_rows=97, evaluate=False)  # many chunks: unique across them
    customers, orders = out["customers"], out["orders"]
    local = customers["email"].str.split("@").str[0].str.replace(r"\d+$", "", regex=True)
    expected = (customers["first_name"].str.lower().str.replace(r"[^a-z]", "", regex=True) + "."
                + customers["last_name"].str.lower().str.replace(r"[^a-z]", "", regex=True))
    assert (local == expected).all()
    assert customers["email"].is_unique  # the dbt unique test on email keeps passing
    joined = orders.merge(customers[["customer_id", "email"]], on="customer_id", how="left")
    assert len(joined) == len(orders) and (joined["customer_email"] == joined["email"]).all()
    dob = customers["birth_date"]
    assert pd.api.types.is_datetime64_any_dtype(dob) and dob.dt.year.between(1950, 1999).all()
    # reproducible from the seed alone (the random secret of an unset PrivacyConfig.secret plays no part)
    again = synth.sample(scale=2.0, seed=5, chunk_rows=97, evaluate=False)
    pd.testing.assert_frame_equal(again["customers"], customers)


def test_context_builder_excludes_parent_pii() -> None:
    rng = np.random.default_rng(1)
    n = 120
    parents = pd.DataFrame({"id": np.arange(n), "zip_code": rng.choice([10115, 20095, 80331], n),
                            "religion": rng.choice(["a", "b", "c"], n), "tier": rng.choice(["x", "y"], n),
                            "score": rng.normal(size=n)})
    kids = pd.DataFrame({"kid_id": np.arange(3 * n), "parent_id": np.repeat(np.arange(n), 3),
                         "value": rng.normal(size=3 * n)})
    meta = Metadata()
    meta.add_table("parents", pk="id", pii_columns=["religion"])  # declared; zip_code is detected by name
    meta.add_table("kids", pk="kid_id", fk={"parent_id": "parents.id"})
    data = {"parents": parents, "kids": kids}
    findings = find_pii(data, meta, PrivacyConfig())
    assert kinds_from_findings(findings)["parents"] == {"religion": "text", "zip_code": "postal_code"}
    synth = Synthesizer(meta, model_kwargs=TINY).fit(data, epochs=1, batch_size=60, seed=1)
    # without the PII rule, zip_code (numeric) and religion (3 labels) would be default context columns
    assert synth.plans["kids"].context.parent_columns == ["tier", "score"]
    meta.tables["kids"].parent_context_cols = ["tier", "religion"]
    with pytest.raises(ConfigError, match=r"table 'kids': parent_context_cols \['religion'\] are PII columns of "
                                          r"parent 'parents'.*\n  fix: remove them from parent_context_cols"):
        Synthesizer(meta, model_kwargs=TINY).fit(data, epochs=1, batch_size=60, seed=1)


def test_detection_switch_and_bad_pii_names() -> None:
    data = people(40)
    meta = people_metadata()
    only_declared = find_pii(data, meta, PrivacyConfig(detect_pii=False, pii_columns={"customers": ["phone"]}))
    assert sorted(f.column for f in only_declared) == ["email", "phone"]
    with pytest.raises(ConfigError, match=r"PrivacyConfig.pii_columns: table 'customers' has no column\(s\) "
                                          r"\['mobile'\].*\n  fix: fix the column names"):
        find_pii(data, meta, PrivacyConfig(pii_columns={"customers": ["mobile"]}))
    with pytest.raises(ConfigError, match=r"names table 'clients', which is not in the metadata"):
        find_pii(data, meta, PrivacyConfig(pii_columns={"clients": ["email"]}))
    # a typo in the override must not silently keep a column flagged
    with pytest.raises(ConfigError, match=r"PrivacyConfig.not_pii: table 'customers' has no column\(s\) \['emial'\]"):
        find_pii(data, meta, PrivacyConfig(not_pii={"customers": ["emial"]}))


def test_copied_lookup_table_stores_fakes_not_its_real_pii(tmp_path: Path) -> None:
    reps = pd.DataFrame({"rep_id": [1, 2, 3], "rep_email": ["ann.reed@corp-x.org", "bo.li@corp-x.org",
                                                            "cy.moss@corp-x.org"], "region": ["n", "s", "e"]})
    deals = pd.DataFrame({"deal_id": np.arange(60), "rep_id": np.tile([1, 2, 3], 20),
                          "size": np.random.default_rng(0).gamma(2, 5, 60)})
    meta = Metadata()
    meta.add_table("reps", pk="rep_id", copy_as_is=True)
    meta.add_table("deals", pk="deal_id", fk={"rep_id": "reps.rep_id"})
    synth = Synthesizer(meta, model_kwargs=TINY).fit({"reps": reps, "deals": deals}, epochs=1, batch_size=30)
    synth.save(tmp_path / "m.shm")
    raw = (tmp_path / "m.shm").read_bytes()
    assert not [e for e in reps["rep_email"] if e.encode() in raw]
    out = synth.sample(evaluate=False)
    assert out["reps"]["region"].tolist() == ["n", "s", "e"]  # the rest of the lookup is copied
    assert not set(out["reps"]["rep_email"]) & set(reps["rep_email"])
    assert out["reps"]["rep_email"].str.endswith(("@example.com", "@example.org", "@example.net")).all()
