"""The two facts every warehouse module speaks in: a relation's address and a column's name and DDL type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from synthohive_dbt.config import DType, dtype_from_sql


class Relation(NamedTuple):
    """A table in the warehouse: schema and identifier, exactly as stored (case included)."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Column:
    """One column of a real table: its name, DDL type (the warehouse's spelling) and dtype family."""

    name: str
    sql_type: str
    nullable: bool = True

    @property
    def family(self) -> DType | None:
        return dtype_from_sql(self.sql_type)


@dataclass(frozen=True)
class RelationInfo:
    """A relation found in a schema: its name as stored and its kind ('table', 'view' or another word)."""

    name: str
    kind: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Dependent:
    """An object that reads a relation we would replace: dropping the relation would drop or break it."""

    schema: str
    name: str
    kind: str
    on: str  # the relation it depends on, "schema.name"

    def __str__(self) -> str:
        return f"{self.kind} {self.schema}.{self.name} (reads {self.on})"
