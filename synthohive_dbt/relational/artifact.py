"""One file for a whole trained synthesizer: a safetensors file whose header carries the JSON state.

Tensors of every table's model live under '<table>/<name>'; everything else (metadata, plans, model metas,
cardinality histograms, key formats) is JSON in the safetensors header metadata. A SHA-256 over the tensor
index, the JSON and the tensor bytes is checked on load, with the format name and version, before anything is
built. Nothing is pickled, so a file from elsewhere cannot run code; it can only fail to load.
(safetensors' torch adapter does the tensor conversion, so this module never imports torch itself.)
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from synthohive_dbt.errors import ArtifactError
from synthohive_dbt.processes import pid_alive

FORMAT = "synthohive-dbt/synthesizer"
FORMAT_VERSION = 2  # 2: PII plans hold kinds and spans only; findings saved


def write_artifact(path: str | Path, state: dict[str, Any], tensors: dict[str, Any]) -> None:
    """Write atomically (temp file + rename), so a crash never leaves half an artifact under the name."""
    path = Path(path)
    body = json.dumps(state, sort_keys=True, separators=(",", ":"))
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    header = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "state": body}
    raw = save_tensors(tensors, metadata=header)
    index, data = _split(raw, path)
    header["sha256"] = _digest(index, body, data)
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
        raise ArtifactError(f"cannot write the synthesizer to {str(path)!r}: {exc}",
                            hint="choose a writable path with enough free space (nothing was left behind)") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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


def read_artifact(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(JSON state, tensors by name) after checking format, version and checksum."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"cannot read synthesizer file {str(path)!r}: {exc}",
                            hint="check the path; save one with Synthesizer.save(path)") from exc
    index, data = _split(raw, path)
    meta = index.pop("__metadata__", None) or {}
    if meta.get("format") != FORMAT:
        raise ArtifactError(f"{str(path)!r} is not a synthohive-dbt synthesizer file (format "
                            f"{meta.get('format')!r})", hint="load a file written by Synthesizer.save")
    if meta.get("format_version") != str(FORMAT_VERSION):
        raise ArtifactError(
            f"{str(path)!r} has format version {meta.get('format_version')!r}; this version reads "
            f"{FORMAT_VERSION}", hint="re-train and save with this version of synthohive-dbt")
    body = meta.get("state", "")
    if meta.get("sha256") != _digest(index, body, data):
        raise ArtifactError(f"{str(path)!r} fails its integrity check (checksum mismatch): it was changed or "
                            "truncated after saving", hint="use an intact copy or re-train and save again")
    try:
        state = json.loads(body)
        tensors = load_tensors(raw)
    except (ValueError, RuntimeError) as exc:
        raise ArtifactError(f"{str(path)!r} cannot be decoded: {exc}", hint="re-train and save again") from exc
    return state, tensors


def _split(raw: bytes, path: Path) -> tuple[dict[str, Any], bytes]:
    """safetensors layout: 8-byte little-endian header length, JSON header, tensor bytes."""
    try:
        (n,) = struct.unpack("<Q", raw[:8])
        if n > len(raw) - 8:
            raise ValueError("header longer than the file")
        index = json.loads(raw[8:8 + n])
    except (struct.error, ValueError) as exc:
        raise ArtifactError(f"{str(path)!r} is not a readable synthesizer file ({exc})",
                            hint="the file is truncated or of another kind; save it again") from exc
    return index, raw[8 + n:]


def _digest(index: dict[str, Any], body: str, data: bytes) -> str:
    entries = {k: v for k, v in index.items() if k != "__metadata__"}
    h = hashlib.sha256()
    h.update(json.dumps(entries, sort_keys=True).encode())
    h.update(body.encode())
    h.update(data)
    return h.hexdigest()
