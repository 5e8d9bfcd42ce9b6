"""Replace PII columns with fakes so that no real value survives, consistently across tables.

Strategies (PrivacyConfig.pii_strategy):
- `mask`: opaque HMAC tokens ("masked-phone-3fa2b1c9d0e1"; emails keep an email shape);
- `faker`: realistic fakes of the column's kind, each drawn from the HMAC of the real value;
- `context_aware_faker`: as `faker`, and within a row the derived values agree with the row's fake
  names (an email "anna.berg42@example.com" next to first name Anna, last name Berg).

Consistency: a real value maps to one fake everywhere in a call (all tables at once), and across calls
with the same secret. Work is done once per distinct value per kind, then mapped onto rows.
Guarantee: no fake equals any original value of any replaced column (a fake that does is redrawn;
names fall back to syllable names, other kinds to a hex suffix). This check makes a mapping depend on
the data of the call, so across calls with different data a rare value can map differently.
Dates are shifted rather than replaced, and the guarantee does not cover them: a shifted date can
equal another person's real date.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from synthohive_dbt.config import PrivacyConfig
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.kinds import dtype_kind
from synthohive_dbt.privacy import fakes
from synthohive_dbt.privacy.detect import PII_KINDS, infer_kind

log = logging.getLogger(__name__)

NAME_KINDS = ("first_name", "last_name", "person_name")
#: Kinds whose fakes must stay distinct (unique tests on emails, phones, ... must keep passing).
IDENTIFIER_KINDS = frozenset({"email", "phone", "ssn", "credit_card", "ip_address", "username", "text"})
MAX_REDRAWS = 6

Maker = Callable[[np.ndarray, np.ndarray, int], pd.Series]  # (words, positions, round) -> fakes
Words = Callable[[np.ndarray, int], np.ndarray]  # (values, round) -> (n, 4) uint64 words


def hmac_words_with(secret: bytes) -> Words:
    """Words of real values: HMAC-SHA256 under the secret (not recomputable by hashing guessed values)."""
    return lambda values, round_: fakes.hmac_words(values, secret, round_)


def resolve_secret(config: PrivacyConfig) -> bytes:
    """The HMAC key: the configured one, else a random one (fakes then differ between runs)."""
    if config.secret is not None:
        key = config.secret.get_secret_value().encode("utf-8")
        if len(key) < 16:
            raise ConfigError("PrivacyConfig.secret is shorter than 16 characters",
                              hint="use a long random secret, e.g. `python -c 'import secrets; "
                                   "print(secrets.token_urlsafe(32))'`, kept out of version control")
        return key
    log.info("no PrivacyConfig.secret given: using a random key, so fakes will differ from run to run")
    return secrets.token_bytes(32)


def _family(series: pd.Series) -> str:
    """The family of fakes a column takes, by its dtype: numbers and timestamps in kind, the rest as text."""
    kind = dtype_kind(series)
    return kind if kind in ("int", "float", "datetime") else "string"


def _resolve(uniques: np.ndarray, make: Maker, words: Words, forbidden: pd.Index, distinct: bool,
             fallback: Callable[[np.ndarray, pd.Series], pd.Series]) -> pd.Series:
    """Fakes for `uniques`, redrawn while one equals a forbidden value (or repeats, for identifiers)."""
    all_pos = np.arange(len(uniques))
    out = make(words(uniques, 0), all_pos, 0).reset_index(drop=True)
    for round_ in range(1, MAX_REDRAWS + 1):
        bad = out.isin(forbidden).to_numpy()
        if distinct:
            bad |= out.duplicated().to_numpy()
        if not bad.any():
            return out
        pos = all_pos[bad]
        out[bad] = make(words(uniques[pos], round_), pos, round_).to_numpy()
    bad = out.isin(forbidden).to_numpy() | (out.duplicated().to_numpy() if distinct else False)
    if bad.any():
        pos = all_pos[bad]
        out[bad] = fallback(words(uniques[pos], MAX_REDRAWS + 1), out[bad]).to_numpy()
    return out


def _name_fallback(kind: str) -> Callable[[np.ndarray, pd.Series], pd.Series]:
    def fallback(w: np.ndarray, _: pd.Series) -> pd.Series:
        if kind == "person_name":
            return fakes.syllable_name(w[:, 0]) + " " + fakes.syllable_name(w[:, 1])
        return fakes.syllable_name(w[:, 0])
    return fallback


def _suffix_fallback(kind: str) -> Callable[[np.ndarray, pd.Series], pd.Series]:
    def fallback(w: np.ndarray, current: pd.Series) -> pd.Series:
        token = fakes.hex_token(w[:, 0], 8)
        current = current.reset_index(drop=True)
        if kind == "email":
            parts = current.str.split("@", n=1)
            return parts.str[0] + "." + token + "@" + parts.str[1]
        return current + "-" + token
    return fallback


class _Replacer:
    """Holds the per-call state: the word source (keyed hash), every original value, and the mappings so far."""

    def __init__(self, frames: Mapping[str, pd.DataFrame], columns: Mapping[str, list[str]],
                 kinds: Mapping[str, Mapping[str, str]], strategy: str, words: Words,
                 forbidden: Iterable[object] | None = None, synthetic_tokens: bool = False) -> None:
        self.frames = frames
        self.columns = columns
        self.kinds = kinds
        self.strategy = strategy
        self.words = words
        # real originals must never come back as fakes; synthetic tokens cannot (they hold a \x1f)
        self.synthetic_tokens = synthetic_tokens
        originals = ([] if synthetic_tokens else
                     [frames[t][c].dropna().astype("string").unique() for t, cols in columns.items() for c in cols])
        if forbidden is not None:
            extra = forbidden if isinstance(forbidden, pd.Index) else pd.Index(list(forbidden), dtype=object)
            originals.append(extra.dropna().astype("string").unique())
        self.forbidden = pd.Index(pd.unique(np.concatenate([np.asarray(o, dtype=object) for o in originals]))
                                  if originals else [])
        self.out: dict[str, pd.DataFrame] = {t: f.copy() for t, f in frames.items()}

    def targets(self, kind: str | None = None, family: str | None = None) -> list[tuple[str, str]]:
        return [(t, c) for t in sorted(self.columns) for c in self.columns[t]
                if (kind is None or self.kinds[t][c] == kind)
                and (family is None or _family(self.frames[t][c]) == family)]

    def _uniques(self, targets: list[tuple[str, str]]) -> np.ndarray:
        parts = [self.frames[t][c].dropna().astype("string").unique() for t, c in targets]
        uniques = pd.unique(np.concatenate([np.asarray(p, dtype=object) for p in parts]))
        # sorted, so a value's redraw history does not depend on row order (tokens are row-ordered already)
        return uniques if self.synthetic_tokens else np.sort(uniques)

    def _apply(self, targets: list[tuple[str, str]], uniques: np.ndarray, fake: pd.Series) -> None:
        index = pd.Index(uniques)
        fake_arr = fake.to_numpy(dtype=object)
        for t, c in targets:
            src = self.frames[t][c]
            codes = index.get_indexer(src.astype("string").fillna("\x00"))
            mapped = pd.Series(fake_arr[np.maximum(codes, 0)], index=src.index, dtype=object)
            mapped = mapped.where(src.notna().to_numpy(), None)
            self.out[t][c] = mapped.astype("string") if isinstance(src.dtype, pd.StringDtype) else mapped

    def _context(self, kind: str, targets: list[tuple[str, str]], uniques: np.ndarray) -> tuple[pd.Series | None,
                                                                                           pd.Series | None]:
        """Fake first/last names of the rows each value first appears in (context-aware strategy)."""
        rows = []
        for t, c in targets:
            table_kinds = self.kinds[t]
            by_kind = {k: [col for col in self.columns[t] if table_kinds[col] == k] for k in NAME_KINDS}
            first = self.out[t][by_kind["first_name"][0]] if by_kind["first_name"] else None
            last = self.out[t][by_kind["last_name"][0]] if by_kind["last_name"] else None
            if kind != "person_name" and (first is None or last is None) and by_kind["person_name"]:
                split = self.out[t][by_kind["person_name"][0]].astype("string").str.split(" ", n=1)
                first = first if first is not None else split.str[0]
                last = last if last is not None else split.str[1]
            if first is None and last is None:
                continue
            src = self.frames[t][c]
            rows.append(pd.DataFrame({"key": src.astype("string"),
                                      "first": first if first is not None else pd.NA,
                                      "last": last if last is not None else pd.NA}).dropna(subset=["key"]))
        if not rows:
            return None, None
        ctx = pd.concat(rows, ignore_index=True).drop_duplicates("key").set_index("key")
        ctx = ctx.reindex(pd.Index(uniques, dtype="string"))
        return ctx["first"].astype(object), ctx["last"].astype(object)

    def _strings(self, kind: str) -> None:
        targets = self.targets(kind, "string")
        if not targets:
            return
        uniques = self._uniques(targets)
        if self.strategy == "mask":
            def make(w: np.ndarray, pos: np.ndarray, round_: int) -> pd.Series:
                return fakes.mask_strings(kind, w)
        else:
            first = last = None
            if self.strategy == "context_aware_faker" and kind in ("email", "username", "person_name"):
                first, last = self._context(kind, targets, uniques)

            def make(w: np.ndarray, pos: np.ndarray, round_: int) -> pd.Series:
                f = l_ = None
                if first is not None and (round_ == 0 or kind != "person_name"):
                    f = first.iloc[pos].reset_index(drop=True).fillna(fakes.first_name(w))
                    l_ = last.iloc[pos].reset_index(drop=True).fillna(fakes.last_name(w))
                return fakes.fake_strings(kind, w, f, l_)
        fallback = _name_fallback(kind) if kind in NAME_KINDS else _suffix_fallback(kind)
        fake = _resolve(uniques, make, self.words, self.forbidden, kind in IDENTIFIER_KINDS, fallback)
        self._apply(targets, uniques, fake)

    def _numbers_and_dates(self) -> None:
        for t, c in self.targets():
            src = self.frames[t][c]
            family = _family(src)
            if family == "string":
                continue
            values = src.dropna()
            uniq = pd.unique(values)
            w = self.words(np.asarray(uniq, dtype=object), 0)
            if family == "int":
                fake = fakes.fake_integers(np.asarray(uniq), w)
                clash = np.isin(fake.astype(str), self.forbidden)
                if clash.any():  # one redraw from fresh words; then step off the value
                    w2 = self.words(np.asarray(uniq, dtype=object)[clash], 1)
                    fake[clash] = fakes.fake_integers(np.asarray(uniq)[clash], w2)
            elif family == "float":
                fake = fakes.fake_floats(np.asarray(uniq, dtype=float), w)
            else:
                fake = fakes.shift_dates(pd.Series(uniq), w).to_numpy()
            mapping = pd.Series(fake, index=pd.Index(uniq))
            self.out[t][c] = src.map(mapping).astype(src.dtype) if family != "float" else src.map(mapping)

    def run(self) -> dict[str, pd.DataFrame]:
        self._numbers_and_dates()
        # names first: the context-aware strategy builds emails and full names from the row's fake names
        order = ["first_name", "last_name", "person_name"] + [k for k in PII_KINDS if k not in NAME_KINDS]
        extra = sorted({k for t in self.kinds for k in self.kinds[t].values()} - set(order))
        for kind in order + extra:
            self._strings(kind)
        return self.out


def replace_pii(frames: Mapping[str, pd.DataFrame], columns: Mapping[str, list[str]],
                config: PrivacyConfig | None = None, *,
                kinds: Mapping[str, Mapping[str, str]] | None = None,
                forbidden: Iterable[object] | None = None) -> dict[str, pd.DataFrame]:
    """New frames (copies) with every listed column's values replaced; the input frames are untouched.

    `columns` is table -> PII columns (e.g. `pii_columns(detect_pii(...))`); `kinds` optionally fixes
    what each column holds (table -> column -> kind, e.g. `pii_kinds(findings)`), else it is inferred
    from the column's name and values. `forbidden`: more values no fake may equal (real PII of tables
    not passed here), on top of every original value of the listed columns.
    """
    config = config or PrivacyConfig()
    kinds_given = kinds or {}
    resolved: dict[str, dict[str, str]] = {}
    for table, cols in columns.items():
        if table not in frames:
            raise ConfigError(f"PII columns are listed for table {table!r}, which is not among the frames "
                              f"{sorted(frames)}", hint="fix the table name in the PII column list")
        missing = [c for c in cols if c not in frames[table].columns]
        if missing:
            raise ConfigError(f"table {table!r}: PII column(s) {missing} do not exist "
                              f"(columns: {list(frames[table].columns)})",
                              hint="fix the column names in the PII column list")
        resolved[table] = {}
        for c in cols:
            kind = kinds_given.get(table, {}).get(c) or infer_kind(frames[table][c], c)
            if kind not in PII_KINDS:
                raise ConfigError(f"table {table!r}, column {c!r}: unknown PII kind {kind!r}",
                                  hint=f"use one of {list(PII_KINDS)}")
            resolved[table][c] = kind
    cols = {t: list(dict.fromkeys(c)) for t, c in columns.items() if c}
    return _Replacer(frames, cols, resolved, config.pii_strategy, hmac_words_with(resolve_secret(config)),
                     forbidden).run()


def fresh_fakes(tokens: pd.DataFrame, kinds: Mapping[str, str], strategy: str, key: bytes,
                forbidden: Iterable[object] | None = None) -> pd.DataFrame:
    """Fakes for synthetic rows: one column per PII column, drawn from keyed hashes of a per-row token.

    The tokens name synthetic rows (no real value goes in), so the key only makes draws reproducible and
    a fast vectorised keyed hash (SipHash, `fakes.token_words`) replaces the per-value HMAC. The strategy,
    the within-row context (an email that fits the row's fake name) and the rule that no fake equals a
    `forbidden` (real) value work exactly as in `replace_pii`. Identifier kinds come out distinct within
    the call. Every column of `tokens` must hold distinct string tokens.
    """
    unknown = {c: k for c, k in kinds.items() if k not in PII_KINDS}
    if unknown:
        raise ConfigError(f"unknown PII kind(s) {unknown}", hint=f"use one of {list(PII_KINDS)}")
    frames = {"rows": tokens}
    columns = {"rows": [str(c) for c in tokens.columns]}

    def words(values: np.ndarray, round_: int) -> np.ndarray:
        return fakes.token_words(values, key, round_)

    return _Replacer(frames, columns, {"rows": dict(kinds)}, strategy, words, forbidden,
                     synthetic_tokens=True).run()["rows"]
