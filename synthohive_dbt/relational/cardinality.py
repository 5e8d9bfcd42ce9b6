"""How many children each parent gets, and which parent each child row points to.

Decision (measured in tests/relational/test_cardinality.py): an empirical children-per-parent distribution per
*context bucket*, smoothed towards the global one. The parent's context columns are binned (quartiles for
numbers, the categories for labels); the one or two columns whose buckets explain most of the count variance
form the buckets. Sampling draws each synthetic parent's count from its bucket's histogram. Why not a
regression or a GAN column: the histogram reproduces the exact shape (zeros keep their share, a minimum of 1
stays 1, long tails stay long) and can never produce a negative count, while the buckets keep "premium
customers have more orders". It stores only counts of counts, never rows.

Secondary foreign keys (order_items -> products when the rows are driven by orders) keep each parent's
popularity: synthetic parents draw a count from the same kind of histogram and the child rows are dealt out
in proportion. Self-references keep their learned shape (relational/hierarchy.py); `forest` below is what a
shape switched off, or a model saved before shapes were learned, draws: roots first, every other row points to an
earlier row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.kinds import is_numeric

# smoothing weight of the global histogram inside a bucket, in parents: a bucket with 5 parents is half global
_ALPHA = 5.0
# a column must explain this share of the count variance (eta squared) to be used for buckets
_MIN_ETA2 = 0.02
_MAX_BUCKET_COLS = 2
_QUANTILES = (0.25, 0.5, 0.75)
_MAX_CATEGORIES = 20


@dataclass
class Histogram:
    """Counts of counts: `values[i]` children occurred `weights[i]` times."""

    values: list[int]
    weights: list[int]

    @classmethod
    def of(cls, counts: np.ndarray) -> Histogram:
        vals, freq = np.unique(np.asarray(counts, dtype=np.int64), return_counts=True)
        return cls(vals.tolist(), freq.tolist())

    @property
    def n(self) -> int:
        return int(sum(self.weights))

    def probs(self) -> np.ndarray:
        w = np.asarray(self.weights, dtype=np.float64)
        return w / w.sum()

    def draw(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """`size` counts, stratified: one draw from each of `size` equal slices of the distribution, in
        random order. Each value still has its probability, but 50 products get close to the real 50
        popularities instead of an i.i.d. draw's scatter (the KS distance of the counts drops ~3x)."""
        if size == 0 or not self.values:
            return np.zeros(size, dtype=np.int64)
        u = (rng.permutation(size) + rng.random(size)) / size
        idx = np.minimum(np.searchsorted(np.cumsum(self.probs()), u, side="right"), len(self.values) - 1)
        return np.asarray(self.values, dtype=np.int64)[idx]


@dataclass
class _Binning:
    column: str
    edges: list[float] | None = None  # numeric: interior cut points
    categories: list[str] | None = None  # categorical: known labels; anything else is one extra bucket

    @property
    def size(self) -> int:
        return len(self.edges) + 1 if self.edges is not None else len(self.categories or []) + 1

    def codes(self, values: pd.Series) -> np.ndarray:
        if self.edges is not None:
            x = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
            return np.searchsorted(np.asarray(self.edges), np.nan_to_num(x, nan=np.inf), side="right")
        cats = pd.Index(self.categories or [])
        codes = cats.get_indexer(values.astype(str))
        return np.where(codes < 0, len(cats), codes)

    @classmethod
    def fit(cls, values: pd.Series) -> _Binning:
        if is_numeric(values):
            edges = np.unique(np.nanquantile(values.to_numpy(np.float64), _QUANTILES)) if values.notna().any() \
                else np.array([])
            return cls(str(values.name), edges=[float(e) for e in edges])
        top = values.astype(str).value_counts().index[:_MAX_CATEGORIES]
        return cls(str(values.name), categories=sorted(top.tolist()))


@dataclass
class ChildrenPerParent:
    """Children-per-parent distribution of one foreign key, conditioned on bucketed parent context."""

    overall: Histogram
    binnings: list[_Binning] = field(default_factory=list)
    buckets: dict[int, Histogram] = field(default_factory=dict)

    @classmethod
    def fit(cls, counts: np.ndarray, context: pd.DataFrame | None) -> ChildrenPerParent:
        counts = np.asarray(counts, dtype=np.int64)
        model = cls(Histogram.of(counts))
        if context is None or context.empty or len(counts) < 2 or counts.var() == 0:
            return model
        scored: list[tuple[float, _Binning]] = []
        for col in context.columns:
            binning = _Binning.fit(context[col])
            if binning.size < 2:
                continue
            eta2 = _eta_squared(counts, binning.codes(context[col]))
            if eta2 >= _MIN_ETA2:
                scored.append((eta2, binning))
        scored.sort(key=lambda t: -t[0])
        model.binnings = [b for _, b in scored[:_MAX_BUCKET_COLS]]
        if model.binnings:
            codes = model.bucket_codes(context)
            frame = pd.DataFrame({"b": codes, "c": counts})
            for code, group in frame.groupby("b", sort=True):
                model.buckets[int(code)] = Histogram.of(group["c"].to_numpy())
        return model

    def sample(self, context: pd.DataFrame | None, n_parents: int, rng: np.random.Generator) -> np.ndarray:
        """One non-negative count per synthetic parent, drawn from its bucket (smoothed by the overall shape)."""
        codes = self.bucket_codes(context) if self.binnings and context is not None else None
        return self.sample_codes(codes, n_parents, rng)

    @property
    def uses_context(self) -> bool:
        return bool(self.binnings)

    def sample_codes(self, codes: np.ndarray | None, n_parents: int, rng: np.random.Generator) -> np.ndarray:
        """`sample` from the parents' bucket codes (None: no context), the same draws in the same order."""
        out = self.overall.draw(n_parents, rng)
        if not self.binnings or codes is None:
            return out
        u = rng.random(n_parents)
        for code in np.unique(codes):
            hist = self.buckets.get(int(code))
            if hist is None:
                continue
            rows = np.flatnonzero(codes == code)
            local = rows[u[rows] < hist.n / (hist.n + _ALPHA)]
            out[local] = hist.draw(len(local), rng)
        return out

    def bucket_codes(self, context: pd.DataFrame) -> np.ndarray:
        """Each parent's bucket (callers may pass slices of the parents: the codes concatenate)."""
        code = np.zeros(len(context), dtype=np.int64)
        for b in self.binnings:
            code = code * b.size + b.codes(context[b.column])
        return code

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": vars(self.overall),
            "binnings": [vars(b) for b in self.binnings],
            "buckets": {str(k): vars(v) for k, v in self.buckets.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChildrenPerParent:
        return cls(Histogram(**data["overall"]), [_Binning(**b) for b in data["binnings"]],
                   {int(k): Histogram(**v) for k, v in data["buckets"].items()})


def fit_total(counts: np.ndarray, total: int, rng: np.random.Generator, floor: int = 0,
              cap: int | None = None) -> np.ndarray:
    """`counts` (children per parent, drawn) moved to sum exactly to `total`, so a table lands at its real size
    times its parents' scale by construction instead of by the luck of the draws (8 parents drawing from a
    wide histogram can give 38 or 80 children where the real data had 59).

    The difference is spread in proportion to the counts (a parent with many children gains or loses more, and
    one drawn childless stays childless while others can take rows), never below `floor` (the real minimum per
    parent) nor above `cap` (the real maximum) while any parent has room; only then beyond them."""
    out = np.asarray(counts, dtype=np.int64).copy()
    left = int(total) - int(out.sum())
    if left == 0 or len(out) == 0:
        return out
    sign = 1 if left > 0 else -1
    for bounded in (True, False):
        while left != 0:
            if sign > 0:
                room = (np.full(len(out), left) if cap is None or not bounded else cap - out)
                weight = np.where(room > 0, np.maximum(out, 0), 0).astype(np.float64)
                if weight.sum() == 0:  # every parent drawn childless (or full): any with room takes rows
                    weight = (room > 0).astype(np.float64)
            else:
                room = out - (floor if bounded else 0)
                weight = np.where(room > 0, out, 0).astype(np.float64)
            if weight.sum() == 0:
                break
            step = np.bincount(rng.choice(len(out), size=abs(left), p=weight / weight.sum()), minlength=len(out))
            step = np.minimum(step, np.maximum(room, 0))
            out += sign * step
            left -= sign * int(step.sum())
        if left == 0:
            break
    return out


def children_counts(child_keys: pd.DataFrame, parent_keys: pd.DataFrame) -> np.ndarray:
    """Children per parent row (zeros included), matching on the key columns in order."""
    left = pd.MultiIndex.from_frame(parent_keys.astype(object)) if parent_keys.shape[1] > 1 \
        else pd.Index(parent_keys.iloc[:, 0].astype(object))
    right_frame = child_keys.dropna()
    right = pd.MultiIndex.from_frame(right_frame.astype(object)) if child_keys.shape[1] > 1 \
        else pd.Index(right_frame.iloc[:, 0].astype(object))
    vc = pd.Series(1, index=right).groupby(level=list(range(right.nlevels))).size()
    return vc.reindex(left, fill_value=0).to_numpy(np.int64)


def match_parents(child_keys: pd.DataFrame, parent_keys: pd.DataFrame) -> np.ndarray:
    """Row number of each child's parent, -1 where the key is null or references no parent row."""
    if parent_keys.shape[1] > 1:
        index = pd.MultiIndex.from_frame(parent_keys.astype(object))
        probe = pd.MultiIndex.from_frame(child_keys.astype(object))
    else:
        index = pd.Index(parent_keys.iloc[:, 0].astype(object))
        probe = pd.Index(child_keys.iloc[:, 0].astype(object))
    if not index.is_unique:
        index = index.drop_duplicates()
    return index.get_indexer(probe)


def deal_by_popularity(n_rows: int, weights: np.ndarray, rng: np.random.Generator,
                       cap: int | None = None, floor: int = 0) -> np.ndarray:
    """Assign n_rows child rows to parents so parent i gets about weights[i] of them (weights: drawn counts).

    The pool repeats each parent `weights[i]` times; it is thinned or topped up in proportion to reach
    n_rows, so the children-per-parent shape (zeros included) survives. Thinning leaves every drawn parent
    at least `floor` children (the real minimum: when every product sold, every synthetic one does) while
    n_rows allows it; a top-up gives no parent more than `cap` children (the real maximum) while any parent
    has room. Returns parent row numbers, shuffled.
    """
    n_parents = len(weights)
    if n_rows == 0 or n_parents == 0:
        return np.zeros(0, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.int64)
    if weights.sum() == 0:
        weights = np.ones(n_parents, dtype=np.int64)
    pool = np.repeat(np.arange(n_parents, dtype=np.int64), weights)
    if len(pool) >= n_rows:
        kept = np.minimum(weights, floor)
        if 0 < kept.sum() <= n_rows:
            rest = np.repeat(np.arange(n_parents, dtype=np.int64), weights - kept)
            pool = np.concatenate([np.repeat(np.arange(n_parents, dtype=np.int64), kept),
                                   rest[rng.permutation(len(rest))[:n_rows - int(kept.sum())]]])
        else:
            pool = pool[rng.permutation(len(pool))[:n_rows]]
    else:
        extra = _top_up(n_rows - len(pool), weights, rng, cap)
        pool = np.concatenate([pool, extra])
    return pool[rng.permutation(n_rows)]


def _top_up(n_extra: int, weights: np.ndarray, rng: np.random.Generator, cap: int | None) -> np.ndarray:
    """n_extra more parent row numbers, in proportion to weights, filling only parents below `cap` while
    any has room (a few vectorised rounds), so no parent ends with more children than a real one had."""
    n_parents = len(weights)
    added = np.zeros(n_parents, dtype=np.int64)
    left = n_extra
    while left > 0:
        room = np.full(n_parents, left) if cap is None else cap - weights - added
        p = np.where(room > 0, weights, 0).astype(np.float64)  # a parent drawn with 0 children stays childless
        if p.sum() == 0:  # every popular parent is at the cap: the rest goes in proportion, beyond it
            p = weights.astype(np.float64)
            room = np.full(n_parents, left)
        take = np.minimum(np.bincount(rng.choice(n_parents, size=left, p=p / p.sum()), minlength=n_parents),
                          np.maximum(room, 0))
        added += take
        left -= int(take.sum())
    return np.repeat(np.arange(n_parents, dtype=np.int64), added)


def forest(n_rows: int, null_rate: float, weights: np.ndarray, rng: np.random.Generator,
           allow_null: bool) -> np.ndarray:
    """Self-reference without cycles: parent row number per row (-1 = root), or the row itself when the
    real hierarchy has no null roots (its top points to itself), never a longer cycle.

    Rows are laid out roots first; row i picks an earlier row j with probability proportional to weights[j]
    (the drawn number of reports), so leaves stay leaves and busy managers stay busy.
    """
    if n_rows == 0:
        return np.zeros(0, dtype=np.int64)
    n_roots = max(1, int(rng.binomial(n_rows, null_rate))) if null_rate > 0 else 1
    n_roots = min(n_roots, n_rows)
    order = rng.permutation(n_rows)  # order[k] = the row placed at position k
    w = np.asarray(weights, dtype=np.float64)[order]
    w[:n_roots] = np.maximum(w[:n_roots], 1.0)  # roots must be able to take children
    cum = np.cumsum(w)
    pos = np.arange(n_rows)
    parent_pos = np.full(n_rows, -1, dtype=np.int64)
    rest = pos[n_roots:]
    x = rng.random(len(rest)) * cum[rest - 1]
    parent_pos[n_roots:] = np.minimum(np.searchsorted(cum, x, side="right"), rest - 1)
    out = np.full(n_rows, -1, dtype=np.int64)
    has = parent_pos >= 0
    out[order[has]] = order[parent_pos[has]]
    if not allow_null:
        roots = order[:n_roots]
        out[roots] = roots
    return out


def _eta_squared(y: np.ndarray, codes: np.ndarray) -> float:
    """Share of the variance of y explained by the groups in codes."""
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0:
        return 0.0
    frame = pd.DataFrame({"g": codes, "y": y.astype(np.float64)})
    stats = frame.groupby("g")["y"].agg(["mean", "size"])
    between = float((stats["size"] * (stats["mean"] - y.mean()) ** 2).sum())
    return between / total
