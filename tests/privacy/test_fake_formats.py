"""Fakes keep the real column's format, and nothing real (values, hashes) reaches the output or the artifact."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthohive_dbt import Constraint, Metadata, PrivacyConfig
from synthohive_dbt.privacy.shapes import in_format, learn_format
from synthohive_dbt import Synthesizer
from tests.relational.conftest import EPOCHS, TINY

N = 60


def _tokens(n: int) -> np.ndarray:
    return pd.Series([f"t\x1fc\x1f{i}" for i in range(n)]).to_numpy(dtype=object)


@pytest.mark.parametrize("kind,values,pattern", [
    ("phone", [f"{4160000000 + 7919 * i:010d}" for i in range(N)], r"\d{3}555\d{4}"),
    ("phone", [f"({200 + i}) {300 + i}-{i:04d}" for i in range(N)], r"\(\d{3}\) 555-\d{4}"),
    ("secret", [hashlib.sha256(str(i).encode()).hexdigest() for i in range(N)], r"[0-9a-f]{64}"),
    ("identity_document", [f"S{i:03d}-{i * 7 % 10000:04d}-{i * 13 % 10000:04d}" for i in range(N)],
     r"[A-Z]\d{3}-\d{4}-\d{4}"),
    ("first_name", ["Anna123", "Bob45", "Carol9", "David77"] * 15, r"[A-Z][a-z]+\d{2}"),
    ("person_name", ["veronica parrish", "anna-maria o'neil", "john smith"] * 20, r"[a-z' -]+"),
])
def test_fakes_keep_the_format(kind: str, values: list[str], pattern: str) -> None:
    fmt = learn_format(pd.Series(values), kind)
    assert fmt is not None
    stand_in = pd.Series(["Zed Quinn" if kind == "person_name" else "Zed"] * 200)
    out = in_format(fmt, kind, stand_in, _tokens(200), b"k" * 32, pd.Index(values), unique=kind != "first_name")
    assert out.str.fullmatch(pattern).all(), out.head().tolist()
    assert not out.isin(values).any()


def test_a_format_holds_no_value() -> None:
    values = pd.Series([hashlib.md5(str(i).encode()).hexdigest() for i in range(N)])
    text = str(learn_format(values, "secret").to_dict())  # type: ignore[union-attr]
    assert not any(v[:6] in text for v in values)
    assert learn_format(pd.Series(["Anna", "Bob"]), "first_name").templates == []  # names: case style only


def _frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(1)
    ids = np.arange(N)
    return {
        "users": pd.DataFrame({
            "user_id": ids,
            "phone": [f"{4160000000 + 7919 * i:010d}" for i in ids],
            "password": [hashlib.sha256(f"pw{i}".encode()).hexdigest() for i in ids],
            "tier": rng.choice(["gold", "silver"], N),
            "score": rng.normal(50, 10, N).round(2),
        }),
        "genres": pd.DataFrame({"genre_id": np.arange(25), "name": [
            "Rock", "Jazz", "Metal", "Alternative & Punk", "Rock And Roll", "Blues", "Latin", "Reggae", "Pop",
            "Soundtrack", "Bossa Nova", "Easy Listening", "Heavy Metal", "R&B/Soul", "Electronica/Dance", "World",
            "Hip Hop/Rap", "Science Fiction", "TV Shows", "Sci Fi & Fantasy", "Drama", "Comedy", "Alternative",
            "Classical", "Opera"]}),
        "countries": pd.DataFrame({"code": ["DE", "FR", "JO", "TD", "ES", "IT", "JP", "PE"],
                                   "name": ["Germany", "France", "Jordan", "Chad", "Spain", "Italy", "Japan", "Peru"]}),
    }


def _metadata() -> Metadata:
    md = Metadata()
    md.add_table("users", pk="user_id", pii_columns=["tier"],
                 constraints={"tier": Constraint(accepted_values=["gold", "silver", "bronze"])})
    md.add_table("genres", pk="genre_id")
    md.add_table("countries", pk="code", copy_as_is=True)
    return md


@pytest.fixture(scope="module")
def fitted() -> Synthesizer:
    synth = Synthesizer(_metadata(), PrivacyConfig(secret="s" * 32), model_kwargs=TINY)
    return synth.fit(_frames(), epochs=EPOCHS, batch_size=30, seed=2)


def test_synthesizer_fakes_in_format_and_leaks_nothing(fitted: Synthesizer, tmp_path: Path) -> None:
    real = _frames()
    out = fitted.sample(seed=5, evaluate=False)
    assert isinstance(out, dict)
    users = out["users"]
    assert users["phone"].str.fullmatch(r"\d{10}").all()  # the project's `phone::bigint` keeps working
    assert users["password"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert not users["password"].isin(real["users"]["password"]).any()  # never a real hash
    assert not users["phone"].isin(real["users"]["phone"]).any()
    # declared PII with accepted_values: drawn from the declared values, bronze included
    assert set(users["tier"]) <= {"gold", "silver", "bronze"}
    # a name column of genres is not people: never person fakes (25 distinct labels nobody declared
    # categorical are free text: generated in their format, not copied)
    assert ("genres", "name") not in {(f.table, f.column) for f in fitted.pii_findings}
    assert "name" in fitted.plans["genres"].text_formats
    assert not set(out["genres"]["name"]) & set(real["genres"]["name"])
    # a table kept real is copied as it is
    pd.testing.assert_frame_equal(out["countries"].reset_index(drop=True), real["countries"], check_dtype=False)
    found = {(f.table, f.column): (f.kind, f.source) for f in fitted.pii_findings}
    assert found[("users", "password")] == ("secret", "name")
    assert found[("users", "tier")] == ("text", "declared")
    assert ("genres", "name") not in found
    path = tmp_path / "model.shm"
    fitted.save(path)
    raw = path.read_bytes()
    for value in [*real["users"]["password"], *real["users"]["phone"]]:
        assert value.encode() not in raw
