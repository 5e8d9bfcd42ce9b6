"""Deterministic fake values, drawn from HMAC words rather than a random generator.

Every real value v is turned into four 64-bit words w = HMAC-SHA256(secret, v); each fake kind reads
its choices from those words (pool index, digits, suffix). The same value under the same secret gives
the same fake in every table and every run; without the secret nobody can recompute the mapping by
hashing candidate values (which a plain SHA-256 would allow for emails and phone numbers).
Everything is vectorised over the distinct values: pandas string ops, numpy digit matrices.
"""

from __future__ import annotations

import hmac

import numpy as np
import pandas as pd

from synthohive_dbt.privacy import vocabulary as voc

#: Fallback syllables for names when every pool name is a real value of the data (pools can be exhausted
#: when the real data was itself generated with Faker): "Ka-lo-ren" style, almost never a real name.
_SYLLABLES = np.array(["ka", "lo", "mi", "ren", "dor", "ta", "vi", "sel", "ba", "nor", "el", "qui", "zan",
                       "fa", "ro", "tis", "mer", "yo", "pel", "gar", "ul", "we", "jo", "thi", "bre", "cas",
                       "dun", "ilo", "ves", "ox", "pri", "sun"], dtype=object)


def hmac_words(values: np.ndarray, secret: bytes, round_: int = 0) -> np.ndarray:
    """(n, 4) uint64 words per value; `round_` > 0 gives fresh words for a redraw."""
    prefix = b"" if round_ == 0 else f"redraw-{round_}\x1f".encode()
    digests = b"".join(hmac.digest(secret, prefix + str(v).encode("utf-8"), "sha256") for v in values)
    return np.frombuffer(digests, dtype="<u8").reshape(-1, 4)


def token_words(values: np.ndarray, key: bytes, round_: int = 0) -> np.ndarray:
    """(n, 4) uint64 words of synthetic tokens: one keyed SipHash per value (pandas' vectorised
    `hash_array`), spread to four words by the splitmix64 finaliser. ~100x faster than one HMAC per value,
    for inputs that are not real data and so need no secret."""
    sub = hmac.digest(key, f"token-words-{round_}".encode(), "sha256").hex()[:16]
    h = pd.util.hash_array(np.asarray(values, dtype=object), hash_key=sub, categorize=False).astype(np.uint64)
    steps = np.arange(1, 5, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = h[:, None] + steps[None, :]
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def pick(pool: np.ndarray, words: np.ndarray) -> pd.Series:
    return pd.Series(pool[(words % np.uint64(len(pool))).astype(np.int64)], dtype=object)


def num(words: np.ndarray, modulo: int, offset: int = 0, width: int = 0) -> pd.Series:
    values = (words % np.uint64(modulo)).astype(np.int64) + offset
    out = pd.Series(values).astype(str)
    return out.str.zfill(width) if width else out


def hex_token(words: np.ndarray, length: int = 12) -> pd.Series:
    return pd.Series([f"{int(w):016x}"[:length] for w in words], dtype=object)


def ascii_lower(names: pd.Series) -> pd.Series:
    """'Zoë O'Neil' -> 'zoeoneil': email-safe local parts."""
    return (names.astype("string").str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
            .str.lower().str.replace(r"[^a-z]", "", regex=True).astype(object))


def syllable_name(words: np.ndarray) -> pd.Series:
    parts = [pick(_SYLLABLES, words >> np.uint64(8 * k)) for k in range(3)]
    return (parts[0] + parts[1] + parts[2]).str.capitalize()


def first_name(w: np.ndarray) -> pd.Series:
    return pick(voc.first_names(), w[:, 0])


def last_name(w: np.ndarray) -> pd.Series:
    return pick(voc.last_names(), w[:, 1])


def credit_card(w: np.ndarray) -> pd.Series:
    """16-digit Visa-style numbers (leading 4) with a valid Luhn check digit."""
    body = "4" + num(w[:, 0], 10**14, width=14)
    digits = np.frombuffer(body.to_numpy(dtype=str).astype("S15").tobytes(), dtype=np.uint8).reshape(-1, 15)
    check = voc.luhn_check_digit(digits.astype(np.int64) - ord("0"))
    return body + pd.Series(check).astype(str)


def fake_strings(kind: str, w: np.ndarray, first: pd.Series | None = None,
                 last: pd.Series | None = None) -> pd.Series:
    """One fake per row of words, imitating `kind`; `first`/`last` (context) override the name draws."""
    n = len(w)
    fn = first.reset_index(drop=True) if first is not None else first_name(w)
    ln = last.reset_index(drop=True) if last is not None else last_name(w)
    if kind == "first_name":
        return fn
    if kind == "last_name":
        return ln
    if kind == "person_name":
        return fn + " " + ln
    if kind == "email":
        return (ascii_lower(fn) + "." + ascii_lower(ln) + num(w[:, 2], 100) + "@"
                + pick(np.array(voc.FAKE_EMAIL_DOMAINS, dtype=object), w[:, 3]))
    if kind == "username":
        return ascii_lower(fn).str[:1] + ascii_lower(ln) + num(w[:, 2], 1000)
    if kind == "phone":
        return "+1-" + num(w[:, 0], 800, 200) + "-555-" + num(w[:, 1], 10_000, width=4)
    if kind == "address":
        return num(w[:, 0], 9900, 100) + " " + pick(voc.last_names(), w[:, 1]) + " " \
            + pick(voc.street_suffixes(), w[:, 2])
    if kind == "ip_address":  # RFC 1918 private range: never a real public host
        return "10." + num(w[:, 0], 256) + "." + num(w[:, 1], 256) + "." + num(w[:, 2], 254, 1)
    if kind == "credit_card":
        return credit_card(w)
    if kind == "ssn":  # area numbers 900-999 are never issued as SSNs
        return "9" + num(w[:, 0], 100, width=2) + "-" + num(w[:, 1], 99, 1, 2) + "-" + num(w[:, 2], 9999, 1, 4)
    if kind == "postal_code":
        return num(w[:, 0], 100_000, width=5)
    return pd.Series([kind] * n, dtype=object) + "_" + hex_token(w[:, 0])


def mask_strings(kind: str, w: np.ndarray) -> pd.Series:
    """Opaque tokens: reveal nothing, stay distinct (48 bits), keep an email's shape for format tests."""
    token = hex_token(w[:, 0])
    if kind == "email":
        return "masked-" + token + "@example.invalid"
    return "masked-" + kind + "-" + token


def fake_integers(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    """An integer with the same number of digits and sign as each original (ids, numeric phones)."""
    v = values.astype(np.int64)
    digits = np.floor(np.log10(np.maximum(np.abs(v), 1))).astype(np.int64) + 1
    lo = np.where(digits > 1, 10 ** (digits - 1), 0)
    span = 10**digits - lo
    return np.sign(v + (v == 0)) * (lo + (w[:, 0] % span.astype(np.uint64)).astype(np.int64))


def fake_floats(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Uniform within the range of the given values (keeps plausibility, drops the value)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    u = (w[:, 0] >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return lo + u * (hi - lo if hi > lo else 1.0)


def shift_dates(values: pd.Series, w: np.ndarray) -> pd.Series:
    """Shift each date by 1 to 365 days either way (a birth date keeps its decade, loses its day)."""
    days = (w[:, 0] % np.uint64(365)).astype(np.int64) + 1
    sign = np.where(w[:, 1] % np.uint64(2) == 0, 1, -1)
    return values.reset_index(drop=True) + pd.to_timedelta(days * sign, unit="D")
