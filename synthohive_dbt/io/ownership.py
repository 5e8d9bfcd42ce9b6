"""What synthohive wrote, and what a run may therefore touch.

Each schema synthohive writes into (the target, sources mode's build schema, the staging schema) holds one
marker table, `_synthohive_owned`, listing the relations synthohive created there. A run replaces only
relations listed in it. Anything else in the schema is someone else's: it refuses the run (listed by name)
unless `--force` lets a same-named relation be replaced; unrelated ones are never dropped. Objects anywhere
that read a relation we would replace always refuse the run, because dropping the relation would drop
(PostgreSQL) or silently break (DuckDB, MariaDB) them.

`plan_schema` only reads the catalog, so it runs before any real data is read and again just before the
swap; `--dry-run` prints the same plan and stops.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Connection, TextClause, text

from synthohive_dbt.errors import UnsafeTargetError
from synthohive_dbt.io.relation import Dependent, RelationInfo
from synthohive_dbt.io.warehouses import Warehouse, run_sql

MARKER_TABLE = "_synthohive_owned"
ROLE_SYNTHETIC, ROLE_BUILD, ROLE_STAGING = "synthetic", "build", "staging"


def owned_relations(conn: Connection, wh: Warehouse, schema: str) -> dict[str, str] | None:
    """{key(name): role} of the relations synthohive recorded in `schema`; None when there is no marker."""
    marked = wh.owned_by_properties(conn, schema)
    if marked is not None:
        return marked
    if not any(wh.key(r.name) == wh.key(MARKER_TABLE) for r in wh.list_relations(conn, schema)):
        return None
    rows = run_sql(conn, f"SELECT relation_name, role FROM {wh.qualified(schema, MARKER_TABLE)}")
    return {wh.key(str(name)): str(role) for name, role in rows}


def record_owned(conn: Connection, wh: Warehouse, schema: str, relations: Iterable[RelationInfo], *,
                 role: str, run_id: str, forget: Iterable[str] = (), into: tuple[str, str] | None = None) -> None:
    """Create the marker if needed, then list `relations` as ours (and drop `forget` from the list).

    `into` (schema, table): leave `schema`'s marker as it is and write the updated list as that new table,
    for a warehouse whose swap renames the marker into place together with the tables (`Warehouse.swap`).
    """
    from synthohive_dbt import __version__

    if wh.record_in_properties(conn, schema, list(relations), role=role, run_id=run_id):
        return
    existing = owned_relations(conn, wh, schema) is not None
    marker = wh.qualified(*into) if into else wh.qualified(schema, MARKER_TABLE)
    if into or not existing:
        run_sql(conn, f"CREATE TABLE {marker} (relation_name VARCHAR(255), relation_kind VARCHAR(40), "
                      "role VARCHAR(20), run_id VARCHAR(64), written_at VARCHAR(40), written_by VARCHAR(40))")
    if into and existing:
        run_sql(conn, f"INSERT INTO {marker} SELECT * FROM {wh.qualified(schema, MARKER_TABLE)}")
    relations = list(relations)
    gone = {wh.key(n) for n in [*forget, *(r.name for r in relations)]}
    if gone:
        rows = run_sql(conn, f"SELECT relation_name FROM {marker}")
        for (name,) in rows:
            if wh.key(str(name)) in gone:
                conn.execute(_delete(marker), {"n": name})
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for rel in relations:
        conn.execute(_insert(marker), {"n": rel.name, "k": rel.kind, "r": role, "i": run_id, "w": now,
                                       "v": f"synthohive {__version__}"})


def _delete(marker: str) -> TextClause:
    return text(f"DELETE FROM {marker} WHERE relation_name = :n")


def _insert(marker: str) -> TextClause:
    return text(f"INSERT INTO {marker} (relation_name, relation_kind, role, run_id, written_at, written_by) "
                "VALUES (:n, :k, :r, :i, :w, :v)")


@dataclass
class SchemaPlan:
    """What a run would do in one schema, and what stops it. Nothing here has been done yet."""

    schema: str
    role: str
    create: list[str] = field(default_factory=list)
    replace: list[str] = field(default_factory=list)          # ours: replaced
    force_replace: list[str] = field(default_factory=list)    # not ours, same name, --force given
    drop_stale: list[str] = field(default_factory=list)       # ours from an earlier run, not written now
    kept_foreign: list[str] = field(default_factory=list)     # not ours, left untouched (--force given)
    clashes: list[str] = field(default_factory=list)          # not ours, same name, no --force: refuse
    foreign: list[str] = field(default_factory=list)          # not ours, other name, no --force: refuse
    dependents: list[Dependent] = field(default_factory=list)  # outside objects reading what we replace
    own_dependents: list[Dependent] = field(default_factory=list)  # ours (e.g. build views): dropped with it
    adopted: list[str] = field(default_factory=list)          # taken over by --adopt
    unmarked: bool = False                                    # the schema holds relations but no marker
    dependents_unchecked: bool = False                        # this warehouse cannot list dependents
    unlocked: bool = False                                    # this warehouse has no cross-run lock
    relations: dict[str, RelationInfo] = field(default_factory=dict)
    owned_keys: set[str] = field(default_factory=set)         # key(name) of what counts as ours now
    real: set[str] = field(default_factory=set)               # names of the dbt project's own relations here

    @property
    def refused(self) -> bool:
        return bool(self.clashes or self.foreign or self.dependents)

    def lines(self) -> list[str]:
        """The plan as a person reads it: what is created, replaced, dropped, kept and refused."""
        out = []
        for label, names in (("create", self.create), ("replace (written by synthohive)", self.replace),
                             ("replace (not ours; --force)", self.force_replace),
                             ("drop (ours, from an earlier run)", self.drop_stale),
                             ("adopt (--adopt: now counted as ours)", self.adopted),
                             ("keep untouched (not ours)", self.kept_foreign)):
            if names:
                out.append(f"{self.schema}: {label}: {', '.join(names)}")
        if self.own_dependents:
            out.append(f"{self.schema}: also dropped, ours and rebuilt by dbt: "
                       f"{', '.join(str(d) for d in self.own_dependents)}")
        if self.dependents_unchecked:
            out.append(f"{self.schema}: this warehouse cannot list the views that read these tables; "
                       "none were checked")
        if self.unlocked:
            out.append(f"{self.schema}: this warehouse has no run lock; do not start two runs into it at once")
        out += [f"REFUSE: {line}" for line in self.refusals()]
        return out

    def refusals(self) -> list[str]:
        out = []
        real = sorted(n for n in [*self.clashes, *self.foreign] if n.split(" ")[-1] in self.real)
        if real:
            out.append(f"schema {self.schema!r} holds real relations of this dbt project ({', '.join(real)}) that "
                       "a synthetic write would replace or sit beside")
        if self.clashes:
            out.append(f"schema {self.schema!r} already holds {', '.join(self.clashes)}, not written by "
                       "synthohive, under the names this run would write")
        if self.foreign:
            out.append(f"schema {self.schema!r} holds relations synthohive did not write: {', '.join(self.foreign)}")
        if self.dependents:
            out.append(f"objects outside synthohive's relations read what this run would replace in "
                       f"{self.schema!r}: {'; '.join(str(d) for d in self.dependents)}")
        return out


def plan_schema(conn: Connection, wh: Warehouse, schema: str, names: Sequence[str], *, role: str,
                force: bool = False, adopt: bool = False, drop_stale: bool = True,
                ours_elsewhere: dict[str, set[str]] | None = None, real: Iterable[str] = ()) -> SchemaPlan:
    """What writing `names` into `schema` would do (read-only).

    `ours_elsewhere`: {schema: {key(name)}} of relations in other schemas this run owns (the build schema's
    views over the target): they may depend on what we replace, because the run rebuilds them.
    `drop_stale`: whether our relations that are not rewritten now are dropped (the target: yes; the build
    schema: dbt owns what it builds, so no). `real`: names of the dbt project's own relations in `schema`,
    named as such when they refuse the run.
    """
    if (force or adopt) and not wh.takes_over_relations:
        raise UnsafeTargetError(f"--force and --adopt are not available on {wh.dialect}: synthohive replaces only "
                                f"the relations it marked as its own there (schema {schema!r})",
                                hint="leave out --force/--adopt and choose a target that holds only synthohive's "
                                     "tables (a new one, e.g. 'synthetic')")
    plan = SchemaPlan(schema, role, real=set(real))
    existing = {wh.key(r.name): r for r in wh.list_relations(conn, schema) if wh.key(r.name) != wh.key(MARKER_TABLE)}
    plan.relations = existing
    owned = owned_relations(conn, wh, schema)
    if owned is None and existing:
        plan.unmarked = True
    owned_keys = set(owned or {})
    if adopt:
        plan.adopted = sorted(existing[k].name for k in existing if k not in owned_keys)
        owned_keys |= set(existing)
    plan.owned_keys = set(owned_keys)
    wanted = {wh.key(n): n for n in names}
    replaced: list[str] = []
    for key, name in sorted(wanted.items()):
        if key not in existing:
            plan.create.append(name)
        elif key in owned_keys:
            plan.replace.append(existing[key].name)
            replaced.append(existing[key].name)
        elif force:
            plan.force_replace.append(existing[key].name)
            replaced.append(existing[key].name)
        else:
            plan.clashes.append(str(existing[key]))
            replaced.append(existing[key].name)  # --force would replace it: say now what reads it
    for key, rel in sorted(existing.items()):
        if key in wanted:
            continue
        if key in owned_keys:
            if drop_stale:
                plan.drop_stale.append(rel.name)
                replaced.append(rel.name)
        elif force:
            plan.kept_foreign.append(str(rel))
        else:
            plan.foreign.append(str(rel))
    ours = {schema.lower(): owned_keys | set(wanted), **{k.lower(): v for k, v in (ours_elsewhere or {}).items()}}
    plan.own_dependents, plan.dependents = _dependents(conn, wh, schema, replaced, ours)
    plan.dependents_unchecked = not wh.checks_dependents and bool(replaced)
    plan.unlocked = not wh.locks_runs
    return plan


def _dependents(conn: Connection, wh: Warehouse, schema: str, names: Sequence[str],
                ours: dict[str, set[str]]) -> tuple[list[Dependent], list[Dependent]]:
    """(ours, not ours): every object that reads schema.names, followed through our own views."""
    own: list[Dependent] = []
    foreign: list[Dependent] = []
    seen: set[tuple[str, str]] = set()
    todo = [(schema, list(names))]
    while todo:
        s, batch = todo.pop()
        for dep in wh.dependents(conn, s, batch):
            mark = (dep.schema.lower(), wh.key(dep.name))
            if mark in seen:
                continue
            seen.add(mark)
            is_ours = wh.key(dep.name) in ours.get(dep.schema.lower(), set()) and dep.kind.endswith("view")
            if is_ours:
                own.append(dep)
                todo.append((dep.schema, [dep.name]))  # dropping ours would cascade into what reads it
            else:
                foreign.append(dep)
    return own, foreign


def raise_if_refused(plans: Sequence[SchemaPlan], *, target: str) -> None:
    """UnsafeTargetError listing every refusal (all schemas at once), with the fixes that apply."""
    refusals = [line for p in plans for line in p.refusals()]
    if not refusals:
        return
    unmarked = [p.schema for p in plans if p.unmarked and (p.foreign or p.clashes)]
    has_dependents = any(p.dependents for p in plans)
    fixes = []
    if unmarked:
        fixes.append(f"if {', '.join(repr(s) for s in unmarked)} was written by an earlier synthohive release "
                     "(which kept no record), pass --adopt once to take it over after checking the list above")
    fixes.append("choose a target schema of its own for synthetic data (e.g. 'synthetic')")
    if any(p.clashes for p in plans):
        fixes.append("or pass --force to replace the same-named relations listed (other relations are never "
                     "dropped)")
    if has_dependents:
        fixes.append("objects that read these tables are never dropped, even with --force: drop or repoint "
                     "them yourself first")
    raise UnsafeTargetError("nothing was written: " + "; ".join(refusals), hint="; ".join(fixes))


__all__ = ["MARKER_TABLE", "ROLE_BUILD", "ROLE_STAGING", "ROLE_SYNTHETIC", "SchemaPlan", "owned_relations",
           "plan_schema", "raise_if_refused", "record_owned"]
