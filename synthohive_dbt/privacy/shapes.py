"""The format of a faked text column, learned without keeping a value, and fakes drawn in it.

A phone column of 10-digit strings must get 10-digit fakes (`phone::bigint` downstream), not
`+1-416-555-3960`; a licence number `S123-4567-8901` keeps its letters, digits and dashes; a hash keeps its
length and hex alphabet; names keep their case and the digit suffixes of generated test data ("Anna123").

What is learned is a format, never a value: each value becomes a shape in which every digit is `9`, every
letter `a`/`A` (or `x`/`X` in a hex column) and only separators stay as they are ("(999) 999-9999"). Shapes
shared by at least two values are kept as templates with their weights; when values do not share shapes
(free text, tokens) the format is the length distribution and, per position, the character classes seen.
Names keep only a case style and a digit-suffix rate and length.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.privacy import fakes

#: A shape must occur at least this often to be a template (a shape seen once could single a value out).
MIN_SHAPE_COUNT = 2
#: Templates are used when the kept shapes cover this share of the values; otherwise per-position classes.
MIN_TEMPLATE_COVER = 0.8
MAX_TEMPLATES = 20
MAX_POSITIONS = 128
SLOTS = 10  # characters per position string: classes in proportion to how often they were seen
SAMPLE = 5000
MAX_REDRAWS = 8

_ALPHABETS = {"9": "0123456789", "a": "abcdefghijklmnopqrstuvwxyz", "A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
              "x": "0123456789abcdef", "X": "0123456789ABCDEF"}
#: Kinds whose fakes keep the kind's own structure (a name, an email) and only take the column's case style.
STYLED_KINDS = frozenset({"first_name", "last_name", "person_name", "email", "username", "address", "organization"})
#: Kinds generated wholly from the learned format (everything else keeps its kind's fakes).
SHAPED_KINDS = frozenset({"phone", "ssn", "postal_code", "credit_card", "secret", "identity_document", "text"})


@dataclass(frozen=True)
class TextFormat:
    """What a faked string column looks like: shapes or per-position classes, case, digit suffixes."""

    templates: list[tuple[str, float]] = field(default_factory=list)
    lengths: list[tuple[int, float]] = field(default_factory=list)
    positions: list[str] = field(default_factory=list)
    case: str = "mixed"  # title | lower | upper | mixed
    suffix_share: float = 0.0
    suffix_digits: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextFormat:
        return cls(templates=[(str(t), float(w)) for t, w in d.get("templates", [])],
                   lengths=[(int(n), float(w)) for n, w in d.get("lengths", [])],
                   positions=[str(p) for p in d.get("positions", [])], case=str(d.get("case", "mixed")),
                   suffix_share=float(d.get("suffix_share", 0.0)), suffix_digits=int(d.get("suffix_digits", 0)))


def _shape_of(value: str, hex_case: str | None) -> str:
    out = []
    for ch in value:
        if hex_case and ch in "0123456789abcdefABCDEF":
            out.append(hex_case)
        elif ch.isdigit():
            out.append("9")
        elif ch.isalpha():
            out.append("A" if ch.isupper() else "a")
        else:
            out.append(ch)
    return "".join(out)


def _hex_case(values: pd.Series) -> str | None:
    """'x' / 'X' when every value is hex digits and separators, with letters and 8+ hex digits (digests,
    UUIDs, tokens): their letters then come from a-f only."""
    for pattern, mark in ((r"[0-9a-f]", "x"), (r"[0-9A-F]", "X")):
        alnum = values.str.replace(r"[\W_]", "", regex=True)
        ok = alnum.str.fullmatch(pattern + "{8,}").fillna(False)
        if bool(ok.all()) and bool(alnum.str.contains(r"[a-fA-F]").any()):
            return mark
    return None


def _case(values: pd.Series) -> str:
    letters = values[values.str.contains(r"[^\W\d_]", regex=True).fillna(False)]
    if letters.empty:
        return "mixed"
    for style, mask in (("lower", letters == letters.str.lower()), ("upper", letters == letters.str.upper()),
                        ("title", letters == letters.str.title())):
        if float(mask.mean()) >= 0.6:
            return style
    return "mixed"


def learn_format(values: pd.Series, kind: str = "text", seed: int = 0) -> TextFormat | None:
    """The format of a text column's non-null values (a sample of at most SAMPLE rows), or None if empty or
    of a kind whose fakes keep their own shape. Styled kinds (names, emails) keep only case and suffixes."""
    if kind not in SHAPED_KINDS | STYLED_KINDS:
        return None
    v = values.dropna().astype("string")
    v = v[v.str.len() > 0]
    if v.empty:
        return None
    if len(v) > SAMPLE:
        v = v.sample(SAMPLE, random_state=seed)
    suffix = v.str.extract(r"(?<=[^\W\d_])(\d{1,6})$", expand=False)
    suffix_share = float(suffix.notna().mean())
    suffix_digits = int(suffix.dropna().str.len().median()) if suffix.notna().any() else 0
    hex_case = _hex_case(v)
    shapes = Counter(_shape_of(s, hex_case) for s in v.tolist())
    kept = [(s, c) for s, c in shapes.most_common(MAX_TEMPLATES) if c >= MIN_SHAPE_COUNT]
    covered = sum(c for _, c in kept)
    base = {"case": _case(v), "suffix_share": round(suffix_share, 3), "suffix_digits": suffix_digits}
    if kind in STYLED_KINDS:
        return TextFormat(**base)
    if kept and covered >= MIN_TEMPLATE_COVER * len(v):
        return TextFormat(templates=[(s, round(c / covered, 4)) for s, c in kept], **base)
    lengths = Counter(len(s) for s in shapes.elements())
    top = lengths.most_common(MAX_TEMPLATES)
    total = sum(c for _, c in top)
    positions = []
    for i in range(min(max(n for n, _ in top), MAX_POSITIONS)):
        seen = Counter(s[i] for s in shapes.elements() if len(s) > i)
        n = sum(seen.values())
        slots = "".join(ch * max(1, round(SLOTS * c / n)) for ch, c in seen.most_common() if ch.isalnum()
                        or c / n >= 0.5) or "a"
        positions.append(slots)
    return TextFormat(lengths=[(n, round(c / total, 4)) for n, c in top], positions=positions, **base)


# ------------------------------------------------------------------------------------------------ drawing
def _random_bytes(tokens: np.ndarray, key: bytes, width: int, round_: int) -> np.ndarray:
    """(n, width) uint8 from keyed hashes of the row tokens (reproducible per row, nothing real in them)."""
    blocks = [fakes.token_words(tokens, key, 1000 + 97 * round_ + b).view(np.uint8).reshape(len(tokens), 32)
              for b in range(max(1, -(-width // 32)))]
    return np.concatenate(blocks, axis=1)[:, :width]


_CODES = {mark: np.array([ord(c) for c in alphabet], dtype=np.uint32) for mark, alphabet in _ALPHABETS.items()}


def _codes(marks: np.ndarray, rand: np.ndarray) -> np.ndarray:
    """Code points for a (n, L) matrix of marks: class markers drawn from `rand`, separators kept."""
    out = np.ascontiguousarray(marks, dtype="<U1").view(np.uint32).reshape(marks.shape).copy()  # '' -> 0
    for mark, alphabet in _CODES.items():
        where = marks == mark
        if where.any():
            out[where] = alphabet[rand[where] % len(alphabet)]
    return out


def _strings(codes: np.ndarray) -> pd.Series:
    """Rows of code points as strings (0 = end of a shorter value)."""
    width = codes.shape[1]
    if width == 0:
        return pd.Series([""] * len(codes), dtype=object)
    return pd.Series(np.ascontiguousarray(codes).view(f"<U{width}")[:, 0], dtype=object)


def _pick(weights: list[float], column: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(np.asarray(weights, dtype=float))
    u = column.astype(np.float64) / 256.0 * cdf[-1]
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)


def _reserve_phone(shape: str) -> str:
    """A phone of 10+ digits gets 555 as its exchange (digits 7-5 from the end): numbers for fiction."""
    digits = [j for j, m in enumerate(shape) if m == "9"]
    if len(digits) < 10:
        return shape
    chars = list(shape)
    for j in digits[-7:-4]:
        chars[j] = "5"
    return "".join(chars)


def _marks(fmt: TextFormat, kind: str, rand: np.ndarray) -> np.ndarray:
    """(n, L) class marks per row: a template by weight, or a length by weight and a class per position
    ('\x00' past a row's length)."""
    n = len(rand)
    if fmt.templates:
        shapes = [_reserve_phone(t) if kind == "phone" else t for t, _ in fmt.templates]
        width = max(len(t) for t in shapes)
        table = np.array([list(t.ljust(width, "\x00")) for t in shapes], dtype="<U1").reshape(len(shapes), width)
        return table[_pick([w for _, w in fmt.templates], rand[:, 0])]
    width = len(fmt.positions)
    lengths = np.array([min(k, width) for k, _ in fmt.lengths])[_pick([w for _, w in fmt.lengths], rand[:, 0])]
    marks = np.empty((n, width), dtype="<U1")
    for j, slots in enumerate(fmt.positions):
        options = np.array(list(slots), dtype="<U1")
        marks[:, j] = options[rand[:, 1 + j] % len(options)]
    marks[np.arange(width)[None, :] >= lengths[:, None]] = "\x00"
    return marks


def draw(fmt: TextFormat, kind: str, tokens: np.ndarray, key: bytes, round_: int = 0) -> pd.Series:
    """Fakes in the learned format, one per row token."""
    width = max([len(t) for t, _ in fmt.templates] + [len(fmt.positions)]) + 1
    rand = _random_bytes(tokens, key, 2 * width, round_)
    marks = _marks(fmt, kind, rand[:, :width])
    return _strings(_codes(marks, rand[:, width:width + marks.shape[1]]))


def restyle(fmt: TextFormat, kind: str, values: pd.Series, tokens: np.ndarray, key: bytes) -> pd.Series:
    """A kind's fakes in the column's case style; names also with its digit suffixes ("Anna123")."""
    out = values.reset_index(drop=True).astype(object)
    if kind in ("first_name", "last_name", "person_name", "username") and fmt.suffix_share >= 0.5:
        width = max(fmt.suffix_digits, 1)
        words = fakes.token_words(tokens, key, 2000)
        first = fakes.num(words[:, 0], 10**width, width=width)
        if kind == "person_name":
            parts = out.astype("string").str.split(" ", n=1)
            second = fakes.num(words[:, 1], 10**width, width=width)
            out = (parts.str[0] + first + " " + parts.str[1].fillna("") + second).str.strip().astype(object)
        else:
            out = out + first
    if fmt.case == "lower":
        out = out.str.lower()
    elif fmt.case == "upper":
        out = out.str.upper()
    return out


def in_format(fmt: TextFormat | None, kind: str, values: pd.Series, tokens: np.ndarray, key: bytes,
              forbidden: pd.Index, unique: bool) -> pd.Series:
    """The column's fakes in its learned format: drawn from it (SHAPED_KINDS) or restyled (STYLED_KINDS).
    Redrawn while a fake equals a forbidden (real) value or, for unique columns, repeats one."""
    if fmt is None or kind not in SHAPED_KINDS | STYLED_KINDS:
        return values
    shaped = kind in SHAPED_KINDS and (fmt.templates or fmt.positions)
    out = draw(fmt, kind, tokens, key) if shaped else restyle(fmt, kind, values, tokens, key)
    for round_ in range(1, MAX_REDRAWS + 1):
        bad = out.isin(forbidden).to_numpy() | (out.duplicated().to_numpy() if unique else False)
        if not bad.any():
            break
        if shaped:
            out[bad] = draw(fmt, kind, tokens[bad], key, round_).to_numpy()
        else:  # a restyled name that is somebody's real one: a syllable name in the same style
            words = fakes.token_words(tokens[bad], key, 3000 + round_)
            fallback = fakes.syllable_name(words[:, 0])
            if kind == "person_name":
                fallback = fallback + " " + fakes.syllable_name(words[:, 1])
            out[bad] = restyle(fmt, kind, fallback, tokens[bad], key).to_numpy()
    return out

