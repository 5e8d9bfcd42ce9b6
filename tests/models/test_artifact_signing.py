"""Signing: with SYNTHOHIVE_SIGNING_KEY set, an artifact someone edited (and re-checksummed) is refused.

The edit below is what an attacker who knows the format does: change the JSON state, recompute the
SHA-256 exactly as models/artifact.py documents it, write the file back. The unsigned check cannot tell;
the HMAC signature can.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from synthohive_dbt.errors import ArtifactError, ArtifactSignatureError, ConfigError, SynthohiveError
from synthohive_dbt.models import load_model
from synthohive_dbt.models.artifact import SIGNING_KEY_ENV
from synthohive_dbt.relational.synthesizer import Synthesizer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "artifacts"
KEY = "0123456789abcdef-test-signing-key"


@pytest.fixture(scope="module")
def fitted() -> Synthesizer:
    return Synthesizer.load(FIXTURES / "synthesizer_v2.shm")


def _header(path: Path) -> dict:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n])


def _edit_and_rechecksum(src: Path, dst: Path, *, keep_signature: bool = True) -> None:
    """Change the saved seed, then recompute the SHA-256 over (tensor index, state, tensor bytes)."""
    raw = src.read_bytes()
    meta = _header(src)["__metadata__"]
    state = json.loads(meta["state"])
    state["seed"] += 1
    meta["state"] = json.dumps(state, sort_keys=True, separators=(",", ":"))
    if not keep_signature:
        meta.pop("signature", None)
    tensors = load_tensors(raw)
    out = save_tensors(tensors, metadata={**meta, "sha256": ""})
    (n,) = struct.unpack("<Q", out[:8])
    index = {k: v for k, v in json.loads(out[8:8 + n]).items() if k != "__metadata__"}
    h = hashlib.sha256(json.dumps(index, sort_keys=True).encode())
    h.update(meta["state"].encode())
    h.update(out[8 + n:])
    dst.write_bytes(save_tensors(tensors, metadata={**meta, "sha256": h.hexdigest()}))


def test_without_a_key_the_checksum_catches_damage_but_not_a_rechecksummed_edit(fitted, tmp_path,
                                                                                monkeypatch) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    fitted.save(tmp_path / "m.shm")
    assert "signature" not in _header(tmp_path / "m.shm")["__metadata__"]
    _edit_and_rechecksum(tmp_path / "m.shm", tmp_path / "edited.shm")
    assert Synthesizer.load(tmp_path / "edited.shm").seed == fitted.seed + 1  # the limit the README states


def test_with_a_key_an_edited_artifact_with_a_recomputed_checksum_is_refused(fitted, tmp_path,
                                                                             monkeypatch) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    fitted.save(tmp_path / "m.shm")
    assert _header(tmp_path / "m.shm")["__metadata__"]["signature"].startswith("hmac-sha256:")
    assert Synthesizer.load(tmp_path / "m.shm").seed == fitted.seed
    _edit_and_rechecksum(tmp_path / "m.shm", tmp_path / "edited.shm")
    with pytest.raises(ArtifactSignatureError, match=r"edited\.shm' has a signature that does not match "
                                                     r"SYNTHOHIVE_SIGNING_KEY[\s\S]*fix: use the original file"):
        Synthesizer.load(tmp_path / "edited.shm")
    _edit_and_rechecksum(tmp_path / "m.shm", tmp_path / "stripped.shm", keep_signature=False)
    with pytest.raises(ArtifactSignatureError, match=r"stripped\.shm' is not signed, and SYNTHOHIVE_SIGNING_KEY "
                                                     r"is set[\s\S]*fix: save it again"):
        Synthesizer.load(tmp_path / "stripped.shm")


def test_with_a_key_unsigned_and_foreign_signed_artifacts_are_refused(fitted, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, "another-key-of-enough-length")
    fitted.save(tmp_path / "other.shm")
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    with pytest.raises(ArtifactSignatureError, match="signed with another key"):
        Synthesizer.load(tmp_path / "other.shm")
    # artifacts of earlier releases carry no signature
    for load, old in ((Synthesizer.load, "synthesizer_v2.shm"), (load_model, "ctgan_v1")):
        with pytest.raises(ArtifactSignatureError, match="is not signed") as exc:
            load(FIXTURES / old)
        assert isinstance(exc.value, ArtifactError) and isinstance(exc.value, SynthohiveError)


def test_a_model_file_is_signed_too_and_a_short_key_is_refused(fitted, tmp_path, monkeypatch) -> None:
    model = next(iter(fitted.models.values()))
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    model.save(tmp_path / "model")
    assert type(model).load(tmp_path / "model").state()[1] == model.state()[1]
    monkeypatch.setenv(SIGNING_KEY_ENV, "")  # e.g. a CI secret that did not expand: never "unsigned, silently"
    with pytest.raises(ConfigError, match="SYNTHOHIVE_SIGNING_KEY is set but holds 0 bytes"):
        type(model).load(tmp_path / "model")
    monkeypatch.delenv(SIGNING_KEY_ENV)
    with pytest.raises(ArtifactError, match="holds a model, not a synthesizer"):
        Synthesizer.load(tmp_path / "model")
