"""Which test on a model survives which transformation: a model finding -> findings on raw tables.

A test on a model holds when the raw data satisfies what this module derives (a sufficient condition, never
a guess that merely often works). The rules, per step between the raw column and the model column:

| step                        | not_null | unique | accepted_values        | range | regex | data_type |
|-----------------------------|----------|--------|------------------------|-------|-------|-----------|
| rename / alias / CTE        | yes      | yes*   | yes                    | yes   | yes   | yes       |
| cast, exact or type unknown | yes      | yes*   | values cast back       | yes   | text  | no        |
| cast that may merge values  | yes      | no     | values cast back       | no    | no    | no        |
| try_cast                    | no       | as cast| as cast                | as cast | as cast | no      |
| lower/upper/initcap/trim    | yes      | no     | the values f leaves be | no    | no    | no        |
| coalesce(x, default)        | holds    | no     | if default accepted    | if default is in range / matches | no   |
| min/max/any_value per group | yes      | no     | yes                    | yes   | yes   | yes       |
| nullif(x, E) / CASE / IF    | no       | where  | values + E             | where | where | yes       |
| anything else (arithmetic, concat, a CASE mapping values to constants, sum/count, window) | no: not modelled |

`nullif`: `nullif(x, '0')`, `case when x = '0' then null else x end`, `case when x <> '0' then x end`,
`if(x = '0', null, x)` (lineage_sql.py) all return x or null, and dbt's tests ignore nulls ("where": the
constraint holds on rows where x is not in E, unless every value of E passes it): relationships on it
becomes a foreign key of raw x with `except_values` E (rows holding '0' keep '0', the others reference the
parent); unique becomes a conditional unique (`where: NOT x IN ('0')`); not_null cannot be carried (no raw
constraint forbids a value). A CASE whose null branch gives a constant is a coalesce.

`*` unique also needs the model's rows to be at most one per raw row: no GROUP BY, no DISTINCT, no UNION,
joins only to a unique key of the joined relation (a CTE grouped by the join column counts). A unique
column set that is unique by construction (a GROUP BY key, DISTINCT) holds whatever the raw data.
A cast is "exact" when the raw column's declared type and the target type are the same family, or widen
(int -> float, date -> timestamp, anything -> text); an unknown raw type is taken as exact.
not_null fails on a column from the optional side of an outer join (unless coalesced later).
relationships: the child column needs value-preserving steps (rename, exact cast, min/max, nullif); the parent
column must be a renamed or exactly cast raw column of a model that keeps every raw row (no WHERE, no inner
join, no LIMIT): then the raw child column references the raw parent column.
A test's `where` is carried when every column it names is a renamed or exactly cast column of the same raw
table (the casts are dropped, so the condition is compared on raw values); otherwise not modelled.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from synthohive_dbt.config import Constraint, DType
from synthohive_dbt.errors import ConfigError
from synthohive_dbt.manifest.findings import ColumnRule, Finding, FkRule, GroupRuleFinding, KeyRule, RowRuleFinding
from synthohive_dbt.manifest.lineage_sql import (
    ColumnLineage,
    Origin,
    RelationLineage,
    Step,
    cast_effect,
    family_after,
    same_value,
    value_preserving,
)

_FOLD = {"lower": str.lower, "upper": str.upper, "trim": str.strip, "initcap": lambda s: s.title()}


@dataclass(frozen=True)
class Carried:
    """The test holds when the raw tables satisfy these findings."""

    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Holds:
    """The test holds whatever the raw data is (a GROUP BY key, a coalesce default, a constant)."""

    reason: str


@dataclass(frozen=True)
class NotCarried:
    """Lineage cannot turn the test into raw constraints; the reason says which step stops it."""

    reason: str


Outcome = Carried | Holds | NotCarried


@dataclass(frozen=True)
class RawFacts:
    """What the rules need to know about raw tables: a column's dtype family and its declared name."""

    family: Callable[[str, str], DType | None]
    column_name: Callable[[str, str], str]


class _Stop(Exception):
    """A rule cannot carry the test; the message is the reason (internal control flow only)."""


def _convert(values: list[Any], family: DType | None) -> list[Any]:
    """Accepted values written in the type of the column before a cast (a value that cannot be dropped)."""
    if family is None:
        return list(values)
    out: list[Any] = []
    for v in values:
        try:
            if family == "str":
                out.append(str(int(v)) if isinstance(v, float) and v.is_integer() else
                           str(v).lower() if isinstance(v, bool) else str(v))
            elif family == "int":
                text = str(v).strip()
                if isinstance(v, bool) or not re.fullmatch(r"[+-]?\d+(\.0*)?", text):
                    continue
                out.append(int(float(text)))
            elif family == "float":
                if isinstance(v, bool):
                    continue
                out.append(float(v))
            elif family == "bool":
                if isinstance(v, bool) or str(v).lower() in ("true", "false"):
                    out.append(v if isinstance(v, bool) else str(v).lower() == "true")
            else:
                out.append(v)
        except (TypeError, ValueError):
            continue
    return list(dict.fromkeys(out))


def _in_range(value: Any, c: Constraint) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return c.min is None and c.max is None
    if c.min is not None and (value < c.min or (value == c.min and not c.min_inclusive)):
        return False
    return not (c.max is not None and (value > c.max or (value == c.max and not c.max_inclusive)))


def _has_range(c: dict[str, Any]) -> bool:
    return any(c[k] is not None for k in ("min", "max", "min_expr", "max_expr"))


def _through(constraint: Constraint, origin: Origin, raw_family: DType | None) -> dict[str, Any] | None:
    """The constraint the raw column must meet, walking the steps back from the model column; None when
    nothing is left to require (the steps guarantee it). Raises _Stop with the reason otherwise."""
    req = constraint.model_dump()
    families = [raw_family]
    for step in origin.steps:
        families.append(family_after(families[-1], step))
    for step, before in zip(reversed(origin.steps), reversed(families[:-1])):
        _back(req, step, before)
    req["dtype"] = None if req["data_type"] is None else req["dtype"]
    active = (req["not_null"] or req["unique"] or req["accepted_values"] is not None or _has_range(req)
              or req["regex"] is not None or req["data_type"] is not None)
    return req if active else None


_EXCEPT = "_except"  # raw values a nullif step turns into null, for which a carried constraint need not hold


def _back(req: dict[str, Any], step: Step, before: DType | None) -> None:
    """Rewrite the requirement on a step's output into one on its input (in place)."""
    values = req["accepted_values"]
    if req.get(_EXCEPT) is not None:
        if step.kind == "fold":
            raise _Stop(f"the values `nullif` excepts cannot be traced back through {step.detail}()")
        if step.kind in ("cast", "try_cast"):
            req[_EXCEPT] = _convert(req[_EXCEPT], before)
    if step.kind == "nullif":
        _back_nullif(req, step)
    elif step.kind in ("cast", "try_cast"):
        effect = cast_effect(before, step)
        if step.kind == "try_cast" and req["not_null"]:
            raise _Stop(f"try_cast to {step.detail} turns values it cannot convert into null")
        if req["unique"] and effect == "lossy":
            raise _Stop(f"the cast from {before} to {step.detail} may merge distinct values")
        if _has_range(req) and effect == "lossy":
            raise _Stop(f"the cast from {before} to {step.detail} may round values across the bounds")
        if req["regex"] is not None and not (before in (None, "str") and step.family in (None, "str")):
            raise _Stop(f"the regex checks the text of a value cast to {step.detail}")
        if req["data_type"] is not None:
            raise _Stop(f"the test checks the column type, which the cast to {step.detail} sets, not the data")
        if values is not None:
            converted = _convert(values, before)
            if values and not converted:
                raise _Stop(f"none of the accepted values {values} can be a {before} value cast to {step.detail}")
            req["accepted_values"] = converted
    elif step.kind == "fold":
        fn = _FOLD[step.detail]
        if req["unique"]:
            raise _Stop(f"{step.detail}() may map distinct raw values to one value")
        if _has_range(req) or req["regex"] is not None or req["data_type"] is not None:
            raise _Stop(f"the test checks the result of {step.detail}(), not the raw text")
        if values is not None:
            fixed = [v for v in values if isinstance(v, str) and fn(v) == v]
            if values and not fixed:
                raise _Stop(f"no accepted value in {values} is a possible {step.detail}() result")
            req["accepted_values"] = fixed  # f(raw) = raw for these, and nothing else can be produced
    elif step.kind == "coalesce":
        default = next((v for v in step.literals if v is not None), None)
        if req["unique"]:
            raise _Stop(f"`{step.detail}` gives every null row the same value")
        if req["not_null"] and default is not None:
            req["not_null"] = False  # the default fills every null
        if values is not None and default is not None and default not in values and str(default) not in map(
                str, values):
            raise _Stop(f"the default of `{step.detail}` is not an accepted value, so every raw null fails")
        if _has_range(req) and default is not None and not _in_range(default, Constraint(
                min=req["min"], max=req["max"], min_inclusive=req["min_inclusive"],
                max_inclusive=req["max_inclusive"])):
            raise _Stop(f"the default of `{step.detail}` is outside the tested range")
        if req["regex"] is not None and default is not None and not re.search(req["regex"], str(default)):
            raise _Stop(f"the default of `{step.detail}` does not match the regex")
    elif step.kind == "pick" and req["unique"]:
        raise _Stop(f"{step.detail}() per group need not be unique")


def _back_nullif(req: dict[str, Any], step: Step) -> None:
    """A null-ignoring test on `nullif(x, E)` holds when x meets it except on E: accepted values grow by E;
    unique, a range or a regex hold on x where x is not in E (a `where` on the raw column)."""
    nulled = list(step.literals)
    if req["not_null"]:
        raise _Stop(f"`{step.detail}` turns {nulled} into null, and a raw constraint cannot forbid those values")
    values = req["accepted_values"]
    if values is not None:
        req["accepted_values"] = [*values, *(v for v in nulled if not any(same_value(v, a) for a in values))]
    bounds = Constraint(min=req["min"], max=req["max"], min_inclusive=req["min_inclusive"],
                        max_inclusive=req["max_inclusive"])
    failing = [v for v in nulled if req["unique"] or (_has_range(req) and not _in_range(v, bounds))
               or (req["regex"] is not None and not re.search(req["regex"], str(v)))]
    if failing:
        req[_EXCEPT] = [*(req.get(_EXCEPT) or []), *nulled]


def excepted_values(origin: Origin, raw_family: DType | None) -> list[Any]:
    """The raw values the `nullif` steps of a chain turn into null (written in the raw column's type)."""
    families = [raw_family]
    for step in origin.steps:
        families.append(family_after(families[-1], step))
    out: list[Any] = []
    for step, before in zip(reversed(origin.steps), reversed(families[:-1])):
        if step.kind == "nullif":
            out += list(step.literals)
        elif step.kind in ("cast", "try_cast") and out:
            out = _convert(out, before)
        elif step.kind == "fold" and out:
            raise _Stop(f"the values `nullif` excepts cannot be traced back through {step.detail}()")
    return list(dict.fromkeys(out))


def _not_in(column: str, values: list[Any], dialect: str | None) -> str:
    """`column NOT IN (values)` in the dialect (the rows a carried constraint applies to)."""
    cond = exp.Not(this=exp.In(this=exp.column(column), expressions=[exp.convert(v) for v in values]))
    return cond.sql(dialect=dialect)


def translate_where(where: str | None, rel: RelationLineage, relation: str, facts: RawFacts,
                    dialect: str | None, what: str | None = None) -> str | None:
    """A test's `where` (or a row rule, `what` names it) on model columns, rewritten on the raw table's
    columns; raises _Stop if it cannot."""
    if where is None:
        return None
    what = what or f"the test's `where: {where}`"
    try:
        tree = sqlglot.parse_one(where, read=dialect)
    except SqlglotError as exc:
        raise _Stop(f"{what} does not parse: {exc}") from None
    for col in list(tree.find_all(exp.Column)):
        lin = rel.lookup(col.name)
        origin = lin.origins[0] if lin is not None and len(lin.origins) == 1 else None
        if origin is None or origin.relation != relation or value_preserving(
                origin, facts.family(origin.relation, origin.column)):
            raise _Stop(f"{what} uses `{col.name}`, which is not a renamed column of the same raw table")
        col.replace(exp.column(facts.column_name(relation, origin.column)))
    return tree.sql(dialect=dialect)


def _lineage(rel: RelationLineage, column: str) -> ColumnLineage:
    lin = rel.lookup(column)
    if lin is None:
        raise _Stop(f"{rel.name}.{column} is not a column its SQL produces")
    if lin.opaque is not None:
        raise _Stop(f"{rel.name}.{column} is {lin.opaque}")
    return lin


def _is_key(rel: RelationLineage, columns: list[str]) -> bool:
    names = {c.lower() for c in columns}
    return any(key <= names for key in rel.keys)


def _column_rule(rule: ColumnRule, rel: RelationLineage, facts: RawFacts, dialect: str | None) -> Outcome:
    label = f"{rel.name}.{rule.column}"
    lin = _lineage(rel, rule.column)
    c = rule.constraint
    if lin.literal is not None:
        value = lin.literal[0]
        ok = (not c.unique and c.regex is None and c.data_type is None and (value is not None or not c.not_null)
              and (c.accepted_values is None or value is None or value in c.accepted_values)
              and (value is None or _in_range(value, c)))
        if ok:
            return Holds(f"{label} is the constant {value!r}")
        raise _Stop(f"{label} is the constant {value!r}, which the test rejects or lineage cannot check")
    if c.not_null and lin.nullable:
        raise _Stop(f"{label} may be null: it comes from {lin.nullable}")
    if _surrogate_origins(rel, (rule.column,)) is not None:
        # a hash of several columns: unique is a unique combination of them; a hash is never null; its
        # values (hex text) say nothing about the raw columns' values
        if not c.unique:
            return Holds(f"{label} is a hash of columns (a surrogate key): never null, no value test carries")
        return _key_rule(KeyRule(rel.name, (rule.column,), rule.source), rel, facts)
    key_holds = c.unique and _is_key(rel, [rule.column])
    out: list[Finding] = []
    for origin in lin.origins:
        family = facts.family(origin.relation, origin.column)
        constraint = c
        if c.unique:
            link = rel.rows.get(origin.relation)
            rows_why = link.injective if link else "its rows do not come from this raw table"
            values_why = value_preserving(origin, family, nulls_ok=True)
            why = (f"{rel.name} may hold several rows per raw row: {rows_why}" if rows_why else
                   f"{label} is not the raw value: {values_why}" if values_why else None)
            if why and not key_holds:
                raise _Stop(why)
            if why or len(lin.origins) > 1:
                constraint = constraint.model_copy(update={"unique": False})
        req = _through(constraint, origin, family)
        if req is None:
            continue
        excepted = req.pop(_EXCEPT, None)
        where = translate_where(c.where, rel, origin.relation, facts, dialect)
        if excepted:
            own = _not_in(facts.column_name(origin.relation, origin.column), excepted, dialect)
            where = own if where is None else f"({where}) and {own}"
        req["where"] = where
        try:
            raw = Constraint(**req)
        except ConfigError as exc:
            raise _Stop(f"the derived constraint is inconsistent: {exc}") from None
        out.append(ColumnRule(origin.relation, facts.column_name(origin.relation, origin.column), raw,
                              rule.source))
    if not out:
        return Holds(f"{label}: " + ("unique by construction (GROUP BY / DISTINCT key)" if key_holds
                                     else "the model's SQL guarantees it (a coalesce default)"))
    return Carried(tuple(out))


def _single_origin(rel: RelationLineage, column: str, allow_pick: bool) -> Origin:
    lin = _lineage(rel, column)
    if lin.literal is not None or len(lin.origins) != 1:
        raise _Stop(f"{rel.name}.{column} does not come from exactly one raw column")
    origin = lin.origins[0]
    steps = [s for s in origin.steps if not (allow_pick and s.kind == "pick")]
    return Origin(origin.relation, origin.column, tuple(steps))


def _surrogate_origins(rel: RelationLineage, columns: tuple[str, ...]) -> list[Origin] | None:
    """The raw columns a one-column surrogate key hashes (their steps up to the hash), or None."""
    if len(columns) != 1:
        return None
    lin = _lineage(rel, columns[0])
    if lin.literal is not None or not lin.origins:
        return None
    if not all(o.steps and o.steps[-1].kind == "surrogate" for o in lin.origins):
        return None
    # text casts and null sentinels inside the hash keep distinct values distinct for the key
    return [Origin(o.relation, o.column, tuple(s for s in o.steps[:-1] if s.kind not in ("cast", "coalesce")))
            for o in lin.origins]


def _key_rule(rule: KeyRule, rel: RelationLineage, facts: RawFacts) -> Outcome:
    cols = ", ".join(rule.columns)
    surrogate = _surrogate_origins(rel, rule.columns)
    if surrogate is not None:  # unique(md5(a || '-' || b)) is unique (a, b)
        rule = replace(rule, columns=tuple(rule.columns[0] for _ in surrogate))
    try:
        origins = surrogate or [_single_origin(rel, c, allow_pick=False) for c in rule.columns]
        relations = {o.relation for o in origins}
        if len(relations) != 1:
            raise _Stop(f"the columns ({cols}) of {rel.name} come from different raw tables")
        [relation] = relations
        link = rel.rows.get(relation)
        why = link.injective if link else "its rows do not come from one raw table"
        if why:
            raise _Stop(f"{rel.name} may hold several rows per raw row: {why}")
        for name, o in zip(rule.columns, origins):
            values_why = value_preserving(o, facts.family(o.relation, o.column))
            if values_why and len(origins) == 1 and value_preserving(o, facts.family(o.relation, o.column),
                                                                     nulls_ok=True) is None:
                return Holds(f"{rel.name}.{name} is unique where `nullif` keeps the raw value (carried as a "
                             "conditional unique); a column it nulls is no primary key")
            if values_why:
                raise _Stop(f"{rel.name}.{name} is not the raw value: {values_why}")
    except _Stop:
        if _is_key(rel, list(rule.columns)):
            return Holds(f"({cols}) of {rel.name} is unique by construction (GROUP BY / DISTINCT key)")
        raise
    raw_cols = tuple(facts.column_name(relation, o.column) for o in origins)
    return Carried((KeyRule(relation, raw_cols, rule.source, origin=rule.origin),))


def _fk_rule(rule: FkRule, rel: RelationLineage, parent: RelationLineage, facts: RawFacts,
             dialect: str | None) -> Outcome:
    children = [_single_origin(rel, c, allow_pick=True) for c in rule.columns]
    parents = [_single_origin(parent, c, allow_pick=False) for c in rule.parent_columns]
    for side, names, origins in ((rel, rule.columns, children), (parent, rule.parent_columns, parents)):
        if len({o.relation for o in origins}) != 1:
            raise _Stop(f"the columns of {side.name} in the relationship come from different raw tables")
        for name, o in zip(names, origins):
            why = value_preserving(o, facts.family(o.relation, o.column), nulls_ok=side is rel)
            if why:
                raise _Stop(f"{side.name}.{name} is not the raw value: {why}")
    excepted = [excepted_values(o, facts.family(o.relation, o.column)) for o in children]
    if any(excepted) and len(children) > 1:
        raise _Stop(f"a relationship on several columns of {rel.name}, some through `nullif`, is not modelled")
    child_rel, parent_rel = children[0].relation, parents[0].relation
    link = parent.rows.get(parent_rel)
    covers = link.covers if link else "its rows do not come from one raw table"
    if covers:
        raise _Stop(f"{parent.name} may lack values of its raw table: {covers}")
    child_cols = tuple(facts.column_name(child_rel, o.column) for o in children)
    parent_cols = tuple(facts.column_name(parent_rel, o.column) for o in parents)
    if child_rel == parent_rel and child_cols == parent_cols:
        return Holds(f"{rel.name}({', '.join(rule.columns)}) and {parent.name}({', '.join(rule.parent_columns)})"
                     " are the same raw column, and the parent keeps every raw row")
    where = translate_where(rule.where, rel, child_rel, facts, dialect)
    return Carried((FkRule(child_rel, child_cols, parent_rel, parent_cols, rule.source, where=where,
                           note=rule.note, except_values=tuple(excepted[0])),))


def _row_rule(rule: RowRuleFinding, rel: RelationLineage, facts: RawFacts, dialect: str | None) -> Outcome:
    """A predicate on a model's columns holds when it holds on the raw rows its columns come from: every
    column a renamed or exactly cast column of one raw table (the row is that raw row, filtered or joined)."""
    try:
        tree = sqlglot.parse_one(rule.expression, read=dialect)
    except SqlglotError as exc:
        raise _Stop(f"the row rule `{rule.expression}` does not parse: {exc}") from None
    relations = set()
    for col in tree.find_all(exp.Column):
        lin = _lineage(rel, col.name)
        if lin.literal is not None or len(lin.origins) != 1:
            raise _Stop(f"{rel.name}.{col.name} does not come from exactly one raw column")
        relations.add(lin.origins[0].relation)
    if len(relations) != 1:
        raise _Stop(f"the row rule `{rule.expression}` reads columns of {len(relations)} raw tables")
    [relation] = relations
    raw = translate_where(rule.expression, rel, relation, facts, dialect, f"the row rule `{rule.expression}`")
    return Carried((replace(rule, table=relation, expression=str(raw)),))


def _group_rule(found: GroupRuleFinding, rel: RelationLineage, facts: RawFacts) -> Outcome:
    """Order within groups holds on the model when it holds on the raw table its columns are renamed from and
    the model keeps one row per raw row (no fan-out adds overlapping copies)."""
    rule = found.rule
    origins = [_single_origin(rel, c, allow_pick=False) for c in [*rule.columns, *rule.partition_by]]
    relations = {o.relation for o in origins}
    if len(relations) != 1:
        raise _Stop(f"the columns of `{rule.label}` come from different raw tables")
    [relation] = relations
    for name, o in zip([*rule.columns, *rule.partition_by], origins):
        why = value_preserving(o, facts.family(o.relation, o.column))
        if why:
            raise _Stop(f"{rel.name}.{name} is not the raw value: {why}")
    link = rel.rows.get(relation)
    if link is None or link.injective:
        raise _Stop(f"{rel.name} may hold several rows per raw row: "
                    f"{link.injective if link else 'its rows do not come from one raw table'}")
    raw = [facts.column_name(relation, o.column) for o in origins]
    k = len(rule.columns)
    moved = rule.model_copy(update={"columns": raw[:k], "partition_by": raw[k:]})
    return Carried((replace(found, table=relation, rule=moved),))


def translate(finding: Finding, rel: RelationLineage, lineage_of: Callable[[str], RelationLineage],
              facts: RawFacts, dialect: str | None) -> Outcome:
    """One finding on a model (from a test or a contract) -> what the raw tables must satisfy."""
    try:
        if isinstance(finding, ColumnRule):
            return _column_rule(finding, rel, facts, dialect)
        if isinstance(finding, KeyRule):
            return _key_rule(finding, rel, facts)
        if isinstance(finding, FkRule):
            return _fk_rule(finding, rel, lineage_of(finding.parent), facts, dialect)
        if isinstance(finding, RowRuleFinding):
            return _row_rule(finding, rel, facts, dialect)
        if isinstance(finding, GroupRuleFinding):
            return _group_rule(finding, rel, facts)
    except _Stop as stop:
        return NotCarried(str(stop))
    return NotCarried(f"{type(finding).__name__} is not a rule lineage carries")
