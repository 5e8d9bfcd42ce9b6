"""Column types recorded on one warehouse, written on another (io/warehouses/types.py)."""

from __future__ import annotations

import pytest

from synthohive_dbt.io.warehouses import warehouse_for
from synthohive_dbt.io.warehouses.types import PortableType, portable


@pytest.mark.parametrize(("pg", "duck"), [
    ("integer", "INTEGER"), ("bigint", "BIGINT"), ("smallint", "SMALLINT"), ("double precision", "DOUBLE"),
    ("real", "REAL"), ("numeric(10,2)", "DECIMAL(10,2)"), ("numeric", "DECIMAL"), ("boolean", "BOOLEAN"),
    ("date", "DATE"), ("timestamp without time zone", "TIMESTAMP"),
    ("timestamp(3) with time zone", "TIMESTAMP WITH TIME ZONE"), ("text", "VARCHAR"),
    ("character varying(20)", "VARCHAR(20)"), ("character varying", "VARCHAR"), ("uuid", "UUID"),
    ("jsonb", "VARCHAR"), ("bytea", "BLOB"), ("text[]", "VARCHAR[]"), ("inet", "VARCHAR"),
])
def test_postgres_types_are_spelled_as_duckdb_types_and_back(pg: str, duck: str) -> None:
    assert warehouse_for("duckdb").type_from(pg, "postgresql") == duck
    back = warehouse_for("postgresql").type_from(duck, "duckdb")
    # DuckDB reports REAL as FLOAT, read back as double: a widening, never a narrowing
    assert portable(back) == portable(pg) or pg in ("inet", "jsonb", "real"), (pg, duck, back)


def test_same_warehouse_keeps_the_type_as_recorded() -> None:
    assert warehouse_for("postgresql").type_from("character varying(7)", "postgresql") == "character varying(7)"
    assert portable("INTEGER[]") == PortableType("integer", (), True)
    assert warehouse_for("postgresql").type_from("HUGEINT", "duckdb") == "bigint"
