"""The one artifact format: a safetensors file whose header carries a JSON state. Nothing is ever unpickled.

Layout (format 3): safetensors' 8-byte header length, its JSON header, the tensor bytes. The header's
`__metadata__` (strings only) holds

    format          "synthohive-dbt"
    format_version  "3"
    kind            "synthesizer" (a whole Synthesizer), "model" (one table model) or "checkpoint" (a fit in
                    progress: relational/checkpoint.py)
    state           the JSON state: everything that is not a tensor
    sha256          SHA-256 over the tensor index, the state and the tensor bytes
    signature       only when saved with SYNTHOHIVE_SIGNING_KEY set: "hmac-sha256:<hex>" over format,
                    version, kind and sha256

Loading checks format, version, kind and checksum (and the signature when a key is set) before anything
is built, so a damaged, truncated or foreign file fails with ArtifactError instead of making a wrong model.

What the unsigned checksum promises: accidental damage (truncation, a flipped byte, a file of another
kind) is caught. What it does not: anyone who can edit the file can recompute the SHA-256, so it proves
nothing about who wrote it. With a signing key in the environment, saving signs and loading refuses an
unsigned or wrongly signed file. Either way the file cannot run code: it holds only tensors and JSON.

Older formats still load: the synthesizer file of format 2 (the same layout under the format name
"synthohive-dbt/synthesizer") and the model folder of format 1 (`weights.safetensors` + `model.json`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import struct
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import load_file
from safetensors.torch import save as save_tensors

from synthohive_dbt.errors import ArtifactError, ArtifactSignatureError, ConfigError
from synthohive_dbt.processes import pid_alive

log = logging.getLogger(__name__)

FORMAT = "synthohive-dbt"
FORMAT_VERSION = 3  # 3: one format for synthesizers and models, optional HMAC signature
SIGNING_KEY_ENV = "SYNTHOHIVE_SIGNING_KEY"
MIN_KEY_BYTES = 16  # shorter HMAC keys can be guessed; a CI secret that failed to expand is often empty
Kind = Literal["synthesizer", "model", "checkpoint"]
# what earlier releases wrote, and which kind each holds
_LEGACY_FILE = ("synthohive-dbt/synthesizer", "2", "synthesizer")
_LEGACY_FOLDER = ("synthohive-model", 1, "weights.safetensors", "model.json")


def write_artifact(path: str | Path, state: dict[str, Any], tensors: dict[str, torch.Tensor], *,
                   kind: Kind) -> Path:
    """Write atomically (temp file + rename), so a crash never leaves half an artifact under the name.
    Signs when SYNTHOHIVE_SIGNING_KEY is set."""
    path = Path(path)
    body = json.dumps(state, sort_keys=True, separators=(",", ":"))
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    header = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "kind": kind, "state": body}
    index, data = _split(save_tensors(tensors, metadata=header), path, kind)
    header["sha256"] = _digest(index, body, data)
    key = signing_key()
    if key is not None:
        header["signature"] = _signature(key, header)
    raw = save_tensors(tensors, metadata=header)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True)
        remove_stale_temp_files(path)
        tmp.write_bytes(raw)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ArtifactError(f"cannot write the {kind} to {str(path)!r}: {exc}",
                            hint="choose a writable path with enough free space (nothing was left behind)") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_artifact(path: str | Path, *, kind: Kind) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(JSON state, tensors by name) of an artifact of `kind`, after checking format, version, checksum
    and, with a signing key set, the signature."""
    path = Path(path)
    if path.is_dir():
        return _read_legacy_folder(path, kind)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"cannot read {kind} file {str(path)!r}: {exc}",
                            hint="check the path; save one with save(path)") from exc
    index, data = _split(raw, path, kind)
    meta = index.pop("__metadata__", None) or {}
    found = (meta.get("format"), meta.get("format_version"))
    legacy = found == _LEGACY_FILE[:2]
    if meta.get("format") not in (FORMAT, _LEGACY_FILE[0]):
        raise ArtifactError(f"{str(path)!r} is not a synthohive-dbt artifact (format {meta.get('format')!r})",
                            hint="load a file written by Synthesizer.save or a model's save")
    if not legacy and meta.get("format_version") != str(FORMAT_VERSION):
        raise ArtifactError(f"{str(path)!r} has format version {meta.get('format_version')!r}; this version "
                            f"reads {FORMAT_VERSION} (and the older 2)",
                            hint="re-fit and save with this version of synthohive-dbt, or load it with the "
                                 "version that wrote it")
    found_kind = _LEGACY_FILE[2] if legacy else meta.get("kind")
    if found_kind != kind:
        raise ArtifactError(f"{str(path)!r} holds a {found_kind}, not a {kind}",
                            hint="load a synthesizer with Synthesizer.load and a model with its class's load")
    body = meta.get("state", "")
    if meta.get("sha256") != _digest(index, body, data):
        raise ArtifactError(f"{str(path)!r} fails its integrity check (checksum mismatch): it was changed or "
                            "truncated after saving", hint="use an intact copy or re-fit and save again")
    _verify(path, meta)
    try:
        state = json.loads(body)
        tensors = load_tensors(raw)
    except (ValueError, RuntimeError, SafetensorError) as exc:
        raise ArtifactError(f"{str(path)!r} cannot be decoded: {exc}", hint="re-fit and save again") from exc
    return state, tensors


def signing_key() -> bytes | None:
    """The HMAC key from SYNTHOHIVE_SIGNING_KEY, or None when it is not set."""
    value = os.environ.get(SIGNING_KEY_ENV)
    if value is None:
        return None
    key = value.encode()
    if len(key) < MIN_KEY_BYTES:  # an empty value would otherwise silently turn verification off
        raise ConfigError(f"{SIGNING_KEY_ENV} is set but holds {len(key)} bytes; a signing key needs at least "
                          f"{MIN_KEY_BYTES}", hint="set it to a long random secret (e.g. `openssl rand -hex 32`), "
                                               "or unset it to save and load unsigned artifacts")
    return key


def _signature(key: bytes, meta: dict[str, str]) -> str:
    message = "\n".join(meta.get(k, "") for k in ("format", "format_version", "kind", "sha256")).encode()
    return "hmac-sha256:" + hmac.new(key, message, hashlib.sha256).hexdigest()


def _verify(path: Path, meta: dict[str, str]) -> None:
    """With a key set, the file must carry this key's signature; without one, a signature is not checked."""
    key = signing_key()
    found = meta.get("signature")
    if key is None:
        if found:
            log.warning("%s is signed, but %s is not set: its signature was not checked", path, SIGNING_KEY_ENV)
        return
    if not found:
        raise ArtifactSignatureError(
            f"{str(path)!r} is not signed, and {SIGNING_KEY_ENV} is set: only artifacts signed with that key load",
            hint=f"save it again where {SIGNING_KEY_ENV} holds the same key, or unset {SIGNING_KEY_ENV} to "
                 "accept unsigned artifacts (their checksum catches damage, not edits)")
    if not hmac.compare_digest(found, _signature(key, meta)):
        raise ArtifactSignatureError(
            f"{str(path)!r} has a signature that does not match {SIGNING_KEY_ENV}: it was edited after "
            "signing or signed with another key",
            hint="use the original file, or check that this machine's key is the one it was saved with")


def remove_stale_temp_files(path: str | Path) -> list[Path]:
    """Delete the temp files of earlier writes to `path` whose process is gone (killed mid-write); returns them.

    A temp file is `<name>.<pid>.tmp` (`<name>.tmp` from older releases), so a write still running in
    another process is never touched.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    removed = []
    for cand in path.parent.iterdir():
        if not (cand.name.startswith(path.name + ".") and cand.name.endswith(".tmp")):
            continue
        middle = cand.name[len(path.name) + 1:-len(".tmp")]
        if middle and (not middle.isdigit() or pid_alive(int(middle))):
            continue
        cand.unlink(missing_ok=True)
        removed.append(cand)
    return removed


def check_tensors(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor], where: str) -> None:
    """Tensor names and shapes must be exactly those the config builds: no missing, extra or resized."""
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    wrong = sorted(k for k in set(expected) & set(found) if tuple(expected[k].shape) != tuple(found[k].shape))
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"missing {missing[:5]}")
        if extra:
            parts.append(f"unexpected {extra[:5]}")
        if wrong:
            parts.append("wrong shape " + ", ".join(
                f"{k} {tuple(found[k].shape)} != {tuple(expected[k].shape)}" for k in wrong[:5]))
        raise ArtifactError(f"{where}: the weights do not fit the saved config: " + "; ".join(parts),
                            hint="the artifact is inconsistent; re-fit and save it again")


def _split(raw: bytes, path: Path, kind: Kind) -> tuple[dict[str, Any], bytes]:
    """safetensors layout: 8-byte little-endian header length, JSON header, tensor bytes."""
    try:
        (n,) = struct.unpack("<Q", raw[:8])
        if n > len(raw) - 8:
            raise ValueError("header longer than the file")
        index = json.loads(raw[8:8 + n])
        if not isinstance(index, dict):
            raise ValueError("header is not a JSON object")
    except (struct.error, ValueError) as exc:
        raise ArtifactError(f"{str(path)!r} is not a readable {kind} file ({exc})",
                            hint="the file is truncated or of another kind; save it again") from exc
    return index, raw[8 + n:]


def _digest(index: dict[str, Any], body: str, data: bytes) -> str:
    entries = {k: v for k, v in index.items() if k != "__metadata__"}
    h = hashlib.sha256()
    h.update(json.dumps(entries, sort_keys=True).encode())
    h.update(body.encode())
    h.update(data)
    return h.hexdigest()


def _read_legacy_folder(folder: Path, kind: Kind) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """A model folder of format 1 (weights.safetensors + model.json with the weights' SHA-256). Never signed,
    so it is refused while a signing key is set."""
    name, version, weights_name, meta_name = _LEGACY_FOLDER
    meta_path, weights = folder / meta_name, folder / weights_name
    if kind != "model" or not meta_path.is_file() or not weights.is_file():
        raise ArtifactError(f"{str(folder)!r} is a folder, not a synthohive-dbt {kind} file",
                            hint="point to the file written by save()")
    try:
        doc = json.loads(meta_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"model artifact {folder}: {meta_name} is not valid JSON ({exc})",
                            hint="the file is damaged; re-fit and save the model again") from exc
    if not isinstance(doc, dict) or doc.get("format") != name or doc.get("format_version") != version:
        raise ArtifactError(f"model artifact {folder}: {meta_name} is not a synthohive model folder of format "
                            f"{version}", hint="point to a file written by a model's save()")
    if hashlib.sha256(weights.read_bytes()).hexdigest() != doc.get("weights_sha256"):
        raise ArtifactError(f"model artifact {folder}: {weights_name} does not match the checksum recorded in "
                            f"{meta_name}: it was changed or damaged", hint="use an intact copy or re-fit")
    _verify(folder, {})
    try:
        tensors = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtifactError(f"model artifact {folder}: {weights_name} cannot be read ({exc})",
                            hint="the file is damaged; re-fit and save the model again") from exc
    return doc.get("meta", {}), tensors
