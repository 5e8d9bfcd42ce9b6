"""manifest.json -> Metadata: the one entry point, `read_manifest`.

The steps, in order: load and check the file; pick the tables (all models, seeds and sources, or a
selection); name them; read each table's own declarations; read every data test and route what it says
to its table; check that every foreign key stays inside the selection; then decide keys and build the
TableConfigs. Nothing a test says is dropped silently: it becomes a constraint, a key, a foreign key,
or a `not_modelled` entry with the reason.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from synthohive_dbt.config import Constraint, ForeignKey, Metadata, RowRule, TableConfig
from synthohive_dbt.errors import ConfigError, ManifestError
from synthohive_dbt.manifest.constraints import declared_columns, interpret_node
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
from synthohive_dbt.manifest.keys import choose_primary_key
from synthohive_dbt.manifest.loader import Manifest, load_manifest
from synthohive_dbt.manifest.pii import keeps_real, not_pii_columns, pii_columns
from synthohive_dbt.manifest.refs import node_relation_parts
from synthohive_dbt.manifest.result import ManifestReadResult, TableInfo
from synthohive_dbt.manifest.tables import base_name, is_table, select_tables, unique_names
from synthohive_dbt.manifest.testkinds import interpret_test, tested_table


def read_manifest(path: str | Path | Manifest, select: Iterable[str] | None = None, *,
                  extra_findings: Iterable[Finding] = ()) -> ManifestReadResult:
    """Read a dbt manifest.json (schema v10-v12) into Metadata plus what could not be modelled.

    `select` narrows the tables (names, unique_ids, `source_name.table`, ...); None reads every model,
    seed and source. A foreign key to a table outside the selection is an error, not a silent drop.
    `extra_findings` are merged as if a test on the selected tables had said them (sources mode: tests on
    downstream models carried back to raw tables by `metadata.lineage`); `path` may be a loaded Manifest.
    """
    manifest = path if isinstance(path, Manifest) else load_manifest(path)
    selected = select_tables(manifest, None if select is None else list(select))
    chosen = set(selected)
    aliases = same_relation_seeds(manifest, chosen)
    names = unique_names(manifest.nodes[u] for u in selected)
    findings: dict[str, list[Finding]] = defaultdict(list)
    not_modelled: list[NotModelled] = []

    for uid in selected:
        findings[uid] += interpret_node(manifest, manifest.nodes[uid])
    for finding in extra_findings:
        if isinstance(finding, NotModelled):
            not_modelled.append(finding)
        elif finding.table not in chosen:
            raise ManifestError(f"a finding from {finding.source} is about {finding.table}, which is not in the "
                                "selection", hint=f"select {finding.table} too, or drop that finding")
        else:
            findings[finding.table].append(finding)
    for test in tests_of(manifest):
        for finding in _test_findings(manifest, test, chosen | set(aliases), read_all=select is None):
            finding = _retarget(finding, aliases)
            (not_modelled.append(finding) if isinstance(finding, NotModelled)
             else findings[finding.table].append(finding))

    for uid in selected:
        kept: list[Finding] = []
        for finding in findings[uid]:
            if isinstance(finding, NotModelled):
                not_modelled.append(finding)
            elif isinstance(finding, FkRule) and finding.parent not in chosen:
                outside = _parent_outside(manifest, finding, names, read_all=select is None)
                not_modelled.append(outside)
            else:
                kept.append(finding)
        findings[uid] = kept

    tables: dict[str, TableConfig] = {}
    infos: dict[str, TableInfo] = {}
    notes: list[str] = []
    for uid in selected:
        same = [manifest.nodes[seed] for seed, source in aliases.items() if source == uid]
        table, info, skipped = _build_table(manifest.nodes[uid], names, findings[uid], notes, same)
        tables[table.name] = table
        infos[table.name] = info
        not_modelled += skipped
    _note_fk_targets(tables, notes)
    metadata = Metadata(tables=dict(sorted(tables.items())))
    not_modelled.sort(key=lambda n: (n.test, n.reason))
    return ManifestReadResult(metadata=metadata, tables=dict(sorted(infos.items())), not_modelled=not_modelled,
                              notes=notes, manifest_path=manifest.path, schema_version=manifest.schema_version,
                              dbt_version=manifest.dbt_version)


def same_relation_seeds(manifest: Manifest, chosen: set[str]) -> dict[str, str]:
    """Unselected seed -> the selected source that is the very same relation (dbt loads the seed, a source
    names it: the usual way to load raw data). They are one table: the seed's tests, its PII declarations and
    the references to it are the source's (its column_types count in lineage's raw facts)."""
    sources = {node_relation_parts(manifest.nodes[u]): u for u in sorted(chosen)
               if manifest.nodes[u].get("resource_type") == "source"}
    sources.pop((), None)
    return {node["unique_id"]: sources[parts] for node in manifest.of_type("seed")
            if node["unique_id"] not in chosen and (parts := node_relation_parts(node)) in sources}


def _retarget(finding: Finding, aliases: dict[str, str]) -> Finding:
    """A finding about a seed that is a selected source's relation, made about that source."""
    if not aliases:
        return finding
    if isinstance(finding, FkRule):
        return dataclasses.replace(finding, table=aliases.get(finding.table, finding.table),
                                   parent=aliases.get(finding.parent, finding.parent))
    table = finding.table
    return finding if table is None or table not in aliases else dataclasses.replace(finding, table=aliases[table])


def _test_findings(manifest: Manifest, test: dict[str, Any], chosen: set[str], read_all: bool) -> list[Finding]:
    """Findings of one test node, or nothing when the test is about tables outside the selection."""
    uid = str(test["unique_id"])
    if (test.get("config") or {}).get("enabled") is False:
        # a disabled test never runs, so it constrains nothing; said only when dbt disabled it for a gone ref
        table = tested_table(manifest, test)
        found = disabled_test_finding(manifest, test, table) if table in chosen else None
        return [found] if found is not None else []
    table = tested_table(manifest, test)
    if table is None:
        deps = [d for d in (test.get("depends_on") or {}).get("nodes") or [] if d in chosen]
        if deps or read_all:
            what = ("singular data test: its logic is SQL the reader does not interpret"
                    if not test.get("test_metadata") else
                    "cannot tell which table the test checks (no attached_node, and neither its `model` "
                    "argument nor depends_on.nodes names exactly one)")
            return [NotModelled(uid, what, deps[0] if deps else None)]
        return []
    if table not in chosen:
        if not read_all:
            return []
        node = manifest.nodes[table]
        kind = node.get("resource_type")
        why = ("a node without a table (ephemeral or disabled)" if not is_table(node)
               else f"a {kind}, which is read only when selected")
        return [NotModelled(uid, f"checks {table}, {why}", None)]
    return interpret_test(manifest, test, table)


def _parent_outside(manifest: Manifest, fk: FkRule, names: dict[str, str], read_all: bool) -> NotModelled:
    """A foreign key to an unselected table: an error when the parent is a table, else not modelled."""
    parent = manifest.nodes[fk.parent]
    child = names[fk.table]
    if not is_table(parent):
        return NotModelled(fk.source, f"foreign key {child}({', '.join(fk.columns)}) -> {fk.parent}: the "
                                      "parent is not a table (ephemeral or disabled), so the key is dropped",
                           fk.table)
    parent_name = base_name(parent)
    hint = (f"add {parent_name!r} to the selection (e.g. --select {child} {parent_name}), or remove the "
            "selection to read every model, seed and source")
    if read_all:
        hint = (f"{fk.parent} is a {parent.get('resource_type')}, read only when selected: select it together "
                "with the tables you want, or drop this relationship")
    origin = f"test {fk.source}" if fk.source.startswith("test.") else f"foreign_key constraint on {fk.source}"
    raise ManifestError(
        f"{origin}: table {child!r} ({fk.table}) has a foreign key ({', '.join(fk.columns)}) to "
        f"{fk.parent} ({', '.join(fk.parent_columns)}), which is not in the selection",
        hint=hint)


def _add(table: TableConfig, rule: ColumnRule, skipped: list[NotModelled]) -> None:
    """Merge a column rule; contradicting rules (min above max, ...) are reported, not raised."""
    try:
        test = rule.source if rule.source != table.unique_id else None
        table.add_constraint(rule.column, rule.constraint, test=test)
    except ConfigError as exc:
        skipped.append(NotModelled(rule.source, f"contradicts another constraint on column {rule.column!r} "
                                                f"of {table.name!r}: {exc}", table.unique_id))


def _build_table(node: dict[str, Any], names: dict[str, str], findings: list[Finding], notes: list[str],
                 same: Sequence[dict[str, Any]] = ()) -> tuple[TableConfig, TableInfo, list[NotModelled]]:
    """One TableConfig; `same` are seeds that are this source's relation, whose PII declarations count too."""
    uid = str(node["unique_id"])
    name = names[uid]
    columns = declared_columns(node)
    table = TableConfig(name=name, unique_id=uid, resource_type=node["resource_type"])
    skipped: list[NotModelled] = []
    for rule in findings:
        if isinstance(rule, ColumnRule):
            _add(table, rule, skipped)
        elif isinstance(rule, RowRuleFinding):
            table.add_row_rule(RowRule(expression=rule.expression, kind=rule.kind, source=rule.source))
        elif isinstance(rule, GroupRuleFinding) and rule.rule not in table.group_rules:
            table.group_rules.append(rule.rule)
    not_null = {c for c, k in table.constraints.items() if k.not_null}
    fks = _dedupe_fks([f for f in findings if isinstance(f, FkRule)])
    keys = [f for f in findings if isinstance(f, KeyRule)]
    choice = choose_primary_key(base_name(node), keys, columns, not_null,
                                {c for fk in fks for c in fk.columns})
    table.pk = choice.columns
    if choice.reason.startswith("primary_key constraint"):
        for col in choice.columns:
            implied = Constraint(not_null=True, unique=len(choice.columns) == 1)
            _add(table, ColumnRule(uid, col, implied, uid), skipped)
    table.unique_keys = [list(key.columns) for key in choice.unused]
    for key in choice.unused:
        skipped.append(NotModelled(key.source, f"composite unique key ({', '.join(key.columns)}) of {name!r} "
                                               f"is not its primary key {choice.columns}; uniqueness of "
                                               "other column combinations is not enforced", uid))
    table.fk = [ForeignKey(columns=list(f.columns), parent=names[f.parent], parent_columns=list(f.parent_columns),
                           where=f.where, except_values=list(f.except_values)) for f in fks]
    notes += [f.note for f in fks if f.note]
    if columns:
        referenced = [*table.pk, *(c for f in fks for c in f.columns), *table.constraints,
                      *(cc.column for cc in table.conditional_constraints)]
        table.columns = list(dict.fromkeys([*columns, *referenced]))
    key_columns = [*table.pk, *(c for f in fks for c in f.columns)]
    declaring, listed = [node, *same], table.columns or columns
    table.pii_columns = list(dict.fromkeys(c for n in declaring for c in pii_columns(n, listed, key_columns)))
    table.not_pii_columns = list(dict.fromkeys(c for n in declaring for c in not_pii_columns(n, listed)))
    table.copy_as_is = any(keeps_real(n) for n in declaring)
    config = node.get("config") or {}
    info = TableInfo(
        name=name, unique_id=uid, resource_type=node["resource_type"], relation_name=node.get("relation_name"),
        database=node.get("database"), schema=node.get("schema"),
        identifier=str(node.get("identifier") or node.get("alias") or node.get("name") or ""),
        package_name=node.get("package_name"), key_reason=choice.reason,
        contract_enforced=bool((config.get("contract") or node.get("contract") or {}).get("enforced")))
    return table, info, skipped


def _dedupe_fks(fks: list[FkRule]) -> list[FkRule]:
    """One foreign key per (columns, parent, parent_columns); the strictest wins: an unconditional one over a
    `where`, then the one with the fewest excepted values."""
    best: dict[tuple[Any, ...], FkRule] = {}
    for fk in fks:
        key = (fk.columns, fk.parent, fk.parent_columns)
        if key not in best or (best[key].where is not None, len(best[key].except_values)) > (
                fk.where is not None, len(fk.except_values)):
            best[key] = fk
    return sorted(best.values(), key=lambda f: (f.columns, f.parent, f.source))


def _note_fk_targets(tables: dict[str, TableConfig], notes: list[str]) -> None:
    """Say when a foreign key points at columns its parent does not declare as a key (dbt allows it;
    Metadata.validate_schema does not, so the user learns it here first)."""
    for table in tables.values():
        for fk in table.fk:
            parent = tables[fk.parent]
            unique = len(fk.parent_columns) == 1 and parent.constraint(fk.parent_columns[0]).unique
            if sorted(parent.pk) != sorted(fk.parent_columns) and not unique:
                notes.append(f"{table.name}: foreign key {fk.label} points at columns that {parent.name!r} does "
                             f"not declare unique (its primary key: {parent.pk or 'none'}); add a `unique` test "
                             f"on {parent.name}.{', '.join(fk.parent_columns)}")
