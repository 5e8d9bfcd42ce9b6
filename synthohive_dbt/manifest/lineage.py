"""Sources mode: tests on downstream models become constraints on the raw tables they read.

In sources mode only sources and seeds are synthesized; `source()` is redirected to the synthetic schema and
`dbt build` runs the whole project. A `unique` test on `stg_orders.order_id` (`select id as order_id from
{{ source('shop', 'orders') }}`) then holds only if raw `orders.id` is unique, so it must become a
constraint of raw `orders` before training. `project_to_sources` reads the manifest that `dbt compile` wrote
(models need `compiled_code`), follows each model column back to raw columns with sqlglot in the dialect of
the manifest's adapter (lineage_sql.py), carries every test that survives the transformations on the way
(lineage_rules.py holds the rules, test by test), and lists every other test as not modelled, with the step
that stops it. The result is the reader's Metadata over sources and seeds only.

Uniqueness feeds on itself: a join to `stg_orders` keeps a model's rows one per raw row only if
`stg_orders.order_id` is unique, which a carried test may be what guarantees. So the carrying runs again
with the raw keys it found until nothing changes (a few rounds at most).

Every cast of a raw value in a model's SQL (`phone::bigint`, `cast(x as date)`, `try_cast`) also becomes a
`castable_to` entry of the raw column's constraint (`SourcesModeResult.casts` lists them): the generator must
write values the model can convert, or the build fails.

A seed that is also declared as a source (the same relation: the usual way to load raw data in a demo)
appears once, as the source, since that is what `source()` reads and what sources mode synthesizes.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlglot import Dialect, exp
from sqlglot.errors import SqlglotError

from synthohive_dbt.config import CastTarget, Constraint, DType, dtype_from_sql
from synthohive_dbt.errors import ManifestError
from synthohive_dbt.manifest.constraints import interpret_node
from synthohive_dbt.manifest.disabled import disabled_test_finding, tests_of
from synthohive_dbt.manifest.findings import (
    ColumnRule,
    Finding,
    FkRule,
    GroupRuleFinding,
    KeyRule,
    NotModelled,
    RowRuleFinding,
)
from synthohive_dbt.manifest.identifiers import column_key
from synthohive_dbt.manifest.lineage_rules import Carried, Holds, NotCarried, RawFacts, translate
from synthohive_dbt.manifest.lineage_sql import (
    ColumnLineage,
    Origin,
    RelationLineage,
    RowLink,
    SqlLineage,
    Step,
    family_after,
    parse_model_sql,
    value_preserving,
)
from synthohive_dbt.manifest.loader import Manifest, load_manifest
from synthohive_dbt.manifest.reader import read_manifest
from synthohive_dbt.manifest.refs import node_relation_parts, relation_matches
from synthohive_dbt.manifest.result import ManifestReadResult
from synthohive_dbt.manifest.tables import base_name, is_table
from synthohive_dbt.manifest.testkinds import interpret_test, tested_table

_DIALECTS = {"sqlserver": "tsql", "fabric": "tsql", "synapse": "tsql", "glue": "spark", "databricks": "databricks",
             "spark": "spark", "materialize": "postgres", "risingwave": "risingwave"}
_RAW_TYPES = ("source", "seed")
MAX_ROUNDS = 5


@dataclass(frozen=True)
class TestLineage:
    """What became of one test (or contract) on a downstream model."""

    test: str  # the test's unique_id (the model's, for its contract constraints)
    model: str  # unique_id of the model it checks
    status: Literal["carried", "holds", "not_modelled"]
    detail: str  # carried: what the raw tables must satisfy; else why
    raw: tuple[str, ...] = ()  # unique_ids of the raw tables it constrains


@dataclass
class SourcesModeResult(ManifestReadResult):
    """The reader's result over sources and seeds, with the tests carried back from downstream models."""

    lineage: list[TestLineage] = field(default_factory=list)
    dialect: str | None = None
    casts: list[TestLineage] = field(default_factory=list)  # "castable to T" facts, one per cast raw column

    def of_test(self, unique_id: str) -> TestLineage:
        for entry in self.lineage:
            if entry.test == unique_id:
                return entry
        raise KeyError(unique_id)


def sqlglot_dialect(adapter_type: str | None) -> str | None:
    """The sqlglot dialect of a dbt adapter (`metadata.adapter_type`), or None when sqlglot has none."""
    if not adapter_type:
        return None
    name = _DIALECTS.get(adapter_type.lower(), adapter_type.lower())
    return name if Dialect.get(name) is not None else None


def project_to_sources(manifest_path: str | Path | Manifest, *, dialect: str | None = None,
                       select: Collection[str] | None = None) -> SourcesModeResult:
    """Metadata over the sources and seeds of a compiled manifest, with every test on a downstream model
    that lineage can carry back merged into the raw tables' constraints, keys and foreign keys.

    `dialect` overrides the sqlglot dialect otherwise taken from the manifest's adapter type. `select` (raw
    unique_ids) narrows the raw tables to synthesize; a seed that is also a source stands for that source.
    """
    manifest = manifest_path if isinstance(manifest_path, Manifest) else load_manifest(manifest_path)
    notes: list[str] = []
    raw, shadowed = _raw_tables(manifest, notes)
    if select is not None:
        wanted = {shadowed.get(uid, uid) for uid in select}
        raw = [uid for uid in raw if uid in wanted]
        if not raw:
            raise ManifestError(f"the selection picks no source or seed of {manifest.path}",
                                hint="check it with `dbt ls --select ...`; in sources mode it picks the "
                                     "sources and seeds the selected models read")
    if dialect is None:
        dialect = sqlglot_dialect(manifest.adapter_type)
        if dialect is None:
            notes.append(f"adapter type {manifest.adapter_type!r} has no sqlglot dialect; compiled SQL is "
                         "parsed as generic SQL")
    base = read_manifest(manifest, select=raw)
    facts = _facts(base, manifest, shadowed, dialect)
    tests, skipped = _model_checks(manifest, set(raw) | set(shadowed))
    _require_compiled(manifest, tests)

    base_keys = _raw_keys(base, [])
    keys = base_keys
    for _ in range(MAX_ROUNDS):
        carrier = _Carrier(manifest, facts, dialect, keys, shadowed)
        outcomes = [(check, _within(carrier.carry(check), set(raw))) for check in tests]
        carried = _all_or_nothing(outcomes)
        new_keys = _raw_keys(base, carried)
        if new_keys == keys:
            break
        keys = new_keys

    entries: list[TestLineage] = []
    for check, outcome in outcomes:
        if isinstance(outcome, Carried):
            entries.append(TestLineage(check.source, check.model, "carried",
                                       "; ".join(_describe(f, base) for f in outcome.findings),
                                       tuple(dict.fromkeys(f.table for f in outcome.findings))))
        elif isinstance(outcome, Holds):
            entries.append(TestLineage(check.source, check.model, "holds", outcome.reason))
        else:
            entries.append(TestLineage(check.source, check.model, "not_modelled",
                                       f"on downstream model {check.model}: {outcome.reason}"))
    casts = _cast_findings(manifest, carrier)
    carried = [*carried, *casts, *_named_findings(carrier, set(raw))]
    merged = _merge(entries)
    not_modelled = [*skipped, *(NotModelled(e.test, e.detail, e.model) for e in merged
                                if e.status == "not_modelled")]
    lineage = _merge([*merged, *(TestLineage(n.test, n.table or "", "not_modelled", n.reason) for n in skipped)])
    final = read_manifest(manifest, select=raw, extra_findings=[*carried, *not_modelled])
    return SourcesModeResult(
        metadata=final.metadata, tables=final.tables, not_modelled=final.not_modelled,
        notes=[*notes, *final.notes], manifest_path=final.manifest_path, schema_version=final.schema_version,
        dbt_version=final.dbt_version, lineage=sorted(lineage, key=lambda t: t.test), dialect=dialect,
        casts=[TestLineage(f.source, f.source, "carried", _describe(f, base), (f.table,)) for f in casts])


# -- what is raw, and what is checked downstream ------------------------------------------------------------
def _raw_tables(manifest: Manifest, notes: list[str]) -> tuple[list[str], dict[str, str]]:
    """unique_ids of the raw tables, and seed -> source for seeds that are also declared as a source."""
    nodes = [n for n in manifest.of_type(*_RAW_TYPES) if is_table(n)]
    sources = [n for n in nodes if n["resource_type"] == "source"]
    shadowed: dict[str, str] = {}
    for seed in (n for n in nodes if n["resource_type"] == "seed"):
        parts = node_relation_parts(seed)
        same = [s["unique_id"] for s in sources if parts and node_relation_parts(s) == parts]
        if len(same) == 1:
            shadowed[seed["unique_id"]] = same[0]
            notes.append(f"seed {seed['unique_id']} is the relation of source {same[0]}: read once, as the source")
    raw = [n["unique_id"] for n in nodes if n["unique_id"] not in shadowed]
    if not raw:
        raise ManifestError(f"{manifest.path} declares no sources or seeds, so sources mode has nothing to "
                            "synthesize", hint="declare the raw tables as sources (sources.yml) or seeds, or "
                                               "synthesize the models instead of the sources")
    return raw, shadowed


@dataclass(frozen=True)
class _Check:
    """One finding on a model to carry back, with the test (or model) it came from. Findings of one
    `group` (one test) are carried together or not at all."""

    model: str
    finding: Finding
    source: str
    group: str


def _model_checks(manifest: Manifest, raw: set[str]) -> tuple[list[_Check], list[NotModelled]]:
    """Findings of every enabled test on a model (and of models' own constraints); tests on other
    non-raw nodes are not modelled. Tests on raw tables are left to the reader."""
    checks: list[_Check] = []
    skipped: list[NotModelled] = []
    for test in tests_of(manifest):
        uid = str(test["unique_id"])
        if (test.get("config") or {}).get("enabled") is False:
            table = tested_table(manifest, test)
            node = manifest.node(table) if table else None
            gone = disabled_test_finding(manifest, test, table) if node and node.get("resource_type") == "model" \
                else None
            if gone is not None:
                skipped.append(NotModelled(uid, f"on downstream model {table}: {gone.reason}", table))
            continue
        table = tested_table(manifest, test)
        if table in raw:
            continue
        node = manifest.node(table) if table else None
        if node is None:
            deps = (test.get("depends_on") or {}).get("nodes") or []
            if deps and not set(deps) <= raw:
                skipped.append(NotModelled(uid, "cannot tell which model the test checks (a singular test or no "
                                                "attached node)", None))
            continue
        if node.get("resource_type") != "model":
            skipped.append(NotModelled(uid, f"checks {table}, a {node.get('resource_type')}: sources mode "
                                            "synthesizes sources and seeds only", table))
            continue
        for finding in interpret_test(manifest, test, table):
            if isinstance(finding, NotModelled):
                skipped.append(NotModelled(uid, f"on downstream model {table}: {finding.reason}", table))
            else:
                checks.append(_Check(table, finding, uid, uid))
    for node in manifest.of_type("model"):
        for i, finding in enumerate(interpret_node(manifest, node)):
            if isinstance(finding, ColumnRule) and _only_type(finding.constraint):
                continue  # a declared type documents the model; it asks nothing of the raw data
            if isinstance(finding, KeyRule) and finding.origin == "manifest":
                continue  # dbt's inferred primary_key field repeats the model's unique tests
            if isinstance(finding, NotModelled):
                skipped.append(finding)
            else:
                checks.append(_Check(str(node["unique_id"]), finding, str(node["unique_id"]),
                                     f"{node['unique_id']}#{i}"))
    return checks, skipped


def _within(outcome: Carried | Holds | NotCarried, raw: set[str]) -> Carried | Holds | NotCarried:
    """A test carried onto a raw table this run leaves real (outside the selection) is not carried."""
    if not isinstance(outcome, Carried):
        return outcome
    outside = sorted({t for f in outcome.findings for t in (getattr(f, "table", None), getattr(f, "parent", None))
                      if t is not None and t not in raw})
    if outside:
        return NotCarried(f"it reads {', '.join(outside)}, which this run leaves real (not selected)")
    return outcome


def _all_or_nothing(outcomes: list[tuple[_Check, Carried | Holds | NotCarried]]) -> list[Finding]:
    """Carried findings of the groups none of whose findings failed (a test holds only as a whole)."""
    failed = {check.group for check, outcome in outcomes if isinstance(outcome, NotCarried)}
    return [f for check, outcome in outcomes if isinstance(outcome, Carried) and check.group not in failed
            for f in outcome.findings]


def _only_type(c: Constraint) -> bool:
    return c.model_copy(update={"data_type": None, "dtype": None}) == Constraint()


def _require_compiled(manifest: Manifest, checks: list[_Check]) -> None:
    models = {c.model for c in checks}
    if models and not any(manifest.nodes[m].get("compiled_code") for m in models):
        raise ManifestError(f"{manifest.path} has no compiled SQL for the {len(models)} model(s) with tests, so "
                            "their tests cannot be carried back to the raw tables",
                            hint="run `dbt compile` (not `dbt parse`) and pass the manifest.json it writes")


# -- raw facts and keys -------------------------------------------------------------------------------------
def _facts(base: ManifestReadResult, manifest: Manifest, shadowed: dict[str, str], dialect: str | None) -> RawFacts:
    """Raw column types (a shadowed seed's column_types count for its source) and declared names.

    A name from the SQL takes the declared spelling when it means that column: always where the warehouse
    folds case (DuckDB), and for an unquoted name where it does only for unquoted names (PostgreSQL: sqlglot
    has folded it to lower case). A quoted `"Kind"` in PostgreSQL stays `Kind`, even if `kind` is declared."""
    folds = Dialect.get_or_raise(dialect)
    families: dict[tuple[str, str], DType | None] = {}
    names: dict[tuple[str, str], str] = {}
    for seed, source in shadowed.items():
        for col, data_type in ((manifest.nodes[seed].get("config") or {}).get("column_types") or {}).items():
            families[(source, column_key(str(col)))] = dtype_from_sql(str(data_type))
    for name, info in base.tables.items():
        table = base.metadata.tables[name]
        for col in [*(table.columns or []), *table.constraints]:
            names.setdefault((info.unique_id, column_key(col)), col)
            key = (info.unique_id, column_key(col))
            families[key] = table.constraint(col).dtype or families.get(key)
    def name(uid: str, col: str) -> str:
        declared = names.get((uid, column_key(col)), col)
        return declared if declared == col or not folds.case_sensitive(col) else col

    return RawFacts(family=lambda uid, col: families.get((uid, column_key(col))), column_name=name)


def _raw_keys(base: ManifestReadResult, carried: list[Finding]) -> dict[str, frozenset[frozenset[str]]]:
    """Column sets of each raw table that will be unique: its own keys plus carried unique tests."""
    keys: dict[str, set[frozenset[str]]] = {}
    for name, info in base.tables.items():
        table = base.metadata.tables[name]
        found = keys.setdefault(info.unique_id, set())
        if table.pk:
            found.add(frozenset(c.lower() for c in table.pk))
        found |= {frozenset([c.lower()]) for c, k in table.constraints.items() if k.unique}
        found |= {frozenset(c.lower() for c in key) for key in table.unique_keys}
    for f in carried:
        if isinstance(f, KeyRule):
            keys.setdefault(f.table, set()).add(frozenset(c.lower() for c in f.columns))
        elif isinstance(f, ColumnRule) and f.constraint.unique and f.constraint.where is None \
                and f.constraint.severity == "error":
            keys.setdefault(f.table, set()).add(frozenset([f.column.lower()]))
    return {uid: frozenset(k) for uid, k in keys.items()}


# -- casts ------------------------------------------------------------------------------------------------
_TEXT_TYPE = re.compile(r"^\s*(n?var)?(char|text|string)\b|^\s*character( varying)?\b", re.IGNORECASE)


def _cast_findings(manifest: Manifest, carrier: _Carrier) -> list[ColumnRule]:
    """`castable_to` on every raw column a model casts to a type its values may not convert to (text to a
    number or a date, a number to a date): `phone::bigint` fails the build on a phone the generator wrote as
    `+1-416-...`. Only casts of the raw value itself count (renames, picks, coalesce and nullif before it;
    a fold first changes the text). Each cast is named once, by the model whose SQL holds it."""
    found: dict[tuple[str, str], list[CastTarget]] = {}
    for node in manifest.of_type("model"):
        uid = str(node["unique_id"])
        if node.get("language", "sql") != "sql" or not node.get("compiled_code"):
            continue
        rel = carrier.lineage(uid)
        for lin in rel.columns.values():
            for origin in lin.origins:
                raw_family = carrier.facts.family(origin.relation, origin.column)
                for target in _casts_of(origin, raw_family, uid):
                    key = (origin.relation, carrier.facts.column_name(origin.relation, origin.column))
                    if target not in found.setdefault(key, []):
                        found[key].append(target)
    return [ColumnRule(table, column, Constraint(castable_to=targets), targets[0].model or table)
            for (table, column), targets in found.items()]


def _named_findings(carrier: _Carrier, raw: set[str]) -> list[ColumnRule]:
    """`named_values` on every raw column a model compares to literals through value-preserving steps
    (renames, exact casts): `where genre = 'Rock'` names 'Rock' for the raw column the generator writes.
    Call after every model's lineage is built (`_cast_findings` walks them all)."""
    found: dict[tuple[str, str], tuple[list[Any], str]] = {}
    for lin, values, model in carrier.compared:
        for origin in lin.origins:
            if origin.relation not in raw:
                continue
            if value_preserving(origin, carrier.facts.family(origin.relation, origin.column)) is not None:
                continue  # `lower(x) = 'rock'` does not name a value of x
            key = (origin.relation, carrier.facts.column_name(origin.relation, origin.column))
            names, _ = found.setdefault(key, ([], model))
            names.extend(v for v in values if v not in names)
    return [ColumnRule(table, column, Constraint(named_values=names), model)
            for (table, column), (names, model) in sorted(found.items())]


def _casts_of(origin: Origin, raw_family: DType | None, model: str) -> list[CastTarget]:
    out: list[CastTarget] = []
    family = raw_family
    excepted: list[Any] = []
    for step in origin.steps:
        if step.kind == "fold":
            break
        if step.kind == "nullif":
            excepted += [v for v in step.literals if v not in excepted]
        if step.kind in ("cast", "try_cast") and step.model == model and _may_fail(family, step):
            out.append(CastTarget(data_type=step.detail, dtype=step.family, model=model,
                                  strict=step.kind == "cast", except_values=list(excepted)))
        if step.kind in ("cast", "try_cast"):
            excepted = []  # values before a cast are not the values after it
        family = family_after(family, step)
    return out


def _may_fail(before: DType | None, step: Step) -> bool:
    """Whether some value of the `before` family may not convert (text to anything but text; a number or a
    boolean to a date)."""
    if _TEXT_TYPE.match(step.detail) or step.family == "str" and "uuid" not in step.detail.lower():
        return False
    if before in (None, "str"):
        return True
    return before in ("int", "float", "bool") and step.family in ("date", "datetime")


# -- carrying ---------------------------------------------------------------------------------------------
class _Carrier:
    """Model lineages (memoized) and the translation of each check, for one set of raw keys."""

    def __init__(self, manifest: Manifest, facts: RawFacts, dialect: str | None,
                 keys: dict[str, frozenset[frozenset[str]]], shadowed: dict[str, str]) -> None:
        self.manifest, self.facts, self.dialect = manifest, facts, dialect
        self.keys, self.shadowed = keys, shadowed
        self.memo: dict[str, RelationLineage] = {}
        self.compared: list[tuple[ColumnLineage, tuple[Any, ...], str]] = []  # (lineage, literals, model)

    def carry(self, check: _Check) -> Carried | Holds | NotCarried:
        return translate(check.finding, self.lineage(check.model), self.lineage, self.facts, self.dialect)

    def lineage(self, uid: str) -> RelationLineage:
        uid = self.shadowed.get(uid, uid)
        if uid not in self.memo:
            self.memo[uid] = self._build(uid)
        return self.memo[uid]

    def _build(self, uid: str) -> RelationLineage:
        node = self.manifest.nodes[uid]
        name = base_name(node)
        kind = node.get("resource_type")
        if kind in _RAW_TYPES:
            return RelationLineage(name, raw=uid, rows={uid: RowLink()}, keys=tuple(self.keys.get(uid, ())))
        if kind != "model":
            return RelationLineage(name, opaque=f"read from {uid}, a {kind} that sources mode does not follow")
        if node.get("language", "sql") != "sql":
            return RelationLineage(name, opaque=f"built by {node.get('language')} code lineage cannot read")
        sql = node.get("compiled_code")
        if not sql:
            return RelationLineage(name, opaque=f"{uid} has no compiled SQL in the manifest (run `dbt compile`)")
        deps = [d for d in (node.get("depends_on") or {}).get("nodes") or [] if d in self.manifest.nodes]

        def resolve(table: exp.Table) -> RelationLineage | None:
            parts = tuple(p.name.lower() for p in table.parts)
            hits = [d for d in deps if relation_matches(parts, self.manifest.nodes[d])]
            return self.lineage(hits[0]) if len(hits) == 1 else None

        try:
            tree = parse_model_sql(str(sql), self.dialect, self._schema(deps))
            walker = SqlLineage(self.dialect, resolve, self.facts.family, model=uid)
            built = walker.query(tree, {}, name)
            self.compared += [(lin, values, uid) for lin, values in walker.compared]
            return built
        except SqlglotError as exc:
            why = " ".join(str(exc).split())[:200]
            return RelationLineage(name, opaque=f"built by SQL that does not parse as {self.dialect or 'SQL'}: "
                                                f"{why}")

    def _schema(self, deps: list[str]) -> dict[str, Any]:
        """Known columns of upstream models, so sqlglot can qualify columns and expand `*` over them."""
        tables: dict[tuple[str, ...], dict[str, str]] = {}
        for dep in deps:
            node = self.manifest.nodes[dep]
            if node.get("resource_type") != "model":
                continue
            rel = self.lineage(dep)
            parts = node_relation_parts(node)
            if not rel.is_open and rel.columns and parts:
                tables[parts] = {c: "UNKNOWN" for c in rel.columns}
        if len({len(p) for p in tables}) != 1:
            return {}
        schema: dict[str, Any] = {}
        for parts, cols in tables.items():
            level = schema
            for part in parts[:-1]:
                level = level.setdefault(part, {})
            level[parts[-1]] = cols
        return schema


def _describe(finding: Finding, base: ManifestReadResult) -> str:
    def name(uid: str) -> str:
        try:
            return base.name_of(uid)
        except KeyError:
            return uid

    if isinstance(finding, ColumnRule):
        parts = {k: v for k, v in finding.constraint.model_dump(exclude_defaults=True).items()
                 if k not in ("dtype", "castable_to")}
        casts = [_describe_cast(c) for c in finding.constraint.castable_to]
        return f"{name(finding.table)}.{finding.column}: " + "; ".join(
            [*([str(parts)] if parts or not casts else []), *casts])
    if isinstance(finding, RowRuleFinding):
        return f"{name(finding.table)}: every row keeps `{finding.expression}`"
    if isinstance(finding, GroupRuleFinding):
        return f"{name(finding.table)}: {finding.rule.label}"
    if isinstance(finding, KeyRule):
        return f"{name(finding.table)} key ({', '.join(finding.columns)})"
    if isinstance(finding, FkRule):
        where = f" where {finding.where}" if finding.where else ""
        excepted = f" except {list(finding.except_values)}" if finding.except_values else ""
        return (f"{name(finding.table)}({', '.join(finding.columns)}) -> "
                f"{name(finding.parent)}({', '.join(finding.parent_columns)}){where}{excepted}")
    return str(finding)


def _describe_cast(c: CastTarget) -> str:
    excepted = f" except {c.except_values}" if c.except_values else ""
    return f"{'castable' if c.strict else 'try_cast'} to {c.data_type}{excepted} (in {c.model})"


def _merge(entries: list[TestLineage]) -> list[TestLineage]:
    """One entry per test: a test with several findings (unique: a column rule and a key) is carried only
    when all of them are; the first reason that stops it wins."""
    by_test: dict[str, list[TestLineage]] = {}
    for e in entries:
        by_test.setdefault(e.test, []).append(e)
    out: list[TestLineage] = []
    for test, group in by_test.items():
        failed = [e for e in group if e.status == "not_modelled"]
        carried = [e for e in group if e.status == "carried"]
        if failed:
            out.append(failed[0])
        elif carried:
            out.append(TestLineage(test, group[0].model, "carried", "; ".join(e.detail for e in carried),
                                   tuple(dict.fromkeys(r for e in carried for r in e.raw))))
        else:
            out.append(group[0])
    return out


__all__ = ["SourcesModeResult", "TestLineage", "project_to_sources", "sqlglot_dialect"]
