"""The project's declarations beat heuristics, and the heuristics look at values, not only at names.

Fixtures are written here: label lookups, repositories, genres, Short/Medium/Long, and person names in
several spellings (Title case, lower case with hyphens and apostrophes, digit suffixes of generated data).
"""

from __future__ import annotations

import pandas as pd
import pytest

from synthohive_dbt import ConfigError, Constraint, Metadata, PrivacyConfig
from synthohive_dbt.manifest.pii import keeps_real, not_pii_columns, pii_columns
from synthohive_dbt.privacy.detect import decide_pii, detect_pii, kind_from_name, unmark_hint
from synthohive_dbt.privacy.names import name_shape
from synthohive_dbt.privacy.overrides import apply_declarations, kept_real_note, parse_column_refs

LABELS = ["bug", "enhancement", "good-first-issue", "question", "wontfix", "duplicate", "help wanted",
          "documentation", "dependencies", "needs-triage"]
REPOS = ["dbt-core", "dbt-utils", "jaffle_shop", "dbt-duckdb", "metricflow", "hologram", "dbt-postgres",
         "dbt-codegen", "dbt-audit-helper", "snowplow-web"]
GENRES = ["Rock", "Jazz", "Metal", "Alternative & Punk", "Rock And Roll", "Blues", "Latin", "Reggae", "Pop",
          "Soundtrack", "Bossa Nova", "Easy Listening", "Heavy Metal", "R&B/Soul", "Electronica/Dance", "World",
          "Hip Hop/Rap", "Science Fiction", "TV Shows", "Sci Fi & Fantasy", "Drama", "Comedy", "Alternative",
          "Classical", "Opera"]
PEOPLE = ["Veronica Parrish", "anna-maria o'neil", "John Smith", "Mary Johnson", "Robert Brown", "Linda Davis",
          "James Miller", "Patricia Wilson", "Michael Moore", "Barbara Taylor", "Jean-Luc Picard", "Zoë Martin"]
GENERATED = ["Anna123", "Bob45", "Carol9", "David77", "Eve12", "Frank3", "Grace55", "Henry8", "Ivy21", "Jack60"]


def _faked(frames: dict[str, pd.DataFrame], metadata: Metadata | None = None,
           config: PrivacyConfig | None = None) -> dict[tuple[str, str], str]:
    return {(f.table, f.column): f.kind for f in detect_pii(frames, metadata, config)}


# --------------------------------------------------------------------------------- values, not only names
@pytest.mark.parametrize("values", [LABELS * 3, REPOS, GENRES, ["Short", "Medium", "Long"] * 40],
                         ids=["issue labels", "repositories", "25 genres", "Short/Medium/Long"])
def test_a_name_column_of_labels_is_not_people(values: list[str]) -> None:
    frame = pd.DataFrame({"id": range(len(values)), "name": values})
    assert _faked({"lookup": frame}) == {}
    [kept] = decide_pii({"lookup": frame})
    assert (kept.column, kept.faked, kept.source) == ("name", False, "values_disagree")
    assert "look" in kept.reason  # says why: labels, categories, or too few names


def test_a_length_category_of_three_labels_is_not_a_last_name() -> None:
    """'Long' and 'Short' are surnames in the name lists; three values over 120 rows are a category."""
    frame = pd.DataFrame({"length_category": ["Short", "Medium", "Long"] * 40})
    assert _faked({"films": frame}) == {}


@pytest.mark.parametrize("values,kind", [(PEOPLE, "person_name"), (GENERATED, "first_name")],
                         ids=["people in several spellings", "generated names with digit suffixes"])
def test_a_name_column_of_people_is_still_faked(values: list[str], kind: str) -> None:
    assert _faked({"contacts_raw": pd.DataFrame({"name": values})}) == {("contacts_raw", "name"): kind}


def test_name_shape_measures_both_directions() -> None:
    people, labels = name_shape(pd.Series(PEOPLE)), name_shape(pd.Series(LABELS))
    assert people is not None and labels is not None
    assert people.personal and people.person >= 0.9
    assert not labels.personal and labels.person == 0.0
    generated = name_shape(pd.Series(GENERATED))
    assert generated is not None and generated.digit_suffix == 1.0 and generated.personal


def test_first_and_last_with_digit_suffixes_are_found_by_values() -> None:
    """Synthea-style FIRST / LAST columns: weak names, confirmed by values like 'Anna123'."""
    frame = pd.DataFrame({"FIRST": GENERATED, "LAST": [f"{n}{i}" for i, n in enumerate(
        ["Smith", "Jones", "Parrish", "Taylor", "Brown", "Davis", "Miller", "Wilson", "Moore", "Clark"])]})
    assert _faked({"patients_raw": frame}) == {("patients_raw", "FIRST"): "first_name",
                                               ("patients_raw", "LAST"): "last_name"}


def test_the_table_says_whose_name_it_is() -> None:
    assert kind_from_name("name", "patients").kind == "person_name"  # type: ignore[union-attr]
    assert kind_from_name("NAME", "clinics").kind == "organization"  # type: ignore[union-attr]
    assert _faked({"clinics": pd.DataFrame({"clinic_name": ["Parrish Family Clinic", "Northside Health"] * 3})}) \
        == {("clinics", "clinic_name"): "organization"}


# ------------------------------------------------------------------------------------------- precedence
def _shop() -> tuple[dict[str, pd.DataFrame], Metadata]:
    frames = {"customers": pd.DataFrame({"customer_id": range(12), "name": PEOPLE, "email": [
                  f"{p.split()[0].lower()}@example.org" for p in PEOPLE], "tier": ["gold", "silver", "bronze"] * 4,
                  "nickname": PEOPLE[::-1]}),
              "orders": pd.DataFrame({"order_id": range(24), "customer_id": list(range(12)) * 2,
                                      "status": ["Short", "Long"] * 12})}
    md = Metadata()
    md.add_table("customers", pk="customer_id",
                 constraints={"tier": Constraint(accepted_values=["gold", "silver", "bronze"]),
                              "nickname": Constraint(accepted_values=PEOPLE)},
                 pii_columns=["tier"], not_pii_columns=["name", "tier"])
    md.add_table("orders", pk="order_id", fk={"customer_id": "customers.customer_id"})
    return frames, md


def test_precedence_declared_pii_then_not_pii_then_facts_then_heuristics() -> None:
    frames, md = _shop()
    decisions = {(d.table, d.column): d for d in decide_pii(frames, md)}
    # 1. pii: true wins over pii: false, and (with accepted_values) its fakes come from the declared values
    assert decisions[("customers", "tier")].faked and decisions[("customers", "tier")].source == "declared"
    assert "accepted_values" in decisions[("customers", "tier")].reason
    # 2. pii: false beats a heuristic that would fake it (people's names!)
    name = decisions[("customers", "name")]
    assert (name.faked, name.source) == (False, "not_pii") and "person_name" in name.reason
    # 3. declared facts: accepted_values (even of a person-looking column) and keys are never faked
    assert (decisions[("customers", "nickname")].faked, decisions[("customers", "nickname")].source) == (
        False, "accepted_values")
    # 4. only then heuristics
    assert decisions[("customers", "email")].faked and decisions[("customers", "email")].source != "declared"
    assert ("orders", "status") not in decisions  # two labels repeated: not people, nothing to say


def test_not_pii_in_the_python_api_and_a_key_named_like_pii() -> None:
    frames = {"users": pd.DataFrame({"email": [f"u{i}@example.org" for i in range(20)], "phone": [
        f"+1 415 555 {i:04d}" for i in range(20)]}),
              "logins": pd.DataFrame({"login_id": range(40), "email": [f"u{i % 20}@example.org" for i in range(40)]})}
    md = Metadata()
    md.add_table("users", pk="email")
    md.add_table("logins", pk="login_id", fk={"email": "users.email"})
    decisions = {(d.table, d.column): d for d in decide_pii(frames, md, PrivacyConfig(not_pii={"users": ["phone"]}))}
    assert decisions[("users", "email")].source == "key" and "regenerated in its format" in decisions[
        ("users", "email")].reason
    assert decisions[("logins", "email")].source == "key"
    assert decisions[("users", "phone")].source == "not_pii" and not decisions[("users", "phone")].faked


# -------------------------------------------------------------------------------- dbt meta, both ways
def test_dbt_meta_pii_false_and_keep_real_are_read() -> None:
    node = {"columns": {
        "name": {"name": "name", "meta": {"pii": False}},
        "label": {"name": "label", "config": {"meta": {"synthohive": {"pii": False}}}},
        "email": {"name": "email", "meta": {"synthohive": {"pii": True}}},
        "phone": {"name": "phone", "meta": {}},
    }, "config": {"meta": {"synthohive": {"keep_real": True}}}}
    columns = ["id", "name", "label", "email", "phone"]
    assert not_pii_columns(node, columns) == ["name", "label"]
    assert pii_columns(node, columns, ["id"]) == ["email"]
    assert keeps_real(node) and not keeps_real({"meta": {"synthohive": {"keep_real": "no"}}})


# ------------------------------------------------------------------------------- command-line declarations
def test_command_line_declarations_land_in_the_metadata() -> None:
    md = Metadata()
    md.add_table("Countries", pk="code", columns=["code", "name"])
    md.add_table("customers", pk="id", columns=["id", "Name"])
    refs = parse_column_refs(["customers.name", "countries.name"])
    out = apply_declarations(md, refs, keep_real=["countries"])
    assert out.tables["customers"].not_pii_columns == ["Name"]  # matched case-insensitively
    assert out.tables["Countries"].copy_as_is and not md.tables["Countries"].copy_as_is
    assert "Countries" in (kept_real_note(out) or "")
    with pytest.raises(ConfigError, match=r"--not-pii 'customers' is not TABLE.COLUMN"):
        parse_column_refs(["customers"])
    with pytest.raises(ConfigError, match=r"(?s)--keep-real names table 'currencies'.*fix: use one of those names"):
        apply_declarations(md, keep_real=["currencies"])
    with pytest.raises(ConfigError, match=r"table 'customers' has no column 'nmae'"):
        apply_declarations(md, {"customers": ["nmae"]})


def test_the_unmark_hint_names_the_yaml_and_the_flag() -> None:
    [finding] = detect_pii({"contacts_raw": pd.DataFrame({"name": PEOPLE})})
    hint = unmark_hint(finding)
    assert "contacts_raw.name was replaced by fakes" in hint and "person_name" in hint
    assert "meta: {pii: false}" in hint and "--not-pii contacts_raw.name" in hint
    frames, md = _shop()
    declared = next(f for f in detect_pii(frames, md) if f.column == "tier")
    assert "declared PII" in unmark_hint(declared) and "pii: true" in unmark_hint(declared)
