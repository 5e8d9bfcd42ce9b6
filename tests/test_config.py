"""The configuration model: construction, normalisation and every validate_schema() refusal, messages included."""

from __future__ import annotations

import pytest

from synthohive_dbt import Constraint, Metadata, PrivacyConfig, TableConfig
from synthohive_dbt.config import ForeignKey, dtype_from_sql
from synthohive_dbt.errors import ConfigError, CycleError, SchemaValidationError


def shop() -> Metadata:
    meta = Metadata()
    meta.add_table("customers", pk="id", constraints={"id": Constraint(dtype="int", unique=True)})
    meta.add_table("products", pk="sku", constraints={"sku": Constraint(dtype="str")})
    meta.add_table("orders", pk="order_id", fk={"customer_id": "customers.id"},
                   constraints={"customer_id": Constraint(dtype="int"),
                                "amount": Constraint(dtype="float", min=0, max=1e6)})
    meta.add_table("order_items", pk=["order_id", "line"],
                   fk=[ForeignKey(columns=["order_id"], parent="orders", parent_columns=["order_id"]),
                       ForeignKey(columns=["sku"], parent="products", parent_columns=["sku"])])
    return meta


def test_add_table_normalises_keys_and_foreign_keys() -> None:
    meta = shop()
    orders = meta.tables["orders"]
    assert orders.pk == ["order_id"]
    assert orders.fk == [ForeignKey(columns=["customer_id"], parent="customers", parent_columns=["id"])]
    assert meta.tables["order_items"].pk == ["order_id", "line"]
    assert meta.tables["order_items"].parents == ["orders", "products"]
    meta.validate_schema()
    assert meta.topological_order() == ["customers", "products", "orders", "order_items"]
    assert meta.children("customers") == ["orders"]


def test_composite_fk_dict_form() -> None:
    meta = Metadata()
    meta.add_table("a", pk=["x", "y"])
    b = meta.add_table("b", fk={"ax, ay": "a.(x, y)"})
    assert b.fk[0].columns == ["ax", "ay"] and b.fk[0].parent_columns == ["x", "y"]
    meta.validate_schema()


def test_json_round_trip() -> None:
    meta = shop()
    again = Metadata.from_json(meta.to_json())
    assert again == meta


def test_fk_to_missing_table() -> None:
    meta = Metadata()
    meta.add_table("orders", pk="id", fk={"customer_id": "customers.id"})
    with pytest.raises(SchemaValidationError, match=r"table 'orders'.*parent table 'customers' is not in") as e:
        meta.validate_schema()
    assert "add table 'customers'" in str(e.value)


def test_fk_to_missing_column() -> None:
    meta = Metadata()
    meta.add_table("customers", pk="id", columns=["id", "name"])
    meta.add_table("orders", pk="id", fk={"customer_id": "customers.cust_id"})
    with pytest.raises(SchemaValidationError, match=r"\['cust_id'\] do not exist in table 'customers'"):
        meta.validate_schema()


def test_fk_type_mismatch() -> None:
    meta = Metadata()
    meta.add_table("customers", pk="id", constraints={"id": Constraint(data_type="integer")})
    meta.add_table("orders", pk="oid", fk={"customer_id": "customers.id"},
                   constraints={"customer_id": Constraint(data_type="varchar(20)")})
    with pytest.raises(SchemaValidationError, match=r"'customer_id' is str but customers.id is int"):
        meta.validate_schema()


def test_fk_to_table_without_key() -> None:
    meta = Metadata()
    meta.add_table("customers")
    meta.add_table("orders", pk="id", fk={"customer_id": "customers.id"})
    with pytest.raises(SchemaValidationError, match=r"neither the primary key of 'customers' \(pk: none\)"):
        meta.validate_schema()


def test_fk_to_unique_non_key_column_is_fine() -> None:
    meta = Metadata()
    meta.add_table("customers", pk="id", constraints={"email": Constraint(unique=True)})
    meta.add_table("orders", pk="id", fk={"email": "customers.email"})
    meta.validate_schema()


def test_cycle_prints_path() -> None:
    meta = Metadata()
    meta.add_table("a", pk="id", fk={"b_id": "b.id"})
    meta.add_table("b", pk="id", fk={"c_id": "c.id"})
    meta.add_table("c", pk="id", fk={"a_id": "a.id"})
    with pytest.raises(CycleError) as e:
        meta.validate_schema()
    assert "a -> b -> c -> a" in str(e.value) or "a -> c -> b -> a" in str(e.value)
    assert "break the cycle" in str(e.value)


def test_self_reference_is_not_a_cycle() -> None:
    meta = Metadata()
    meta.add_table("employees", pk="id", fk={"manager_id": "employees.id"})
    meta.validate_schema()
    assert meta.topological_order() == ["employees"]


def test_duplicate_table_and_column_names() -> None:
    meta = Metadata()
    meta.add_table("users", pk="id")
    with pytest.raises(SchemaValidationError, match="table 'users' is added twice"):
        meta.add_table("users")
    with pytest.raises(SchemaValidationError, match=r"duplicate column names \['a'\]"):
        TableConfig(name="t", columns=["a", "b", "a"])
    with pytest.raises(SchemaValidationError, match="registered as 'x' is named 'y'"):
        Metadata(tables={"x": TableConfig(name="y")})


def test_constraint_validation_and_merge() -> None:
    with pytest.raises(ConfigError, match="min 5.0 > max 1.0"):
        Constraint(min=5, max=1)
    with pytest.raises(ConfigError, match="does not compile"):
        Constraint(regex="(")
    merged = Constraint(min=0, max=100, not_null=True).merge(Constraint(min=10, max_inclusive=False, max=50))
    assert (merged.min, merged.max, merged.max_inclusive, merged.not_null) == (10, 50, False, True)
    vals = Constraint(accepted_values=["a", "b", "c"]).merge(Constraint(accepted_values=["b", "c", "d"]))
    assert vals.accepted_values == ["b", "c"]


def test_unknown_keyword_is_rejected() -> None:
    with pytest.raises(ValueError, match="mni"):
        Constraint(mni=3)  # type: ignore[call-arg]


def test_conditional_constraints_are_kept_apart() -> None:
    t = TableConfig(name="orders")
    t.add_constraint("status", Constraint(not_null=True))
    t.add_constraint("status", Constraint(accepted_values=["a"], where="amount > 0"))
    t.add_constraint("amount", Constraint(min=0, severity="warn"))
    assert t.constraints["status"].not_null and t.constraints["status"].accepted_values is None
    assert [c.column for c in t.conditional_constraints] == ["status", "amount"]
    assert "amount" not in t.constraints


@pytest.mark.parametrize("sql,family", [
    ("integer", "int"), ("BIGINT", "int"), ("numeric(10,0)", "int"), ("numeric(10,2)", "float"),
    ("double precision", "float"), ("varchar(20)", "str"), ("text", "str"), ("timestamp with time zone",
    "datetime"), ("date", "date"), ("boolean", "bool"), ("geometry", None), (None, None),
])
def test_dtype_from_sql(sql: str | None, family: str | None) -> None:
    assert dtype_from_sql(sql) == family


def test_privacy_config_hides_secret() -> None:
    cfg = PrivacyConfig(secret="hunter2", pii_columns={"users": ["email"]})
    assert "hunter2" not in repr(cfg) and "hunter2" not in cfg.model_dump_json()
    with pytest.raises(ValueError, match="greater than 0"):
        PrivacyConfig(epsilon=0)
