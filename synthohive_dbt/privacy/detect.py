"""Decide which columns hold personal data: the project's declarations first, heuristics last.

Precedence, column by column (`decide_pii`):

1. declared PII (`meta: {pii: true}`, a `pii` tag, `TableConfig.pii_columns`, `PrivacyConfig.pii_columns`)
   is always faked (with `accepted_values`, the fakes are drawn from the declared values);
2. declared not PII (`meta: {pii: false}`, `meta: {synthohive: {pii: false}}`, `--not-pii TABLE.COLUMN`,
   `PrivacyConfig.not_pii`) is never faked;
3. declared facts: keys and foreign keys are regenerated in their format, and a column with
   `accepted_values` is drawn from its declared values: neither is faked;
4. only then the heuristics, on the column name and on its values (`privacy.names` for person names: a
   column called `name` of labels is not people).

Heuristic findings are proposals: every one carries a confidence in [0, 1] and the reason (which name rule,
what share of sampled values matched which pattern), so a reviewer can accept or overrule it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthohive_dbt.config import Metadata, PrivacyConfig
from synthohive_dbt.privacy import vocabulary as voc
from synthohive_dbt.privacy.names import NameShape, name_shape

PII_KINDS = ("email", "phone", "person_name", "first_name", "last_name", "username", "address", "ip_address",
             "credit_card", "ssn", "date_of_birth", "postal_code", "secret", "identity_document", "organization",
             "text")
PERSON_KINDS = ("person_name", "first_name", "last_name")

#: Always personal (or secret), whatever the suffix: a password hash, an API key, a passport or licence number,
#: a national id. Checked before MEASURE_NAME, which would otherwise drop `api_key`, `national_id`,
#: `password_hash` as keys and hashes; only true measures and flags about them (`password_length`,
#: `has_passport`, `token_count`) are not.
SENSITIVE_RULES: tuple[tuple[str, re.Pattern[str], float], ...] = tuple(
    (kind, re.compile(rf"(^|_)({pattern})(_|$)"), conf) for kind, pattern, conf in (
        ("secret", r"pass_?word|passwd|pwd|pass_?hash|secret|client_secret|(access|refresh|auth|api|bearer|"
                   r"session|reset)_?token|token|api_?key|apikey|access_?key|secret_?key|private_?key|credentials?|"
                   r"salt|md5|sha(1|2|224|256|384|512)?|hash|digest", 0.9),
        ("identity_document", r"drivers|driv(er|ing)s?_?licen[cs]e(_?(number|no|num|id))?|dl_?(number|no|num)|"
                              r"licen[cs]e_?(number|no|num)|passport(_?(number|no|num|id))?|"
                              r"national_?(id|insurance|identity)(_?(number|no|num))?|nino|nhs_?(number|no)|"
                              r"id_?card(_?(number|no|num))?|identity_?(card|number|document)|tax_?(id|number)|"
                              r"tax_?payer_?id|medicare_?(number|id)|mrn|medical_record_?(number|no)?", 0.9),
        ("ssn", r"ssn|social_security(_?(number|no|num))?|sin", 0.9),
    ))
SENSITIVE_MEASURE = re.compile(r"(^(is|has|n|num|count|total)_)|(_(count|cnt|length|len|type|kind|method|status|"
                               r"flag|verified|valid|expires?|expiry|expired|expiration|country|issuer|issued|"
                               r"at|date|ts|on|policy|algo|algorithm|enabled|disabled|required|set|changed|"
                               r"provided|present|requirements?|rules?|settings?|options?|policies|format|mode)$)")

#: (kind, pattern on the normalised column name, confidence). Order matters only for equal confidence.
NAME_RULES: tuple[tuple[str, re.Pattern[str], float], ...] = tuple(
    (kind, re.compile(rf"(^|_)({pattern})(_|$)"), conf) for kind, pattern, conf in (
        ("email", r"e_?mail(_address)?|mail_address", 0.9),
        ("ip_address", r"ip|ip_?address|ipv[46]|remote_addr|client_ip", 0.9),
        ("credit_card", r"credit_?card(_number)?|card_?number|cc_?num(ber)?|pan", 0.9),
        ("phone", r"phone(_number)?|mobile|cell_?phone|telephone|tel|fax|msisdn", 0.9),
        ("first_name", r"first_?name|fname|given_?name|forename|middle_?name|maiden_?name", 0.9),
        ("last_name", r"last_?name|lname|surname|family_?name", 0.9),
        ("person_name", r"full_?name|(customer|person|contact|employee|client|patient|owner|buyer|recipient|"
                        r"member|account_holder|card_holder|practitioner|physician|doctor|clinician|nurse|"
                        r"prescriber|attending|referring|caregiver|guardian|emergency_contact)_?name|"
                        r"practitioner|physician|doctor|clinician|prescriber", 0.85),
        ("organization", r"(clinic|hospital|practice|pharmacy|facility|care_?home|surgery)_?name", 0.8),
        ("username", r"user_?name|login|handle|screen_name", 0.7),
        ("date_of_birth", r"dob|birth_?date|date_of_birth|birthday", 0.85),
        ("address", r"address(_line)?(_?\d)?|addr|street(_address)?|billing_address|shipping_address", 0.85),
        ("postal_code", r"zip(_?code)?|postal_?code|postcode", 0.6),
    ))

#: A name that describes a measure or a flag ABOUT personal data is not itself personal data:
#: `credit_card_amount`, `email_count`, `phone_type`, `is_email_verified`, `address_id`.
MEASURE_NAME = re.compile(r"(^(n|num|count|total)_)|((^|_)(is|has)_)|(_(amount|amt|total|sum|count|cnt|qty|quantity|"
                          r"avg|mean|pct|percent|rate|ratio|share|fee|price|cost|balance|value|score|type|kind|"
                          r"method|status|flag|verified|valid|category|id|key|hash|length|len|domain|enabled|"
                          r"disabled|required|requirements?|rules?|settings?|options?|preferences?|format|mode|"
                          r"latitude|longitude|lat|lng|lon)$)")

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


#: A bare `name` (or `first`, `last`, `provider_name`) says little: its values must look like people.
#: The table's name says whose name it is: a patients table's `name` is a person's, a clinics table's an
#: organisation's (identifying the clinic a patient went to).
WEAK_NAMES = {"name": "person_name", "full_name": "person_name", "first": "first_name", "given": "first_name", "last": "last_name",
              "family": "last_name", "maiden": "last_name", "provider_name": "person_name", "provider": "person_name",
              "display_name": "person_name", "author": "person_name", "author_name": "person_name"}
PERSON_TABLE = re.compile(r"(^|_)(customer|user|patient|employee|person|people|member|contact|client|author|"
                          r"provider|practitioner|physician|doctor|clinician|nurse|staff|student|teacher|"
                          r"account_holder|guardian|caregiver|subscriber|buyer|seller|owner|driver|passenger|"
                          r"guest|visitor|applicant|candidate)s?(_|$)")
ORGANISATION_TABLE = re.compile(r"(^|_)(clinic|hospital|practice|pharmac(y|ie)|facilit(y|ie)|care_?home|"
                                r"surger(y|ie))s?(_|$)")


def kind_from_name(column: str, table: str | None = None) -> Evidence | None:
    """What the column name (and, for a bare `name`, the table's name) suggests, or None."""
    name = normalise_name(column)
    if name in ("name", "full_name", "display_name") and table is not None:
        owner = normalise_name(table)
        if ORGANISATION_TABLE.search(owner):
            return Evidence("organization", 0.8, f"column {column!r} of table {table!r} names a care provider")
        if PERSON_TABLE.search(owner):
            return Evidence("person_name", 0.85, f"column {column!r} of table {table!r} names a person")
    if name in WEAK_NAMES:
        return Evidence(WEAK_NAMES[name], 0.5, f"column is called {column!r} (a person's, or a label?)")
    if not SENSITIVE_MEASURE.search(name):
        for kind, pattern, conf in SENSITIVE_RULES:
            if pattern.search(name):
                return Evidence(kind, conf, f"column name {column!r} matches the {kind} naming rule")
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
    return shares


def person_shares(shape: NameShape | None) -> dict[str, float]:
    """Shares for the person-name kinds, none when the values are categories or labels (privacy.names)."""
    if shape is None or not shape.personal:
        return {}
    return {shape.kind(): shape.person}


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
        shares = {**value_shares(distinct), **person_shares(name_shape(series, sample_size, seed))}
    best: Evidence | None = None
    for kind, share in shares.items():
        bar = MIN_NAME_SHARE if kind in PERSON_KINDS else MIN_VALUE_SHARE
        if share < bar:
            continue
        conf = share * (0.8 if kind in PERSON_KINDS else 1.0)
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


def heuristic(series: pd.Series, column: str, table: str | None = None, sample_size: int = 2000,
              seed: int = 0) -> tuple[Evidence, str] | tuple[None, str]:
    """The heuristics' verdict on one column: (evidence, source), or (None, why not) when they see no PII.

    A weak name (`name`, `first`, `provider_name`) counts only when the values look like people's names:
    labels, slugs and categories under such a name are not personal data. Strong names (`first_name`,
    `customer_name`, `email`) count whatever the values.
    """
    name = kind_from_name(column, table)
    values = kind_from_values(series, sample_size, seed)
    shape = name_shape(series, sample_size, seed) if name is not None and name.kind in PERSON_KINDS else None
    if name is not None and name.kind in PERSON_KINDS and name.confidence < 0.85:
        if shape is not None and not shape.personal:
            return None, f"{name.reason}: {shape.describe()}"
        if shape is not None:
            conf = 0.5 + 0.4 * shape.person
            name = Evidence(shape.kind(), conf, f"{name.reason}: {shape.describe()}", shape.person)
            values = values if values is not None and values.kind != name.kind else None
    elif name is not None and name.kind == "person_name" and shape is not None and shape.personal:
        name = Evidence(shape.kind(), name.confidence, name.reason)  # one-word values: first or last names
    got = _combine(name, values)
    if got is None:
        return None, "no name rule or value pattern matched"
    return got


def infer_kind(series: pd.Series, column: str) -> str:
    """The PII kind a column's fakes should imitate (`text` when nothing fits)."""
    got = _combine(kind_from_name(column), kind_from_values(series))
    if got is None:
        return "date_of_birth" if pd.api.types.is_datetime64_any_dtype(series) else "text"
    return got[0].kind


def _declared(metadata: Metadata | None, config: PrivacyConfig | None, which: str) -> dict[str, set[str]]:
    """Table -> columns a declaration names: `which` is "pii" or "not_pii" (TableConfig and PrivacyConfig)."""
    out: dict[str, set[str]] = {}
    for t in (metadata.tables.values() if metadata is not None else ()):
        out.setdefault(t.name, set()).update(getattr(t, f"{which}_columns"))
    listed = (config.pii_columns if which == "pii" else config.not_pii) if config is not None else {}
    for table, cols in listed.items():
        out.setdefault(table, set()).update(cols)
    return out


def declared_pii(metadata: Metadata | None = None, config: PrivacyConfig | None = None) -> dict[str, list[str]]:
    """Table -> PII columns declared in the metadata (dbt meta/tags) and in the privacy config."""
    return {t: sorted(c) for t, c in _declared(metadata, config, "pii").items() if c}


def declared_not_pii(metadata: Metadata | None = None, config: PrivacyConfig | None = None) -> dict[str, set[str]]:
    """Table -> columns declared not personal (dbt `meta: {pii: false}`, `--not-pii`, PrivacyConfig.not_pii)."""
    return _declared(metadata, config, "not_pii")


@dataclass(frozen=True)
class PiiDecision:
    """What happens to one column and why: faked (declared or a heuristic) or kept (a declaration or fact
    that beat a heuristic). `synthohive inspect` lists these before any run."""

    table: str
    column: str
    faked: bool
    kind: str | None
    source: str  # declared | not_pii | key | accepted_values | name | values | name+values | values_disagree
    reason: str
    confidence: float = 1.0
    match_share: float | None = None

    def finding(self) -> PiiFinding:
        return PiiFinding(self.table, self.column, self.kind or "text", self.confidence, self.reason, self.source,
                          self.match_share)


def _key_columns(metadata: Metadata | None, table: str) -> dict[str, str]:
    """Key columns of a table (regenerated in their format, never faked), with why."""
    if metadata is None or table not in metadata.tables:
        return {}
    cfg = metadata.tables[table]
    out = {c: "primary key" for c in cfg.pk}
    for fk in cfg.fk:
        out.update({c: f"foreign key {fk.label}" for c in fk.columns})
    for other in metadata.tables.values():
        for fk in other.fk:
            if fk.parent == table:
                out.update({c: f"referenced by {other.name}{fk.label}" for c in fk.parent_columns})
    return out


def decide_pii(frames: Mapping[str, pd.DataFrame], metadata: Metadata | None = None,
               config: PrivacyConfig | None = None, *, min_confidence: float = 0.5, sample_size: int = 2000,
               seed: int = 0) -> list[PiiDecision]:
    """Every faked column, and every column a declaration or a fact kept from a heuristic, by precedence
    (see the module docstring). Frames may be empty (names only: values were not read)."""
    declared = declared_pii(metadata, config)
    unmarked = declared_not_pii(metadata, config)
    detect = config.detect_pii if config is not None else True
    out: list[PiiDecision] = []
    for table in sorted(frames):
        frame = frames[table]
        keys = _key_columns(metadata, table)
        cfg = metadata.tables.get(table) if metadata is not None else None
        for column in map(str, frame.columns):
            accepted = cfg.constraint(column).accepted_values if cfg is not None else None
            if column in declared.get(table, []):
                kind = infer_kind(frame[column], column) if len(frame) else (
                    (kind_from_name(column, table) or Evidence("text", 1.0, "")).kind)
                drawn = "; fakes are drawn from its accepted_values" if accepted else ""
                out.append(PiiDecision(table, column, True, kind, "declared",
                                       f"declared PII (dbt meta/tag or PrivacyConfig.pii_columns){drawn}"))
                continue
            if not detect and column not in unmarked.get(table, ()):
                continue
            ev, why = heuristic(frame[column], column, table, sample_size, seed)
            flagged = ev is not None and ev.confidence >= min_confidence
            looks = f" (heuristics: {ev.kind}, {ev.reason})" if flagged and ev is not None else ""
            if column in unmarked.get(table, ()):
                out.append(PiiDecision(table, column, False, None, "not_pii",
                                       f"declared not PII (meta pii: false, --not-pii or PrivacyConfig.not_pii)"
                                       f"{looks}"))
            elif not flagged:
                if ev is None and why.startswith("column is called"):  # a weak name the values overruled
                    out.append(PiiDecision(table, column, False, None, "values_disagree", why, 0.0))
            elif column in keys:
                out.append(PiiDecision(table, column, False, None, "key",
                                       f"{keys[column]}: regenerated in its format{looks}"))
            elif accepted:
                out.append(PiiDecision(table, column, False, None, "accepted_values",
                                       f"drawn from its {len(accepted)} declared accepted_values{looks}"))
            else:
                assert ev is not None
                out.append(PiiDecision(table, column, True, ev.kind, why, ev.reason, round(ev.confidence, 4),
                                       ev.share))
    return out


def detect_pii(frames: Mapping[str, pd.DataFrame], metadata: Metadata | None = None,
               config: PrivacyConfig | None = None, *, min_confidence: float = 0.5,
               sample_size: int = 2000, seed: int = 0) -> list[PiiFinding]:
    """Findings for every column that will be faked (declared, or flagged by the heuristics and not overruled
    by a declaration or a fact), sorted by table and column.

    With `config.detect_pii` False only declared columns are returned. Values are sampled (distinct values,
    at most `sample_size`), so a 10M-row table costs the same as a 10k-row one.
    """
    return [d.finding() for d in decide_pii(frames, metadata, config, min_confidence=min_confidence,
                                             sample_size=sample_size, seed=seed) if d.faked]


def unmark_hint(finding: PiiFinding) -> str:
    """Why a column was faked and how to stop it: the exact YAML or flag (for failing tests on it)."""
    where = f"{finding.table}.{finding.column}"
    if finding.source == "declared":
        return (f"{where} was replaced by fakes because it is declared PII; if it is not personal data, remove "
                f"`pii: true` (or the `pii` tag) from column {finding.column!r} in the YAML of {finding.table!r}, "
                "or drop it from PrivacyConfig.pii_columns")
    if finding.source in ("copy", "overlap"):
        why = f"it repeats personal data of a parent table ({finding.reason})"
    else:
        why = f"the {finding.source} heuristic flagged it as {finding.kind} ({finding.reason})"
    return (f"{where} was replaced by fakes because {why}; if it is not personal data, declare it in the YAML "
            f"of {finding.table!r}: `columns: [{{name: {finding.column}, meta: {{pii: false}}}}]`, or pass "
            f"`--not-pii {where}` (Python: PrivacyConfig(not_pii={{{finding.table!r}: [{finding.column!r}]}}))")


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
