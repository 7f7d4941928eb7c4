"""Graphviz DOT of the exposure graph: from the internet, through each layer, to the assets.

Names come from the cloud (untrusted): every id and label is written as a quoted DOT string
with backslashes, quotes and line breaks escaped and other control characters replaced, so no
name can close the string, start an HTML label or add attributes.
"""

from __future__ import annotations

import networkx as nx

from reports.text import dot_string
from scanner.exposure_graph import exposure_subgraph

_SHAPES = {"internet": "doubleoctagon", "subnet": "box", "trusted": "note"}


def quote(text: object) -> str:
    """A DOT quoted string that says exactly ``text``, and nothing more (bidi overrides and
    zero-width characters made visible as ``?``)."""
    return dot_string(text)


def _shape(kind: str) -> str:
    if kind in _SHAPES:
        return _SHAPES[kind]
    if kind.endswith("_interface") or kind == "instance":
        return "component"
    return "hexagon"


def render_graph(g: nx.DiGraph, include_structure: bool = False) -> str:
    """The ``admits`` part of ``g`` (and, with ``include_structure``, the attachments)."""
    shown = g if include_structure else exposure_subgraph(g)
    lines = ["digraph exposure {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for node in sorted(shown.nodes):
        data = g.nodes[node]
        kind = data.get("kind", "")
        label = data.get("label", node)
        if data.get("provider"):
            label = f"{data['provider']}: {label}"
        lines.append(f"  {quote(node)} [label={quote(label)}, shape={_shape(kind)}, "
                     f"tooltip={quote(kind)}];")
    for source, target in sorted(shown.edges):
        data = g.edges[source, target]
        if data.get("admits"):
            labels = sorted({lab for labs in data["admits"].values() for lab in labs})
            text = "\n".join(labels[:6] + ([f"... {len(labels) - 6} more"]
                                           if len(labels) > 6 else []))
            lines.append(f"  {quote(source)} -> {quote(target)} [label={quote(text)}, "
                         'color="red"];')
        elif data.get("attached"):
            lines.append(f"  {quote(source)} -> {quote(target)} "
                         f"[label={quote(data['attached'])}, style=dashed, color=gray];")
    lines.append("}")
    return "\n".join(lines) + "\n"
