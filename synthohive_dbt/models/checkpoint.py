"""Model artifacts: a folder with `weights.safetensors` and `model.json`. Nothing is ever unpickled.

model.json records the format name and version, the SHA-256 of the weights file, and the model's own
metadata (config, transformer state). Loading checks all three before any tensor is used, so a tampered,
truncated or foreign file fails with ArtifactError instead of producing a wrong model. The relational
engine can store many models in one artifact by prefixing tensor names and nesting their metadata, through
the same two functions.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from synthohive_dbt.errors import ArtifactError

FORMAT = "synthohive-model"
FORMAT_VERSION = 1
WEIGHTS = "weights.safetensors"
META = "model.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_artifact(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write tensors + JSON metadata into the folder `path` (created if needed); returns the folder."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(weights))
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "weights_sha256": _sha256(weights),
           "meta": meta}
    (folder / META).write_text(json.dumps(doc, indent=1, allow_nan=False))
    return folder


def read_artifact(path: str | Path, device: str | torch.device = "cpu"
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and verify an artifact written by `write_artifact`: (tensors, meta)."""
    folder = Path(path)
    meta_path, weights = folder / META, folder / WEIGHTS
    for p in (meta_path, weights):
        if not p.is_file():
            raise ArtifactError(f"model artifact {folder}: {p.name} is missing",
                                hint="point to the folder written by save(); copy both files")
    try:
        doc = json.loads(meta_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"model artifact {folder}: {META} is not valid JSON ({exc})",
                            hint="the file is damaged; save the model again") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ArtifactError(f"model artifact {folder}: {META} is not a synthohive model "
                            f"(format {doc.get('format') if isinstance(doc, dict) else None!r})",
                            hint="point to a folder written by synthohive's save()")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"model artifact {folder} has format version {doc.get('format_version')!r}; "
                            f"this synthohive-dbt reads version {FORMAT_VERSION}",
                            hint="retrain and save the model with this version, or install the "
                                 "synthohive-dbt version that wrote it")
    actual = _sha256(weights)
    if actual != doc.get("weights_sha256"):
        raise ArtifactError(f"model artifact {folder}: {WEIGHTS} does not match the checksum recorded in "
                            f"{META} (expected {str(doc.get('weights_sha256'))[:12]}..., "
                            f"found {actual[:12]}...): the weights were modified or damaged",
                            hint="do not edit artifacts; retrain or restore the original files")
    try:
        tensors = load_file(str(weights), device=str(device))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtifactError(f"model artifact {folder}: {WEIGHTS} cannot be read ({exc})",
                            hint="the file is damaged; save the model again") from exc
    return tensors, doc.get("meta", {})


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
                            hint="the artifact is inconsistent; retrain and save it again")
