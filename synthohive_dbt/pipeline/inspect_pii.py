"""`synthohive inspect`'s personal-data plan: which columns will be faked and why, before any run.

The decisions are the ones `fit` makes (privacy.detect.decide_pii, the same precedence: declared PII, then
declared not-PII, then keys and accepted_values, then heuristics). Column values are read through the dbt
profile when one is reachable, a bounded sample per table (the heuristics on a `name` column need values);
without a profile, or where a table cannot be read, the plan says so and decides on names only. The same sample
shows the rules `fit` would likely learn (relational/invariants.py, foreign_rules.py; fit checks them on every
row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from synthohive_dbt.config import Metadata
from synthohive_dbt.errors import SynthohiveError
from synthohive_dbt.manifest.result import ManifestReadResult
from synthohive_dbt.privacy.detect import PiiDecision, decide_pii
from synthohive_dbt.privacy.overrides import apply_declarations, kept_real_note, parse_column_refs
from synthohive_dbt.relational.hierarchy import self_reference_shapes
from synthohive_dbt.relational.foreign_rules import learn_foreign_rules
from synthohive_dbt.relational.invariants import find_rules

#: Rows read per table for the value heuristics: enough to tell labels from people, cheap on any warehouse.
SAMPLE_ROWS = 1000


@dataclass
class PiiPlan:
    """The decisions, and what they were made on (values read per table, or why not)."""

    decisions: list[PiiDecision]
    read: dict[str, int] = field(default_factory=dict)  # table -> rows sampled
    notes: list[str] = field(default_factory=list)
    # table -> rules the sampled rows keep (relational/invariants.py on the sample; `fit` checks every row)
    rules: dict[str, list[str]] = field(default_factory=dict)


def _samples(result: ManifestReadResult, project_dir: Path, profiles_dir: Path | None, target: str | None,
             profile: str | None, rows: int, notes: list[str]) -> dict[str, pd.DataFrame]:
    """A bounded sample per table through the project's profile; tables that cannot be read are left out."""
    from synthohive_dbt.dbt.profiles import engine_from_profile
    from synthohive_dbt.io.warehouse import Relation, read_table

    try:
        engine = engine_from_profile(project_dir, profiles_dir=profiles_dir, target=target, profile=profile)
    except SynthohiveError as exc:
        notes.append(f"values not read (decided on names and declarations only): {str(exc).splitlines()[0]}")
        return {}
    frames: dict[str, pd.DataFrame] = {}
    try:
        for name, info in sorted(result.tables.items()):
            if not info.schema or not info.identifier:
                continue
            try:
                frames[name] = read_table(engine, Relation(info.schema, info.identifier), limit=rows)
            except SynthohiveError as exc:
                notes.append(f"{name}: values not read ({str(exc).splitlines()[0]}); decided on its names only")
    finally:
        engine.dispose()
    return frames


def pii_plan(result: ManifestReadResult, *, project_dir: Path | None = None, profiles_dir: Path | None = None,
             target: str | None = None, profile: str | None = None, sample_rows: int = SAMPLE_ROWS,
             not_pii: Sequence[str] = (), keep_real: Sequence[str] = ()) -> PiiPlan:
    """What `fit` would fake, and why; values sampled when `project_dir` has a reachable profile."""
    metadata = apply_declarations(result.metadata, parse_column_refs(not_pii), keep_real)
    notes: list[str] = []
    sampled = (_samples(result, project_dir, profiles_dir, target, profile, sample_rows, notes)
               if project_dir is not None else {})
    if project_dir is None:
        notes.append("values not read (no dbt project given: pass --project-dir to sample them through its "
                     "profile); decided on names and declarations only")
    frames = {}
    for name, cfg in metadata.tables.items():
        frames[name] = sampled.get(name, pd.DataFrame(columns=cfg.columns or [*cfg.pk, *cfg.constraints,
                                                                             *cfg.pii_columns]))
    note = kept_real_note(metadata)
    notes += [note] if note else []
    decisions = decide_pii(frames, metadata)
    faked: dict[str, set[str]] = {}
    for d in decisions:
        if d.faked:
            faked.setdefault(d.table, set()).add(d.column)
    rules = {name: [r.expression for r in find_rules(frame, metadata.tables[name], faked.get(name, ()))]
             + [f"shape {fk}: {shape.describe()}"
                for fk, shape in self_reference_shapes(frame, metadata.tables[name]).items()]
             for name, frame in sampled.items() if name in metadata.tables}
    for name, rule in _across_keys(metadata, sampled, faked):
        rules.setdefault(name, []).append(rule)
    return PiiPlan(decisions, {n: len(f) for n, f in sampled.items()}, notes, {n: r for n, r in rules.items() if r})


def _across_keys(metadata: Metadata, sampled: dict[str, pd.DataFrame],
                 faked: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(table, rule) across foreign keys the samples keep (relational/foreign_rules.py). The samples of a parent and
    its children are drawn apart, so only the parents whose children were sampled count: an aggregate is seldom
    seen here, and `fit` looks on every row."""
    if not sampled:
        return []
    trial = metadata.model_copy(deep=True)
    try:
        order = trial.topological_order()
    except SynthohiveError:
        return []  # a cycle: `fit` says so
    found = learn_foreign_rules(trial, sampled, [n for n in order if n in sampled], faked, True)
    return [(name, rule.expression) for name, rule in found]
