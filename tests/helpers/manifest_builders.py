"""Small hand-made manifests for the cases the corpus and the parse fixture do not cover."""

from __future__ import annotations

from typing import Any

PKG = "proj"


def column(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "meta": {}, "tags": [], "constraints": [], "data_type": None, **extra}


def model(name: str, columns: list[str] | None = None, resource_type: str = "model",
          **extra: Any) -> dict[str, Any]:
    uid = f"{resource_type}.{PKG}.{name}"
    return {"unique_id": uid, "name": name, "resource_type": resource_type, "package_name": PKG,
            "relation_name": f'"db"."main"."{name}"', "database": "db", "schema": "main",
            "columns": {c: column(c) for c in columns or []}, "config": {"enabled": True, "materialized": "table"},
            "depends_on": {"nodes": []}, **extra}


def source(source_name: str, name: str, columns: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    ident = extra.get("identifier") or name
    return {"unique_id": f"source.{PKG}.{source_name}.{name}", "name": name, "source_name": source_name,
            "resource_type": "source", "package_name": PKG, "identifier": ident,
            "relation_name": f'"db"."{source_name}"."{ident}"', "database": "db", "schema": source_name,
            "columns": {c: column(c) for c in columns or []}, "config": {"enabled": True}, **extra}


def test(name: str, kind: str, table: dict[str, Any] | None, kwargs: dict[str, Any] | None = None, *,
         namespace: str | None = None, deps: list[str] | None = None, config: dict[str, Any] | None = None,
         attached: bool = True, **extra: Any) -> dict[str, Any]:
    kwargs = dict(kwargs or {})
    if table is not None:
        call = (f"source('{table['source_name']}', '{table['name']}')" if table["resource_type"] == "source"
                else f"ref('{table['name']}')")
        kwargs.setdefault("model", "{{ get_where_subquery(" + call + ") }}")
    return {"unique_id": f"test.{PKG}.{name}", "name": name, "resource_type": "test", "package_name": PKG,
            "attached_node": table["unique_id"] if table is not None and attached else None,
            "column_name": kwargs.get("column_name"),
            "test_metadata": {"name": kind, "namespace": namespace, "kwargs": kwargs},
            "config": {"enabled": True, "severity": "ERROR", "where": None, **(config or {})},
            "depends_on": {"nodes": deps if deps is not None else ([table["unique_id"]] if table else [])},
            **extra}


def manifest(*nodes: dict[str, Any], version: int = 12) -> dict[str, Any]:
    return {"metadata": {"dbt_schema_version": f"https://schemas.getdbt.com/dbt/manifest/v{version}.json",
                         "dbt_version": "1.11.0"},
            "nodes": {n["unique_id"]: n for n in nodes if n["resource_type"] != "source"},
            "sources": {n["unique_id"]: n for n in nodes if n["resource_type"] == "source"}}
