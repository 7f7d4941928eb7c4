"""The layered layout of the exposure graph, and the chart geometry."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.charts import bar_chart, line_chart, nice_ceiling
from reports.graph_layout import _crossings, layered_layout


def _check(layout, nodes, edges, row_gap):
    # Every node has a place; no two share one.
    assert set(layout.positions) == set(nodes)
    assert len(set(layout.positions.values())) == len(nodes)
    for node, (x, _) in layout.positions.items():
        assert x == layout.layers[node] * 230
    for u, v in edges:
        route = layout.routes[(u, v)]
        assert route[0] == layout.positions[u] and route[-1] == layout.positions[v]
    # Nodes of one layer are a row apart, at least.
    by_layer: dict[int, list[float]] = {}
    for node, (_, y) in layout.positions.items():
        by_layer.setdefault(layout.layers[node], []).append(y)
    for ys in by_layer.values():
        ys.sort()
        assert all(b - a >= row_gap - 1e-6 for a, b in zip(ys, ys[1:], strict=False))


def test_internet_left_layers_in_between_machines_right():
    edges = [("internet", "subnet"), ("subnet", "acl"), ("acl", "sg"), ("sg", "web"),
             ("internet", "nsg"), ("nsg", "vm"), ("internet", "bare")]
    nodes = sorted({n for e in edges for n in e})
    layout = layered_layout(nodes, edges, row_gap=52)
    _check(layout, nodes, edges, 52)
    assert layout.layers["internet"] == 0
    assert layout.layers["subnet"] == 1 and layout.layers["acl"] == 2 and layout.layers["sg"] == 3
    # Every machine (a sink) lines up in the last column, however short its path.
    assert layout.layers["web"] == layout.layers["vm"] == layout.layers["bare"] == 4
    # An edge over several layers bends once per layer it crosses.
    assert len(layout.routes[("internet", "bare")]) == 5
    for u, v in edges:
        xs = [x for x, _ in layout.routes[(u, v)]]
        assert xs == sorted(xs), (u, v)  # left to right, never back


def test_ordering_removes_avoidable_crossings():
    # Drawn in name order, a->z and b->y cross; the barycentre sweep uncrosses them.
    edges = [("s", "a"), ("s", "b"), ("a", "z"), ("b", "y")]
    layout = layered_layout(["s", "a", "b", "y", "z"], edges, row_gap=50)
    ys = {n: y for n, (_, y) in layout.positions.items()}
    assert (ys["a"] < ys["b"]) == (ys["z"] < ys["y"])


def test_cycles_are_drawn_not_looped_forever():
    edges = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
    layout = layered_layout(["a", "b", "c", "d"], edges)
    _check(layout, ["a", "b", "c", "d"], edges, 52)
    assert set(layout.routes) == set(edges)


def test_layout_is_deterministic():
    edges = [(f"n{i}", f"n{(i * 7) % 13}") for i in range(13)]
    nodes = [f"n{i}" for i in range(13)]
    assert layered_layout(nodes, edges) == layered_layout(list(reversed(nodes)), edges)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=30))
def test_any_graph_gets_a_complete_layout(pairs):
    edges = [(f"n{a}", f"n{b}") for a, b in pairs if a != b]
    nodes = sorted({f"n{a}" for a, _ in pairs} | {f"n{b}" for _, b in pairs})
    layout = layered_layout(nodes, edges, row_gap=40)
    _check(layout, nodes, edges, 40)
    assert set(layout.routes) == set(edges)


def test_crossings_counted():
    assert _crossings(["a", "b"], ["x", "y"], [("a", "y"), ("b", "x")]) == 1
    assert _crossings(["a", "b"], ["x", "y"], [("a", "x"), ("b", "y")]) == 0


def test_bar_chart_scales_to_the_longest_bar():
    chart = bar_chart("t", [("a", [("high", 10, "")]), ("b", [("low", 5, ""), ("info", 5, "")]),
                            ("c", [("low", 0, "")])], width=300, label_width=50)
    a, b, c = chart.rows
    assert a.total == 10 and b.total == 10 and c.total == 0 and not c.segments
    assert a.segments[0].width == sum(s.width for s in b.segments) == 300 - 50 - 44
    assert b.segments[1].x == b.segments[0].x + b.segments[0].width
    assert not chart.empty
    assert bar_chart("t", [("a", [("low", 0, "")])]).empty


def test_a_single_finding_still_shows():
    chart = bar_chart("t", [("a", [("high", 1000, "")]), ("b", [("low", 1, "")])])
    assert chart.rows[1].segments[0].width >= 2


def test_nice_axis_and_line_chart():
    assert nice_ceiling(0) == (1, 1)
    assert nice_ceiling(7) == (8, 2)
    assert nice_ceiling(86) == (100, 20)
    assert nice_ceiling(1) == (1, 1)
    chart = line_chart("t", ["d1", "d2", "d3"], [("critical", "critical", [1, 5, 3])])
    ys = [p.y for p in chart.series[0].points]
    assert ys[1] < ys[2] < ys[0]  # more is higher on the page
    assert chart.series[0].path.startswith("M") and chart.series[0].last == 3
    single = line_chart("t", ["only"], [("x", "x", [4])])
    assert single.series[0].points[0].x == (single.left + single.right) / 2


def test_graph_from_networkx_shapes():
    g = nx.gn_graph(30, seed=3).reverse()  # a tree pointing away from node 0
    layout = layered_layout(list(g.nodes), list(g.edges))
    assert layout.layers[0] == 0
    _check(layout, list(g.nodes), list(g.edges), 52)
