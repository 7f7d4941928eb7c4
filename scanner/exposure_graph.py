"""The exposure graph: the estate's structure and the traffic each layer admits, in networkx.

Nodes: the internet of each address family, the user's trusted ranges, networks, subnets, rule
sets, assets and instances. Edges carry ``attached`` (a rule set guards a subnet or interface,
a subnet holds an interface, an interface belongs to an instance) and ``admits`` (traffic the
internet gets through one layer on to the next, per asset: ``{asset_id: [labels]}``), so the
paths from the internet to an asset are graph paths over ``admits`` edges.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import networkx as nx

from scanner.model import Asset, Exposure, Snapshot

INTERNET = {"ipv4": "internet:ipv4", "ipv6": "internet:ipv6"}


def asset_node(asset_id: str) -> str:
    return f"asset:{asset_id}"


def rule_set_node(resource_id: str) -> str:
    return f"rule_set:{resource_id}"


def subnet_node(subnet_id: str) -> str:
    return f"subnet:{subnet_id}"


def _attach(g: nx.DiGraph, source: str, target: str, relation: str) -> None:
    if source in g and target in g:
        g.add_edge(source, target)
        g.edges[source, target]["attached"] = relation


def build_graph(snapshot: Snapshot, exposures: Iterable[Exposure],
                trusted_cidrs: Sequence[str] = ()) -> nx.DiGraph:
    g = nx.DiGraph()
    for family, node in INTERNET.items():
        g.add_node(node, kind="internet", label=f"internet ({family})")
    for cidr in trusted_cidrs:
        g.add_node(f"trusted:{cidr}", kind="trusted", label=f"trusted {cidr}")
    for network in snapshot.networks:
        g.add_node(f"network:{network.network_id}", kind="network", provider=network.provider,
                   label=network.name or network.network_id)
    for subnet in snapshot.subnets:
        g.add_node(subnet_node(subnet.subnet_id), kind="subnet", provider=subnet.provider,
                   label=subnet.name or subnet.subnet_id)
    for rule_set in snapshot.rule_sets:
        g.add_node(rule_set_node(rule_set.resource_id), kind=rule_set.kind.value,
                   provider=rule_set.provider, label=rule_set.name or rule_set.resource_id)
    assets: dict[str, Asset] = {}
    for asset in snapshot.assets:
        assets[asset.asset_id] = asset
        g.add_node(asset_node(asset.asset_id), kind=asset.kind, provider=asset.provider,
                   label=asset.name or asset.asset_id)
        if asset.instance_id:
            node = f"instance:{asset.instance_id}"
            g.add_node(node, kind="instance", provider=asset.provider, label=asset.instance_id)
            _attach(g, asset_node(asset.asset_id), node, "part_of")
    for subnet in snapshot.subnets:
        _attach(g, f"network:{subnet.network}", subnet_node(subnet.subnet_id), "contains")
        for resource_id in subnet.rule_set_ids:
            _attach(g, rule_set_node(resource_id), subnet_node(subnet.subnet_id), "guards")
    for network in snapshot.networks:
        for resource_id in network.rule_set_ids:
            _attach(g, rule_set_node(resource_id), f"network:{network.network_id}", "guards")
    for asset in snapshot.assets:
        node = asset_node(asset.asset_id)
        if asset.subnet:
            _attach(g, subnet_node(asset.subnet), node, "contains")
        elif asset.network:
            _attach(g, f"network:{asset.network}", node, "contains")
        for resource_id in asset.rule_set_ids:
            _attach(g, rule_set_node(resource_id), node, "guards")
    for exposure in exposures:
        asset = assets.get(exposure.asset_id)
        if asset is None:
            continue
        # Layers in path order; steps of one layer side by side are alternatives (two
        # security groups that each admit part of the traffic), not one after the other.
        levels: list[tuple[str, list[str]]] = [("internet", [INTERNET[exposure.family]])]
        last_decision = ""
        for step in exposure.path:
            if step.layer == "route" and asset.subnet:
                node = subnet_node(asset.subnet)
            elif step.rule_set_id and step.decision != "no_match":
                node = rule_set_node(step.rule_set_id)
            else:
                continue
            if node not in g:
                continue
            # An allow ends its piece's walk at this layer, so a later step of the same layer
            # after an allow belongs to another piece: an alternative. After goto_next it is
            # the next level of a hierarchy (organization, then folder).
            if node in levels[-1][1]:
                pass
            elif levels[-1][0] == step.layer and last_decision == "allow":
                levels[-1][1].append(node)
            else:
                levels.append((step.layer, [node]))
            last_decision = step.decision
        levels.append(("asset", [asset_node(asset.asset_id)]))
        label = f"{exposure.protocol} {exposure.ports} ({exposure.source})"
        for (_, sources), (_, targets) in zip(levels, levels[1:], strict=False):
            for source in sources:
                for target in targets:
                    g.add_edge(source, target)
                    admits = g.edges[source, target].setdefault("admits", {})
                    labels = admits.setdefault(exposure.asset_id, [])
                    if label not in labels:
                        labels.append(label)
    return g


def exposure_subgraph(g: nx.DiGraph, asset_id: str | None = None) -> nx.DiGraph:
    """Only the ``admits`` edges (of one asset, when given)."""
    edges = [(u, v) for u, v, data in g.edges(data=True) if data.get("admits")
             and (asset_id is None or asset_id in data["admits"])]
    return g.edge_subgraph(edges)


def exposure_paths(g: nx.DiGraph, asset_id: str) -> list[list[str]]:
    """Every node path by which the internet reaches ``asset_id``."""
    sub = exposure_subgraph(g, asset_id)
    target = asset_node(asset_id)
    if target not in sub:
        return []
    paths: list[list[str]] = []
    for source in INTERNET.values():
        if source in sub:
            paths.extend(nx.all_simple_paths(sub, source, target))
    return sorted(paths)
