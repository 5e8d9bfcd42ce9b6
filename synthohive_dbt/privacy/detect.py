"""Find columns that hold personal data, by column name and by values, for a person to review.

Detection is a proposal, not a verdict: every finding carries a confidence in [0, 1] and the reason
(which name rule, what share of sampled values matched which pattern), so a reviewer can accept or
reject it before `replace_pii` runs. Declared PII (dbt meta, `TableConfig.pii_columns`,
`PrivacyConfig.pii_columns`) is always a finding with confidence 1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthohive_dbt.config import Metadata, PrivacyConfig
from synthohive_dbt.privacy import vocabulary as voc

PII_KINDS = ("email", "phone", "person_name", "first_name", "last_name", "username", "address", "ip_address",
             "credit_card", "ssn", "date_of_birth", "postal_code", "text")

#: (kind, pattern on the normalised column name, confidence). Order matters only for equal confidence.
NAME_RULES: tuple[tuple[str, re.Pattern[str], float], ...] = tuple(
    (kind, re.compile(rf"(^|_)({pattern})(_|$)"), conf) for kind, pattern, conf in (
        ("email", r"e_?mail(_address)?|mail_address", 0.9),
        ("ip_address", r"ip|ip_?address|ipv[46]|remote_addr|client_ip", 0.9),
        ("credit_card", r"credit_?card(_number)?|card_?number|cc_?num(ber)?|pan", 0.9),
        ("ssn", r"ssn|social_security(_number)?|national_id|tax_id|passport(_number)?", 0.9),
        ("phone", r"phone(_number)?|mobile|cell_?phone|telephone|tel|fax|msisdn", 0.9),
        ("first_name", r"first_?name|fname|given_?name|forename", 0.9),
        ("last_name", r"last_?name|lname|surname|family_?name", 0.9),
        ("person_name", r"full_?name|(customer|person|contact|employee|client|patient|owner|buyer|recipient|"
                        r"member|account_holder|card_holder)_?name", 0.85),
        ("username", r"user_?name|login|handle|screen_name", 0.7),
        ("date_of_birth", r"dob|birth_?date|date_of_birth|birthday", 0.85),
        ("address", r"address(_line)?(_?\d)?|addr|street(_address)?|billing_address|shipping_address", 0.85),
        ("postal_code", r"zip(_?code)?|postal_?code|postcode", 0.6),
    ))

#: A name that describes a measure or a flag ABOUT personal data is not itself personal data:
#: `credit_card_amount`, `email_count`, `phone_type`, `is_email_verified`, `address_id`.
MEASURE_NAME = re.compile(r"(^(is|has|n|num|count|total)_)|(_(amount|amt|total|sum|count|cnt|qty|quantity|avg|mean|"
                          r"pct|percent|rate|ratio|share|fee|price|cost|balance|value|score|type|kind|method|"
                          r"status|flag|verified|valid|category|id|key|hash|length|len|domain)$)")

#: A value pattern must match at least this share of sampled distinct values to count.
MIN_VALUE_SHARE = 0.6
#: Person-name lists are incomplete (foreign names, nicknames): a lower bar, and a confidence discount.
MIN_NAME_SHARE = 0.5


@dataclass(frozen=True)
class Evidence:
    """One rule's opinion about a column."""

    kind: str
    confidence: float
    reason: str
    share: float | None = None


@dataclass(frozen=True)
class PiiFinding:
    """One column that looks personal: what kind, how sure, and why."""

    table: str
    column: str
    kind: str
    confidence: float
    reason: str
    source: str  # "declared", "name", "values", or "name+values"
    match_share: float | None = None  # share of sampled distinct values that fit the kind's pattern


def normalise_name(column: str) -> str:
    """'billingAddress', 'E-Mail ' -> 'billing_address', 'e_mail' (so one regex fits all spellings)."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", column.strip())
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


def kind_from_name(column: str) -> Evidence | None:
    """What the column name alone suggests, or None."""
    name = normalise_name(column)
    if name == "name":
        return Evidence("person_name", 0.5, "column is called 'name' (a person's, or a product's?)")
    if MEASURE_NAME.search(name):
        return None
    best: Evidence | None = None
    for kind, pattern, conf in NAME_RULES:
        if pattern.search(name) and (best is None or conf > best.confidence):
            best = Evidence(kind, conf, f"column name {column!r} matches the {kind} naming rule")
    return best


def _share(mask: np.ndarray | pd.Series) -> float:
    arr = np.asarray(mask, dtype=bool)
    return float(arr.mean()) if arr.size else 0.0


def value_shares(values: pd.Series) -> dict[str, float]:
    """Share of the distinct sampled values that fit each PII pattern (string values only)."""
    v = values.astype("string").str.strip()
    v = v[v.str.len() > 0]
    if v.empty:
        return {}
    shares = {k: _share(v.str.fullmatch(p).fillna(False)) for k, p in (("email", voc.EMAIL), ("ssn", voc.SSN))}
    shares["ip_address"] = _share((v.str.fullmatch(voc.IPV4) | v.str.fullmatch(voc.IPV6)).fillna(False))
    card_like = v.str.fullmatch(voc.CARD).fillna(False).to_numpy(dtype=bool)
    shares["credit_card"] = _share(card_like & voc.luhn_valid(v))
    # a phone needs a separator or a "+": a bare run of digits is a number, not evidently a phone
    phone_ok = v.str.fullmatch(voc.PHONE).fillna(False) & v.str.contains(r"[+\s().-]", regex=True).fillna(False)
    digits = v.str.count(r"\d")
    shares["phone"] = _share(phone_ok & digits.between(7, 15))
    shares["address"] = _share(v.str.match(voc.ADDRESS).fillna(False))
    tokens = v.str.split()
    n_tokens = tokens.str.len()
    first_tok = tokens.str[0].str.lower().str.strip(".,")
    last_tok = tokens.str[-1].str.lower().str.strip(".,")
    alpha = v.str.fullmatch(r"[^\W\d_][^\W\d_'.-]*(\s[^\W\d_][^\W\d_'.-]*){0,3}").fillna(False)
    first_in = first_tok.isin(voc.first_name_set())
    last_in = last_tok.isin(voc.last_name_set())
    one = (n_tokens == 1) & alpha
    shares["first_name"] = _share(one & first_in)
    shares["last_name"] = _share(one & last_in)
    shares["person_name"] = _share((n_tokens.between(2, 4)) & alpha & (first_in | last_in))
    return shares


def kind_from_values(series: pd.Series, sample_size: int = 2000, seed: int = 0) -> Evidence | None:
    """What a sample of distinct values suggests, or None when no pattern is convincing."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_float_dtype(series) \
            or pd.api.types.is_datetime64_any_dtype(series):
        return None
    distinct = pd.Series(series.dropna().unique())
    if len(distinct) < 3:
        return None
    if len(distinct) > sample_size:
        distinct = distinct.sample(sample_size, random_state=seed)
    if pd.api.types.is_integer_dtype(series):
        shares = {"credit_card": _share(voc.luhn_valid(distinct.astype("string")))}
    else:
        shares = value_shares(distinct)
    best: Evidence | None = None
    for kind, share in shares.items():
        bar = MIN_NAME_SHARE if kind in ("first_name", "last_name", "person_name") else MIN_VALUE_SHARE
        if share < bar:
            continue
        conf = share * (0.8 if kind in ("first_name", "last_name", "person_name") else 1.0)
        if best is None or conf > best.confidence:
            best = Evidence(kind, conf, f"{share:.0%} of {len(distinct)} sampled distinct values look like {kind}",
                            share)
    return best


def _combine(name: Evidence | None, values: Evidence | None) -> tuple[Evidence, str] | None:
    """One verdict from both rules: agreeing rules reinforce (1 - (1-a)(1-b)); otherwise the surer wins."""
    if name and values and name.kind == values.kind:
        conf = 1.0 - (1.0 - name.confidence) * (1.0 - values.confidence)
        return Evidence(name.kind, conf, f"{name.reason}; {values.reason}", values.share), "name+values"
    if name and values:
        winner, other = (name, values) if name.confidence >= values.confidence else (values, name)
        source = "name" if winner is name else "values"
        return Evidence(winner.kind, winner.confidence, f"{winner.reason} (but {other.reason})",
                        values.share if winner is values else None), source
    if name:
        return name, "name"
    if values:
        return values, "values"
    return None


def infer_kind(series: pd.Series, column: str) -> str:
    """The PII kind a column's fakes should imitate (`text` when nothing fits)."""
    got = _combine(kind_from_name(column), kind_from_values(series))
    if got is None:
        return "date_of_birth" if pd.api.types.is_datetime64_any_dtype(series) else "text"
    return got[0].kind


def declared_pii(metadata: Metadata | None = None, config: PrivacyConfig | None = None) -> dict[str, list[str]]:
    """Table -> PII columns declared in the metadata (dbt meta/tags) and in the privacy config."""
    out: dict[str, set[str]] = {}
    if metadata is not None:
        for t in metadata.tables.values():
            out.setdefault(t.name, set()).update(t.pii_columns)
    if config is not None:
        for t, cols in config.pii_columns.items():
            out.setdefault(t, set()).update(cols)
    return {t: sorted(c) for t, c in out.items() if c}


def detect_pii(frames: Mapping[str, pd.DataFrame], metadata: Metadata | None = None,
               config: PrivacyConfig | None = None, *, min_confidence: float = 0.5,
               sample_size: int = 2000, seed: int = 0) -> list[PiiFinding]:
    """Findings for every column that is declared PII or looks like PII, sorted by table and column.

    With `config.detect_pii` False only declared columns are returned; columns in `config.not_pii` are
    never flagged by the heuristics (a declaration in dbt still wins). Values are sampled (distinct
    values, at most `sample_size`), so a 10M-row table costs the same as a 10k-row one.
    """
    declared = declared_pii(metadata, config)
    detect = config.detect_pii if config is not None else True
    overruled = config.not_pii if config is not None else {}
    findings: list[PiiFinding] = []
    for table in sorted(frames):
        frame = frames[table]
        for column in frame.columns:
            column = str(column)
            is_declared = column in declared.get(table, [])
            if not is_declared and (not detect or column in overruled.get(table, ())):
                continue
            name = kind_from_name(column)
            values = kind_from_values(frame[column], sample_size, seed)
            got = _combine(name, values)
            if is_declared:
                kind = got[0].kind if got else "text"
                reason = "declared PII" + (f"; looks like {kind}: {got[0].reason}" if got else "")
                findings.append(PiiFinding(table, column, kind, 1.0, reason, "declared",
                                           values.share if values else None))
            elif got is not None and got[0].confidence >= min_confidence:
                ev, source = got
                findings.append(PiiFinding(table, column, ev.kind, round(ev.confidence, 4), ev.reason, source,
                                           ev.share))
    return findings


def pii_columns(findings: list[PiiFinding], min_confidence: float = 0.5) -> dict[str, list[str]]:
    """The reviewed findings as the `columns` argument of `replace_pii`."""
    out: dict[str, list[str]] = {}
    for f in findings:
        if f.confidence >= min_confidence:
            out.setdefault(f.table, []).append(f.column)
    return out


def pii_kinds(findings: list[PiiFinding]) -> dict[str, dict[str, str]]:
    """table -> column -> kind, to tell `replace_pii` what each fake should look like."""
    out: dict[str, dict[str, str]] = {}
    for f in findings:
        out.setdefault(f.table, {})[f.column] = f.kind
    return out
