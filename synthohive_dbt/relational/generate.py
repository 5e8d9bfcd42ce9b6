"""Sample a whole database in training order, one table at a time, one chunk at a time.

Per table, a *plan* step works on compact arrays only: how many rows, which parent row each foreign key
points to, the generated keys. Then chunks of `chunk_rows` rows are sampled from the model (conditioned on
their parents' context), repaired by rejection sampling, checked, handed to the sink and dropped. What a
table's children need later (referenced key columns, context columns) is kept as a narrow frame and freed as
soon as the last child is done.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.config import Metadata, TableConfig
from synthohive_dbt.errors import ConfigError, ConstraintViolationError
from synthohive_dbt.models.base import ConditionalGenerativeModel
from synthohive_dbt.models.formats import ColumnFormat
from synthohive_dbt.relational.aggregate_sink import HoldingSink
from synthohive_dbt.relational.cardinality import deal_by_popularity, fit_total, forest
from synthohive_dbt.relational.constraints import assert_frame, check_frame, enforce_rows
from synthohive_dbt.relational.foreign_rules import looked_up, lookup_sources, lookups_of
from synthohive_dbt.relational.keys import ensure_unique, per_group_sequence
from synthohive_dbt.relational.pii import PiiSampling, fake_columns
from synthohive_dbt.relational.plan import ForeignKeyPlan, TablePlan
from synthohive_dbt.relational.progress import (
    SampleStats,
    TableProgress,
    TableProgressCallback,
    TableStats,
)
from synthohive_dbt.relational.sinks import Sink
from synthohive_dbt.seeds import derive_seed, rng_for

DEFAULT_CHUNK_ROWS = 50_000
MAX_RESAMPLE_ROUNDS = 20
_MAX_KEY_REDRAWS = 20


@dataclass
class _Kept:
    """What children need from a finished table: referenced columns and context columns, nothing else."""

    frame: pd.DataFrame

    @property
    def n(self) -> int:
        return len(self.frame)


def root_sizes(plans: Mapping[str, TablePlan], num_rows: Mapping[str, int] | None,
               scale: float | None) -> dict[str, int]:
    """Row counts of the tables whose size is not driven by a parent (roots)."""
    roots = [n for n, p in plans.items() if p.driving is None and p.copied is None]
    if num_rows is not None and scale is not None:
        raise ConfigError("sample() got both num_rows and scale", hint="pass one of them")
    if num_rows is None:
        factor = 1.0 if scale is None else float(scale)
        if factor <= 0:
            raise ConfigError(f"sample(scale={scale}) must be positive", hint="pass e.g. scale=0.5 or scale=2.0")
        # a root that is empty in the real data stays empty; one whose key is drawn from declared values
        # holds at most as many rows as there are values
        return {n: _capped(plans[n], 0 if plans[n].n_real == 0 else max(1, round(plans[n].n_real * factor)))
                for n in roots}
    unknown = [t for t in num_rows if t not in plans]
    driven = [t for t in num_rows if t in plans and t not in roots]
    if unknown or driven:
        raise ConfigError(
            f"sample(num_rows=...) names {'unknown table(s) ' + str(unknown) if unknown else ''}"
            f"{' and ' if unknown and driven else ''}"
            f"{'child table(s) ' + str(driven) + ' whose size follows from their parents' if driven else ''}",
            hint=f"name only root tables: {sorted(roots)}")
    bad = {t: v for t, v in num_rows.items() if int(v) < 1}
    if bad:
        raise ConfigError(f"sample(num_rows={bad}) asks for fewer than one row", hint="ask for at least 1 row")
    scaled = [num_rows[t] / plans[t].n_real for t in num_rows if plans[t].n_real > 0]
    factor = float(np.mean(scaled)) if scaled else 1.0
    # an empty root stays empty unless num_rows asks for rows of it
    return {n: int(num_rows[n]) if n in num_rows else _capped(plans[n], 0 if plans[n].n_real == 0
            else max(1, round(plans[n].n_real * factor))) for n in roots}


def _capped(plan: TablePlan, n: int) -> int:
    cap = plan.key_capacity
    return n if cap is None else min(n, cap)


def sample_database(plans: Mapping[str, TablePlan], models: Mapping[str, ConditionalGenerativeModel],
                    metadata: Metadata, order: list[str], sizes: dict[str, int], seed: int,
                    sink: Sink, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                    progress: TableProgressCallback | None = None,
                    pii: PiiSampling | None = None,
                    given: Mapping[str, pd.DataFrame] | None = None) -> SampleStats:
    """`given`: tables sampled elsewhere (shared by every partition of a distributed sample): not sampled or
    written again here, only kept for their children."""
    stats = SampleStats(seed=seed)
    sizes = dict(sizes)  # driven tables' sizes are added as their parents are done
    pii = pii or PiiSampling()
    keep_cols = _columns_children_need(plans)
    for parent, cols in lookup_sources(metadata).items():  # rules across a key copy these (foreign_rules.py)
        if parent in keep_cols:
            keep_cols[parent] = list(dict.fromkeys([*keep_cols[parent], *cols]))
    sink = HoldingSink(sink, metadata, order, given or ())  # aggregates: a parent is written after its children
    open_children = {name: sum(1 for p in plans.values() for f in p.foreign_keys
                               if f.parent == name and p.name != name) for name in plans}
    kept: dict[str, _Kept] = {}
    for index, name in enumerate(order):
        started = time.perf_counter()
        plan, cfg = plans[name], metadata.tables[name]
        table_stats = stats.tables.setdefault(name, TableStats())
        table_stats.not_enforced = [f"{c.column}: {c.test or 'conditional/warn'}"
                                    for c in cfg.conditional_constraints]
        if given is not None and name in given:
            kept[name] = _Kept(given[name][[c for c in keep_cols[name] if c in given[name].columns]])
        elif plan.copied is not None:
            frame = plan.copied_frame()
            sink.write(name, frame)
            sink.close(name, plan.columns)
            kept[name] = _Kept(frame[keep_cols[name]].copy())
            table_stats.rows = len(frame)
        else:
            driving = plan.driving
            if driving is not None and driving.parent in kept and name not in sizes:
                sizes[name] = _capped(plan, driven_size(plan, plans[driving.parent], kept[driving.parent].n))
            kept[name] = _sample_table(plan, cfg, models.get(name), kept, sizes, seed, sink,
                                       chunk_rows, keep_cols[name], table_stats, pii,
                                       lambda done, total, i=index, t=name: progress and progress(
                                           TableProgress("sample", t, i, len(order), done, total)))
        table_stats.seconds = time.perf_counter() - started
        for parent in {f.parent for f in plan.foreign_keys if f.parent != name}:
            open_children[parent] -= 1
            if open_children[parent] == 0:
                kept.pop(parent, None)
        if open_children[name] == 0:
            kept.pop(name, None)
    sink.finish()
    return stats


def driven_size(plan: TablePlan, parent: TablePlan, parent_rows: int) -> int:
    """A driven table's row count: its real count times its driving parent's synthetic/real ratio. At scale 1
    every table keeps its real size at any depth (within rounding), whatever the children-per-parent draws."""
    if parent.n_real == 0:
        return 0
    return int(round(plan.n_real * parent_rows / parent.n_real))


def _columns_children_need(plans: Mapping[str, TablePlan]) -> dict[str, list[str]]:
    need: dict[str, list[str]] = {name: [] for name in plans}
    for p in plans.values():
        for f in p.foreign_keys:
            if f.parent != p.name:
                need[f.parent].extend(f.parent_columns)
        if p.context is not None:
            need[p.context.parent].extend(p.context.parent_columns)
        for c in p.pii:
            if c.copy_fk is not None:
                need[p.foreign_keys[c.copy_fk].parent].append(str(c.copy_column))
    return {k: list(dict.fromkeys(v)) for k, v in need.items()}


def _sample_table(plan: TablePlan, cfg: TableConfig, model: ConditionalGenerativeModel | None,
                  kept: dict[str, _Kept], sizes: dict[str, int], seed: int, sink: Sink,
                  chunk_rows: int, keep_cols: list[str], stats: TableStats, pii: PiiSampling,
                  report: Callable[[int, int], object]) -> _Kept:
    rng = rng_for(seed, plan.name, "plan")
    links = _plan_links(plan, cfg, kept, sizes, rng, stats)
    n = len(next(iter(links.values()))) if links else sizes[plan.name]
    keys = {col: fmt.generate(n, rng_for(seed, plan.name, "key", col), table=plan.name, column=col)
            for col, fmt in plan.key_formats.items()}
    for col, values in keys.items():
        ensure_unique(values, table=plan.name, column=col)
    for i, f in enumerate(plan.foreign_keys):
        if f.role == "self":
            links[i] = _self_links(plan, f, n, rng)
    counters = _group_counters(plan, cfg, links, n)

    unique_learned = [c for c in plan.model_columns if cfg.constraint(c).unique]
    unique_faked = [p.name for p in plan.pii if p.unique and p.copy_fk is None]
    seen: dict[str, pd.Index] = {c: pd.Index([]) for c in [*unique_learned, *unique_faked]}
    parts: list[pd.DataFrame] = []
    groups: dict[str, dict] = {}  # group rules' last end/value per group, across chunks
    driving = next((i for i, f in enumerate(plan.foreign_keys) if f.role == "driving"), None)
    for chunk, start in enumerate(range(0, n, chunk_rows) if n else []):
        stop = min(n, start + chunk_rows)
        cols: dict[str, object] = {}
        context = None
        if model is not None:
            if plan.context is not None and driving is not None:
                parent_rows = kept[plan.context.parent].frame.iloc[links[driving][start:stop]]
                context = plan.context.encode(parent_rows.reset_index(drop=True))
            learned = _sample_learned(model, plan, cfg, stop - start, context, seed, chunk, seen, stats)
            cols.update({c: learned[c].array for c in plan.model_columns})  # .array: Float64 keeps NaN apart
        for col in plan.null_columns:
            cols[col] = _null_column(col, stop - start, plan.dtypes.get(col, "object"), cfg,
                                     rng_for(seed, plan.name, "null", col, chunk))
        for col, text in plan.text_formats.items():
            cols[col] = _free_text(text, stop - start, rng_for(seed, plan.name, "text", col, chunk))
        if start == 0:
            _write_named(cols, plan, rng_for(seed, plan.name, "named"))
        cols.update({c: v[start:stop] for c, v in keys.items()})
        cols.update({c: v[start:stop] for c, v in counters.items()})
        for i, f in enumerate(plan.foreign_keys):
            source = keys if f.role == "self" else kept[f.parent].frame
            for col, pcol in zip(f.columns, f.parent_columns):
                cols[col] = _with_exceptions(_take(source[pcol], links[i][start:stop]), links[i][start:stop], f)
        fakes = fake_columns(plan.name, plan.pii, start, stop - start, seed, pii,
                             rng_for(seed, plan.name, "pii", chunk), seen)
        for p in plan.pii:
            if p.copy_fk is None:
                cols[p.name] = fakes[p.name]
            else:  # a denormalised copy: the parent row's fake, so one person has one email everywhere
                source = plan.foreign_keys[p.copy_fk]
                cols[p.name] = _take(kept[source.parent].frame[p.copy_column], links[p.copy_fk][start:stop])
        for rule, i in lookups_of(cfg, plan.foreign_keys):  # a learned `col = parent.col`: the parent row's value
            if rule.column in cols:
                cols[rule.column] = looked_up(cols[rule.column], kept[rule.other].frame[rule.source].to_numpy(),
                                              links[i][start:stop])
        frame = _cast_like(pd.DataFrame({c: cols[c] for c in plan.columns}), plan, cfg)
        frame = enforce_rows(frame, cfg, frame.columns, writable=plan.model_columns, groups=groups)
        assert_frame(frame, cfg, seen, stats.broken_rules)
        for c in seen:
            seen[c] = seen[c].append(pd.Index(frame[c].dropna()))
        if keep_cols:
            parts.append(_kept_part(frame, context, keep_cols, plan.name))
        sink.write(plan.name, frame)
        stats.rows += len(frame)
        stats.chunks += 1
        del frame, cols
        report(stop, n)
    if n == 0:  # an empty table still has its columns and their dtypes
        sink.write(plan.name, _empty_frame(plan))
    sink.close(plan.name, plan.columns)
    if not parts:
        return _Kept(_empty_frame(plan)[keep_cols] if set(keep_cols) <= set(plan.columns)
                     else pd.DataFrame(columns=keep_cols))
    return _Kept(pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0])


def _kept_part(frame: pd.DataFrame, context: pd.DataFrame | None, keep_cols: list[str],
               table: str) -> pd.DataFrame:
    """The chunk's columns children need; a child that inherits this table's context (its grandparent's
    attributes) needs the context columns this chunk was generated from, too."""
    part = frame[[c for c in keep_cols if c in frame.columns]].copy()
    for c in keep_cols:
        if c not in part.columns:
            if context is None or c not in context.columns:
                raise ConfigError(f"table {table!r}: column {c!r} is needed by a child table but was not "
                                  "generated (the saved plans disagree)",
                                  hint="refit and save the model with this version of synthohive-dbt")
            part[c] = context[c].to_numpy()
    return part[keep_cols]


def _plan_links(plan: TablePlan, cfg: TableConfig, kept: dict[str, _Kept], sizes: dict[str, int],
                rng: np.random.Generator, stats: TableStats) -> dict[int, np.ndarray]:
    """Parent row number per child row for every non-self foreign key (-1 = null)."""
    links: dict[int, np.ndarray] = {}
    fks = plan.foreign_keys
    driving = next((i for i, f in enumerate(fks) if f.role == "driving"), None)
    if driving is not None:
        f = fks[driving]
        parent = kept[f.parent].frame
        assert f.cardinality is not None
        codes = None
        if plan.context is not None and f.cardinality.uses_context:  # encoded a slice at a time: the context of
            step = DEFAULT_CHUNK_ROWS * 4                              # millions of parents is never held whole
            codes = np.concatenate([f.cardinality.bucket_codes(plan.context.encode(
                parent.iloc[i:i + step].reset_index(drop=True))) for i in range(0, len(parent), step)]
                                   or [np.zeros(0, dtype=np.int64)])
        counts = f.cardinality.sample_codes(codes, len(parent), rng)
        if plan.name in sizes:  # the real size times the parents' scale, exactly (see `driven_size`)
            hist = f.cardinality.overall
            counts = fit_total(counts, sizes[plan.name], rng, min(hist.values, default=0),
                               max(hist.values, default=None))
        rows = np.repeat(np.arange(len(parent), dtype=np.int64), counts)
        links[driving] = rows[rng.permutation(len(rows))]
        n = len(rows)
    else:
        n = sizes[plan.name]
    weights: dict[int, np.ndarray] = {}
    for i, f in enumerate(fks):
        if f.role != "secondary":
            continue
        if kept[f.parent].n == 0:  # an empty parent: nothing to point at, the key stays null
            links[i] = np.full(n, -1, dtype=np.int64)
            continue
        weights[i] = f.popularity.draw(len(kept[f.parent].frame), rng)
        links[i] = _popular_links(f, n, weights[i], rng)
    if not links:
        return links
    pk_links = [i for i, f in enumerate(fks) if f.role != "self" and set(f.columns) <= set(cfg.pk)]
    if cfg.pk and all(any(c in fks[i].columns for i in pk_links) for c in cfg.pk):
        links = _dedupe_links(links, pk_links, weights, rng, stats)
    return links


def _popular_links(f: ForeignKeyPlan, n: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Parent rows by popularity; -1 for a null key, -2 - k for a row holding excepted value k."""
    out = np.full(n, -1, dtype=np.int64)
    present = rng.random(n) >= f.null_rate
    if f.exceptions:  # shares of all rows; among the non-null rows each is rate / (1 - null_rate)
        shares = np.array([float(rate) for _, rate in f.exceptions]) / max(1.0 - f.null_rate, 1e-12)
        p = np.append(shares, max(0.0, 1.0 - float(shares.sum())))
        pick = rng.choice(len(p), size=int(present.sum()), p=p / p.sum())
        rows = np.flatnonzero(present)
        held = pick < len(shares)
        out[rows[held]] = -2 - pick[held]
        present[rows[held]] = False
    values = f.popularity.values if f.popularity is not None else []
    cap, floor = (max(values), min(values)) if values else (None, 0)
    out[present] = deal_by_popularity(int(present.sum()), weights, rng, cap, floor)
    return out


def _self_links(plan: TablePlan, f: ForeignKeyPlan, n: int, rng: np.random.Generator) -> np.ndarray:
    missing = [c for c in f.parent_columns if c not in plan.key_formats]
    if missing:
        raise ConfigError(
            f"table {plan.name!r}: self-reference {f.columns} -> {f.parent_columns} must point at generated "
            f"key columns, but {missing} are not generated keys",
            hint="point the self-reference at the primary key or at a unique column")
    if f.hierarchy is not None and f.hierarchy.enabled:  # the real shape: roots, depth, children per level (relational/hierarchy.py)
        return f.hierarchy.sample(n, rng)
    return forest(n, f.null_rate, f.popularity.draw(n, rng), rng, allow_null=f.null_rate > 0)


def _dedupe_links(links: dict[int, np.ndarray], pk_links: list[int], weights: dict[int, np.ndarray],
                  rng: np.random.Generator, stats: TableStats) -> dict[int, np.ndarray]:
    """A primary key made only of foreign keys must be unique as a combination: redraw the secondary
    parent of repeated combinations a few times (by the same popularity, so unpopular parents stay
    childless), then drop what is still repeated (counted in stats)."""
    redraw = [i for i in pk_links if i in weights]
    for _ in range(_MAX_KEY_REDRAWS):
        dup = pd.DataFrame({i: links[i] for i in pk_links}).duplicated().to_numpy() & (links[pk_links[0]] >= 0)
        if not dup.any() or not redraw:
            break
        for i in redraw:
            w = weights[i].astype(np.float64) if weights[i].sum() > 0 else np.ones(len(weights[i]))
            links[i][dup] = rng.choice(len(w), size=int(dup.sum()), p=w / w.sum())
    dup = pd.DataFrame({i: links[i] for i in pk_links}).duplicated().to_numpy()
    if dup.any():
        stats.dropped_duplicate_keys += int(dup.sum())
        links = {i: v[~dup] for i, v in links.items()}
    return links


def _group_counters(plan: TablePlan, cfg: TableConfig, links: dict[int, np.ndarray], n: int) -> dict[str, np.ndarray]:
    if not plan.group_counters:
        return {}
    group_fks = [i for i, f in enumerate(plan.foreign_keys) if set(f.columns) & set(cfg.pk) and i in links]
    if len(group_fks) == 1:  # the parent row number is the group already (-1: the rows without a parent)
        groups = links[group_fks[0]]
    else:
        groups = (pd.DataFrame({i: links[i] for i in group_fks}).groupby(group_fks, sort=False).ngroup().to_numpy()
                  if group_fks else np.zeros(n, dtype=np.int64))
    return {col: per_group_sequence(groups, start) for col, start in plan.group_counters.items()}


def _sample_learned(model: ConditionalGenerativeModel, plan: TablePlan, cfg: TableConfig, n: int,
                    context: pd.DataFrame | None, seed: int, chunk: int, seen: dict[str, pd.Index],
                    stats: TableStats) -> pd.DataFrame:
    """Model rows for one chunk; rows breaking a constraint are re-sampled (same context), a bounded number
    of times. Whatever still breaks one is left for the final check to report."""
    data = model.sample(n, context=context, seed=derive_seed(seed, plan.name, "chunk", chunk))
    data = data.reset_index(drop=True)
    for round_ in range(MAX_RESAMPLE_ROUNDS):
        data = enforce_rows(data, cfg, plan.model_columns, swap=False)
        bad = check_frame(data, cfg, plan.model_columns, seen)
        if not bad:
            break
        rows = np.zeros(n, dtype=bool)
        for col, mask in bad.items():
            stats.rejected_rows[col] = stats.rejected_rows.get(col, 0) + int(mask.sum())
            rows |= mask
        idx = np.flatnonzero(rows)
        ctx = context.iloc[idx].reset_index(drop=True) if context is not None else None
        fresh = model.sample(len(idx), context=ctx, seed=derive_seed(seed, plan.name, "retry", chunk, round_))
        for col in plan.model_columns:
            try:
                data[col] = _replace_rows(data[col], idx, fresh[col])
            except (TypeError, ValueError) as exc:
                raise ConstraintViolationError(
                    f"table {plan.name!r}, column {col!r}: re-sampled values do not fit the column ({exc})",
                    hint="the model returned another dtype on a second call; report this as a model bug"
                ) from exc
        stats.resample_rounds += 1
    return enforce_rows(data, cfg, plan.model_columns)


def _replace_rows(current: pd.Series, idx: np.ndarray, fresh: pd.Series) -> pd.Series:
    """`current` with rows `idx` replaced by `fresh`, keeping an extension dtype when both share it (through
    numpy a Float64 column would become objects and its NaN values NULLs)."""
    if current.dtype == fresh.dtype:
        arr = current.array.copy()
        arr[idx] = fresh.array
        return pd.Series(arr, index=current.index, name=current.name)
    values = current.to_numpy(copy=True)
    values[idx] = fresh.to_numpy()
    return pd.Series(values, index=current.index, name=current.name)


def _write_named(cols: dict[str, Any], plan: TablePlan, rng: np.random.Generator) -> None:
    """Each value the project names for a column (a literal its SQL filters on: `where name = 'Rock'`) that the
    real column holds is written at least once, into the first chunk: a model drawing a rare category, or free
    text drawing named values at their real share, can miss it in a small table, and then the model that filters
    on it is empty. A missing value replaces the value of a random row that holds no named value."""
    wanted = {**plan.named, **{c: t.get("named") or [] for c, t in plan.text_formats.items()}}
    for col, named in wanted.items():
        values = pd.Series(cols[col])
        missing = [v for v in named if not values.isin([v]).any()]
        free = np.flatnonzero((values.notna() & ~values.isin(named)).to_numpy())
        if not missing or len(free) < len(missing):
            continue
        rows = np.sort(rng.choice(free, size=len(missing), replace=False))
        arr = values.array.copy()
        arr[rows] = missing
        cols[col] = arr


def _free_text(text: dict[str, Any], n: int, rng: np.random.Generator) -> pd.Series:
    """Free text in its format; the values the project names keep their real share (plan._text_format)."""
    values = ColumnFormat(**text["format"]).generate(n, rng)
    named = text.get("named") or []
    if named and n:
        pick = rng.random(n) < float(text.get("named_share") or 0.0)
        present = values.notna().to_numpy()
        idx = np.flatnonzero(pick & present)
        values = values.astype(object)
        values.iloc[idx] = [named[i] for i in rng.integers(0, len(named), size=len(idx))]
    return values


def _null_column(col: str, n: int, dtype: str, cfg: TableConfig, rng: np.random.Generator) -> pd.Series:
    """A column that was null in every real row: all-null of its dtype, so the writer gives it the real SQL
    type. When the project declares it not_null, the test wins over the observed nulls: values of its type
    and declared constraints (models/formats.py), since dbt's test would otherwise fail on the output."""
    c = cfg.constraint(col)
    if c.not_null:
        return ColumnFormat.learn(pd.Series([], dtype=dtype, name=col), c).generate(n, rng)
    return _typed_nulls(n, dtype)


def _typed_nulls(n: int, dtype: str) -> pd.Series:
    if dtype == "object":
        return pd.Series([None] * n, dtype=object)
    want = {"int64": "Int64", "int32": "Int32", "int16": "Int16", "int8": "Int8", "bool": "boolean"}.get(dtype, dtype)
    try:
        return pd.Series([None] * n, dtype=object).astype(want)
    except (TypeError, ValueError):
        return pd.Series([None] * n, dtype=object)


def _empty_frame(plan: TablePlan) -> pd.DataFrame:
    """0 rows with the plan's columns in their real dtypes (an empty table, or the children of one)."""
    return pd.DataFrame({c: _typed_nulls(0, plan.dtypes.get(c, "object")) for c in plan.columns})


def _take(values: pd.Series | np.ndarray, rows: np.ndarray) -> pd.Series:
    """Parent values at the given row numbers; row -1 gives a null."""
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    out = pd.Series(arr[np.where(rows >= 0, rows, 0)] if len(arr) else np.full(len(rows), None))
    if (rows < 0).any():
        out = out.astype(object) if out.dtype.kind not in "fM" else out
        out[rows < 0] = None
    return out


def _with_exceptions(values: pd.Series, rows: np.ndarray, f: ForeignKeyPlan) -> pd.Series:
    """Rows linked to excepted value k (row code -2 - k) hold that value instead of a parent key."""
    held = rows <= -2
    if not f.exceptions or not held.any():
        return values
    out = values.astype(object)
    out[held] = [f.exceptions[-2 - r][0] for r in rows[held]]
    return out


def _cast_like(frame: pd.DataFrame, plan: TablePlan, cfg: TableConfig) -> pd.DataFrame:
    """Give generated (non-model) columns the real column's dtype where the values allow it."""
    for col in plan.columns:
        if col in plan.model_columns:
            continue
        want = plan.dtypes.get(col)
        if not want or str(frame[col].dtype) == want:
            continue
        try:
            if frame[col].isna().any() and want in ("int64", "int32", "int16", "int8"):
                frame[col] = frame[col].astype("Int64")
            else:
                frame[col] = frame[col].astype(want)
        except (TypeError, ValueError):
            continue  # e.g. a token key where the real column held mixed objects: keep generated dtype
    return frame
