"""Module dependency graph helpers: strongly connected components, deterministically.

The official lexicon set has import cycles (app.bsky embeds and defs, chat.bsky), so
generated modules that depend on each other in a cycle must defer their imports of each
other (see ``lower``). ``strongly_connected`` finds those cycles with an iterative Tarjan
walk over sorted nodes and sorted neighbours, so the result never depends on input
order or hash seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["strongly_connected"]


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` (node -> successors), each sorted,
    in sorted order of their first node. Successors missing from ``graph`` are ignored."""
    edges = {node: sorted(n for n in set(succ) if n in graph) for node, succ in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = edges[node]
            if i < len(successors):
                work.append((node, i + 1))
                succ = successors[i]
                if succ not in index:
                    work.append((succ, 0))
                elif succ in on_stack:
                    low[node] = min(low[node], index[succ])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(components)
