"""Foreign keys: referential integrity and the children-per-parent distribution, real vs synthetic.

- orphan rate = share of child rows whose (non-null) key is not a parent key, as dbt's `relationships`
  test counts them (null keys are not orphans). Referential integrity score = 1 - orphan rate
  (SDMetrics' ReferentialIntegrity: share of valid references).
- cardinality score = 1 - KS statistic between the real and synthetic numbers of children per parent,
  parents without children counted as 0 (SDMetrics' CardinalityShapeSimilarity).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthohive_dbt.config import ForeignKey
from synthohive_dbt.metrics import ks_statistic
from synthohive_dbt.relational.cardinality import match_parents
from synthohive_dbt.relational.hierarchy import children_per_node, shape_of
from synthohive_dbt.report.result import RelationshipScore

MAX_COUNT_BINS = 30


def _key_index(frame: pd.DataFrame, cols: list[str]) -> pd.Index:
    if len(cols) == 1:
        return pd.Index(frame[cols[0]])
    return pd.MultiIndex.from_frame(frame[cols])


def orphans(child: pd.DataFrame, parent: pd.DataFrame, fk: ForeignKey) -> tuple[int, int]:
    """(orphan rows, child rows with a non-null key)."""
    present = child[fk.columns].notna().all(axis=1).to_numpy()
    if fk.except_values:  # values a model nulls before its relationships test are no references
        text = child[fk.columns[0]].map(str)
        present &= ~text.isin([str(v) for v in fk.except_values]).to_numpy()
    if not present.any():
        return 0, 0
    keys = _key_index(child.loc[present], fk.columns)
    valid = keys.isin(_key_index(parent, fk.parent_columns))
    return int((~valid).sum()), int(present.sum())


def children_per_parent(child: pd.DataFrame, parent: pd.DataFrame, fk: ForeignKey) -> np.ndarray:
    """Number of child rows of every parent row (0 for parents without children)."""
    counts = child.dropna(subset=fk.columns).groupby(fk.columns, sort=False).size()
    parent_keys = _key_index(parent, fk.parent_columns)
    if len(fk.columns) == 1:
        counts.index = pd.Index(counts.index)
    else:
        counts.index = counts.index.set_names(fk.parent_columns)
        parent_keys = parent_keys.set_names(fk.parent_columns)
    return counts.reindex(parent_keys, fill_value=0).to_numpy(dtype=np.int64)


def relationship_score(child_name: str, fk: ForeignKey, real_child: pd.DataFrame,
                       real_parent: pd.DataFrame, syn_child: pd.DataFrame,
                       syn_parent: pd.DataFrame) -> RelationshipScore:
    """Integrity and cardinality of one foreign key."""
    orph, present = orphans(syn_child, syn_parent, fk)
    orph_r, present_r = orphans(real_child, real_parent, fk)
    cr = children_per_parent(real_child, real_parent, fk)
    cs = children_per_parent(syn_child, syn_parent, fk)
    ks = ks_statistic(cr.astype(float), cs.astype(float))
    top = int(max(cr.max(initial=0), cs.max(initial=0)))
    if top + 1 <= MAX_COUNT_BINS:
        counts = list(range(top + 1))
        hr = np.bincount(cr, minlength=top + 1)
        hs = np.bincount(cs, minlength=top + 1)
    else:  # long tail: the last bin holds everything at or above it
        counts = list(range(MAX_COUNT_BINS))
        hr = np.bincount(np.minimum(cr, MAX_COUNT_BINS - 1), minlength=MAX_COUNT_BINS)
        hs = np.bincount(np.minimum(cs, MAX_COUNT_BINS - 1), minlength=MAX_COUNT_BINS)
    notes = [f"relationships_where {fk.where!r} is SQL and was not applied: all child rows were checked"
             ] if fk.where else []
    if fk.parent == child_name:  # a self-reference: its hierarchy's shape, real vs synthetic
        notes.append(_hierarchy_note(fk, real_child, syn_child))
    note = "; ".join(notes) or None
    return RelationshipScore(
        child=child_name, parent=fk.parent, foreign_key=fk.label, child_rows=len(syn_child),
        orphans=orph, orphan_rate=orph / present if present else 0.0,
        orphan_rate_real=orph_r / present_r if present_r else 0.0,
        childless_share_real=float((cr == 0).mean()) if cr.size else 0.0,
        childless_share_synthetic=float((cs == 0).mean()) if cs.size else 0.0,
        mean_children_real=float(cr.mean()) if cr.size else 0.0,
        mean_children_synthetic=float(cs.mean()) if cs.size else 0.0,
        cardinality_ks=ks, cardinality_score=1.0 - ks, counts=counts,
        parents_real=(hr / max(cr.size, 1)).tolist(), parents_synthetic=(hs / max(cs.size, 1)).tolist(),
        note=note)


def _hierarchy_note(fk: ForeignKey, real: pd.DataFrame, synthetic: pd.DataFrame) -> str:
    """Roots, depth and children per node (KS) of a self-reference, real vs synthetic."""
    a, b = (shape_of(f, fk.columns, fk.parent_columns) for f in (real, synthetic))
    ks = ks_statistic(*(children_per_node(match_parents(f[fk.columns], f[fk.parent_columns])).astype(float)
                        for f in (real, synthetic)))
    return (f"hierarchy: {a.roots} root(s) real, {b.roots} synthetic; depth {a.depth} real, {b.depth} "
            f"synthetic; children per node KS {ks:.3f}")
