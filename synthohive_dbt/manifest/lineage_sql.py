"""One model's compiled SQL -> where each output column comes from, and how its rows relate to raw rows.

sqlglot parses the SQL and qualifies its columns (`optimizer.qualify`); this module then walks the query
(CTEs, derived tables, joins, set operations). `sqlglot.lineage` alone answers "which raw column feeds this
column", but not what `unique` and `relationships` also need: whether the model keeps at most one row per
raw row (no fan-out join, no GROUP BY), whether it keeps every raw row (no WHERE, no inner join), and which
column sets are unique by construction (GROUP BY keys, DISTINCT). Everything here is in raw terms: a column's
`Origin` names a source or seed and the chain of `Step`s from the raw column to the model column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify

from synthohive_dbt.config import DType, dtype_from_sql

StepKind = Literal["cast", "try_cast", "fold", "coalesce", "pick", "nullif"]
_FOLDS = {exp.Lower: "lower", exp.Upper: "upper", exp.Initcap: "initcap", exp.Trim: "trim"}
_PICKS = {exp.Min: "min", exp.Max: "max", exp.AnyValue: "any_value", exp.First: "first", exp.Last: "last"}
_HASHES = (exp.MD5, exp.SHA, exp.SHA2)
_HASH_NAMES = frozenset({"md5", "sha", "sha1", "sha2", "sha256", "hash"})
# what may sit between the columns of a surrogate key and its hash: text casts, null sentinels, separators
_SURROGATE_GLUE = (exp.Cast, exp.TryCast, exp.Coalesce, exp.DPipe, exp.Concat, exp.ConcatWs, exp.Literal,
                   exp.Paren, exp.Column, exp.Identifier, exp.DataType, exp.Null)
_WIDENING = {("int", "float"), ("date", "datetime"), ("int", "str"), ("float", "str"), ("bool", "str"),
             ("date", "str"), ("datetime", "str")}


@dataclass(frozen=True)
class Step:
    """One value transformation between a raw column and a model column.

    cast / try_cast: `detail` is the target type, `family` its dtype family, `model` the model whose SQL
    casts; fold: an idempotent string function (lower, upper, initcap, trim); coalesce: `literals` are the
    defaults; pick: min/max/any_value, an aggregate whose result is one of its input values; nullif: the
    value itself, except that `literals` (the excepted values) become null (`nullif(x, '0')`, `case when
    x = '0' then null else x end`, `if(x <> '0', x, null)`).
    """

    kind: StepKind
    detail: str
    family: DType | None = None
    literals: tuple[Any, ...] = ()
    model: str | None = None


@dataclass(frozen=True)
class Origin:
    """A raw column (`relation` is a source or seed unique_id) and the steps that turn it into the column."""

    relation: str
    column: str
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class ColumnLineage:
    """Where one column's values come from: raw origins (several after a UNION), a constant, or nothing
    lineage can follow (`opaque` says why). `nullable` says why an outer join may put nulls in it."""

    origins: tuple[Origin, ...] = ()
    opaque: str | None = None
    literal: tuple[Any, ...] | None = None
    nullable: str | None = None

    def then(self, step: Step) -> ColumnLineage:
        if self.opaque is not None or self.literal is not None:
            return self
        nullable = self.nullable
        if step.kind == "coalesce" and any(v is not None for v in step.literals):
            nullable = None
        return replace(self, origins=tuple(replace(o, steps=(*o.steps, step)) for o in self.origins),
                       nullable=nullable)


@dataclass(frozen=True)
class RowLink:
    """How a relation's rows relate to one raw table's rows; None = holds, a string = why not.

    injective: each row comes from a different raw row (unique raw columns stay unique).
    covers: every raw row shows up in some row (the values of a raw column are all still there).
    """

    injective: str | None = None
    covers: str | None = None


@dataclass(frozen=True)
class RelationLineage:
    """A relation (raw table, model, CTE, derived table) in raw terms."""

    name: str
    columns: dict[str, ColumnLineage] = field(default_factory=dict)  # lower-case name -> lineage, in order
    rows: dict[str, RowLink] = field(default_factory=dict)
    keys: tuple[frozenset[str], ...] = ()  # lower-case column sets unique on every row
    raw: str | None = None  # a raw table: every column is itself
    passthrough: tuple[tuple[RelationLineage, str | None], ...] = ()  # `select *` sources (+ nullable why)
    opaque: str | None = None  # nothing is known about this relation, and why

    @property
    def is_open(self) -> bool:
        """Whether it may have columns not listed in `columns` (a raw table, or `select *`)."""
        return self.raw is not None or self.opaque is not None or any(p.is_open for p, _ in self.passthrough)

    def knows(self, name: str) -> bool:
        key = name.lower()
        return key in self.columns or any(p.knows(name) for p, _ in self.passthrough)

    def lookup(self, name: str) -> ColumnLineage | None:
        """The lineage of a column, or None when the relation has no such column."""
        if self.opaque is not None:
            return ColumnLineage(opaque=self.opaque)
        key = name.lower()
        if key in self.columns:
            return self.columns[key]
        if self.raw is not None:
            return ColumnLineage(origins=(Origin(self.raw, name),))
        known = [(p, why) for p, why in self.passthrough if p.knows(name)]
        open_ = [(p, why) for p, why in self.passthrough if p.is_open]
        for rel, why in known or (open_ if len(open_) == 1 else []):
            found = rel.lookup(name)
            if found is not None and why and found.nullable is None:
                found = replace(found, nullable=why)
            return found
        return None


def family_after(before: DType | None, step: Step) -> DType | None:
    """The dtype family of a value after one step (None when unknown)."""
    if step.kind in ("cast", "try_cast"):
        return step.family
    if step.kind == "fold":
        return "str"
    return before


def cast_effect(before: DType | None, step: Step) -> Literal["exact", "assumed", "lossy"]:
    """exact: distinct values stay distinct and keep their order; assumed: the raw type is unknown, so the
    cast is taken to be exact; lossy: it may merge values (float -> int, timestamp -> date, text -> number)."""
    if before is None or step.family is None:
        return "assumed"
    if before == step.family or (before, step.family) in _WIDENING:
        return "exact"
    return "lossy"


def value_preserving(origin: Origin, raw_family: DType | None, nulls_ok: bool = False) -> str | None:
    """None when every step keeps distinct values distinct (renames, exact casts); else why not.

    `nulls_ok`: a `nullif` step counts too, for tests that ignore nulls (unique, relationships): the values
    it keeps stay distinct, and the excepted ones become null."""
    family = raw_family
    for step in origin.steps:
        if step.kind == "nullif" and nulls_ok:
            continue
        if step.kind in ("cast", "try_cast"):
            if cast_effect(family, step) == "lossy":
                return f"cast from {family} to {step.detail} may merge distinct values"
        else:
            return f"{step.kind} `{step.detail}` may merge distinct values"
        family = family_after(family, step)
    return None


def _literal(node: exp.Expr) -> tuple[Any, ...] | None:
    """The Python value of a SQL literal (also `cast('x' as ...)`), or None when it is not one."""
    if isinstance(node, exp.Paren):
        return _literal(node.this)
    if isinstance(node, exp.Null):
        return (None,)
    if isinstance(node, exp.Boolean):
        return (bool(node.this),)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return (str(node.this),)
        text = str(node.this)
        try:
            return (int(text),)
        except ValueError:
            return (float(text),)
    if isinstance(node, exp.Neg):
        inner = _literal(node.this)
        return (-inner[0],) if inner and isinstance(inner[0], (int, float)) else None
    if isinstance(node, exp.Cast):
        return _literal(node.this)
    return None


def _snippet(node: exp.Expr, dialect: str | None) -> str:
    text = " ".join(node.sql(dialect=dialect).split())
    return text if len(text) <= 80 else text[:77] + "..."


def _conjuncts(cond: exp.Expr | None) -> Iterable[exp.Expr]:
    if cond is None:
        return []
    return cond.flatten() if isinstance(cond, exp.And) else [cond]


_ROW_FILTERS = (("where", "rows are filtered by WHERE"), ("having", "groups are filtered by HAVING"),
                ("qualify", "rows are filtered by QUALIFY"), ("limit", "rows are cut by LIMIT"),
                ("offset", "rows are skipped by OFFSET"), ("fetch", "rows are cut by FETCH"))

TableResolver = Callable[[exp.Table], "RelationLineage | None"]


@dataclass
class _Select:
    """The sources of one SELECT while its FROM and JOINs are walked."""

    sources: dict[str, RelationLineage] = field(default_factory=dict)
    nullable: dict[str, str] = field(default_factory=dict)
    rows: dict[str, RowLink] = field(default_factory=dict)
    first: str | None = None
    first_injective: str | None = None  # why the FROM relation's rows may repeat


class SqlLineage:
    """Walks one qualified query. `resolve` maps a table the SQL reads to its lineage (None: unknown)."""

    def __init__(self, dialect: str | None, resolve: TableResolver,
                 raw_family: Callable[[str, str], DType | None], model: str | None = None) -> None:
        self.dialect = dialect
        self.resolve = resolve
        self.raw_family = raw_family
        self.model = model  # the unique_id its cast steps name
        # (column lineage, literals) for every `col = 'lit'` / `col IN (...)` the query compares a column to
        self.compared: list[tuple[ColumnLineage, tuple[Any, ...]]] = []

    # -- queries ---------------------------------------------------------------------------------------
    def query(self, node: exp.Expr, env: dict[str, RelationLineage], name: str) -> RelationLineage:
        with_ = node.args.get("with_")
        if with_ is not None:
            env = dict(env)
            for cte in with_.expressions:
                env[cte.alias_or_name.lower()] = self.query(cte.this, env, cte.alias_or_name)
        if isinstance(node, exp.Subquery):
            return self.query(node.this, env, name)
        if isinstance(node, exp.SetOperation):
            return self._set_operation(node, env, name)
        if isinstance(node, exp.Select):
            return self._select(node, env, name)
        return RelationLineage(name, opaque=f"`{name}` is a {type(node).__name__} query lineage does not follow")

    def _source(self, node: exp.Expr, env: dict[str, RelationLineage]) -> tuple[str, RelationLineage]:
        alias = node.alias_or_name or "?"
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            if not node.args.get("db") and node.name.lower() in env:
                return alias.lower(), env[node.name.lower()]
            found = self.resolve(node)
            if found is None:
                found = RelationLineage(alias, opaque=f"read from {_snippet(node, self.dialect)}, which is "
                                                      "not a source, seed or model the model depends on")
            return alias.lower(), found
        if isinstance(node, exp.Subquery):
            return alias.lower(), self.query(node.this, env, alias)
        return alias.lower(), RelationLineage(alias, opaque=f"read from `{_snippet(node, self.dialect)}`")

    def _select(self, sel: exp.Select, env: dict[str, RelationLineage], name: str) -> RelationLineage:
        state = _Select()
        from_ = sel.args.get("from_")
        if from_ is not None:
            alias, rel = self._source(from_.this, env)
            state.sources[alias], state.first = rel, alias
            state.rows = dict(rel.rows)
        for join in sel.args.get("joins") or []:
            self._join(state, join, env)
        self._compared_literals(sel, state)
        for arg, why in _ROW_FILTERS:
            if sel.args.get(arg) is not None:
                state.rows = {u: replace(link, covers=link.covers or why) for u, link in state.rows.items()}
        projections = list(sel.expressions)
        aggregated = sel.args.get("group") is not None or any(
            p.find(exp.AggFunc) is not None and not _inside_window(p.find(exp.AggFunc)) for p in projections)
        distinct = sel.args.get("distinct")
        why_not_injective = ("rows are aggregated (GROUP BY or an aggregate)" if aggregated else
                             "SELECT DISTINCT merges equal rows" if distinct is not None else None)
        if why_not_injective:
            state.rows = {u: replace(link, injective=link.injective or why_not_injective)
                          for u, link in state.rows.items()}
            state.first_injective = state.first_injective or why_not_injective

        columns: dict[str, ColumnLineage] = {}
        passthrough: list[tuple[RelationLineage, str | None]] = []
        plain: dict[str, tuple[str, str]] = {}  # output name -> (source alias, column) for renames / exact casts
        for proj in projections:
            if isinstance(proj, exp.Star):
                passthrough += [(r, state.nullable.get(a)) for a, r in state.sources.items()]
                continue
            if isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star):
                alias = proj.table.lower()
                if alias in state.sources:
                    passthrough.append((state.sources[alias], state.nullable.get(alias)))
                continue
            out = proj.alias_or_name.lower()
            body = proj.unalias()
            columns[out] = self._expr(body, state)
            ref = self._injective_ref(body, state)
            if ref is not None:
                plain[out] = ref
        keys = self._keys(sel, state, columns, passthrough, plain, aggregated)
        return RelationLineage(name, columns=columns, rows=state.rows, keys=keys, passthrough=tuple(passthrough))

    def _compared_literals(self, sel: exp.Select, state: _Select) -> None:
        """Literals this SELECT compares a column to (WHERE, JOIN ON, CASE WHEN, HAVING): values the project
        names for that column. A generator that does not learn the column's values must still write them, or
        `where genre = 'Rock'` selects nothing on synthetic data. Subqueries are their own scope: skipped."""
        for node in sel.walk(prune=lambda n: n is not sel and isinstance(n, (exp.Select, exp.Subquery))):
            if isinstance(node, (exp.EQ, exp.NEQ)):
                pairs = [(node.this, node.expression), (node.expression, node.this)]
                found = [(c, lit) for c, v in pairs if isinstance(c, exp.Column)
                         and (lit := _literal(v)) is not None and lit[0] is not None]
            elif isinstance(node, exp.In) and isinstance(node.this, exp.Column) and node.expressions:
                lits = [_literal(v) for v in node.expressions]
                found = ([(node.this, tuple(x[0] for x in lits if x is not None and x[0] is not None))]
                         if all(x is not None for x in lits) else [])
            else:
                continue
            for col, values in found:
                try:
                    lin = self._column(col, state)
                except _Opaque:
                    continue
                if lin.opaque is None and lin.origins and values:
                    self.compared.append((lin, values))

    def _join(self, state: _Select, join: exp.Join, env: dict[str, RelationLineage]) -> None:
        alias, rel = self._source(join.this, env)
        side, kind = (join.side or "").upper(), (join.kind or "").upper()
        if kind in ("SEMI", "ANTI"):
            why = f"rows are filtered by {kind} JOIN `{alias}`"
            state.rows = {u: replace(link, covers=link.covers or why) for u, link in state.rows.items()}
            return
        mine, theirs = self._equated(join, alias, state)
        cross = join.args.get("on") is None and not join.args.get("using")
        unique_there = any(key <= mine for key in rel.keys)
        first_key = state.sources[state.first].keys if state.first in state.sources else ()
        unique_here = state.first_injective is None and any(key <= theirs for key in first_key)
        what = f"{'CROSS' if cross else side or 'INNER'} JOIN `{alias}`"
        repeat = None if unique_there else (f"{what} is not on a unique key of `{alias}`, so rows may repeat")
        state.rows = {u: RowLink(link.injective or repeat,
                                 link.covers or (None if side in ("LEFT", "FULL") else
                                                 f"{what} drops rows without a match"))
                      for u, link in state.rows.items()}
        state.first_injective = state.first_injective or repeat
        for uid, link in rel.rows.items():
            new = RowLink(link.injective or (None if unique_here else
                                             f"{what} is not on a unique key of `{state.first}`"),
                          link.covers or (None if side in ("RIGHT", "FULL") else
                                          f"{what} drops rows of `{alias}` without a match"))
            if uid in state.rows:  # the same raw table on both sides
                old = state.rows[uid]
                new = RowLink(f"{what} reads the same raw table twice",
                              None if old.covers is None or new.covers is None else old.covers)
            state.rows[uid] = new
        if side in ("RIGHT", "FULL"):
            for other in state.sources:
                state.nullable.setdefault(other, f"the optional side of {side} JOIN `{alias}`")
        if side in ("LEFT", "FULL"):
            state.nullable[alias] = f"the optional side of {side} JOIN `{alias}`"
        state.sources[alias] = rel

    def _equated(self, join: exp.Join, alias: str, state: _Select) -> tuple[frozenset[str], frozenset[str]]:
        """Columns of the joined relation fixed by the join (`=` to a column or a constant), and columns of
        the FROM relation it is equated with."""
        mine: set[str] = set()
        theirs: set[str] = set()
        for col in join.args.get("using") or []:
            mine.add(col.name.lower())
            theirs.add(col.name.lower())
        for cond in _conjuncts(join.args.get("on")):
            if not isinstance(cond, exp.EQ):
                continue
            sides = [cond.this.unnest(), cond.expression.unnest()]
            for a, b in (sides, sides[::-1]):
                if isinstance(a, exp.Column) and self._alias_of(a, state, alias) == alias:
                    if isinstance(b, exp.Column) and self._alias_of(b, state, alias) != alias:
                        mine.add(a.name.lower())
                        if self._alias_of(b, state, alias) == state.first:
                            theirs.add(b.name.lower())
                    elif _literal(b) is not None:
                        mine.add(a.name.lower())
        return frozenset(mine), frozenset(theirs)

    def _alias_of(self, col: exp.Column, state: _Select, joining: str | None = None) -> str | None:
        if col.table:
            return col.table.lower()
        owners = [a for a, r in state.sources.items() if r.knows(col.name)]
        if joining is not None:
            owners = owners or ([joining] if joining not in state.sources else [])
        return owners[0] if len(owners) == 1 else None

    # -- keys ------------------------------------------------------------------------------------------
    def _injective_ref(self, body: exp.Expr, state: _Select) -> tuple[str, str] | None:
        """(source alias, column) when the expression is a column under renames and exact casts only."""
        casts: list[exp.Cast] = []
        while isinstance(body, (exp.Cast, exp.Paren)):
            if isinstance(body, exp.Cast):
                casts.append(body)
            body = body.this
        if not isinstance(body, exp.Column) or isinstance(body.this, exp.Star):
            return None
        alias = self._alias_of(body, state) or (state.first if len(state.sources) == 1 else None)
        if alias is None or alias not in state.sources:
            return None
        lin = state.sources[alias].lookup(body.name)
        family = _final_family(lin, self.raw_family) if lin else None
        for cast in reversed(casts):
            step = Step("cast", cast.to.sql(dialect=self.dialect), dtype_from_sql(cast.to.sql(dialect=self.dialect)))
            if isinstance(cast, exp.TryCast) or cast_effect(family, step) == "lossy":
                return None
            family = step.family
        return alias, body.name.lower()

    def _keys(self, sel: exp.Select, state: _Select, columns: dict[str, ColumnLineage],
              passthrough: list[tuple[RelationLineage, str | None]], plain: dict[str, tuple[str, str]],
              aggregated: bool) -> tuple[frozenset[str], ...]:
        keys: list[frozenset[str]] = []
        group = sel.args.get("group")
        if group is not None:
            outputs = {p.unalias(): p.alias_or_name.lower() for p in sel.expressions if not isinstance(p, exp.Star)}
            names = [outputs.get(g) for g in group.expressions]
            if names and all(names):
                keys.append(frozenset(n for n in names if n))
        elif aggregated:
            keys.append(frozenset())  # an aggregate without GROUP BY returns one row
        distinct = sel.args.get("distinct")
        if distinct is not None:
            on = distinct.args.get("on")
            if on is not None:
                outputs = {p.unalias(): p.alias_or_name.lower() for p in sel.expressions}
                names = [outputs.get(e) for e in on.expressions]
                if names and all(names):
                    keys.append(frozenset(n for n in names if n))
            elif not passthrough:
                keys.append(frozenset(columns))
        if state.first is not None and state.first_injective is None and not passthrough:
            by_source = {ref: out for out, ref in plain.items()}
            for key in state.sources[state.first].keys:
                mapped = [by_source.get((state.first, k)) for k in key]
                if all(mapped):
                    keys.append(frozenset(m for m in mapped if m))
        elif state.first is not None and state.first_injective is None:
            keys += [k for k in state.sources[state.first].keys
                     if all(c not in columns for c in k)]  # `select *` keeps the source's keys
        return tuple(dict.fromkeys(keys))

    # -- expressions -----------------------------------------------------------------------------------
    def _expr(self, node: exp.Expr, state: _Select) -> ColumnLineage:
        if isinstance(node, exp.Paren):
            return self._expr(node.this, state)
        literal = _literal(node)
        if literal is not None and not isinstance(node, exp.Cast):
            return ColumnLineage(literal=literal)
        if isinstance(node, exp.Column):
            return self._column(node, state)
        if isinstance(node, exp.Cast):
            if literal is not None:
                return ColumnLineage(literal=literal)
            return self._expr(node.this, state).then(self._cast_step(node))
        for cls, fn in _FOLDS.items():
            if type(node) is cls:
                return self._expr(node.this, state).then(Step("fold", fn))
        if isinstance(node, exp.Coalesce):
            args = [node.this, *node.expressions]
            defaults = [_literal(a) for a in args[1:]]
            if args and all(d is not None for d in defaults):
                return self._expr(args[0], state).then(
                    Step("coalesce", _snippet(node, self.dialect), literals=tuple(d[0] for d in defaults if d)))
            return ColumnLineage(opaque=f"`{_snippet(node, self.dialect)}` combines several columns")
        branches = _branches(node)
        if branches is not None:
            return self._conditional(node, *branches, state)
        for cls, fn in _PICKS.items():
            if type(node) is cls:  # a window's min/max never gets here: the Window node is opaque
                return self._expr(node.this, state).then(Step("pick", fn))
        if _is_hash(node):
            return self._surrogate(node, state)
        if isinstance(node, exp.Window):
            return ColumnLineage(opaque=f"a window function `{_snippet(node, self.dialect)}`")
        if isinstance(node, exp.AggFunc):
            return ColumnLineage(opaque=f"an aggregate `{_snippet(node, self.dialect)}`")
        return ColumnLineage(opaque=f"computed by `{_snippet(node, self.dialect)}`")

    def _surrogate(self, node: exp.Expr, state: _Select) -> ColumnLineage:
        """A hash of columns joined as text (`dbt_utils.generate_surrogate_key`: md5 of casts, null sentinels
        and separators): one value per combination of the columns, so a `unique` test on it is a unique
        combination of the raw columns. Each origin ends in a `surrogate` step naming all of them."""
        inner = [n for n in node.walk() if n is not node]
        columns = [n for n in inner if isinstance(n, exp.Column)]
        if not columns or any(not isinstance(n, _SURROGATE_GLUE) for n in inner):
            return ColumnLineage(opaque=f"computed by `{_snippet(node, self.dialect)}`")
        parts = [self._column(c, state) for c in columns]
        if any(p.opaque or len(p.origins) != 1 for p in parts):
            return ColumnLineage(opaque=f"`{_snippet(node, self.dialect)}` hashes columns lineage cannot follow")
        names = ", ".join(c.sql(dialect=self.dialect) for c in columns)
        step = Step("surrogate", f"hash of ({names})")
        return ColumnLineage(origins=tuple(p.origins[0] for p in parts)).then(step)

    def _conditional(self, node: exp.Expr, whens: list[tuple[exp.Expr, exp.Expr]], default: exp.Expr | None,
                     state: _Select) -> ColumnLineage:
        """CASE / IF / NULLIF that returns one expression or null depending on its value: the expression's
        lineage, then a `nullif` step with the values it nulls (and a coalesce when null gives a constant)."""
        text = _snippet(node, self.dialect)
        try:
            body, core, nulled, null_gives = _value_switch(whens, default)
        except _Opaque as why:
            return ColumnLineage(opaque=f"`{text}` {why}")
        lin = self._expr(core, state)
        if nulled:
            lin = lin.then(Step("nullif", text, literals=tuple(nulled)))
        if null_gives is not None:
            lin = lin.then(Step("coalesce", text, literals=(null_gives,)))
        for cast in reversed(_cores(body)[:-1]):  # the casts around the core, innermost first
            lin = lin.then(self._cast_step(cast))
        return lin

    def _cast_step(self, node: exp.Expr) -> Step:
        target = node.to.sql(dialect=self.dialect)
        kind: StepKind = "try_cast" if isinstance(node, exp.TryCast) or node.args.get("safe") else "cast"
        return Step(kind, target, dtype_from_sql(target), model=self.model)

    def _column(self, node: exp.Column, state: _Select) -> ColumnLineage:
        alias = self._alias_of(node, state)
        if alias is None and not node.table:
            open_ = [a for a, r in state.sources.items() if r.is_open]
            alias = open_[0] if len(open_) == 1 else None
            if alias is None and len(state.sources) > 1:
                return ColumnLineage(opaque=f"column `{node.name}` could belong to any of "
                                            f"{', '.join(sorted(state.sources))}")
        rel = state.sources.get(alias or "")
        if rel is None:
            return ColumnLineage(opaque=f"column `{node.sql(dialect=self.dialect)}` refers to no source of its "
                                        "SELECT (a correlated or unknown reference)")
        found = rel.lookup(node.name)
        if found is None:
            return ColumnLineage(opaque=f"`{rel.name}` has no column `{node.name}`")
        why = state.nullable.get(alias or "")
        if why and found.nullable is None and found.opaque is None:
            found = replace(found, nullable=why)
        return found

    # -- set operations --------------------------------------------------------------------------------
    def _set_operation(self, node: exp.SetOperation, env: dict[str, RelationLineage],
                       name: str) -> RelationLineage:
        left = self.query(node.this, env, name)
        right = self.query(node.expression, env, name)
        op = type(node).__name__.upper()
        if left.opaque or right.opaque or left.passthrough or right.passthrough:
            return RelationLineage(name, opaque=left.opaque or right.opaque or
                                   f"`{name}` is a {op} over `SELECT *`, whose column order is unknown")
        distinct = bool(node.args.get("distinct"))
        if isinstance(node, exp.Union):
            columns: dict[str, ColumnLineage] = {}
            for (out, a), b in zip(left.columns.items(), right.columns.values()):
                columns[out] = _union_column(a, b)
            rows: dict[str, RowLink] = {}
            for rel in (left, right):
                for uid, link in rel.rows.items():
                    prev = rows.get(uid)
                    covers = link.covers if prev is None else (None if prev.covers is None else link.covers)
                    rows[uid] = RowLink(f"rows come from a {op}", covers)
            keys = (frozenset(columns),) if distinct else ()
            return RelationLineage(name, columns=columns, rows=rows, keys=keys)
        rows = {u: RowLink(link.injective, link.covers or f"rows are filtered by {op}")
                for u, link in left.rows.items()}
        keys = left.keys + ((frozenset(left.columns),) if distinct else ())
        return RelationLineage(name, columns=dict(left.columns), rows=rows, keys=keys)


class _Opaque(Exception):
    """A CASE that is not a value switch; the message ends the sentence `CASE ... <why>`."""


def _branches(node: exp.Expr) -> tuple[list[tuple[exp.Expr, exp.Expr]], exp.Expr | None] | None:
    """(condition, value) pairs and the default of CASE, IF, IFF or NULLIF; None for other nodes."""
    if isinstance(node, exp.Case):
        operand = node.args.get("this")
        whens = [(exp.EQ(this=operand.copy(), expression=w.this.copy()) if operand is not None else w.this,
                  w.args.get("true")) for w in node.args.get("ifs") or []]
        return whens, node.args.get("default")
    if isinstance(node, exp.If):
        return [(node.this, node.args.get("true"))], node.args.get("false")
    if isinstance(node, exp.Nullif):
        return [(exp.EQ(this=node.this.copy(), expression=node.expression.copy()), exp.Null())], node.this
    if isinstance(node, exp.Anonymous) and str(node.this).lower() in ("if", "iff") and len(node.expressions) == 3:
        cond, true, false = node.expressions
        return [(cond, true)], false
    return None


def same_value(a: Any, b: Any) -> bool:
    """SQL equality of two literals, loosely typed the way a warehouse compares '1' with 1."""
    return a == b or str(a) == str(b)


def _truth(cond: exp.Expr, body: str, value: Any) -> bool | None:
    """Three-valued truth of a condition on the value of `body` (its SQL text); `_OTHER` stands for any value
    the condition names no literal for. Raises _Opaque for a condition that is not about `body` alone."""
    if isinstance(cond, exp.Paren):
        return _truth(cond.this, body, value)
    if isinstance(cond, exp.Not):
        inner = _truth(cond.this, body, value)
        return None if inner is None else not inner
    if isinstance(cond, (exp.And, exp.Or)):
        a, b = _truth(cond.this, body, value), _truth(cond.expression, body, value)
        if isinstance(cond, exp.And):
            return False if False in (a, b) else None if None in (a, b) else True
        return True if True in (a, b) else None if None in (a, b) else False
    if isinstance(cond, exp.Is) and isinstance(cond.expression, exp.Null) and _is_body(cond.this, body):
        return value is None
    if isinstance(cond, (exp.EQ, exp.NEQ)):
        sides = [(cond.this, cond.expression), (cond.expression, cond.this)]
        for col, lit in sides:
            if _is_body(col, body) and _literal(lit) is not None:
                [want] = _literal(lit) or (None,)
                if value is None or want is None:
                    return None
                equal = value is not _OTHER and same_value(value, want)
                return equal if isinstance(cond, exp.EQ) else not equal
    if isinstance(cond, exp.In) and _is_body(cond.this, body) and not cond.args.get("query"):
        wanted = [_literal(e) for e in cond.expressions]
        if wanted and all(w is not None for w in wanted):
            if value is None:
                return None
            return value is not _OTHER and any(same_value(value, w[0]) for w in wanted if w)
    raise _Opaque(f"decides on `{cond.sql()}`, not on comparisons of one value with constants")


_OTHER = object()  # any value a value switch names no literal for


def _is_body(node: exp.Expr, body: str) -> bool:
    return node.unnest().sql() == body


def _literals_in(cond: exp.Expr) -> list[Any]:
    return [lit[0] for node in cond.find_all(exp.Literal, exp.Boolean) if (lit := _literal(node)) is not None]


def _cores(body: exp.Expr) -> list[exp.Expr]:
    """`body` and what it casts, outermost first: a CASE may test `x` and return `cast(x as int)`."""
    out = [body]
    while isinstance(out[-1], exp.Cast):
        out.append(out[-1].this.unnest())
    return out


def _value_switch(whens: list[tuple[exp.Expr, exp.Expr]],
                  default: exp.Expr | None) -> tuple[exp.Expr, exp.Expr, list[Any], Any | None]:
    """A conditional that yields one expression `body` or null, deciding on the value of `core` (body, or what
    body casts): (body, core, core values it turns into null, the constant it gives a null core, or None).
    Raises _Opaque otherwise."""
    outcomes = [v for _, v in whens] + [default if default is not None else exp.Null()]
    bodies = {o.unnest().sql(): o.unnest() for o in outcomes if _literal(o) is None}
    if len(bodies) != 1:
        raise _Opaque("returns " + ("only constants" if not bodies else "several different expressions"))
    [body] = bodies.values()
    problem: _Opaque | None = None
    for core in _cores(body):
        try:
            nulled, null_gives = _switch_on(whens, outcomes[-1], core.sql())
        except _Opaque as why:
            problem = problem or why
            continue
        return body, core, nulled, null_gives
    raise problem or _Opaque("is not a value switch")


def _switch_on(whens: list[tuple[exp.Expr, exp.Expr]], default: exp.Expr,
               text: str) -> tuple[list[Any], Any | None]:
    def result(value: Any) -> exp.Expr:
        for cond, out in whens:
            if _truth(cond, text, value):
                return out
        return default

    if _literal(result(_OTHER)) is not None:
        raise _Opaque("gives a constant for values it does not name")
    candidates = list(dict.fromkeys(v for cond, _ in whens for v in _literals_in(cond) if v is not None))
    nulled: list[Any] = []
    for value in candidates:
        lit = _literal(result(value))
        if lit is None:
            continue
        if lit[0] is not None:
            raise _Opaque(f"maps {value!r} to the constant {lit[0]!r}")
        nulled.append(value)
    null_lit = _literal(result(None))
    return nulled, (null_lit[0] if null_lit is not None else None)


def _inside_window(node: exp.Expr | None) -> bool:
    return node is not None and node.find_ancestor(exp.Window) is not None


def _is_hash(node: exp.Expr) -> bool:
    if isinstance(node, _HASHES):
        return True
    return isinstance(node, exp.Anonymous) and str(node.name).lower() in _HASH_NAMES


def _union_column(a: ColumnLineage, b: ColumnLineage) -> ColumnLineage:
    if a.opaque or b.opaque:
        return ColumnLineage(opaque=a.opaque or b.opaque)
    if a.literal is not None or b.literal is not None:
        return ColumnLineage(opaque="a UNION mixes a constant with other values")
    return ColumnLineage(origins=(*a.origins, *b.origins), nullable=a.nullable or b.nullable)


def _final_family(lin: ColumnLineage, raw_family: Callable[[str, str], DType | None]) -> DType | None:
    if len(lin.origins) != 1:
        return None
    origin = lin.origins[0]
    family = raw_family(origin.relation, origin.column)
    for step in origin.steps:
        family = family_after(family, step)
    return family


def parse_model_sql(sql: str, dialect: str | None, schema: dict[str, Any] | None = None) -> exp.Expr:
    """Parse and qualify one model's compiled SQL; raises sqlglot's errors (ParseError, OptimizeError)."""
    statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    if len(statements) != 1:
        raise OptimizeError(f"expected one statement, found {len(statements)}")
    tree = statements[0]
    try:
        return qualify(tree.copy(), dialect=dialect, schema=schema or None, validate_qualify_columns=False,
                       quote_identifiers=False)
    except SqlglotError:  # ambiguous columns without a schema: qualify tables only, resolve columns here
        return qualify(tree, dialect=dialect, qualify_columns=False, validate_qualify_columns=False,
                       quote_identifiers=False)
