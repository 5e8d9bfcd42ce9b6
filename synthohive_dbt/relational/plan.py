"""What the engine learns about each table besides its model: the role of every column, key formats,
foreign-key behaviour (children per parent, null rates, popularity) and the parent context.

A `TablePlan` is plain data (JSON round-trip), so a saved synthesizer needs no training data to sample.
Roles: generated keys (primary key parts and unique int/text columns), foreign keys (assigned from generated
parents), PII (faked, never learned; see pii.py), per-group counters (line_no inside a composite key), columns
null in every real row (written back all-null of their dtype; see `null_columns`), and everything else, which
the table's model learns.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.config import Metadata, TableConfig
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.kinds import as_naive_utc, is_datetime, is_float, is_integral, timezone_of
from synthohive_dbt.models.formats import MIN_LEARN_ROWS, ColumnFormat, named_values
from synthohive_dbt.relational.cardinality import ChildrenPerParent, Histogram, children_counts, match_parents
from synthohive_dbt.relational.context import (
    ContextSpec,
    build_context_spec,
    default_context_columns,
    inherited_columns,
)
from synthohive_dbt.relational.hierarchy import HierarchyShape, shape_of
from synthohive_dbt.relational.inputs import kind
from synthohive_dbt.relational.keys import (
    KeyFormat,
    declared_key_format,
    detect_key_format,
    detect_per_group_start,
)
from synthohive_dbt.relational.pii import PiiColumn, PiiKinds


@dataclass
class ForeignKeyPlan:
    """One foreign key: how often it is null and how children spread over parents."""

    columns: list[str]
    parent: str
    parent_columns: list[str]
    null_rate: float
    popularity: Histogram
    role: str  # "driving" | "secondary" | "self"
    cardinality: ChildrenPerParent | None = None
    # [value, share of child rows] per excepted value (ForeignKey.except_values): those rows keep the value
    exceptions: list[list[Any]] = field(default_factory=list)
    # a self-reference: roots, rows per depth, children per node per depth (relational/hierarchy.py); None in
    # models saved before it was learned (they sample the popularity forest of cardinality.forest)
    hierarchy: HierarchyShape | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "parent": self.parent, "parent_columns": self.parent_columns,
                "null_rate": self.null_rate, "popularity": vars(self.popularity), "role": self.role,
                "cardinality": self.cardinality.to_dict() if self.cardinality else None,
                "exceptions": self.exceptions, "hierarchy": self.hierarchy.to_dict() if self.hierarchy else None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ForeignKeyPlan:
        card = d.get("cardinality")
        return cls(d["columns"], d["parent"], d["parent_columns"], float(d["null_rate"]),
                   Histogram(**d["popularity"]), d["role"], ChildrenPerParent.from_dict(card) if card else None,
                   [list(e) for e in d.get("exceptions") or []],
                   HierarchyShape.from_dict(d["hierarchy"]) if d.get("hierarchy") else None)


FREE_TEXT_MIN_DISTINCT = 20
FREE_TEXT_DISTINCT_SHARE = 0.5
"""A text column with at least this many distinct values, making up at least this share of its non-null rows,
is free text (see `free_text_columns`)."""


@dataclass
class TablePlan:
    name: str
    n_real: int
    columns: list[str]
    dtypes: dict[str, str]
    key_formats: dict[str, KeyFormat] = field(default_factory=dict)
    group_counters: dict[str, int] = field(default_factory=dict)  # column -> first value within a group
    foreign_keys: list[ForeignKeyPlan] = field(default_factory=list)
    context: ContextSpec | None = None
    model_columns: list[str] = field(default_factory=list)
    pii: list[PiiColumn] = field(default_factory=list)
    copied: str | None = None  # copy_as_is tables: the rows as JSON (split orient)
    null_columns: list[str] = field(default_factory=list)  # null in every real row: written all-null
    # mostly-distinct text nobody declared categorical: generated in its format (models.formats), no value kept
    text_formats: dict[str, dict[str, Any]] = field(default_factory=dict)
    # model columns: values the project names (literals its SQL filters on) that the real column holds; each is
    # written at least once (sampling._write_named), as free text's named values are
    named: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def driving(self) -> ForeignKeyPlan | None:
        return next((f for f in self.foreign_keys if f.role == "driving"), None)

    @property
    def key_capacity(self) -> int | None:
        """The most rows the table's keys allow (a key drawn from declared values), None when unbounded."""
        caps = [c for f in self.key_formats.values() if (c := f.capacity) is not None]
        return min(caps) if caps else None

    @property
    def fk_columns(self) -> list[str]:
        return [c for f in self.foreign_keys for c in f.columns]

    def copied_frame(self) -> pd.DataFrame:
        # dtype=False: values stay as JSON holds them ('NaN' text is a float NaN, not a NULL); dtypes come back
        # from the plan in _restore_dtypes
        frame = pd.read_json(io.StringIO(self.copied or ""), orient="split", convert_dates=False, dtype=False)
        return _restore_dtypes(frame, self.dtypes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "n_real": self.n_real, "columns": self.columns, "dtypes": self.dtypes,
            "key_formats": {k: v.to_dict() for k, v in self.key_formats.items()},
            "group_counters": self.group_counters,
            "foreign_keys": [f.to_dict() for f in self.foreign_keys],
            "context": self.context.to_dict() if self.context else None,
            "model_columns": self.model_columns, "pii": [p.to_dict() for p in self.pii], "copied": self.copied,
            "null_columns": self.null_columns, "text_formats": self.text_formats, "named": self.named,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TablePlan:
        return cls(
            d["name"], int(d["n_real"]), list(d["columns"]), dict(d["dtypes"]),
            {k: KeyFormat.from_dict(v) for k, v in d["key_formats"].items()},
            {k: int(v) for k, v in d["group_counters"].items()},
            [ForeignKeyPlan.from_dict(f) for f in d["foreign_keys"]],
            ContextSpec.from_dict(d["context"]) if d["context"] else None,
            list(d["model_columns"]), [PiiColumn(**p) for p in d["pii"]], d.get("copied"),
            list(d.get("null_columns") or []), dict(d.get("text_formats") or {}), dict(d.get("named") or {}))


@dataclass
class TrainingInput:
    """What one table's model is fitted on: its learned columns and, for a child, the aligned context."""

    data: pd.DataFrame
    context: pd.DataFrame | None


def referenced_columns(metadata: Metadata) -> dict[str, set[str]]:
    """Per table, the columns some foreign key points at (they must be generated as keys)."""
    out: dict[str, set[str]] = {name: set() for name in metadata.tables}
    for cfg in metadata.tables.values():
        for fk in cfg.fk:
            out[fk.parent].update(fk.parent_columns)
    return out


def learn_plan(cfg: TableConfig, tables: dict[str, pd.DataFrame], metadata: Metadata, pii: PiiKinds,
               copies: dict[str, tuple[int, str]], order: list[str], use_context: bool = True, date_context: bool = True,
               contexts: Mapping[str, pd.DataFrame | None] | None = None) -> tuple[TablePlan, TrainingInput | None]:
    """Decide every column's role for one table and learn the non-model parts.

    `pii` holds every table's resolved PII columns (declared, detected, copies; parents already done),
    `copies` this table's columns that repeat a parent's PII through a foreign key (index, parent column).
    `use_context=False` (differential privacy) models the table without its parent's columns as context;
    `date_context=False` leaves the parent's dates out of the default context.
    `contexts` holds the context frames of the tables already planned (aligned with their rows): by default
    a child also sees its parent's context, i.e. its grandparent's attributes.
    """
    frame = tables[cfg.name]
    plan = TablePlan(cfg.name, len(frame), [str(c) for c in frame.columns],
                     {str(c): str(frame[c].dtype) for c in frame.columns})
    if cfg.copy_as_is:
        for fk in cfg.fk:
            if not metadata.tables[fk.parent].copy_as_is:
                raise ConfigError(
                    f"table {cfg.name!r} is copied as is but references {fk.parent!r}, which is learned: its "
                    "copied keys would point at rows that are not generated",
                    hint=f"also set copy_as_is on {fk.parent!r}, or learn {cfg.name!r} instead")
        plan.copied = _json_safe_frame(frame).to_json(orient="split", index=False)
        return plan, None

    fk_cols = {c for fk in cfg.fk for c in fk.columns}
    referenced = referenced_columns(metadata)[cfg.name]
    plan.null_columns = null_columns(frame, cfg, referenced)
    own_pii = pii.get(cfg.name, {})
    pii_cols = [c for c in own_pii if c in frame.columns and c not in fk_cols and c not in plan.null_columns]
    unique_cols = {c for c, con in cfg.constraints.items() if con.unique}

    # keys: primary-key parts that are not foreign keys, referenced columns, unique int/text columns
    pk_rest = [c for c in cfg.pk if c not in fk_cols]
    pk_fk = [c for c in cfg.pk if c in fk_cols]
    keyed = _keyed_parts(frame, cfg.pk, pk_rest, pk_fk, plan.null_columns)
    for col in plan.columns:
        if col in plan.null_columns:
            continue
        is_key = col in keyed or col in referenced
        unique_text_or_int = (col in unique_cols and col not in pii_cols and col not in fk_cols
                              and kind(frame[col]) in ("number", "text") and _integral_or_text(frame[col]))
        if not (is_key or unique_text_or_int):
            continue
        if pk_fk and col in pk_rest and len(cfg.pk) > 1:
            start = detect_per_group_start(frame, col, pk_fk)
            if start is not None:
                plan.group_counters[col] = start
                continue
        accepted = cfg.constraints[col].accepted_values if col in cfg.constraints else None
        plan.key_formats[col] = (declared_key_format(frame[col], accepted, table=cfg.name, column=col)
                                 if accepted is not None
                                 else detect_key_format(frame[col], table=cfg.name, column=col))
    plan.pii = [PiiColumn.learn(frame[c], own_pii[c], unique=c in unique_cols, copy_of=copies.get(c),
                                choices=cfg.constraint(c).accepted_values)
                for c in pii_cols if c not in plan.key_formats]

    plan.foreign_keys = _foreign_keys(cfg, tables, metadata, order)
    driving = plan.driving
    context_frame = None
    if driving is not None:
        parent_cfg = metadata.tables[driving.parent]
        parent = tables[driving.parent]
        parent_pii = set(pii.get(driving.parent, {}))
        inherited: list[str] = []
        if not use_context:
            if cfg.parent_context_cols:
                raise ConfigError(
                    f"table {cfg.name!r} sets parent_context_cols, but with differential privacy children are "
                    "modelled without parent context (the parent's real values would bypass the accounting)",
                    hint="remove parent_context_cols from this table, or disable differential privacy")
            ctx_cols = []
        elif cfg.parent_context_cols is not None:
            ctx_cols = list(cfg.parent_context_cols)
            leaking = [c for c in ctx_cols if c in parent_pii]
            if leaking:
                raise ConfigError(
                    f"table {cfg.name!r}: parent_context_cols {leaking} are PII columns of parent "
                    f"{driving.parent!r}; as context their real values would reach the model of {cfg.name!r}",
                    hint="remove them from parent_context_cols (see Synthesizer.pii_findings for why they "
                         "count as PII)")
        else:
            excluded = {*parent_cfg.pk, *(c for fk in parent_cfg.fk for c in fk.columns),
                        *parent_pii, *referenced_columns(metadata)[parent_cfg.name],
                        *(c for c, con in parent_cfg.constraints.items() if con.unique)}
            ctx_cols = default_context_columns(parent, excluded, dates=date_context)
            parent_context = (contexts or {}).get(driving.parent)
            inherited = inherited_columns(parent_context)
            if inherited:
                assert parent_context is not None
                parent = pd.concat([parent.reset_index(drop=True),
                                    parent_context[inherited].reset_index(drop=True)], axis=1)
                ctx_cols = ctx_cols + inherited
        if ctx_cols:
            plan.context = build_context_spec(driving.parent, parent, ctx_cols, child=cfg.name)
            parent_ctx = plan.context.encode(parent)
            driving.cardinality = ChildrenPerParent.fit(
                children_counts(frame[driving.columns], parent[driving.parent_columns]), parent_ctx)
            rows = match_parents(frame[driving.columns], parent[driving.parent_columns])
            # children of unknown parents (orphans in the real data) get the typical parent (fill values)
            context_frame = plan.context.encode(parent[ctx_cols].reindex(rows).reset_index(drop=True))
        else:
            driving.cardinality = ChildrenPerParent.fit(
                children_counts(frame[driving.columns], parent[driving.parent_columns]), None)

    taken = {*plan.key_formats, *plan.group_counters, *fk_cols, *(p.name for p in plan.pii), *plan.null_columns}
    named = named_values(cfg)
    plan.text_formats = {c: _text_format(frame[c], cfg, named.get(c) or [])
                         for c in free_text_columns(frame, cfg, taken)}
    taken |= set(plan.text_formats)
    plan.model_columns = [c for c in plan.columns if c not in taken]
    plan.named = {c: hits for c in plan.model_columns if (hits := _named_hits(frame[c], named.get(c) or []))}
    if not plan.model_columns:
        return plan, None
    return plan, TrainingInput(frame[plan.model_columns].reset_index(drop=True), context_frame)


def _text_format(s: pd.Series, cfg: TableConfig, named: list[Any]) -> dict[str, Any]:
    """A free-text column's format, and the values the project itself names for it (literals its SQL compares
    the column to, conditional accepted_values) with their real share: those are written as they are."""
    present = s.dropna()
    hits = present[present.isin(named)] if named else present.iloc[:0]
    return {"format": asdict(ColumnFormat.learn(s, cfg.constraint(str(s.name)))),
            "named": sorted({str(v) for v in hits}), "named_share": len(hits) / max(len(present), 1)}


def _keyed_parts(frame: pd.DataFrame, pk: list[str], rest: list[str], fks: list[str],
                 nulls: list[str]) -> list[str]:
    """The primary-key parts generated as keys. A one-column key is; in a composite key one generated part
    makes every combination unique, so only that one is (a counter within its group when it is one, else the
    part with the most distinct values), and the others are learned like any column: `yes`/`no` or a colour
    in a composite key stay `yes`/`no` and colours, not random strings."""
    rest = [c for c in rest if c not in nulls]
    if len(pk) <= 1 or len(rest) <= 1:
        return rest
    counters = [c for c in rest if fks and detect_per_group_start(frame, c, fks) is not None]
    if counters:
        return counters
    return [max(rest, key=lambda c: (frame[c].nunique(), -rest.index(c)))]


def _named_hits(s: pd.Series, named: list[Any]) -> list[Any]:
    """The named values a real column holds, as plain JSON values."""
    if not named:
        return []
    hits = pd.unique(s[s.isin(named)].dropna())
    return sorted((v.item() if isinstance(v, np.generic) else v for v in hits), key=str)


def free_text_columns(frame: pd.DataFrame, cfg: TableConfig, taken: set[str]) -> list[str]:
    """Text columns whose values are mostly distinct (titles, comments, tokens) and that the project does not
    declare categorical (`accepted_values`). A model would learn them as categories and write real values back,
    each many times; they are generated in their format instead (models.formats.ColumnFormat: character-class
    shapes, lengths, null share), and no real value is kept. Tables below MIN_LEARN_ROWS are all formats."""
    if len(frame) < MIN_LEARN_ROWS:
        return []
    out = []
    for c in frame.columns:
        name = str(c)
        if name in taken or cfg.constraint(name).accepted_values is not None or kind(frame[c]) != "text":
            continue
        present = frame[c].dropna()
        distinct = present.nunique()
        if distinct >= FREE_TEXT_MIN_DISTINCT and distinct >= FREE_TEXT_DISTINCT_SHARE * len(present):
            out.append(name)
    return out


def null_columns(frame: pd.DataFrame, cfg: TableConfig, referenced: set[str]) -> list[str]:
    """Columns null in every real row (a feature not used yet, a source column nobody fills): no model can
    learn them, and the truth to reproduce is "all null". Not among them: keys the engine generates (primary
    key parts, columns a foreign key points at: the key is declared, so it gets fresh values of its type),
    and foreign keys (their own machinery gives a null rate of 1). An empty table has no such columns."""
    if frame.empty:
        return []
    fk_cols = {c for fk in cfg.fk for c in fk.columns}
    generated = {*cfg.pk, *referenced, *fk_cols}
    return [str(c) for c in frame.columns if c not in generated and bool(frame[c].isna().all())]


def _foreign_keys(cfg: TableConfig, tables: dict[str, pd.DataFrame], metadata: Metadata,
                  order: list[str]) -> list[ForeignKeyPlan]:
    """Learn every foreign key and pick the one that drives the row count.

    The driving key is never null and is the one whose parents most consistently have children (the
    smallest share of childless parents: every order has lines, not every product sells), then the
    deepest parent, then the first declared. Its shape is reproduced exactly; the others by popularity.
    """
    frame = tables[cfg.name]
    depth = _depths(metadata, order)
    plans: list[ForeignKeyPlan] = []
    ranking: list[tuple[float, int, int]] = []
    for i, fk in enumerate(cfg.fk):
        parent = tables[fk.parent]
        keys = frame[fk.columns]
        exceptions, excepted = _exceptions(keys, fk.except_values)
        keys = keys.loc[~excepted]
        null_rate = float(keys.isna().any(axis=1).sum() / len(frame)) if len(frame) else 0.0  # empty: 0 per parent
        counts = children_counts(keys, parent[fk.parent_columns])
        role = "self" if fk.parent == cfg.name else "secondary"
        plans.append(ForeignKeyPlan(list(fk.columns), fk.parent, list(fk.parent_columns), null_rate,
                                    Histogram.of(counts), role, exceptions=exceptions))
        if role == "self":
            plans[-1].hierarchy = shape_of(frame, fk.columns, fk.parent_columns, excepted)
        if role == "secondary" and null_rate == 0 and not exceptions:
            childless = float((counts == 0).mean()) if len(counts) else 1.0  # an empty parent: all childless
            ranking.append((childless, -depth[fk.parent], i))
    if ranking:
        plans[min(ranking)[2]].role = "driving"
    return plans


def _exceptions(keys: pd.DataFrame, values: list[Any]) -> tuple[list[list[Any]], np.ndarray]:
    """[value, share of rows] of each excepted value the child column holds (as the real data spells it:
    the model's `'0'` is `0` in an integer column), and which rows hold one."""
    held = np.zeros(len(keys), dtype=bool)
    if not values or keys.shape[1] != 1 or not len(keys):
        return [], held
    col = keys.iloc[:, 0]
    text = col.astype(object).where(col.notna(), None).map(lambda v: None if v is None else str(v))
    out: list[list[Any]] = []
    for value in values:
        mask = ((col == value) | (text == str(value))).to_numpy(dtype=bool) & col.notna().to_numpy()
        if mask.any():
            real = col[mask].iloc[0]
            out.append([real.item() if isinstance(real, np.generic) else real, float(mask.mean())])
            held |= mask
    return out, held


def _depths(metadata: Metadata, order: list[str]) -> dict[str, int]:
    depth: dict[str, int] = {}
    for name in order:
        parents = [p for p in metadata.tables[name].parents if p != name]
        depth[name] = 1 + max((depth[p] for p in parents), default=-1)
    return depth


def _integral_or_text(s: pd.Series) -> bool:
    return not is_float(s) or is_integral(s)


_FLOAT_TOKENS = {"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}


def _json_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copied table as JSON can hold it: datetimes as ISO text to the microsecond (years 1..9999, in UTC
    when tz-aware), float NaN / +-inf as 'NaN' / 'Infinity' / '-Infinity' text (JSON has neither, and
    pandas would write them as null, turning a NaN into a NULL). `_restore_dtypes` reverses both."""
    out = {}
    for col in frame.columns:
        s = frame[col]
        if is_datetime(s):
            arr = as_naive_utc(s).to_numpy().astype("datetime64[us]")
            text = np.datetime_as_string(arr, unit="us").astype(object)
            text[pd.isna(arr)] = None
            out[col] = text
        elif is_float(s):
            null = s.isna().to_numpy()
            x = s.to_numpy(np.float64, na_value=np.nan)
            text = np.asarray(x, dtype=object)
            text[np.isnan(x) & ~null] = "NaN"
            text[x == np.inf] = "Infinity"
            text[x == -np.inf] = "-Infinity"
            text[null] = None
            out[col] = text
        else:
            out[col] = s
    return pd.DataFrame(out, columns=frame.columns)


def _restore_dtypes(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    for col, dtype in dtypes.items():
        if col not in frame.columns:
            continue
        try:
            if dtype.startswith("datetime64"):
                values = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v
                          for v in frame[col].tolist()]
                s = pd.Series(np.array(values, dtype="datetime64[us]"), index=frame.index)
                tz = timezone_of(dtype)
                frame[col] = s.dt.tz_localize("UTC").dt.tz_convert(tz) if tz is not None else s
            elif dtype in ("float64", "float32", "Float64"):
                frame[col] = _floats(frame[col], dtype)
            elif dtype == "object":  # JSON null is a NULL: None, as the warehouse reader gives it
                frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
            else:
                frame[col] = frame[col].astype(dtype)
        except (TypeError, ValueError):
            continue  # keep the JSON type; a value such as a mixed column cannot take the old dtype
    return frame


def _floats(s: pd.Series, dtype: str) -> pd.Series:
    """Floats back from JSON: numbers, None (NULL) and the NaN / Infinity tokens of _json_safe_frame."""
    null = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in s.tolist()], dtype=bool)
    x = np.array([np.nan if n else _FLOAT_TOKENS.get(v, v) if isinstance(v, str) else v
                  for v, n in zip(s.tolist(), null)], dtype=np.float64)
    if dtype == "Float64":
        return pd.Series(pd.arrays.FloatingArray(x, null), index=s.index)
    return pd.Series(x, index=s.index).astype(dtype)
