"""PII columns: found before training, set aside from every model, and filled with fresh fakes when sampling.

Which columns: those dbt declares (`TableConfig.pii_columns`, from `meta: {pii: true}` / tags), those in
`PrivacyConfig.pii_columns`, those `detect_pii` flags on the training frames (when `detect_pii` is on), and
child columns that repeat a parent's PII column through a foreign key (a denormalised `customer_email` on
orders). All of them are kept out of the models and out of the parent context a child model sees.

What is kept in the artifact is only the shape of a column, never a value: its fake kind (email, phone,
...), its storage family, its null rate, and for numbers and dates a coarse span (digit count, whole years,
powers of ten). Copies are not faked on their own: the child takes its parent's fake through the foreign
key, so the same synthetic person has the same email in every table.

Fakes come from `privacy.fresh_fakes`: keyed hashes of a per-row token (table, column, row number) under a key
derived from the sampling seed, so `sample(seed=s)` is reproducible, also after save/load, and nothing real
enters the draw (the HMAC secret is only needed where real values are mapped: tables copied as is). The
strategy (mask / faker / context_aware_faker) decides what they look like; a fake that equals a real value
(known while the real frames are at hand: after fit, or with `sample(real=...)`) is redrawn, dates included.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.config import Metadata, PrivacyConfig
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.kinds import is_bool, is_datetime, is_float, is_int, is_integral
from synthohive_dbt.privacy.detect import PiiFinding, detect_pii
from synthohive_dbt.privacy.fakes import token_words
from synthohive_dbt.privacy.replace import fresh_fakes, replace_pii
from synthohive_dbt.privacy.shapes import TextFormat, in_format, learn_format
from synthohive_dbt.relational.cardinality import match_parents
from synthohive_dbt.relational.inputs import kind as coarse_kind

#: Findings at or above this confidence are set aside (detect_pii's own default: a bare `name` column counts;
#: a false positive costs fidelity of one column, a false negative would train a model on personal data).
MIN_CONFIDENCE = 0.5
#: A child column equal to a parent PII column on at least this share of its rows (through the foreign key)
#: is a denormalised copy: it takes the parent's fake.
COPY_SHARE = 0.95
#: A child column sharing at least this share of its distinct values with a parent PII column holds the same
#: people (not row for row): it is PII of the parent's kind, with fakes of its own.
OVERLAP_SHARE = 0.5
_MAX_UNIQUE_REDRAWS = 8

PiiKinds = dict[str, dict[str, str]]  # table -> column -> fake kind


@dataclass(frozen=True)
class PiiColumn:
    """How to fake one PII column: what its values look like, never what they were."""

    name: str
    kind: str  # privacy kind the fakes imitate: email, phone, first_name, ..., text
    family: str  # storage: string | int | float | datetime | datestring | bool
    null_rate: float = 0.0
    digits: int = 0  # int: typical number of digits
    low: float = 0.0  # datetime / datestring: first year; float: lower bound (a power of ten or 0)
    high: float = 0.0  # datetime / datestring: last year; float: upper bound
    copy_fk: int | None = None  # a copy: index of the foreign key in the table plan it is copied through
    copy_column: str | None = None  # ... and the parent column it repeats
    unique: bool = False
    shape: dict[str, Any] | None = None  # string columns: the learned TextFormat (shapes, never values)
    choices: list[Any] | None = None  # declared accepted_values (the project's text): fakes are drawn from them

    @classmethod
    def learn(cls, values: pd.Series, kind: str, *, unique: bool = False,
              copy_of: tuple[int, str] | None = None, choices: list[Any] | None = None) -> PiiColumn:
        name = str(values.name)
        null_rate = float(values.isna().mean())
        present = values.dropna()
        base: dict[str, Any] = {"name": name, "kind": kind, "null_rate": round(null_rate, 4), "unique": unique,
                                "choices": list(choices) if choices else None}
        if copy_of is not None:
            base.update(copy_fk=copy_of[0], copy_column=copy_of[1])
        if is_bool(values):
            return cls(family="bool", **base)
        if is_int(values) or (len(present) and is_integral(values)):
            ints = np.abs(present.to_numpy(np.float64))
            digits = int(np.median(np.floor(np.log10(np.maximum(ints, 1))) + 1)) if len(ints) else 1
            return cls(family="int", digits=digits, **base)
        if is_float(values):
            x = pd.to_numeric(present).to_numpy(np.float64, na_value=np.nan)
            x = x[np.isfinite(x)]  # NaN / +-inf values say nothing about the magnitude of the fakes
            lo, hi = (float(x.min()), float(x.max())) if len(x) else (0.0, 1.0)
            return cls(family="float", low=-_power_above(-lo) if lo < 0 else 0.0, high=_power_above(hi), **base)
        if is_datetime(values):
            years = present.dt.year
            return cls(family="datetime", low=float(years.min()) if len(years) else 1970.0,
                       high=float(years.max()) if len(years) else 2000.0, **base)
        if kind == "date_of_birth":
            parsed = pd.to_datetime(present.astype(str), errors="coerce", format="%Y-%m-%d")
            if len(parsed) and parsed.notna().all():
                return cls(family="datestring", low=float(parsed.dt.year.min()), high=float(parsed.dt.year.max()),
                           **base)
        fmt = learn_format(present, kind)
        return cls(family="string", shape=fmt.to_dict() if fmt is not None else None, **base)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _power_above(x: float) -> float:
    return float(10 ** np.ceil(np.log10(x))) if x > 0 else 1.0


# ------------------------------------------------------------------------------------------------ fit time
def find_pii(tables: Mapping[str, pd.DataFrame], metadata: Metadata, privacy: PrivacyConfig) -> list[PiiFinding]:
    """Declared PII (dbt meta/tags, PrivacyConfig.pii_columns) and, when `privacy.detect_pii`, detected PII.

    Declared names that do not exist are errors here, before any training, rather than silently ignored.
    """
    for field, listed in (("pii_columns", privacy.pii_columns), ("not_pii", privacy.not_pii)):
        for table, cols in listed.items():
            if table not in tables:
                raise ConfigError(f"PrivacyConfig.{field} names table {table!r}, which is not in the metadata "
                                  f"(tables: {sorted(tables)})", hint=f"fix the table name in PrivacyConfig.{field}")
            missing = [c for c in cols if c not in tables[table].columns]
            if missing:
                raise ConfigError(f"PrivacyConfig.{field}: table {table!r} has no column(s) {missing} "
                                  f"(columns: {list(map(str, tables[table].columns))})",
                                  hint=f"fix the column names in PrivacyConfig.{field}")
    return detect_pii(tables, metadata, privacy, min_confidence=MIN_CONFIDENCE)


def kinds_from_findings(findings: list[PiiFinding]) -> PiiKinds:
    out: PiiKinds = {}
    for f in findings:
        if f.confidence >= MIN_CONFIDENCE:
            out.setdefault(f.table, {})[f.column] = f.kind
    return out


def find_copies(name: str, frame: pd.DataFrame, metadata: Metadata, tables: Mapping[str, pd.DataFrame],
                kinds: PiiKinds) -> tuple[dict[str, tuple[int, str]], list[PiiFinding]]:
    """Child columns that repeat a parent's PII column through a foreign key.

    Returns ({column: (foreign key index, parent column)} for row-by-row copies, findings for every child
    column found this way, copies and overlaps alike). Parents must already be resolved (training order),
    so a grandchild's copy of a child's copy is found too.
    """
    cfg = metadata.tables[name]
    keys = {*cfg.pk, *(c for fk in cfg.fk for c in fk.columns)}
    # declarations beat this heuristic too: declared not-PII and accepted_values columns are never copies
    declared = {*cfg.not_pii_columns, *(c for c, con in cfg.constraints.items() if con.accepted_values)}
    candidates = [str(c) for c in frame.columns if c not in keys and c not in declared]
    copies: dict[str, tuple[int, str]] = {}
    findings: list[PiiFinding] = []
    for i, fk in enumerate(cfg.fk):
        parent_pii = kinds.get(fk.parent, {})
        if fk.parent == name or not parent_pii or tables[fk.parent].empty:  # an empty parent: no value to copy
            continue
        parent = tables[fk.parent]
        rows = match_parents(frame[fk.columns], parent[fk.parent_columns])
        matched = rows >= 0
        for pcol, pkind in parent_pii.items():
            pvalues = parent[pcol].to_numpy()[np.where(matched, rows, 0)]
            for col in candidates:
                if col in copies or coarse_kind(frame[col]) != coarse_kind(parent[pcol]):
                    continue
                child = frame[col]
                both = matched & child.notna().to_numpy() & pd.notna(pvalues)
                where = f"{fk.parent}.{pcol} through foreign key {fk.label}"
                if both.any():
                    equal = child.to_numpy()[both] == pvalues[both]
                    share = float(np.mean(equal))
                    if share >= COPY_SHARE:
                        copies[col] = (i, pcol)
                        findings.append(PiiFinding(name, col, pkind, 1.0, f"equals {where} on {share:.0%} of "
                                                   f"{int(both.sum())} matched rows: takes the parent's fake",
                                                   "copy", share))
                        continue
                distinct = pd.Index(child.dropna().unique())
                if col in kinds.get(name, {}) or distinct.empty:
                    continue
                overlap = float(distinct.isin(pd.Index(parent[pcol].dropna().unique())).mean())
                if overlap >= OVERLAP_SHARE:
                    kinds.setdefault(name, {})[col] = pkind
                    findings.append(PiiFinding(name, col, pkind, round(overlap, 4),
                                               f"{overlap:.0%} of its distinct values are values of {where}",
                                               "overlap", overlap))
    for col in copies:
        kinds.setdefault(name, {})[col] = kinds.get(name, {}).get(col) or \
            kinds[metadata.tables[name].fk[copies[col][0]].parent][copies[col][1]]
    return copies, findings


def real_pii_values(tables: Mapping[str, pd.DataFrame], kinds: PiiKinds) -> pd.Index:
    """Every distinct real value of every PII column, as text: fakes must avoid them (kept in memory only)."""
    parts = [_text_forms(tables[t][c].dropna()) for t, cols in kinds.items() if t in tables
             for c in cols if c in tables[t].columns]
    if not parts:
        return pd.Index([], dtype=object)
    return pd.Index(pd.unique(np.concatenate([np.asarray(p, dtype=object) for p in parts])))


def _text_forms(values: pd.Series) -> np.ndarray:
    """Distinct values as text; dates also as ISO days, the form date fakes are compared in."""
    text = values.astype("string").unique()
    if is_datetime(values):
        text = np.concatenate([np.asarray(text, dtype=object),
                               np.asarray(values.dt.strftime("%Y-%m-%d").unique(), dtype=object)])
    return np.asarray(text, dtype=object)


def fake_copied_tables(tables: dict[str, pd.DataFrame], metadata: Metadata, kinds: PiiKinds,
                       privacy: PrivacyConfig, forbidden: pd.Index) -> dict[str, pd.DataFrame]:
    """Tables copied as is keep their rows, but never their PII: it is replaced (with the secret) before the
    rows are stored. Foreign keys between copied tables that point at a PII column are replaced alike, so
    the copied tables still join."""
    copied = [n for n, t in metadata.tables.items() if t.copy_as_is]
    columns: dict[str, list[str]] = {}
    col_kinds: PiiKinds = {}
    for name in copied:
        own = {c: k for c, k in kinds.get(name, {}).items() if c in tables[name].columns}
        for fk in metadata.tables[name].fk:
            for col, pcol in zip(fk.columns, fk.parent_columns):
                if pcol in kinds.get(fk.parent, {}):
                    own.setdefault(col, kinds[fk.parent][pcol])
        if own:
            columns[name], col_kinds[name] = list(own), own
    if not columns:
        return tables
    replaced = replace_pii({n: tables[n] for n in columns}, columns, privacy, kinds=col_kinds, forbidden=forbidden)
    return {**tables, **replaced}


# --------------------------------------------------------------------------------------------- sample time
@dataclass
class PiiSampling:
    """What sampling needs besides the plans: the strategy, and real values no fake may equal (in memory
    only: known after fit or when `real=` is given, never stored)."""

    strategy: str = "context_aware_faker"
    forbidden: pd.Index | None = None
    _days: np.ndarray | None = None

    def forbidden_days(self) -> np.ndarray:
        """The forbidden values that are ISO dates, as day numbers (parsed once per sample)."""
        if self._days is None:
            text = pd.Series(self.forbidden if self.forbidden is not None else [], dtype=object).astype(str)
            iso = text[text.str.match(r"^\d{4}-\d{2}-\d{2}$")]
            days = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce").dropna()
            self._days = np.unique(days.to_numpy().astype("datetime64[D]").astype(np.int64))
        return self._days


def pii_key(seed: int) -> bytes:
    """Hash key for sampled fakes. Tokens name synthetic rows only, so the key need not be secret: deriving
    it from the seed makes `sample(seed=s)` reproducible, also after save/load (the secret is never saved)."""
    return hashlib.sha256(f"synthohive-dbt/pii/{seed}".encode()).digest()


def fake_columns(table: str, columns: list[PiiColumn], start: int, n: int, seed: int, settings: PiiSampling,
                 rng: np.random.Generator, seen: Mapping[str, pd.Index]) -> dict[str, np.ndarray | pd.Series]:
    """Fresh fakes for rows start..start+n of the table's own (not copied) PII columns."""
    own = [p for p in columns if p.copy_fk is None]
    if not own or n == 0:
        return {}
    key = pii_key(seed)
    rows = pd.Series(np.arange(start, start + n, dtype=np.int64)).astype(str)
    out: dict[str, np.ndarray | pd.Series] = {}
    strings = [p for p in own if p.family == "string"]
    if strings:
        tokens = pd.DataFrame({p.name: f"{table}\x1f{p.name}\x1f" + rows for p in strings})
        forbidden = settings.forbidden if settings.forbidden is not None else pd.Index([], dtype=object)
        taken = [seen[p.name] for p in strings if p.unique and p.name in seen and len(seen[p.name])]
        if taken:
            forbidden = forbidden.append(taken)
        faked = fresh_fakes(tokens, {p.name: p.kind for p in strings}, settings.strategy, key, forbidden)
        for p in strings:
            values = faked[p.name]
            if p.shape is not None and not p.choices and settings.strategy != "mask":  # in the real format
                values = in_format(TextFormat.from_dict(p.shape), p.kind, values,
                                   tokens[p.name].to_numpy(dtype=object), key, forbidden, p.unique)
            out[p.name] = values.to_numpy(dtype=object)
    for p in own:
        if p.choices:  # declared accepted_values: the project's own labels, drawn evenly
            words = token_words((f"{table}\x1f{p.name}\x1f" + rows).to_numpy(dtype=object), key, 4000)
            out[p.name] = np.asarray(p.choices, dtype=object)[(words[:, 0] % np.uint64(len(p.choices))).astype(int)]
        if p.family == "string" or p.choices:
            continue
        words = token_words((f"{table}\x1f{p.name}\x1f" + rows).to_numpy(dtype=object), key)
        out[p.name] = _fake_values(p, words, key, table, rows, settings, seen.get(p.name))
    for p in own:
        if p.null_rate > 0:
            values = pd.Series(out[p.name])
            values[rng.random(n) < p.null_rate] = None
            out[p.name] = values.to_numpy()
    return out


def _fake_values(p: PiiColumn, words: np.ndarray, key: bytes, table: str, rows: pd.Series,
                 settings: PiiSampling, seen: pd.Index | None) -> np.ndarray:
    if p.family == "bool":
        return (words[:, 0] % np.uint64(2)).astype(bool)
    if p.family == "float":
        u = (words[:, 0] >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        return p.low + u * (p.high - p.low)
    if p.family in ("datetime", "datestring"):  # a day in the real span of whole years
        lo = int(np.datetime64(f"{int(p.low):04d}-01-01", "D").astype(np.int64))
        span = np.uint64(max(int(np.datetime64(f"{int(p.high) + 1:04d}-01-01", "D").astype(np.int64)) - lo, 1))
    else:  # int: as many digits as the real values
        d = max(p.digits, 1)
        lo = 10 ** (d - 1) if d > 1 else 0
        span = np.uint64(10**d - lo)
    values = lo + (words[:, 0] % span).astype(np.int64)
    dates = p.family in ("datetime", "datestring")
    if dates:  # compared as day numbers: text forms would cost more than the draw
        avoid = pd.Index(settings.forbidden_days())
        taken = (pd.Index(np.asarray(seen, dtype="datetime64[D]").astype(np.int64)) if p.unique and seen is not None
                 and len(seen) else None)
    else:
        avoid = settings.forbidden if settings.forbidden is not None else pd.Index([], dtype=object)
        taken = pd.Index(seen.astype(str)) if p.unique and seen is not None and len(seen) else None
    # redraw where a value equals a real one (or repeats, for unique columns): a fake birth date must not be
    # somebody's real one. Gives up after a few rounds only when the span is all but exhausted by real values.
    for round_ in range(1, _MAX_UNIQUE_REDRAWS + 1):
        probe = pd.Index(values) if dates else pd.Index(values.astype(str))
        bad = probe.isin(avoid)
        if p.unique:
            bad |= pd.Series(values).duplicated().to_numpy()
            if taken is not None:
                bad |= probe.isin(taken)
        if not bad.any():
            break
        redraw = token_words((f"{table}\x1f{p.name}\x1f" + rows[bad]).to_numpy(dtype=object), key, round_)
        values[bad] = lo + (redraw[:, 0] % span).astype(np.int64)
    if p.family == "datestring":
        return np.datetime_as_string(values.astype("datetime64[D]"), unit="D").astype(object)
    # microseconds: a fake in year 1 or 9999 (the real span) does not overflow as nanoseconds would
    return values.astype("datetime64[D]").astype("datetime64[us]") if p.family == "datetime" else values
