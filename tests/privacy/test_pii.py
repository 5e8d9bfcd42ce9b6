"""PII detection (by names and values) and replacement: no real value survives, fakes are consistent."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt.config import Metadata, PrivacyConfig
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.privacy import detect_pii, pii_columns, pii_kinds, replace_pii
from synthohive_dbt.privacy.vocabulary import first_names, luhn_valid

SECRET = "test-secret-of-sufficient-length"


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = 400
    first = rng.choice(["Michael", "Shawn", "Kathleen", "Jimmy", "Katherine", "Sarah", "Zoë", "José"], n)
    last = np.array([f"Surname{i}" for i in rng.integers(0, 150, n)], dtype=object)
    customers = pd.DataFrame({
        "id": np.arange(n),
        "firstName": first, "surname": last,
        "contact": [f"{f.lower()}.{i}@corp.test" for i, f in enumerate(first)],
        "tel": [f"+1 415-{rng.integers(200, 999)}-{i:04d}" for i in range(n)],
        "ip": [f"192.168.{i // 256}.{i % 256}" for i in range(n)],
        "card": ["4111111111111111", "5500000000000004", "378282246310005", "6011111111111117"] * (n // 4),
        "ssn": [f"{100 + i % 800:03d}-{10 + i % 80:02d}-{1000 + i:04d}" for i in range(n)],
        "home": [f"{i + 1} Oak Street" for i in range(n)],
        "status": rng.choice(["active", "churned", "trial"], n),
        "amount": rng.gamma(2, 10, n),
    })
    customers.loc[5, "contact"] = None
    orders = pd.DataFrame({"order_id": np.arange(600), "buyer_email": customers["contact"].iloc[
        rng.integers(0, n, 600)].to_numpy(), "note": "ok"})
    return {"customers": customers, "orders": orders}


def test_detection_by_names_and_values(frames) -> None:
    found = {(f.table, f.column): f for f in detect_pii(frames)}
    kinds = {k: f.kind for k, f in found.items()}
    assert kinds == {
        ("customers", "firstName"): "first_name", ("customers", "surname"): "last_name",
        ("customers", "contact"): "email", ("customers", "tel"): "phone", ("customers", "ip"): "ip_address",
        ("customers", "card"): "credit_card", ("customers", "ssn"): "ssn", ("customers", "home"): "address",
        ("orders", "buyer_email"): "email",
    }
    contact = found[("customers", "contact")]
    assert contact.source == "values" and contact.confidence == 1.0
    assert "100% of 399 sampled distinct values look like email" in contact.reason
    assert found[("customers", "tel")].source == "name+values"
    assert found[("customers", "surname")].reason.startswith("column name 'surname' matches the last_name")


def test_declared_pii_and_detection_switch(frames) -> None:
    md = Metadata()
    md.add_table("orders", pk="order_id", pii_columns=["note"])
    only_declared = detect_pii(frames, md, PrivacyConfig(detect_pii=False))
    assert [(f.table, f.column, f.confidence, f.source) for f in only_declared] == [
        ("orders", "note", 1.0, "declared")]
    named = detect_pii({"p": pd.DataFrame({"name": ["Widget", "Gadget", "Gizmo"],
                                           "product_name": ["a", "b", "c"]})})
    assert named == []  # a bare "name" of products is not people: the values decide (privacy.names)


def test_luhn() -> None:
    assert luhn_valid(pd.Series(["4111 1111 1111 1111", "4111111111111112", "79927398713", "378282246310005"],
                                dtype="string")).tolist() == [True, False, False, True]


@pytest.mark.parametrize("strategy", ["mask", "faker", "context_aware_faker"])
def test_no_real_pii_value_survives(frames, strategy) -> None:
    findings = detect_pii(frames)
    cols = pii_columns(findings)
    out = replace_pii(frames, cols, PrivacyConfig(pii_strategy=strategy, secret=SECRET), kinds=pii_kinds(findings))
    everything = pd.concat([f.astype("string").stack() for f in out.values()]).astype(str)
    everything_set = set(everything)
    for table, columns in cols.items():
        for col in columns:
            real_values = set(frames[table][col].dropna().astype(str))
            assert not real_values & everything_set, f"{strategy}: {table}.{col} leaked"
    # untouched: non-PII columns, row counts, nulls, and the input frames
    pd.testing.assert_series_equal(out["customers"]["amount"], frames["customers"]["amount"])
    assert out["customers"]["contact"].isna().tolist() == frames["customers"]["contact"].isna().tolist()
    assert frames["customers"]["contact"].iloc[0].endswith("@corp.test")
    # identifiers stay distinct, so dbt unique tests keep passing
    for col in ("contact", "tel", "ssn", "ip"):
        assert out["customers"][col].dropna().is_unique, col


def test_fakes_look_like_their_kind(frames) -> None:
    findings = detect_pii(frames)
    out = replace_pii(frames, pii_columns(findings), PrivacyConfig(pii_strategy="faker", secret=SECRET),
                      kinds=pii_kinds(findings))["customers"]
    assert out["contact"].dropna().str.fullmatch(r"[a-z]+\.[a-z]+\d{1,2}@example\.(com|org|net)").all()
    assert out["tel"].str.fullmatch(r"\+1-\d{3}-555-\d{4}").all()
    assert out["ssn"].str.fullmatch(r"9\d\d-\d\d-\d{4}").all()
    assert out["ip"].str.startswith("10.").all()
    assert luhn_valid(out["card"].astype("string")).all()
    assert out["firstName"].isin(first_names()).all()


def test_consistent_across_tables_and_runs_keyed_by_the_secret(frames) -> None:
    cols = {"customers": ["contact"], "orders": ["buyer_email"]}
    cfg = PrivacyConfig(pii_strategy="faker", secret=SECRET)
    a = replace_pii(frames, cols, cfg)
    b = replace_pii(frames, cols, cfg)
    pd.testing.assert_frame_equal(a["orders"], b["orders"])
    mapping = dict(zip(frames["customers"]["contact"], a["customers"]["contact"]))
    expected = frames["orders"]["buyer_email"].map(mapping)
    assert a["orders"]["buyer_email"].tolist() == expected.tolist()
    other = replace_pii(frames, cols, PrivacyConfig(pii_strategy="faker", secret=SECRET + "-rotated"))
    assert (other["orders"]["buyer_email"] != a["orders"]["buyer_email"]).mean() > 0.95
    # keyed: not derivable from an unkeyed SHA-256 of the value
    value = frames["customers"]["contact"].iloc[0]
    assert hashlib.sha256(value.encode()).hexdigest()[:12] not in str(replace_pii(
        frames, cols, PrivacyConfig(pii_strategy="mask", secret=SECRET))["customers"]["contact"].iloc[0])


def test_context_aware_email_fits_the_fake_names(frames) -> None:
    cols = {"customers": ["firstName", "surname", "contact"], "orders": ["buyer_email"]}
    kinds = {"customers": {"firstName": "first_name", "surname": "last_name", "contact": "email"}}
    out = replace_pii(frames, cols, PrivacyConfig(pii_strategy="context_aware_faker", secret=SECRET), kinds=kinds)
    c = out["customers"].dropna(subset=["contact"])
    local = c["contact"].str.split("@").str[0]
    expected_prefix = (c["firstName"].str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
                       .str.lower() + "." + c["surname"].str.lower())
    assert (local.str.replace(r"\d+$", "", regex=True) == expected_prefix).all()
    # the same person in another table gets the same email
    mapping = dict(zip(frames["customers"]["contact"], out["customers"]["contact"]))
    assert out["orders"]["buyer_email"].tolist() == frames["orders"]["buyer_email"].map(mapping).tolist()


def test_exhausted_name_pool_falls_back_without_leaking() -> None:
    pool = list(first_names())
    frame = pd.DataFrame({"first_name": pool + ["Alexandra", "Bob"]})
    out = replace_pii({"t": frame}, {"t": ["first_name"]}, PrivacyConfig(pii_strategy="faker", secret=SECRET))
    assert not set(out["t"]["first_name"]) & set(frame["first_name"])
    assert out["t"]["first_name"].str.fullmatch(r"[A-Z][a-z]+").all()


def test_replace_errors_are_clear(frames) -> None:
    with pytest.raises(ConfigError, match=r"table 'customers': PII column\(s\) \['mail'\] do not exist"):
        replace_pii(frames, {"customers": ["mail"]}, PrivacyConfig(secret=SECRET))
    with pytest.raises(ConfigError, match=r"table 'people', which is not among the frames"):
        replace_pii(frames, {"people": ["x"]}, PrivacyConfig(secret=SECRET))
    with pytest.raises(ConfigError, match="shorter than 16 characters"):
        replace_pii(frames, {"customers": ["contact"]}, PrivacyConfig(secret="short"))
    with pytest.raises(ConfigError, match=r"unknown PII kind 'shoe_size'"):
        replace_pii(frames, {"customers": ["contact"]}, PrivacyConfig(secret=SECRET),
                    kinds={"customers": {"contact": "shoe_size"}})


def test_hundred_thousand_distinct_emails_are_fast() -> None:
    import time

    frame = pd.DataFrame({"email": [f"person{i}@corp.test" for i in range(100_000)]})
    start = time.perf_counter()
    out = replace_pii({"t": frame}, {"t": ["email"]}, PrivacyConfig(pii_strategy="faker", secret=SECRET))
    elapsed = time.perf_counter() - start
    assert out["t"]["email"].is_unique
    assert elapsed < 20, f"{elapsed:.1f}s"  # ~2-3 s on an idle 2-core machine


def test_forbidden_values_are_avoided_too() -> None:
    """Real values of tables not passed in (here: every pool first name but two) are never a fake."""
    pool = list(first_names())
    frame = pd.DataFrame({"first_name": ["Zed", "Quinn", "Ada"] * 50})
    out = replace_pii({"t": frame}, {"t": ["first_name"]}, PrivacyConfig(pii_strategy="faker", secret=SECRET),
                      forbidden=pd.Index(pool[2:]))
    assert not set(out["t"]["first_name"]) & set(pool[2:])


def test_fresh_fakes_for_synthetic_rows() -> None:
    from synthohive_dbt.privacy.fakes import token_words
    from synthohive_dbt.privacy.replace import fresh_fakes

    n = 5000
    rows = pd.Series(np.arange(n)).astype(str)
    tokens = pd.DataFrame({c: f"t\x1f{c}\x1f" + rows for c in ("fn", "ln", "mail", "tel")})
    kinds = {"fn": "first_name", "ln": "last_name", "mail": "email", "tel": "phone"}
    real_phones = pd.Index([f"+1-{a}-555-{b:04d}" for a in range(200, 1000) for b in range(0, 10_000, 97)])
    out = fresh_fakes(tokens, kinds, "context_aware_faker", b"k" * 32, forbidden=real_phones)
    again = fresh_fakes(tokens, kinds, "context_aware_faker", b"k" * 32, forbidden=real_phones)
    pd.testing.assert_frame_equal(out, again)  # reproducible from the key
    other = fresh_fakes(tokens, kinds, "context_aware_faker", b"q" * 32)
    assert (other["mail"] != out["mail"]).mean() > 0.99
    local = out["mail"].str.split("@").str[0].str.replace(r"\d+$", "", regex=True)
    assert (local == out["fn"].map(_ascii) + "." + out["ln"].map(_ascii)).all()  # fits the row's name
    assert out["mail"].is_unique and out["tel"].is_unique  # identifier kinds stay distinct
    assert not out["tel"].isin(real_phones).any()  # ~8 % of the phone space was forbidden
    words = token_words(tokens["fn"].to_numpy(), b"k" * 32)
    assert words.shape == (n, 4) and words.dtype == np.uint64 and len(np.unique(words[:, 0])) == n
    assert abs((words[:, 2] % np.uint64(2)).mean() - 0.5) < 0.03  # the spread words are balanced bits


def _ascii(name: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
                   if c.isalpha())
