"""Engine process for SDV's HMASynthesizer (runs in bench/.venv-sdv or bench/.venv-sdv1, never in the package's).

HMA has no epochs (per-table Gaussian copulas + parameter modelling of children); --epochs is ignored.
SDV's own input checks (e.g. 2.x refusing schemas deeper than 2 levels or wider than 5 tables) are recorded as
status "refused" with SDV's message, not hidden. Options: default_distribution=norm|beta|..., locales=...
"""

from __future__ import annotations

import argparse
import copy
import inspect
import sys
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _engine_common import main  # noqa: E402


def _metadata(schema: dict[str, Any]):
    spec = copy.deepcopy(schema)
    spec.pop("rows", None)
    for table in spec["tables"].values():  # deprecated in SDV 2 (a warning per column); SDV infers it
        for column in table["columns"].values():
            column.pop("computer_representation", None)
    try:
        from sdv.metadata import Metadata

        return Metadata.load_from_dict(spec)
    except ImportError:  # SDV < 1.15 had only MultiTableMetadata
        from sdv.metadata import MultiTableMetadata

        spec.pop("METADATA_SPEC_VERSION", None)
        return MultiTableMetadata.load_from_dict(spec)


def fit(tables: dict[str, pd.DataFrame], schema: dict[str, Any], args: argparse.Namespace):
    from sdv.multi_table import HMASynthesizer

    kwargs = {k: v for k, v in args.options.items() if k == "locales"}
    if "verbose" in inspect.signature(HMASynthesizer).parameters:
        kwargs["verbose"] = False  # its progress bars would fill the log; timings are ours
    synth = HMASynthesizer(_metadata(schema), **kwargs)
    if "default_distribution" in args.options:
        for name in schema["tables"]:
            synth.set_table_parameters(name, {"default_distribution": args.options["default_distribution"]})
    synth.fit(tables)
    return synth


def sample(model, scale: float, args: argparse.Namespace) -> dict[str, pd.DataFrame]:
    if hasattr(model, "sample_scale"):  # SDV 2.x: sample(num_rows=...) sizes one table; sample_scale all
        return model.sample_scale(scale=scale)
    return model.sample(scale=scale)


def version() -> dict[str, str]:
    from importlib.metadata import version as v

    return {"sdv": v("sdv"), "rdt": v("rdt"), "copulas": v("copulas")}


def refusals() -> tuple[type[BaseException], ...]:
    """Every exception class SDV defines for bad input: raised by its own checks, so a refusal."""
    import sdv.errors

    found = [obj for _, obj in inspect.getmembers(sdv.errors, inspect.isclass) if issubclass(obj, Exception)]
    try:
        from sdv.metadata.errors import InvalidMetadataError

        found.append(InvalidMetadataError)
    except ImportError:
        pass
    return tuple(found)


if __name__ == "__main__":
    main("sdv-hma", fit, sample, version, refusal_types=refusals())
