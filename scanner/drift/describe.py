"""Saying what a drift item opened, and how severe that is.

The traffic a change opened (``Classification.opened``) is cut into what the whole internet now
reaches and what only some sources reach, each with the services of the catalogue it includes,
so the summary sentence can say what is now reachable from where.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from scanner.catalogue import services_met
from scanner.drift.classify import ICMP_PROTOCOLS, Classification
from scanner.model import Direction, Effect, Rule, Severity
from scanner.netmath import (
    ALL_PROTOCOLS,
    IPV4,
    IPV6,
    PUBLIC_SIZE,
    PUBLIC_SPACE,
    AddressSet,
    PortSet,
)
from scanner.traffic import Box, ProtocolSet, TrafficSpace

FAMILY_NAMES = {IPV4: "IPv4", IPV6: "IPv6"}
MAX_SOURCES = 4  # CIDRs named in one entry; the rest are counted
MAX_ENTRIES = 3  # entries named in one sentence
# At least this many public addresses (an IPv4 /8, an IPv6 /32) is a broad source.
_BROAD = {IPV4: 2**24, IPV6: 2**96}
_ICMP_NUMBERS = {1, 58}


def _port_words(protocols: ProtocolSet, ports: PortSet) -> str:
    if ports.is_all():
        return ""
    numbers = set(protocols.numbers()) if not protocols.is_all() else set()
    if numbers and numbers <= _ICMP_NUMBERS:
        types = sorted({lo // 256 for lo, _ in ports.intervals}
                       | {hi // 256 for _, hi in ports.intervals})
        return " type " + ",".join(str(t) for t in types)
    return f" {ports}"


def _services(protocols: ProtocolSet, ports: PortSet) -> list:
    names = [ALL_PROTOCOLS] if protocols.is_all() else [
        n for n in protocols.names() if n in ("tcp", "udp", "sctp")]
    out: dict[object, None] = {}
    for name in names:
        for service in services_met(name, ports):
            out[service] = None
    return list(out)


def service_names(protocols: ProtocolSet, ports: PortSet) -> list[str]:
    return list(dict.fromkeys(s.name for s in _services(protocols, ports)))


def service_keys(protocols: ProtocolSet, ports: PortSet) -> list[str]:
    """Catalogue keys (``ssh``), as findings' evidence and exposures name services."""
    return list(dict.fromkeys(s.key for s in _services(protocols, ports)))


@lru_cache(maxsize=4096)
def _words(protocols: ProtocolSet, ports: PortSet) -> tuple[str, tuple[str, ...], str,
                                                            tuple[str, ...], tuple[str, ...]]:
    """An entry's words for one (protocols, ports): its label, ports, ``what``, service keys
    and names. Items repeat the same few (a port opened, every port), and the services are
    looked up once for both lists. Tuples: each entry gets lists of its own."""
    label = protocols.label()
    services = _services(protocols, ports)
    return (label, tuple(ports.to_list()), label + _port_words(protocols, ports),
            tuple(dict.fromkeys(s.key for s in services)),
            tuple(dict.fromkeys(s.name for s in services)))


def _entry(direction: Direction, family: int, protocols: ProtocolSet, ports: PortSet,
           internet: bool, broad: bool, sources: list[str]) -> dict[str, Any]:
    label, port_list, what, keys, names = _words(protocols, ports)
    return {
        "direction": direction.value, "family": FAMILY_NAMES[family].lower(),
        "protocols": label, "ports": list(port_list), "what": what,
        "internet": internet, "broad": broad, "sources": sources,
        "services": list(keys), "service_names": list(names),
    }


def family_label(family: object) -> str:
    """``IPv4`` for sentences and tables, from the JSON's ``ipv4``."""
    return {"ipv4": "IPv4", "ipv6": "IPv6"}.get(str(family).lower(), str(family))


def entry_service_names(entry: Mapping[str, Any]) -> list[str]:
    return list(entry.get("service_names", entry.get("services")) or ())


def _sources(addresses: AddressSet) -> list[str]:
    """The first CIDRs of the sources, and how many more there are."""
    sources = addresses.to_cidrs(MAX_SOURCES)
    more = addresses.cidr_count() - MAX_SOURCES if len(sources) == MAX_SOURCES else 0
    return sources + [f"{more} more"] if more > 0 else sources


def _one_box(direction: Direction, family: int, box: Box) -> list[dict[str, Any]]:
    """``_entries`` of a space of one box (most items): it is its own group, and reaches the
    whole internet or names its sources (once the whole internet is said, what is left of the
    box is private and adds nothing)."""
    if not (box.protocols and box.ports.intervals and box.addresses.intervals):
        return []
    public_count = box.addresses.intersection(PUBLIC_SPACE[family]).count()
    if public_count >= PUBLIC_SIZE[family]:
        return [_entry(direction, family, box.protocols, box.ports, True, True, ["internet"])]
    return [_entry(direction, family, box.protocols, box.ports, False,
                   public_count >= _BROAD[family], _sources(box.addresses))]


def _entries(direction: Direction, family: int, space: TrafficSpace) -> list[dict[str, Any]]:
    if len(space.boxes) == 1 and space.boxes[0].addresses.family == family:
        return _one_box(direction, family, space.boxes[0])
    addresses = AddressSet(family, tuple(i for b in space.boxes for i in b.addresses.intervals))
    public_count = addresses.intersection(PUBLIC_SPACE[family]).count()
    whole: list[tuple[ProtocolSet, PortSet]] = []
    # Boxes are disjoint: those that hold one packet kind (protocol and port) hold different
    # addresses, so no packet kind has more public sources than all the boxes together. When
    # they hold fewer than the internet, nothing is open to the whole of it.
    if public_count >= PUBLIC_SIZE[family]:
        # space ∩ TrafficSpace.everything(family), the same boxes, without the generic algebra.
        whole = TrafficSpace(family, tuple(
            Box(b.protocols, b.ports, public) for b in space.boxes
            if b.protocols and b.ports.intervals
            and (public := b.addresses.intersection(PUBLIC_SPACE[family])).intervals
        )).grouped(PUBLIC_SIZE[family])
    entries = [_entry(direction, family, protocols, ports, True, True, ["internet"])
               for protocols, ports in whole]
    rest = space
    if whole:
        rest = space.difference(TrafficSpace(family, tuple(
            Box(protocols, ports, PUBLIC_SPACE[family]) for protocols, ports in whole)))
        addresses = AddressSet(family, tuple(i for b in rest.boxes
                                             for i in b.addresses.intervals))
        public_count = addresses.intersection(PUBLIC_SPACE[family]).count()
        if public_count == 0:
            return entries  # the private part of a /0: "the whole internet" already says it
    sources = _sources(addresses)
    broad = public_count >= _BROAD[family]
    return entries + [_entry(direction, family, protocols, ports, False, broad, sources)
                      for protocols, ports in rest.grouped()]


def traffic_entries(spaces: Mapping[tuple[Direction, int], TrafficSpace]) -> list[dict[str, Any]]:
    """Opened (or closed) traffic as JSON-safe entries, ingress first, IPv4 first."""
    out: list[dict[str, Any]] = []
    for (direction, family), space in sorted(spaces.items(),
                                             key=lambda kv: (kv[0][0].value != "ingress",
                                                             kv[0][1])):
        if family in FAMILY_NAMES and not space.is_empty():
            out.extend(_entries(direction, family, space))
    return out


def reach_sentence(entries: Iterable[Mapping[str, Any]], symbols: Iterable[str] = ()) -> str:
    """``tcp 22 (SSH) from the whole internet (IPv4)``, a few entries at most."""
    parts = []
    entries = list(entries)
    for entry in entries:
        names = entry_service_names(entry)
        services = f" ({services_text(names)})" if names else ""
        if entry["internet"]:
            where = f"the whole internet ({family_label(entry['family'])})"
        else:
            where = ", ".join(entry["sources"])
        side = "from" if entry["direction"] == "ingress" else "to"
        parts.append(f"{entry['what']}{services} {side} {where}")
    symbols = list(symbols)
    if symbols and not any(e["internet"] for e in entries):  # the internet says it all
        parts.append("traffic from " + ", ".join(symbols[:MAX_SOURCES]))
    if len(parts) > MAX_ENTRIES:
        parts = parts[:MAX_ENTRIES] + [f"{len(parts) - MAX_ENTRIES} more"]
    return "; ".join(parts)


def services_text(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def short_id(resource_id: str) -> str:
    """The last segment of an ARM id or self link, for sentences (ids stay whole in fields)."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1] or resource_id


def describe_rule(rule: Rule) -> str:
    peers = ", ".join(p.value for p in rule.peers) or "nothing"
    if rule.protocol in ICMP_PROTOCOLS and rule.icmp_type is not None:
        ports = f" type {rule.icmp_type}" + (f" code {rule.icmp_code}"
                                             if rule.icmp_code is not None else "")
    else:
        ports = "" if rule.ports.is_all() else f" {rule.ports}"
    side = "from" if rule.direction is Direction.INGRESS else "to"
    text = f"{rule.action.value} {rule.direction.value} {rule.protocol}{ports} {side} {peers}"
    if rule.targets:
        text += " on " + ", ".join(t.value for t in rule.targets)
    if rule.priority is not None:
        text += f" (priority {rule.priority})"
    if not rule.enabled:
        text += " [disabled]"
    return text


def _step_down(severity: Severity) -> Severity:
    order = list(Severity)
    return order[max(order.index(Severity.LOW), order.index(severity) - 1)]


def severity(classification: Classification, entries: list[dict[str, Any]], live: bool,
             exposed: Iterable[Mapping[str, Any]] = ()) -> Severity:
    """What was opened decides: the internet and a sensitive service is critical.

    ``live`` says whether the rule set guards anything (attached, or exposure shows a machine
    behind it); a widening on something unattached is one step less severe. Machines the
    exposure analysis finds newly reachable make it at least high.
    """
    if classification.effect in (Effect.NARROWED, Effect.NEUTRAL):
        return Severity.INFO
    if classification.effect is Effect.UNKNOWN:
        return Severity.MEDIUM
    ingress = [e for e in entries if e["direction"] == "ingress"]
    egress = [e for e in entries if e["direction"] == "egress"]
    if any(e["internet"] and e["services"] for e in ingress):
        level = Severity.CRITICAL
    elif any(e["internet"] for e in ingress) or any(e["broad"] and e["services"]
                                                      for e in ingress):
        level = Severity.HIGH
    elif (any(e["broad"] or e["services"] for e in ingress) or classification.opened_symbols
          or any(e["internet"] for e in egress)):
        level = Severity.MEDIUM
    else:
        level = Severity.LOW
    exposed = list(exposed)
    if exposed:
        sensitive = any(e.get("services") for e in exposed)
        floor = Severity.CRITICAL if sensitive else Severity.HIGH
        return floor if floor.rank > level.rank else level
    return level if live else _step_down(level)
