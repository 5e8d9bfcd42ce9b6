"""A table node's own declarations -> findings: column data types, contracts' constraints, primary_key.

Constraints come in two places (on a column, or model-level with `columns:`) and foreign keys in three
forms: `to: ref('x')` + `to_columns` (dbt 1.9+ as parsed), `to: "db"."schema"."x"` (the same after
compilation), and older dbt's column-level `expression: "x (id)"`.
"""

from __future__ import annotations

from typing import Any

from synthohive_dbt.config import Constraint
from synthohive_dbt.manifest.findings import ColumnRule, Finding, FkRule, KeyRule, NotModelled
from synthohive_dbt.manifest.identifiers import column_key, column_name, unquote
from synthohive_dbt.manifest.loader import TABLE_RESOURCE_TYPES, Manifest
from synthohive_dbt.manifest.refs import parse_fk_expression, parse_ref_call, relation_matches, relation_parts


def declared_columns(node: dict[str, Any]) -> list[str]:
    """Column names in declaration order, unquoted: YAML columns, then seed column_types not listed there.

    One spelling per column: `patient` and `"PATIENT"` are the same column (metadata.identifiers).
    """
    cols: dict[str, str] = {}
    names = [_declared_name(key, c) for key, c in (node.get("columns") or {}).items() if isinstance(c, dict)]
    for col in [*names, *((node.get("config") or {}).get("column_types") or {})]:
        cols.setdefault(column_key(str(col)), unquote(str(col)))
    return list(cols.values())


def _declared_name(key: str, col: dict[str, Any]) -> str:
    return unquote(str(col.get("name") or key))


def _columns_of(node: dict[str, Any] | None, names: list[str]) -> list[str] | None:
    """`names` in the spelling `node` declares them; None when one of them is an SQL expression."""
    known = declared_columns(node) if node is not None else []
    out = [column_name(n, known) for n in names]
    return None if None in out else [str(n) for n in out]


def _pick(candidates: list[str], node: dict[str, Any]) -> str | None:
    """One target among several: prefer the node's own dependencies, then the same package."""
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    deps = set((node.get("depends_on") or {}).get("nodes") or [])
    for narrowed in ([c for c in candidates if c in deps],
                     [c for c in candidates if c.split(".")[1:2] == str(node["unique_id"]).split(".")[1:2]]):
        if len(narrowed) == 1:
            return narrowed[0]
    return None


def _fk_target(manifest: Manifest, node: dict[str, Any], to: str) -> tuple[str | None, str]:
    """The parent node of a foreign_key constraint's `to`, as a call or as a relation name."""
    tables = manifest.of_type(*TABLE_RESOURCE_TYPES)
    target = parse_ref_call(to)
    if target is not None:
        hits = [n["unique_id"] for n in tables if target.matches(n)]
    else:
        parts = relation_parts(to)
        hits = [n["unique_id"] for n in tables if relation_matches(parts, n)]
    chosen = _pick(hits, node)
    if chosen is None:
        why = "matches no model, seed, snapshot or source" if not hits else f"is ambiguous ({', '.join(hits)})"
        return None, f"foreign_key constraint to {to!r} {why}"
    return chosen, ""


def _constraint_findings(manifest: Manifest, node: dict[str, Any], raw: dict[str, Any],
                         columns: list[str], where: str) -> list[Finding]:
    uid = str(node["unique_id"])
    kind = str(raw.get("type") or "").lower()
    if not columns:
        return [NotModelled(uid, f"{kind or 'untyped'} constraint {where} lists no columns", uid)]
    named = _columns_of(node, columns)
    if named is None:
        return [NotModelled(uid, f"{kind or 'untyped'} constraint {where} lists {columns}, which are not all "
                                 "column names (an SQL expression?): not modelled", uid)]
    columns = named
    if kind == "not_null":
        return [ColumnRule(uid, c, Constraint(not_null=True), uid) for c in columns]
    if kind == "unique":
        rules: list[Finding] = [KeyRule(uid, tuple(columns), uid, origin="unique")]
        if len(columns) == 1:
            rules.append(ColumnRule(uid, columns[0], Constraint(unique=True), uid))
        return rules
    if kind == "primary_key":
        return [KeyRule(uid, tuple(columns), uid, origin="primary_key")]
    if kind == "foreign_key":
        to, to_columns = raw.get("to"), [str(c) for c in raw.get("to_columns") or []]
        if not to and raw.get("expression"):
            parsed = parse_fk_expression(str(raw["expression"]))
            if parsed is None:
                return [NotModelled(uid, f"foreign_key constraint {where} has expression "
                                         f"{raw['expression']!r}, not 'table (column)'", uid)]
            to, to_columns = ".".join(f'"{p}"' for p in parsed[0]), parsed[1]
        if not to or len(to_columns) != len(columns):
            return [NotModelled(uid, f"foreign_key constraint {where} needs `to` and one `to_columns` entry "
                                     f"per column (columns {columns}, to_columns {to_columns})", uid)]
        parent, why = _fk_target(manifest, node, str(to))
        if parent is None:
            return [NotModelled(uid, f"{why} {where}", uid)]
        parent_columns = _columns_of(manifest.node(parent), to_columns)
        if parent_columns is None:
            return [NotModelled(uid, f"foreign_key constraint {where}: to_columns {to_columns} are not all column "
                                     "names: not modelled", uid)]
        return [FkRule(uid, tuple(columns), parent, tuple(parent_columns), uid)]
    expression = raw.get("expression")
    detail = f" `{expression}`" if expression else ""
    return [NotModelled(uid, f"{kind or 'custom'} constraint{detail} {where} is not modelled", uid)]


def interpret_node(manifest: Manifest, node: dict[str, Any]) -> list[Finding]:
    """Findings from a table node's declared data types, constraints and `primary_key` field."""
    uid = str(node["unique_id"])
    findings: list[Finding] = []
    column_types = (node.get("config") or {}).get("column_types") or {}
    pk_columns: list[str] = []
    for key, col in (node.get("columns") or {}).items():
        if not isinstance(col, dict):
            continue
        name = _declared_name(key, col)
        data_type = col.get("data_type") or column_types.get(name) or column_types.get(str(col.get("name") or key))
        if data_type:
            findings.append(ColumnRule(uid, name, Constraint(data_type=str(data_type)), uid))
        for raw in col.get("constraints") or []:
            if isinstance(raw, dict) and str(raw.get("type") or "").lower() == "primary_key":
                pk_columns.append(name)
            elif isinstance(raw, dict):
                findings += _constraint_findings(manifest, node, raw, [name], f"on column {name!r}")
    listed = {column_key(_declared_name(k, c)) for k, c in (node.get("columns") or {}).items() if isinstance(c, dict)}
    for name, data_type in column_types.items():
        if column_key(str(name)) not in listed and data_type:
            findings.append(ColumnRule(uid, unquote(str(name)), Constraint(data_type=str(data_type)), uid))
    if pk_columns:
        findings.append(KeyRule(uid, tuple(pk_columns), uid, origin="primary_key"))
    for raw in node.get("constraints") or []:
        if isinstance(raw, dict):
            cols = [str(c) for c in raw.get("columns") or []]
            findings += _constraint_findings(manifest, node, raw, cols, "on the model")
    manifest_pk = node.get("primary_key")
    pk_named = _columns_of(node, [str(c) for c in manifest_pk]) if isinstance(manifest_pk, list) else None
    if pk_named:
        findings.append(KeyRule(uid, tuple(pk_named), uid, origin="manifest"))
    return findings
