"""A small generic DAG: deterministic topological order and cycle paths.

Kept free of any package import so that both the configuration model and the relational engine can use it.
Self-loops are allowed and ignored for ordering (a self-referencing table is trained like any other).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def find_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Return one cycle as a closed path [a, b, ..., a], ignoring self-loops, or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(set(edges.get(node, ()))):
            if nxt == node:
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def topological_order(nodes: Iterable[str], parents: Mapping[str, Iterable[str]]) -> list[str]:
    """Parents before children; ties broken by name so the order is stable across runs.

    `parents[n]` lists the nodes n depends on. Raises ValueError on a cycle (callers turn it into a
    typed error with the path from `find_cycle`).
    """
    nodes = sorted(set(nodes))
    deps = {n: {p for p in parents.get(n, ()) if p != n and p in nodes} for n in nodes}
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(nodes):
        ready = [n for n in nodes if n not in done and deps[n] <= done]
        if not ready:
            raise ValueError("cycle")
        for n in ready:
            order.append(n)
            done.add(n)
    return order
