"""The exposure graph as the HTML reports draw it: from the internet, through each filtering
layer, to the machines it reaches.

The graph is ``scanner.exposure_graph``'s networkx graph (its ``admits`` edges); its layout is
``reports.graph_layout``'s; this module turns both into boxes and curves for the SVG template.
Labels stay plain text (the template escapes them); long ones are shortened on the drawing
and kept whole in each node's tooltip.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reports.graph_layout import layered_layout
from reports.html_view import CLOUD_NAMES
from scanner.model import Exposure, Snapshot

NODE_WIDTH = 184
NODE_HEIGHT = 38
LAYER_GAP = NODE_WIDTH + 64
ROW_GAP = NODE_HEIGHT + 14
MARGIN = 8
LABEL_CHARS = 26
MAX_ASSETS = 40  # a larger estate is drawn for its most exposed machines; the tables list all

KIND_CAPTIONS = {
    "internet": "source",
    "trusted": "trusted range",
    "network": "network",
    "subnet": "subnet routed to the internet",
    "aws_network_acl": "AWS network ACL",
    "aws_security_group": "AWS security group",
    "azure_nsg": "Azure NSG",
    "gcp_vpc_firewall": "GCP VPC firewall rules",
    "gcp_hierarchical_policy": "GCP hierarchical policy",
    "gcp_network_policy": "GCP network firewall policy",
    "instance": "instance",
}


@dataclass(frozen=True, slots=True)
class GraphNode:
    x: float
    y: float
    label: str
    caption: str
    title: str  # tooltip: the whole label and what the node is
    css: str  # internet | layer | asset


@dataclass(frozen=True, slots=True)
class GraphEdge:
    path: str
    css: str  # internet | broad
    title: str


@dataclass(frozen=True, slots=True)
class GraphView:
    width: float
    height: float
    node_width: int
    node_height: int
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    shown_assets: int
    exposed_assets: int
    columns: tuple[tuple[float, str], ...]  # (x, heading) over each layer


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _asset_rank(exposures: list[Exposure]) -> tuple:
    internet = any(e.source == "internet" for e in exposures)
    services = {s for e in exposures for s in e.services}
    ports = sum(e.ports.count() for e in exposures)
    return (not internet, -len(services), -ports)


def _ports_caption(exposures: list[Exposure]) -> str:
    by_protocol: dict[str, list[str]] = {}
    for e in sorted(exposures, key=lambda e: (e.protocol, e.ports.intervals)):
        ports = str(e.ports)
        listed = by_protocol.setdefault(e.protocol, [])
        if ports not in listed:
            listed.append(ports)
    return " · ".join(f"{p} {', '.join(ports)}" for p, ports in by_protocol.items())


def _curve(points: tuple[tuple[float, float], ...], offset: tuple[float, float]) -> str:
    """A smooth path leaving the source's right side and entering the target's left side."""
    dx, dy = offset
    half = NODE_WIDTH / 2
    pts = [(x + dx, y + dy) for x, y in points]
    # Through a layer it only crosses, an edge runs straight across the column, so it never
    # seems to leave from a box it passes.
    route = [(pts[0][0] + half, pts[0][1])]
    for x, y in pts[1:-1]:
        route += [(x - half, y), (x + half, y)]
    route.append((pts[-1][0] - half, pts[-1][1]))
    parts = [f"M{route[0][0]:.1f} {route[0][1]:.1f}"]
    for i in range(1, len(route)):
        (x1, y1), (x2, y2) = route[i - 1], route[i]
        if i % 2 == 0:  # across a column
            parts.append(f"L{x2:.1f} {y2:.1f}")
        else:
            bend = (x2 - x1) / 2
            parts.append(f"C{x1 + bend:.1f} {y1:.1f} {x2 - bend:.1f} {y2:.1f} {x2:.1f} {y2:.1f}")
    return " ".join(parts)


def exposure_graph(snapshot: Snapshot, exposures: Iterable[Exposure],
                   max_assets: int = MAX_ASSETS) -> GraphView | None:
    """The drawing of what admits the internet to each exposed machine, or None if nothing is
    exposed."""
    exposures = list(exposures)
    if not exposures:
        return None
    # networkx only when there is something to draw.
    from scanner.exposure_graph import asset_node, build_graph

    by_asset: dict[str, list[Exposure]] = {}
    for e in exposures:
        by_asset.setdefault(e.asset_id, []).append(e)
    ranked = sorted(by_asset, key=lambda a: (_asset_rank(by_asset[a]), a))
    kept = set(ranked[:max_assets])
    g = build_graph(snapshot, [e for e in exposures if e.asset_id in kept])
    edges = [(u, v) for u, v, data in g.edges(data=True)
             if set(data.get("admits") or ()) & kept]
    if not edges:
        return None
    nodes = sorted({n for edge in edges for n in edge})

    def order(node: str) -> tuple:
        data = g.nodes[node]
        return (data.get("provider", ""), str(data.get("label", node)), node)

    layout = layered_layout(nodes, edges, order_key=order, layer_gap=LAYER_GAP,
                            row_gap=ROW_GAP)
    offset = (MARGIN + NODE_WIDTH / 2, MARGIN + 24 + NODE_HEIGHT / 2)
    assets = {asset_node(a): a for a in kept}
    drawn_nodes = []
    for node in nodes:
        data = g.nodes[node]
        kind = data.get("kind", "")
        label = str(data.get("label", node))
        provider = data.get("provider", "")
        if node in assets:
            css = "asset"
            caption = f"{CLOUD_NAMES.get(provider, provider)} · " \
                f"{_ports_caption(by_asset[assets[node]])}"
            what = f"{provider} machine"
        elif kind == "internet":
            css, caption, what = "internet", "every public address", "the internet"
        else:
            css = "layer"
            caption = KIND_CAPTIONS.get(kind, kind.replace("_", " "))
            what = caption
        x, y = layout.positions[node]
        drawn_nodes.append(GraphNode(
            round(x + offset[0] - NODE_WIDTH / 2, 1), round(y + offset[1] - NODE_HEIGHT / 2, 1),
            shorten(label), shorten(caption, 34), f"{label} ({what})", css))
    drawn_edges = []
    for u, v in edges:
        admits = g.edges[u, v]["admits"]
        labels = sorted({lab for asset, labs in admits.items() if asset in kept for lab in labs})
        css = "internet" if any(lab.endswith("(internet)") for lab in labels) else "broad"
        drawn_edges.append(GraphEdge(_curve(layout.routes[(u, v)], offset), css,
                                     "admits " + "; ".join(labels)))
    columns = _columns(g, layout, offset)
    return GraphView(
        width=round(layout.width + NODE_WIDTH + 2 * MARGIN, 1),
        height=round(layout.height + NODE_HEIGHT + 2 * MARGIN + 24, 1),
        node_width=NODE_WIDTH,
        node_height=NODE_HEIGHT,
        nodes=tuple(drawn_nodes),
        edges=tuple(sorted(drawn_edges, key=lambda e: (e.css == "internet", e.path))),
        shown_assets=len(kept),
        exposed_assets=len(by_asset),
        columns=columns,
    )


def _columns(g, layout, offset) -> tuple[tuple[float, str], ...]:
    """A heading over each layer: what kind of thing stands there."""
    kinds: dict[int, set[str]] = {}
    for node, layer in layout.layers.items():
        kind = g.nodes[node].get("kind", "")
        if kind.endswith("_interface") or kind == "instance":
            kind = "machines"
        kinds.setdefault(layer, set()).add(kind)
    headings = []
    for layer in sorted(kinds):
        names = sorted(kinds[layer])
        if names == ["internet"]:
            text = "Internet"
        elif names == ["machines"]:
            text = "Exposed machines"
        elif names == ["subnet"]:
            text = "Route"
        else:
            text = "Filtering layer"
        headings.append((round(layer * LAYER_GAP + offset[0], 1), text))
    return tuple(headings)
