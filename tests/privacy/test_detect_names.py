"""Name rules: personal columns are flagged, measures and flags about personal data are not."""

from __future__ import annotations

import pandas as pd
import pytest

from synthohive_dbt.privacy import detect_pii
from synthohive_dbt.privacy.detect import kind_from_name
from synthohive_dbt.privacy.vocabulary import first_names, last_names


@pytest.mark.parametrize("column,kind", [
    ("email", "email"), ("E-Mail", "email"), ("credit_card", "credit_card"), ("customer_name", "person_name"),
    ("billingAddress", "address"), ("phone_number", "phone"), ("first_name", "first_name"),
    ("credit_card_amount", None), ("email_count", None), ("is_email_verified", None), ("phone_type", None),
    ("address_id", None), ("total_phone_calls", None),
    # secrets and identity documents are PII by default, whatever their suffix (`_key`, `_id`, `_hash`)
    ("password", "secret"), ("password_hash", "secret"), ("api_key", "secret"), ("access_token", "secret"),
    ("md5", "secret"), ("sha256", "secret"), ("client_secret", "secret"),
    ("drivers_license", "identity_document"), ("driving_licence_number", "identity_document"),
    ("DRIVERS", "identity_document"), ("passport", "identity_document"), ("national_id", "identity_document"),
    ("tax_id", "identity_document"), ("ssn", "ssn"), ("provider_name", "person_name"),
    ("password_length", None), ("has_passport", None), ("token_count", None), ("password_enabled", None),
    ("billing_address_is_default", None), ("billing_address_latitude", None),
])
def test_name_rules(column: str, kind: str | None) -> None:
    got = kind_from_name(column)
    assert (got.kind if got else None) == kind


def test_jaffle_payment_amounts_are_not_pii() -> None:
    """jaffle-shop-classic's orders model has credit_card_amount: a sum of money, once wrongly faked."""
    orders = pd.DataFrame({"order_id": range(50), "credit_card_amount": [float(i % 7) * 10 for i in range(50)],
                           "gift_card_amount": [0.0] * 50})
    assert detect_pii({"orders": orders}) == []


def test_not_pii_overrules_a_false_detection() -> None:
    from synthohive_dbt import ConfigError, PrivacyConfig

    people = [f"{f} {l}" for f, l in zip(first_names()[::15], last_names()[::20])][:40]
    products = pd.DataFrame({"product_id": range(40), "name": people})
    assert [f.column for f in detect_pii({"products": products})] == ["name"]
    config = PrivacyConfig(not_pii={"products": ["name"]})
    assert detect_pii({"products": products}, config=config) == []
    with pytest.raises(ConfigError, match=r"table 'products' lists \['name'\] both as pii_columns and not_pii"):
        PrivacyConfig(pii_columns={"products": ["name"]}, not_pii={"products": ["name"]})


def test_a_column_about_a_kind_of_data_is_not_that_data() -> None:
    """`address_requirements` holding none/any (a Twilio setting) is not an address; `billing_address` is."""
    import pandas as pd

    from synthohive_dbt.privacy.detect import heuristic

    values = pd.Series(["none"] * 20 + ["any"] * 5)
    for column in ("address_requirements", "password_requirements", "email_format"):
        assert heuristic(values, column, "phone_numbers")[0] is None, column
    assert heuristic(pd.Series(["12 High St"] * 3), "billing_address", "customers")[0] is not None
