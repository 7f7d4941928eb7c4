"""Effective exposure: which assets the internet can actually reach, on which ports, and why.

Rule-by-rule checks say a rule is permissive; this says whether anything is reachable. For every
asset the layers of its cloud are walked in the cloud's order (``scanner.reach``), starting from
the public address space of each family (less the user's trusted ranges). What gets through all
layers is split by the rules that let it, so each reported port carries its path: which rule in
which layer admitted it, and which rule decided in every other layer.

Sources:
- ``internet``: ports reachable from every public address of the family (less trusted ranges);
- ``broad``: reachable from at least 2**(32 - broad_prefix) public IPv4 addresses (IPv6:
  2**(128 - broad_prefix_v6)), but not from the whole internet.

An asset whose layers cannot be decided from the snapshot (a rule set or subnet referenced but
not collected, its scope failed) is *unknown*: never reported as safe.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from scanner.catalogue import services_in
from scanner.exposure_classes import ExposureMemo
from scanner.gcpause import collector_paused
from scanner.model import Asset, Exposure, PathStep, RuleRef, Snapshot
from scanner.netmath import ALL_PROTOCOLS, IPV4, IPV6, AddressSet, PortSet
from scanner.reach import class_key, reacher
from scanner.reach.base import (
    FAMILY_NAMES,
    Piece,
    Reach,
    SnapshotIndex,
    UnknownExposure,
    Walk,
    merge_paths,
    public_offer,
)
from scanner.reach.fast import Intervals
from scanner.traffic import ALL_PROTOCOL_SET, Box, ProtocolSet, TrafficSpace

SOURCES = ("internet", "broad")
_PORT_PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True, slots=True)
class ExposureAnalysis:
    """The effective exposure of every asset of one snapshot."""

    exposures: tuple[Exposure, ...] = ()
    # (rule_set_id, Rule.identity()) -> assets the internet (or a broad range) reaches through
    # that rule: it admitted the traffic at its layer and every other layer let it through.
    live_rules: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    # The same, traffic by traffic: what of the internet reaches which assets through the
    # rule, so a finding is live only when its own protocols, ports and family get through.
    rule_reach: Mapping[tuple[str, str], tuple[RuleReach, ...]] = field(default_factory=dict)
    unknown_assets: tuple[str, ...] = ()
    unknown_reasons: Mapping[str, str] = field(default_factory=dict)
    # Per asset, what people should know: replies blocked by a stateless ACL, peers that could
    # not be resolved, an unknown public IP SKU.
    notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    assets_checked: int = 0
    trusted_cidrs: tuple[str, ...] = ()
    broad_prefix: int = 8
    # Equivalence classes walked or reused (assets with the same layers share one), and how
    # many of them came from the memo of an earlier scan: figures, not part of the answer.
    classes: int = field(default=0, compare=False)
    reused: int = field(default=0, compare=False)
    _by_asset: Mapping[str, tuple[Exposure, ...]] = field(
        default_factory=dict, repr=False, compare=False)

    def for_asset(self, asset_id: str) -> tuple[Exposure, ...]:
        return self._by_asset.get(asset_id, ())

    def exposed_assets(self) -> list[str]:
        return sorted(self._by_asset)

    def reachable(self, asset_id: str, source: str = "internet") -> dict[str, PortSet]:
        """Protocol label -> ports reachable from ``source`` (both families together)."""
        out: dict[str, PortSet] = {}
        for exposure in self.for_asset(asset_id):
            if exposure.source == source:
                out[exposure.protocol] = out.get(exposure.protocol, PortSet()) | exposure.ports
        return out

    def by_family(self, asset_id: str, source: str = "internet") -> dict[str, dict[str, PortSet]]:
        """Family (``ipv4``/``ipv6``) -> protocol label -> ports reachable from ``source``."""
        out: dict[str, dict[str, PortSet]] = {}
        for exposure in self.for_asset(asset_id):
            if exposure.source == source:
                labels = out.setdefault(exposure.family, {})
                labels[exposure.protocol] = labels.get(exposure.protocol, PortSet()) \
                    | exposure.ports
        return out

    def reachable_ports(self, asset_id: str, protocol: str, source: str = "internet") -> PortSet:
        """Ports of one protocol (``tcp``, ``udp``, ``"47"``) reachable from ``source``."""
        number = ProtocolSet.of(protocol)
        out = PortSet()
        for exposure in self.for_asset(asset_id):
            if exposure.source == source and protocols_of(exposure).intersection(number):
                out = out | exposure.ports
        return out

    def is_unknown(self, asset_id: str) -> bool:
        return asset_id in self.unknown_reasons

    def is_live(self, rule_set_id: str, rule_identity: str) -> bool:
        return bool(self.live_rules.get((rule_set_id, rule_identity)))


@dataclass(frozen=True, slots=True)
class RuleReach:
    """Traffic that reaches ``assets`` from the internet (or a broad range), admitted by one
    rule: the rule decided at its layer and every other layer let the traffic through."""

    family: str  # ipv4 | ipv6
    source: str  # internet | broad
    protocols: ProtocolSet
    ports: PortSet
    assets: frozenset[str]

    def overlaps(self, family: str, protocols: ProtocolSet, ports: PortSet | None) -> bool:
        """Whether some of ``protocols`` x ``ports`` of ``family`` is in this reach (``ports``
        None: protocols without ports, admitted whole)."""
        if family != self.family or not self.protocols.intersection(protocols):
            return False
        return ports is None or self.ports.overlaps(ports)


def protocols_of(exposure: Exposure) -> ProtocolSet:
    """The protocol numbers an exposure's label stands for."""
    return parse_protocol_label(exposure.protocol)


def parse_protocol_label(label: str) -> ProtocolSet:
    """An exposure's protocols: the concrete form (``tcp,icmp,59-131``, see
    ``ProtocolSet.concrete``), or the older ``all`` / ``all except tcp,udp`` labels of stored
    reports."""
    if label == "all":
        return ALL_PROTOCOL_SET
    if not label.startswith("all except "):
        return ProtocolSet.parse_concrete(label.split(","))
    if label.startswith("all except "):
        missing = ProtocolSet(tuple(ProtocolSet.of(p).intervals[0]
                                    for p in label[len("all except "):].split(",")))
        return ALL_PROTOCOL_SET.difference(missing)
    return ProtocolSet(tuple(ProtocolSet.of(p).intervals[0] for p in label.split(",")))


@lru_cache(maxsize=65536)
def service_keys(protocols: ProtocolSet, ports: PortSet) -> tuple[str, ...]:
    """Catalogue keys of the services ``protocols`` x ``ports`` reaches."""
    if protocols.is_all():
        names = [ALL_PROTOCOLS]
    else:
        names = [p for p in _PORT_PROTOCOLS if ProtocolSet.of(p).intersection(protocols)]
    keys: dict[str, None] = {}
    for name in names:
        for hit in services_in(name, ports):
            keys[hit.service.key] = None
    return tuple(keys)


# --- turning what got through into exposures ------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Group:
    """One exposure of a template: shared by every asset with the same layers."""

    source: str
    family: int
    protocols: ProtocolSet
    ports: PortSet
    path: tuple[PathStep, ...]
    services: tuple[str, ...]
    admitted_by: frozenset[tuple[str, str]]  # (rule set, rule) of the allows credited
    label: str  # ProtocolSet.exact_label, computed once
    admitters: tuple[RuleRef, ...] = ()


_Template = tuple[str, tuple["_Group", ...], tuple[str, ...]]  # via, groups, notes


def _credited(shares: Mapping[int, int], broad: int) -> list[int]:
    """The pieces credited with admitting a group: those that decided for at least a broad
    range of its sources. A piece that decided only for a few addresses (an organization
    policy's allow for a trusted service's range, ahead of the VPC rule that admits everyone
    else) carried part of the traffic but is not what opened it to the internet; when every
    piece is that small (a handful of narrow rules adding up), all of them are credited."""
    wide = [i for i, n in shares.items() if n >= broad]
    return sorted(wide or shares)


def _admitters(paths: Sequence[tuple[PathStep, ...]]) -> tuple[RuleRef, ...]:
    """The allows that decided on these paths, in path order (goto_next and no-match steps
    hand the decision on: they admit nothing)."""
    seen: dict[tuple[str, str], RuleRef] = {}
    for path in paths:
        for s in path:
            if s.decision == "allow" and s.rule_set_id and s.rule_id:
                seen.setdefault((s.rule_set_id, s.rule_id),
                                RuleRef(s.rule_set_id, s.rule_id))
    return tuple(seen.values())


# One protocol's ports swept: (source, pieces holding the ports, the ports) per atom.
_Atoms = list[tuple[str, frozenset[int], Intervals]]


def _groups(reach: Reach, whole: int, broad: int) -> list[_Group]:
    """Split what got through into (source, protocols, ports, path) groups, exactly.

    Pieces are disjoint, so the number of remote addresses that reach one (protocol, port) is
    the sum over the pieces holding it: at least ``whole`` is the internet, at least ``broad``
    a broad range. Ports are grouped by the set of pieces that admit them; each group credits
    the pieces that decided for a broad share of it (``_credited``), and its path and
    ``admitted_by`` come from those.
    """
    pieces = reach.pieces
    # (protocols, ports, addresses admitted, piece): a piece's boxes are disjoint, so boxes of
    # one piece with the same protocols and ports add up to one entry.
    entries: list[tuple[Intervals, Intervals, int, int]] = []
    edges_found: set[int] = set()
    for i, piece in enumerate(pieces):
        sums: dict[tuple[Intervals, Intervals], int] = {}
        for p, q, a in piece.boxes:
            n = 0
            for lo, hi in a:
                n += hi - lo + 1
            sums[p, q] = sums.get((p, q), 0) + n
        for (p, q), n in sums.items():
            entries.append((p, q, n, i))
            for lo, hi in p:
                edges_found.add(lo)
                edges_found.add(hi + 1)
    # Protocols are cut where some entry starts or ends: within a cell every protocol is held
    # by the same entries, so one sweep of the ports answers for the whole cell.
    edges = sorted(edges_found)
    cells: list[list[int]] = [[] for _ in range(len(edges) - 1)]
    for e, (p, _, _, _) in enumerate(entries):
        for lo, hi in p:
            for k in range(bisect_left(edges, lo), bisect_left(edges, hi + 1)):
                cells[k].append(e)
    # (source, ports, pieces) -> protocol spans
    found: dict[tuple[str, Intervals, frozenset[int]], list[tuple[int, int]]] = {}
    # (source, pieces) -> piece -> the most addresses it decided for at one port
    shares: dict[tuple[str, frozenset[int]], dict[int, int]] = {}
    swept: dict[tuple[int, ...], _Atoms] = {}  # cells held by the same entries sweep alike
    for k, members in enumerate(cells):
        if not members:
            continue
        signature = tuple(members)
        atoms = swept.get(signature)
        if atoms is None:
            atoms = swept[signature] = _sweep([entries[e] for e in members], whole, broad,
                                              shares)
        span = (edges[k], edges[k + 1] - 1)
        for source, holders, ports in atoms:
            found.setdefault((source, ports, holders), []).append(span)
    out = []
    # (source, pieces) -> path, admitters, admitted_by of the pieces credited
    credits: dict[tuple[str, frozenset[int]], tuple] = {}
    for (source, ports, holders), spans in found.items():
        credit = credits.get((source, holders))
        if credit is None:
            paths = [pieces[i].path for i in _credited(shares[(source, holders)], broad)]
            admitters = _admitters(paths)
            credit = credits[(source, holders)] = (
                merge_paths(paths), admitters,
                frozenset((r.rule_set_id, r.rule_id) for r in admitters))
        protocols = ProtocolSet(tuple(spans))
        port_set = PortSet(ports)
        out.append(_Group(source, reach.family, protocols, port_set, credit[0],
                          service_keys(protocols, port_set), credit[2],
                          protocols.exact_label(), credit[1]))
    out.sort(key=lambda g: (SOURCES.index(g.source), g.protocols.intervals, g.ports.intervals))
    return out


def _sweep(members: list[tuple[Intervals, Intervals, int, int]], whole: int, broad: int,
           shares: dict[tuple[str, frozenset[int]], dict[int, int]]) -> _Atoms:
    """One protocol cell: the ports swept in order, each stretch between two edges labelled by
    its source (enough addresses in total) and the pieces holding it; ``shares`` records each
    holder's largest count. Adjacent stretches with the same label are one atom."""
    events: list[tuple[int, int, int]] = []  # (port, +/- addresses, piece)
    for _, q, n, i in members:
        for a, z in q:
            events.append((a, n, i))
            events.append((z + 1, -n, i))
    events.sort()
    atoms: dict[tuple[str, frozenset[int]], list[list[int]]] = {}
    active: dict[int, int] = {}  # piece -> addresses it admits at this port
    count = 0
    at = 0
    total = len(events)
    while at < total:
        port = events[at][0]
        while at < total and events[at][0] == port:
            _, delta, piece = events[at]
            count += delta
            held = active.get(piece, 0) + delta
            if held:
                active[piece] = held
            else:
                del active[piece]
            at += 1
        if at == total:
            break
        if count >= whole:
            source = "internet"
        elif count >= broad:
            source = "broad"
        else:
            continue
        end = events[at][0] - 1
        label = (source, frozenset(active))
        spans = atoms.get(label)
        if spans is None:
            atoms[label] = [[port, end]]
            mine = shares.setdefault(label, {})
        else:
            if spans[-1][1] == port - 1:
                spans[-1][1] = end
            else:
                spans.append([port, end])
            mine = shares[label]
        for piece, held in active.items():
            if held > mine.get(piece, 0):
                mine[piece] = held
    return [(source, holders, tuple((lo, hi) for lo, hi in spans))
            for (source, holders), spans in atoms.items()]


def _trusted(cidrs: Sequence[str], family: int) -> AddressSet | None:
    if not cidrs:
        return None
    return AddressSet.from_cidrs(family, cidrs)


# --- the analysis ---------------------------------------------------------------------------


def analyze_exposure(
    snapshot: Snapshot,
    trusted_cidrs: Sequence[str] = (),
    broad_prefix: int = 8,
    broad_prefix_v6: int = 32,
    memo: ExposureMemo | None = None,
) -> ExposureAnalysis:
    """The effective exposure of every asset in ``snapshot``, from the snapshot alone.

    Assets are walked once per equivalence class (``scanner.reach.class_key``) and the answer
    is bound to every member. With ``memo`` (kept from the previous scan) classes whose content
    did not change are not walked at all."""
    with collector_paused():  # millions of acyclic tuples, all kept: see scanner.gcpause
        return _analyze(snapshot, trusted_cidrs, broad_prefix, broad_prefix_v6, memo)


def _analyze(snapshot: Snapshot, trusted_cidrs: Sequence[str], broad_prefix: int,
             broad_prefix_v6: int, memo: ExposureMemo | None) -> ExposureAnalysis:
    trusted = {family: _trusted(trusted_cidrs, family) for family in (IPV4, IPV6)}
    offers = {family: public_offer(family, trusted[family]) for family in (IPV4, IPV6)}
    # (whole internet, broad) address counts per family
    limits = {
        family: (max(1, sum(hi - lo + 1 for _, _, a in offers[family] for lo, hi in a)),
                 2 ** (bits - prefix))
        for family, bits, prefix in ((IPV4, 32, broad_prefix), (IPV6, 128, broad_prefix_v6))
    }
    settings = (tuple(trusted_cidrs), broad_prefix, broad_prefix_v6)
    index = SnapshotIndex(snapshot)
    cache: dict[Any, Any] = {}
    # walk key -> (via, groups, notes): one evaluation per distinct combination of layers
    templates: dict[Any, _Template] = {}

    def answer(walks: Sequence[Walk]) -> _ClassAnswer:
        found: list[_Template] = []
        for walk in walks:
            template = templates.get(walk.key)
            if template is None:
                reach = walk.run()  # the pieces are dropped once grouped: memory stays flat
                whole, broad = limits[reach.family]
                template = (reach.via, tuple(_groups(reach, whole, broad)), reach.notes)
                templates[walk.key] = template
            found.append(template)
        notes = tuple(dict.fromkeys(n for _, _, walk_notes in found for n in walk_notes))
        return _ClassAnswer(tuple(found), notes)

    if memo is not None:
        memo.begin()
    classes: dict[Hashable, _ClassAnswer | None] = {}  # None: members are walked one by one
    # class (or lone asset) -> its answer and members, in the order of each's first member
    bound: dict[Hashable, tuple[_ClassAnswer, list[str]]] = {}
    exposures: list[Exposure] = []
    by_asset: dict[str, tuple[Exposure, ...]] = {}
    unknown: dict[str, str] = {}
    notes: dict[str, tuple[str, ...]] = {}
    for asset in snapshot.assets:
        walker = reacher(asset.provider)
        if walker is None:
            unknown[asset.asset_id] = f"no exposure model for provider {asset.provider!r}"
            continue
        error = index.scope_error(asset)
        if error is not None:
            unknown[asset.asset_id] = f"{error.scope_label()} could not be read: {error.reason}"
            continue
        found = class_key(asset, index)
        mine: _ClassAnswer | None = None
        key: Hashable = None
        if found is not None:
            key, refs = found
            if key in classes:
                mine = classes[key]
            else:
                content = None
                if memo is not None:
                    content = memo.content_key(settings, key,
                                               tuple(index.rule_sets[i] for i in refs))
                    mine = memo.get(content)
                if mine is None:
                    try:
                        mine = answer(walker(asset, index, offers, cache))
                    except UnknownExposure as exc:
                        # The reason may name the asset: the other members walk for their own.
                        classes[key] = None
                        unknown[asset.asset_id] = exc.reason
                        continue
                    if memo is not None:
                        memo.put(content, mine)
                classes[key] = mine
        if mine is None:
            try:
                mine = answer(walker(asset, index, offers, cache))
            except UnknownExposure as exc:
                unknown[asset.asset_id] = exc.reason
                continue
            key = ("asset", asset.asset_id)
        entry = bound.get(key)
        if entry is None:
            entry = bound[key] = (mine, [])
        entry[1].append(asset.asset_id)
        if mine.notes:
            notes[asset.asset_id] = mine.notes
        own = [_exposure(asset, via, group) for via, groups, _ in mine.walks for group in groups]
        if own:
            by_asset[asset.asset_id] = tuple(own)
            exposures.extend(own)
    if memo is not None:
        memo.end()
    live: dict[tuple[str, str], set[str]] = {}
    # rule -> (family, source, protocols, ports) -> assets reached that way through it
    reached: dict[tuple[str, str], dict[tuple, set[str]]] = {}
    for mine, members in bound.values():
        for _, groups, _ in mine.walks:
            for group in groups:
                traffic = (group.family, group.source, group.protocols, group.ports)
                for rule in group.admitted_by:
                    live.setdefault(rule, set()).update(members)
                    reached.setdefault(rule, {}).setdefault(traffic, set()).update(members)
    return ExposureAnalysis(
        exposures=tuple(exposures),
        live_rules={rule: frozenset(ids) for rule, ids in live.items()},
        rule_reach={rule: tuple(RuleReach(FAMILY_NAMES[family], source, protocols, ports,
                                          frozenset(ids))
                                for (family, source, protocols, ports), ids in found.items())
                    for rule, found in reached.items()},
        unknown_assets=tuple(sorted(unknown)),
        unknown_reasons=unknown,
        notes=notes,
        assets_checked=len(snapshot.assets),
        trusted_cidrs=tuple(trusted_cidrs),
        broad_prefix=broad_prefix,
        classes=len(bound),
        reused=memo.stats.reused if memo is not None else 0,
        _by_asset=by_asset,
    )


@dataclass(frozen=True, slots=True)
class _ClassAnswer:
    """The exposure of one equivalence class: per walk (via, groups, notes), and the notes of
    all walks once each, as every member carries them."""

    walks: tuple[_Template, ...]
    notes: tuple[str, ...]


def _exposure(asset: Asset, via: str, group: _Group) -> Exposure:
    return Exposure(
        asset_id=asset.asset_id,
        provider=asset.provider,
        account=asset.account,
        region=asset.region,
        source=group.source,
        family=FAMILY_NAMES[group.family],
        protocol=group.label,
        ports=group.ports,
        services=group.services,
        via=via,
        path=group.path,
        admitted_by=group.admitters,
    )


# --- drift: what became reachable -----------------------------------------------------------

_POINT = AddressSet(IPV4, ((0, 0),))  # a stand-in address: spaces below are protocols x ports


def _space(exposures: Iterable[Exposure]) -> TrafficSpace:
    boxes = TrafficSpace(IPV4)
    for exposure in exposures:
        boxes = boxes.union(TrafficSpace(IPV4, (Box(protocols_of(exposure), exposure.ports,
                                                    _POINT),)))
    return boxes


def newly_exposed(before: ExposureAnalysis, after: ExposureAnalysis) -> list[dict[str, Any]]:
    """What ``after`` lets the internet (or a broad range) reach that ``before`` did not.

    One entry per (asset, source, family, protocol group). ``was_unknown`` marks assets whose
    exposure the earlier analysis could not decide (so "new" may have been there already).
    Traffic reachable from the whole internet before is not new when it is broad after.
    """
    out: list[dict[str, Any]] = []
    for asset_id in after.exposed_assets():
        now = after.for_asset(asset_id)
        then = before.for_asset(asset_id)
        for family in ("ipv4", "ipv6"):
            for source in SOURCES:
                current = [e for e in now if e.family == family and e.source == source]
                if not current:
                    continue
                # broad after is not new if the whole internet reached it before.
                earlier_sources = SOURCES if source == "broad" else ("internet",)
                earlier = [e for e in then if e.family == family and e.source in earlier_sources]
                added = _space(current).difference(_space(earlier))
                for protocols, ports in added.grouped():
                    out.append({
                        "asset_id": asset_id,
                        "provider": current[0].provider,
                        "account": current[0].account,
                        "region": current[0].region,
                        "source": source,
                        "family": family,
                        "protocol": protocols.exact_label(),
                        "protocols": protocols.concrete(),
                        "ports": ports.to_list(),
                        "services": list(service_keys(protocols, ports)),
                        "was_unknown": before.is_unknown(asset_id),
                    })
    return out


def graph(snapshot: Snapshot, analysis: ExposureAnalysis):
    """The exposure graph (``networkx.DiGraph``): structure, and the traffic each layer admits."""
    from scanner.exposure_graph import build_graph

    return build_graph(snapshot, analysis.exposures, analysis.trusted_cidrs)


__all__ = [
    "ExposureAnalysis",
    "ExposureMemo",
    "Piece",
    "RuleReach",
    "Reach",
    "analyze_exposure",
    "graph",
    "newly_exposed",
    "protocols_of",
    "service_keys",
]
