"""A layered drawing of a directed graph, computed by cloudwall itself (no Graphviz).

The classic steps of a layered (Sugiyama-style) layout, kept small:

1. cycles are broken by reversing the back edges a depth-first walk finds;
2. every node goes to the layer of its longest path from a source, and sinks (here: the
   machines) to the last layer, so they line up on the right;
3. an edge spanning several layers gets a bend point in each layer it crosses, so it is
   ordered like a node and drawn around the others rather than through them;
4. the nodes of each layer are ordered by the barycentre of their neighbours, sweeping right
   then left a few times and keeping the order with the fewest crossings;
5. layers are spread evenly and centred on the tallest one.

Pure and deterministic: the same graph gives the same coordinates.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

Node = Hashable
SWEEPS = 6


@dataclass(frozen=True, slots=True)
class _Bend:
    """A virtual node: where an edge crosses a layer between its ends."""

    source: Node
    target: Node
    layer: int


@dataclass(frozen=True, slots=True)
class Layout:
    positions: Mapping[Node, tuple[float, float]]  # node centre
    layers: Mapping[Node, int]
    # (source, target) as given -> points from the source's centre through every bend point to
    # the target's centre
    routes: Mapping[tuple[Node, Node], tuple[tuple[float, float], ...]]
    width: float
    height: float


def _acyclic(nodes: Sequence[Node], edges: Sequence[tuple[Node, Node]]
             ) -> set[tuple[Node, Node]]:
    """The edges to reverse so that the graph has no cycle (back edges of a DFS)."""
    succ: dict[Node, list[Node]] = {n: [] for n in nodes}
    for u, v in edges:
        succ[u].append(v)
    state: dict[Node, int] = {}  # 1 on the stack, 2 done
    reverse: set[tuple[Node, Node]] = set()
    for root in nodes:
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                reverse.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(succ[child])))
    return reverse


def _layers(nodes: Sequence[Node], edges: Iterable[tuple[Node, Node]],
            sinks_last: bool) -> dict[Node, int]:
    preds: dict[Node, list[Node]] = {n: [] for n in nodes}
    outdeg = dict.fromkeys(nodes, 0)
    for u, v in edges:
        preds[v].append(u)
        outdeg[u] += 1
    layer: dict[Node, int] = {}

    def depth(node: Node) -> int:  # iterative longest path from a source
        todo = [node]
        while todo:
            current = todo[-1]
            missing = [p for p in preds[current] if p not in layer]
            if missing:
                todo.extend(missing)
                continue
            todo.pop()
            layer[current] = max((layer[p] + 1 for p in preds[current]), default=0)
        return layer[node]

    for node in nodes:
        depth(node)
    if sinks_last and layer:
        last = max(layer.values())
        for node in nodes:
            if outdeg[node] == 0 and preds[node]:
                layer[node] = last
    return layer


def _crossings(upper: list[Node], lower: list[Node],
               edges: Sequence[tuple[Node, Node]]) -> int:
    up = {n: i for i, n in enumerate(upper)}
    low = {n: i for i, n in enumerate(lower)}
    pairs = sorted((up[u], low[v]) for u, v in edges if u in up and v in low)
    count = 0
    for i, (a, b) in enumerate(pairs):
        for c, d in pairs[i + 1:]:
            if c > a and d < b:
                count += 1
    return count


def layered_layout(nodes: Sequence[Node], edges: Sequence[tuple[Node, Node]],
                   order_key: Callable[[Node], object] = str, layer_gap: float = 230,
                   row_gap: float = 52, sinks_last: bool = True) -> Layout:
    """Positions for ``nodes`` (left to right along ``edges``) and a route for every edge."""
    nodes = list(dict.fromkeys(nodes))
    edges = [(u, v) for u, v in dict.fromkeys(edges) if u != v]
    reversed_edges = _acyclic(sorted(nodes, key=order_key), edges)
    forward = [(v, u) if (u, v) in reversed_edges else (u, v) for u, v in edges]
    layer = _layers(nodes, forward, sinks_last)
    # Bend points: an edge over k layers becomes a chain through k - 1 virtual nodes.
    chains: dict[tuple[Node, Node], list[Node]] = {}
    unit_edges: list[tuple[Node, Node]] = []
    all_layers = dict(layer)
    for u, v in forward:
        chain: list[Node] = [u]
        for step in range(layer[u] + 1, layer[v]):
            bend = _Bend(u, v, step)
            all_layers[bend] = step
            chain.append(bend)
        chain.append(v)
        chains[(u, v)] = chain
        unit_edges.extend(zip(chain, chain[1:], strict=False))
    count = max(all_layers.values(), default=-1) + 1
    ranks: list[list[Node]] = [[] for _ in range(count)]
    for node in sorted(all_layers, key=lambda n: (all_layers[n], _bend_key(n, order_key))):
        ranks[all_layers[node]].append(node)
    preds: dict[Node, list[Node]] = {n: [] for n in all_layers}
    succ: dict[Node, list[Node]] = {n: [] for n in all_layers}
    for u, v in unit_edges:
        succ[u].append(v)
        preds[v].append(u)

    def total_crossings(order: list[list[Node]]) -> int:
        return sum(_crossings(order[i], order[i + 1], unit_edges) for i in range(count - 1))

    def barycentre(node: Node, neighbours, where: dict, current: dict) -> float:
        near = [where[m] for m in neighbours[node] if m in where]
        return sum(near) / len(near) if near else current[node]

    def sweep(order: list[list[Node]], indices: Iterable[int], neighbours) -> None:
        for i in indices:
            ref_layer = i - 1 if neighbours is preds else i + 1
            where = {n: k for k, n in enumerate(order[ref_layer])}
            current = {n: k for k, n in enumerate(order[i])}
            order[i] = sorted(order[i], key=lambda n, w=where, c=current: (
                barycentre(n, neighbours, w, c), c[n]))

    best = [list(r) for r in ranks]
    best_count = total_crossings(best)
    order = [list(r) for r in ranks]
    for _ in range(SWEEPS):
        if best_count == 0:
            break
        sweep(order, range(1, count), preds)
        sweep(order, range(count - 2, -1, -1), succ)
        crossings = total_crossings(order)
        if crossings < best_count:
            best, best_count = [list(r) for r in order], crossings
    tallest = max((len(r) for r in best), default=0)
    positions: dict[Node, tuple[float, float]] = {}
    for i, rank in enumerate(best):
        offset = (tallest - len(rank)) * row_gap / 2
        for k, node in enumerate(rank):
            positions[node] = (round(i * layer_gap, 1), round(offset + k * row_gap, 1))
    routes = {}
    for u, v in edges:
        if (u, v) in reversed_edges:
            routes[(u, v)] = tuple(positions[n] for n in reversed(chains[(v, u)]))
        else:
            routes[(u, v)] = tuple(positions[n] for n in chains[(u, v)])
    return Layout(
        positions={n: positions[n] for n in nodes},
        layers={n: layer[n] for n in nodes},
        routes=routes,
        width=(count - 1) * layer_gap if count else 0,
        height=(tallest - 1) * row_gap if tallest else 0,
    )


def _bend_key(node: Node, order_key: Callable[[Node], object]) -> tuple:
    if isinstance(node, _Bend):
        return (1, str(order_key(node.source)), str(order_key(node.target)))
    return (0, str(order_key(node)), "")
