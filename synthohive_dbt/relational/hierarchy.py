"""The shape of a self-reference (employees.manager_id -> employees.employee_id), learned and kept.

Why: drawing each row's parent among earlier rows by popularity (cardinality.forest) keeps children per node
roughly, but not the rest of the shape: a company of one CEO came out as three trees at scale 2, and a hierarchy
four levels deep came out nine deep (bench/hierarchy.py). A hierarchy is a tree per root, so its shape is what code and dashboards over it see:

- roots: rows with no parent (a null key, a key pointing at the row itself, or at no row);
- levels: rows per depth (level 0 = the roots), so the maximum depth and the width of each level;
- children per node, one histogram per level (a CEO has 5 reports, a team lead 8, an engineer none).

Sampling builds the forest level by level: the roots, then for each level every node draws its number of
children from its level's histogram, moved (cardinality.fit_total, within the real minimum and maximum while
possible) to sum to the next level's size. The result is a forest by construction (a parent is always one level
up: no cycle), never deeper than the real one, with each level at its real size times the table's scale.
A single root stays a single root at every scale; more roots scale with the table (kept exactly at scale 1).

Only counts are stored (level sizes and counts of children counts), never rows or keys. They are read from
the real rows without noise: under differential privacy the shape is outside epsilon (relational/dp.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthohive_dbt.config import TableConfig
from synthohive_dbt.relational.cardinality import Histogram, fit_total, match_parents

_MAX_CYCLE_BREAKS = 1000  # real rows in cycles: each cycle is cut at one row, at most this many times


@dataclass
class HierarchyShape:
    """Roots, rows per depth and children per node per depth of one self-reference (plain JSON)."""

    rows: int
    null_roots: int  # roots whose key is null; the others point at themselves (or at no row) in the real data
    levels: list[int]  # rows at depth 0 (the roots), 1, 2, ...
    children: list[Histogram]  # children per node of each level but the last
    excepted_roots: int = 0  # roots holding an excepted value (ForeignKey.except_values: a CEO's manager_id 0)
    enabled: bool = True  # switched off (--no-rule 'TABLE:fk -> key'): sampled as the popularity forest instead

    @property
    def roots(self) -> int:
        return self.levels[0] if self.levels else 0

    @property
    def depth(self) -> int:
        """Edges from a root to the deepest row (0: every row is a root)."""
        return max(len(self.levels) - 1, 0)

    @classmethod
    def learn(cls, parent_rows: np.ndarray, null: np.ndarray, excepted: np.ndarray | None = None) -> HierarchyShape:
        """From each row's parent row number (-1: null or no such row; its own number: a top row pointing at
        itself), which rows hold a null key and which an excepted value."""
        parent = np.asarray(parent_rows, dtype=np.int64).copy()
        n = len(parent)
        parent[parent == np.arange(n)] = -1
        depth = _depths(parent)  # cuts real cycles: `parent` then holds the forest the shape is read from
        counts = children_per_node(parent)
        levels = np.bincount(depth) if n else np.zeros(0, dtype=np.int64)
        per_level = np.split(counts[np.argsort(depth, kind="stable")], np.cumsum(levels)[:-1])
        children = [Histogram.of(c) for c in per_level[:-1]]
        roots = depth == 0
        held = np.zeros(n, dtype=bool) if excepted is None else np.asarray(excepted, dtype=bool)
        return cls(n, int((roots & np.asarray(null, dtype=bool)).sum()), levels.tolist(), children,
                   int((roots & held).sum()))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Parent row number per row of an `n`-row table: -1 for a null root, -2 for a root holding the first
        excepted value (generate._with_exceptions), the row itself for a root that points at itself, else a row
        one level up. Rows are placed at random, so the row order (and the model's values in it) says nothing
        about the level."""
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        sizes = self._sizes(n)
        parent_pos = np.full(n, -1, dtype=np.int64)
        start = 0
        for d in range(1, len(sizes)):
            above = np.arange(start, start + sizes[d - 1])
            start += sizes[d - 1]
            hist = self.children[d - 1] if d - 1 < len(self.children) else Histogram([1], [1])
            counts = fit_total(hist.draw(len(above), rng), sizes[d], rng, min(hist.values, default=0),
                               max(hist.values, default=None))
            parent_pos[start:start + sizes[d]] = rng.permutation(np.repeat(above, counts))
        order = rng.permutation(n)  # order[k]: the row placed at position k
        out = np.full(n, -1, dtype=np.int64)
        has = parent_pos >= 0
        out[order[has]] = order[parent_pos[has]]
        nulls, held, _ = _apportion(sizes[0], np.array(
            [self.null_roots, self.excepted_roots, self.roots - self.null_roots - self.excepted_roots], dtype=float))
        roots = order[:sizes[0]]  # null roots stay -1
        out[roots[nulls:nulls + held]] = -2
        out[roots[nulls + held:]] = roots[nulls + held:]
        return out

    def _sizes(self, n: int) -> list[int]:
        """Rows per level for `n` rows: the real levels at scale 1, else in proportion (largest remainder);
        one root stays one; a level left empty is dropped (the rows below it move up, never deeper), and a level
        wider than its parents' real maximum of children allows passes the excess one level down (a single CEO
        at scale 2 keeps about the real number of reports; the last level takes what is left)."""
        if n == self.rows or not self.levels:
            sizes = list(self.levels) if self.levels else [n]
            return sizes if sum(sizes) == n else [n]
        roots = 1 if self.roots == 1 else max(1, round(self.roots * n / self.rows))
        roots = min(roots, n)
        rest = _apportion(n - roots, np.asarray(self.levels[1:], dtype=np.float64))
        sizes = [roots, *(x for x in rest if x > 0)]  # too few rows for every level: the deeper ones move up
        for d in range(1, len(sizes) - 1):  # a level wider than its parents can hold passes rows down
            cap = sizes[d - 1] * max(self.children[d - 1].values, default=1) if d - 1 < len(self.children) \
                else sizes[d]
            if sizes[d] > cap:
                sizes[d + 1] += sizes[d] - cap
                sizes[d] = cap
        return sizes

    def describe(self, width: int = 6) -> str:
        """One line: roots, depth, rows per level, children per node (mean, max)."""
        levels = self.levels if len(self.levels) <= width else [*self.levels[:width], "..."]
        mean = (self.rows - self.roots) / self.rows if self.rows else 0.0
        top = max((max(h.values, default=0) for h in self.children), default=0)
        return (f"{self.roots} root{'s' if self.roots != 1 else ''}, depth {self.depth}, rows per level "
                f"{'/'.join(str(x) for x in levels)}, children per node mean {mean:.2f} max {top}")

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "null_roots": self.null_roots, "levels": self.levels,
                "children": [vars(h) for h in self.children], "excepted_roots": self.excepted_roots,
                "enabled": self.enabled}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HierarchyShape:
        return cls(int(d["rows"]), int(d["null_roots"]), [int(x) for x in d["levels"]],
                   [Histogram(**h) for h in d["children"]], int(d.get("excepted_roots", 0)),
                   bool(d.get("enabled", True)))


def self_reference_shapes(frame: pd.DataFrame, cfg: TableConfig) -> dict[str, HierarchyShape]:
    """`manager_id -> employee_id` -> its shape, for each foreign key of the table to itself."""
    out = {}
    for fk in cfg.fk:
        if fk.parent != cfg.name or not set([*fk.columns, *fk.parent_columns]) <= set(frame.columns):
            continue
        out[shape_label(fk.columns, fk.parent_columns)] = shape_of(frame, fk.columns, fk.parent_columns)
    return out


def shape_label(columns: list[str], parent_columns: list[str]) -> str:
    """How a run names a self-reference's shape (`manager_id -> employee_id`), also in `--no-rule`."""
    return f"{', '.join(columns)} -> {', '.join(parent_columns)}"


def self_reference_labels(cfg: TableConfig) -> set[str]:
    """The labels of the table's self-references (what `--no-rule TABLE:LABEL` may name)."""
    return {shape_label(fk.columns, fk.parent_columns) for fk in cfg.fk if fk.parent == cfg.name}


def shape_of(frame: pd.DataFrame, columns: list[str], parent_columns: list[str],
             excepted: np.ndarray | None = None) -> HierarchyShape:
    """The shape of `columns` referencing `parent_columns` of the same rows (`excepted`: rows holding an
    excepted value, ForeignKey.except_values)."""
    own = frame[list(columns)]
    return HierarchyShape.learn(match_parents(own, frame[list(parent_columns)]), own.isna().any(axis=1).to_numpy(),
                                excepted)


def children_per_node(parent_rows: np.ndarray) -> np.ndarray:
    """Children of every row (leaves included) under parent row numbers (-1 or itself: a root)."""
    parent = np.asarray(parent_rows, dtype=np.int64)
    inner = (parent >= 0) & (parent != np.arange(len(parent)))
    return np.bincount(parent[inner], minlength=len(parent))


def _depths(parent: np.ndarray) -> np.ndarray:
    """Level by level from the roots, through each row's children (sorted once: one vectorised step per level,
    O(rows) in all). Rows never reached sit in or under a cycle: one row of that cycle becomes a root (its link
    in `parent` is cut), and the walk goes on from it."""
    n = len(parent)
    depth = np.where(parent < 0, 0, -1).astype(np.int64)
    by_parent = np.argsort(parent, kind="stable")
    lo = np.searchsorted(parent[by_parent], np.arange(n), side="left")
    hi = np.searchsorted(parent[by_parent], np.arange(n), side="right")
    frontier, level = np.flatnonzero(depth == 0), 0
    for _ in range(_MAX_CYCLE_BREAKS + 1):  # the walk from the last cut runs too
        while len(frontier):
            counts = hi[frontier] - lo[frontier]
            first = np.repeat(lo[frontier] - (np.cumsum(counts) - counts), counts)
            nxt = by_parent[first + np.arange(int(counts.sum()))]
            nxt = nxt[depth[nxt] < 0]
            level += 1
            depth[nxt] = level
            frontier = nxt
        left = np.flatnonzero(depth < 0)
        if not len(left):
            return depth
        x = int(left[0])
        for _ in range(len(left)):  # walking up from an unreached row ends inside its cycle
            x = int(parent[x])
        parent[x], depth[x] = -1, 0
        frontier, level = np.array([x]), 0
    stuck = depth < 0  # more cycles than breaks allowed: what is left becomes roots
    parent[stuck], depth[stuck] = -1, 0
    return depth


def _apportion(total: int, weights: np.ndarray) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder): sums exactly to `total`."""
    if total <= 0 or not len(weights) or weights.sum() == 0:
        return [0] * len(weights) if total <= 0 or not len(weights) else [total, *[0] * (len(weights) - 1)]
    share = weights / weights.sum() * total
    out = np.floor(share).astype(np.int64)
    rest = total - int(out.sum())
    out[np.argsort(-(share - out), kind="stable")[:rest]] += 1
    return out.tolist()
