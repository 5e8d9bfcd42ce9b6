"""Name lists and value patterns shared by PII detection and fake generation.

Person names come from Faker's en_US / en_GB providers (data tables, no Faker instance needed), so
detection recognises the same names the fakes are drawn from and no list lives in this repository.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd
from faker.providers.address.en_US import Provider as _Address
from faker.providers.person.en_GB import Provider as _PersonGB
from faker.providers.person.en_US import Provider as _PersonUS

#: RFC 2606 reserved domains: a fake address can never reach a real person.
FAKE_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

EMAIL = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")  # \w: internationalised addresses too
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = re.compile(rf"({_OCTET}\.){{3}}{_OCTET}")
IPV6 = re.compile(r"([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
                  r"|(([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4})?::(([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4})?")
SSN = re.compile(r"(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}")
CARD = re.compile(r"\d(?:[ -]?\d){12,18}")
PHONE = re.compile(r"\+?\d{0,3}[\s.-]?\(?\d{2,4}\)?[\s.-]?\d{3,4}[\s.-]?\d{3,4}")
_STREET_WORDS = sorted({s.lower() for s in _Address.street_suffixes} | {
    "st", "ave", "rd", "blvd", "ln", "dr", "ct", "pl", "ter", "cir", "pkwy", "hwy", "sq", "trl", "strasse",
    "straße", "rue", "via", "calle"}, key=len, reverse=True)
ADDRESS = re.compile(r"^\d{1,6}[A-Za-z]?\s+[\w.' -]+?\s(?:" + "|".join(map(re.escape, _STREET_WORDS)) + r")\b\.?",
                     re.IGNORECASE)


@lru_cache(maxsize=1)
def first_names() -> np.ndarray:
    names = (set(_PersonUS.first_names) | set(_PersonUS.first_names_male) | set(_PersonUS.first_names_female)
             | set(_PersonGB.first_names_male) | set(_PersonGB.first_names_female))
    return np.array(sorted(names), dtype=object)


@lru_cache(maxsize=1)
def last_names() -> np.ndarray:
    return np.array(sorted(set(_PersonUS.last_names) | set(_PersonGB.last_names)), dtype=object)


@lru_cache(maxsize=1)
def street_suffixes() -> np.ndarray:
    return np.array(sorted(set(_Address.street_suffixes)), dtype=object)


@lru_cache(maxsize=1)
def _name_sets() -> tuple[frozenset[str], frozenset[str]]:
    return (frozenset(n.lower() for n in first_names()), frozenset(n.lower() for n in last_names()))


def first_name_set() -> frozenset[str]:
    return _name_sets()[0]


def last_name_set() -> frozenset[str]:
    return _name_sets()[1]


def luhn_valid(values: pd.Series) -> np.ndarray:
    """Luhn checksum of digit strings (separators stripped), vectorised over a digit matrix."""
    digits = values.str.replace(r"[ -]", "", regex=True)
    ok_len = digits.str.fullmatch(r"[0-9]{13,19}").fillna(False).to_numpy(dtype=bool)
    out = np.zeros(len(values), dtype=bool)
    if not ok_len.any():
        return out
    padded = digits[ok_len].str.zfill(19).to_numpy(dtype=str).astype("S19")
    mat = np.frombuffer(padded.tobytes(), dtype=np.uint8).reshape(-1, 19) - ord("0")
    doubled = mat[:, -2::-2] * 2  # every second digit from the right, check digit excluded
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = doubled.sum(axis=1) + mat[:, -1::-2].sum(axis=1)
    out[ok_len] = total % 10 == 0
    return out


def luhn_check_digit(body: np.ndarray) -> np.ndarray:
    """Check digit that makes each row of `body` (an int matrix of digits) Luhn-valid."""
    rev = body[:, ::-1]
    doubled = rev[:, 0::2] * 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = doubled.sum(axis=1) + rev[:, 1::2].sum(axis=1)
    return (10 - total % 10) % 10
