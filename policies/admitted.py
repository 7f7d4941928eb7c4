"""What a rule admits, by source level, computed from the traffic-space algebra.

A rule is judged by the traffic it really lets through: its own match (protocol x ports x
remote addresses, ``scanner.traffic.rule_space``) minus what earlier deny and goto_next rules
of the same first-match rule set take first. Disabled rules admit nothing. The public part of
that traffic is then split into levels, per address family:

- ``internet``: ports on which the whole public space of the family gets in;
- ``broad``: ports on which at least a broad range (``PolicySettings.broad_prefix``) of
  untrusted public addresses gets in, but not the whole internet;
- ``specific``: ports on which some untrusted public addresses get in, fewer than broad;
- ``public``: the three together.

Trusted ranges (``--trusted-cidr``) never make a rule narrower than the whole internet (a
``0.0.0.0/0`` rule still admits everyone); they exempt rules whose public remote side lies
inside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scanner.netmath import (
    IPV4,
    IPV6,
    PROTOCOL_NUMBERS,
    PUBLIC_SIZE,
    AddressSet,
    PortSet,
)
from scanner.netmath import PORT_PROTOCOLS as _PORT_PROTOCOL_NAMES
from scanner.traffic import ALL_PROTOCOL_SET, ProtocolSet, TrafficSpace

# The port-bearing protocols of scanner.netmath, by number, in number order (tcp, udp, sctp).
PORT_PROTOCOLS: dict[str, int] = {
    name: PROTOCOL_NUMBERS[name] for name in sorted(_PORT_PROTOCOL_NAMES, key=PROTOCOL_NUMBERS.get)
}
PORT_PROTOCOL_SET = ProtocolSet(tuple((n, n) for n in PORT_PROTOCOLS.values()))
FAMILY_NAMES = {IPV4: "ipv4", IPV6: "ipv6"}
LEVELS = ("internet", "broad", "specific")


@dataclass(frozen=True, slots=True)
class Flows:
    """Admitted traffic of one level and family: ports per port-bearing protocol (tcp, udp,
    sctp), and the other protocols (ICMP, ESP, GRE...) admitted whole."""

    ports: Mapping[str, PortSet]
    other: ProtocolSet = ProtocolSet()

    @classmethod
    def from_groups(cls, groups: Iterable[tuple[ProtocolSet, PortSet]]) -> Flows:
        ports: dict[str, PortSet] = {}
        other = ProtocolSet()
        for protocols, port_set in groups:
            for name, number in PORT_PROTOCOLS.items():
                if number in protocols:
                    ports[name] = ports.get(name, PortSet()).union(port_set)
            rest = protocols.difference(PORT_PROTOCOL_SET)
            if rest:
                other = ProtocolSet(other.intervals + rest.intervals)
        return cls(ports, other)

    def is_empty(self) -> bool:
        return not any(self.ports.values()) and not self.other

    def __bool__(self) -> bool:
        return not self.is_empty()

    def all_protocols(self) -> bool:
        """Every protocol, and every port of the port-bearing ones."""
        return (self.other == ALL_PROTOCOL_SET.difference(PORT_PROTOCOL_SET)
                and all(self.ports.get(p, PortSet()).is_all() for p in PORT_PROTOCOLS))

    def minus(self, other: Flows) -> Flows:
        if other.is_empty():
            return self
        ports = {p: s.difference(other.ports.get(p, PortSet())) for p, s in self.ports.items()}
        return Flows({p: s for p, s in ports.items() if s}, self.other.difference(other.other))

    def union(self, other: Flows) -> Flows:
        # Most unions meet an empty side (a rule admits one level, not all three).
        if other.is_empty():
            return self
        if self.is_empty():
            return other
        ports = dict(self.ports)
        for p, s in other.ports.items():
            ports[p] = ports.get(p, PortSet()).union(s)
        return Flows(ports, ProtocolSet(self.other.intervals + other.other.intervals))

    def intersect(self, other: Flows) -> Flows:
        ports = {p: s.intersection(other.ports[p]) for p, s in self.ports.items()
                 if p in other.ports}
        return Flows({p: s for p, s in ports.items() if s}, self.other.intersection(other.other))

    def only(self, protocols: ProtocolSet) -> Flows:
        """The part on the given protocols."""
        ports = {p: s for p, s in self.ports.items() if PORT_PROTOCOLS[p] in protocols}
        return Flows(ports, self.other.intersection(protocols))

    def to_dict(self) -> dict[str, str]:
        """``{"tcp": "22,80", "other": "icmp"}`` for evidence."""
        out = {p: str(s) for p, s in sorted(self.ports.items()) if s}
        if self.other:
            out["other"] = self.other.label()
        return out


NO_FLOWS = Flows({})


@dataclass(frozen=True, slots=True)
class Levels:
    """One rule's admitted public traffic of one family, by level."""

    internet: Flows = NO_FLOWS
    broad: Flows = NO_FLOWS
    specific: Flows = NO_FLOWS

    def get(self, level: str) -> Flows:
        if level == "public":
            return self.internet.union(self.broad).union(self.specific)
        return getattr(self, level)

    def is_empty(self) -> bool:
        return self.internet.is_empty() and self.broad.is_empty() and self.specific.is_empty()


NO_LEVELS = Levels()


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Address counts that make a level, and the trusted ranges as traffic to take away."""

    broad: Mapping[int, int]
    trusted: Mapping[int, TrafficSpace]

    @classmethod
    def build(cls, trusted_cidrs: Iterable[str], broad_prefix: int,
              broad_prefix_v6: int) -> Thresholds:
        trusted = tuple(trusted_cidrs)
        return cls(
            broad={IPV4: 2 ** (32 - broad_prefix), IPV6: 2 ** (128 - broad_prefix_v6)},
            trusted={f: TrafficSpace.everything(f, AddressSet.from_cidrs(f, trusted))
                     for f in (IPV4, IPV6)},
        )


def levels_of(space: TrafficSpace, thresholds: Thresholds) -> Levels:
    """Split admitted traffic (any addresses) into internet / broad / specific."""
    family = space.family
    public = space.intersection(TrafficSpace.everything(family))
    if public.is_empty():
        return NO_LEVELS
    trusted = thresholds.trusted[family]
    if len(public.boxes) == 1:
        # One box (the usual rule, nothing earlier took part of it): every port in it is
        # reached from the same addresses, so one count decides its level.
        box = public.boxes[0]
        untrusted_addresses = (box.addresses.difference(trusted.boxes[0].addresses)
                               if trusted.boxes else box.addresses)
        remaining = untrusted_addresses.count()
        if not remaining:
            return NO_LEVELS
        flows = Flows.from_groups([(box.protocols, box.ports)])
        if box.addresses.count() == PUBLIC_SIZE[family]:
            return Levels(internet=flows)
        if remaining >= thresholds.broad[family]:
            return Levels(broad=flows)
        return Levels(specific=flows)
    untrusted = public.difference(trusted) if trusted.boxes else public
    if untrusted.is_empty():
        return NO_LEVELS
    internet = Flows.from_groups(public.grouped(PUBLIC_SIZE[family]))
    broad = Flows.from_groups(untrusted.grouped(thresholds.broad[family])).minus(internet)
    specific = Flows.from_groups(untrusted.grouped(1)).minus(internet).minus(broad)
    return Levels(internet, broad, specific)
