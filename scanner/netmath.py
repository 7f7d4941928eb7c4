"""Port interval sets, protocol names and address-space coverage.

Everything that decides "which ports" or "which sources" is computed here from numbers, never by
comparing strings: a rule open on ``20-25`` covers SMTP, and ``0.0.0.0/1`` plus ``128.0.0.0/1``
is as open to the internet as ``0.0.0.0/0``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import starmap
from operator import sub
from socket import AF_INET, inet_pton

MAX_PORT = 65535

Interval = tuple[int, int]


def merge_intervals(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sort and coalesce inclusive integer intervals (adjacent ones join: 1-2 and 3-4 is 1-4)."""
    if type(intervals) is tuple and len(intervals) < 2:
        # The common case (one range, or none) needs no sorting: hot on every set built.
        if not intervals:
            return ()
        lo, hi = intervals[0]
        if lo > hi:
            return ()
        return intervals if type(intervals[0]) is tuple else ((lo, hi),)
    if type(intervals) is tuple and _normalized(intervals):
        return intervals
    ordered = sorted((lo, hi) for lo, hi in intervals if lo <= hi)
    merged: list[list[int]] = []
    for lo, hi in ordered:
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1][1] = hi
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


def _normalized(intervals: tuple) -> bool:
    """Whether a tuple is already sorted, disjoint, non-adjacent (lo, hi) tuples: set operations
    hand such tuples to constructors, which then need not sort them again."""
    previous = None
    for item in intervals:
        if type(item) is not tuple:
            return False
        lo, hi = item
        if lo > hi or (previous is not None and lo <= previous + 1):
            return False
        previous = hi
    return True


def union_intervals(a: tuple[Interval, ...], b: tuple[Interval, ...]) -> tuple[Interval, ...]:
    """The union of two normalized interval tuples (as ``merge_intervals`` returns them), in
    one pass over both: no sorting."""
    if not a:
        return b
    if not b:
        return a
    out: list[Interval] = []
    i = j = 0
    na, nb = len(a), len(b)
    cur_lo, cur_hi = a[0] if a[0][0] <= b[0][0] else b[0]
    while i < na or j < nb:
        if j >= nb or (i < na and a[i][0] <= b[j][0]):
            lo, hi = a[i]
            i += 1
        else:
            lo, hi = b[j]
            j += 1
        if lo <= cur_hi + 1:
            if hi > cur_hi:
                cur_hi = hi
        else:
            out.append((cur_lo, cur_hi))
            cur_lo, cur_hi = lo, hi
    out.append((cur_lo, cur_hi))
    return tuple(out)


def intersect_intervals(a: tuple[Interval, ...], b: tuple[Interval, ...]) -> tuple[Interval, ...]:
    # One pass over both, each side's current interval held in locals (millions of calls in
    # the exposure walk: no len, max or min call per step).
    na, nb = len(a), len(b)
    if not na or not nb:
        return ()
    out: list[Interval] = []
    i = j = 0
    alo, ahi = a[0]
    blo, bhi = b[0]
    while True:
        lo = alo if alo > blo else blo
        if ahi < bhi:
            if lo <= ahi:
                out.append((lo, ahi))
            i += 1
            if i == na:
                break
            alo, ahi = a[i]
        else:
            if lo <= bhi:
                out.append((lo, bhi))
            j += 1
            if j == nb:
                break
            blo, bhi = b[j]
    return tuple(out)


def subtract_intervals(a: tuple[Interval, ...], b: tuple[Interval, ...]) -> tuple[Interval, ...]:
    if not b:
        return tuple(a)
    out: list[Interval] = []
    j = 0
    nb = len(b)
    for lo, hi in a:
        while j < nb and b[j][1] < lo:
            j += 1
        cur = lo
        k = j
        while k < nb:
            blo, bhi = b[k]
            if blo > hi:
                break
            if blo > cur:
                out.append((cur, blo - 1))
            if bhi >= cur:
                cur = bhi + 1
                if cur > hi:
                    break
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


def intervals_overlap(a: tuple[Interval, ...], b: tuple[Interval, ...]) -> bool:
    """Whether two sorted, disjoint interval tuples share a point (no allocation: hot path)."""
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i][1] < b[j][0]:
            i += 1
        elif b[j][1] < a[i][0]:
            j += 1
        else:
            return True
    return False


@dataclass(frozen=True, slots=True)
class PortSet:
    """A set of ports as sorted, disjoint, non-adjacent inclusive intervals within 0-65535."""

    intervals: tuple[Interval, ...] = ()

    def __post_init__(self) -> None:
        normalized = merge_intervals(self.intervals)
        for lo, hi in normalized:
            if lo < 0 or hi > MAX_PORT:
                raise ValueError(f"port interval {lo}-{hi} is outside 0-{MAX_PORT}")
        object.__setattr__(self, "intervals", normalized)

    @classmethod
    def all(cls) -> PortSet:
        return ALL_PORTS

    @classmethod
    def empty(cls) -> PortSet:
        return NO_PORTS

    @classmethod
    def of(cls, *items: int | Interval) -> PortSet:
        """``PortSet.of(22, (1000, 2000))``."""
        return _port_set_of(tuple((i, i) if isinstance(i, int) else (i[0], i[1])
                                  for i in items))

    @classmethod
    def parse(cls, text: str) -> PortSet:
        """Parse ``"all"``, ``"*"``, ``"22"``, ``"1000-2000"`` or a comma-separated mix."""
        return _parse_ports(text.strip())

    def is_all(self) -> bool:
        return self.intervals == ((0, MAX_PORT),)

    def is_empty(self) -> bool:
        return not self.intervals

    def count(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.intervals)

    def __contains__(self, port: int) -> bool:
        return any(lo <= port <= hi for lo, hi in self.intervals)

    def __bool__(self) -> bool:
        return bool(self.intervals)

    # Results of the set operations on normalized operands are normalized already: they are
    # built without the checks and sorting of the constructor (hot in the policy engine).
    def union(self, other: PortSet) -> PortSet:
        return _port_set(union_intervals(self.intervals, other.intervals))

    def intersection(self, other: PortSet) -> PortSet:
        return _port_set(intersect_intervals(self.intervals, other.intervals))

    def difference(self, other: PortSet) -> PortSet:
        return _port_set(subtract_intervals(self.intervals, other.intervals))

    def overlaps(self, other: PortSet) -> bool:
        return intervals_overlap(self.intervals, other.intervals)

    def covers(self, other: PortSet) -> bool:
        return not subtract_intervals(other.intervals, self.intervals)

    __or__ = union
    __and__ = intersection
    __sub__ = difference

    def to_list(self) -> list[str]:
        """JSON form: ``["22", "1000-2000"]``; all ports is ``["0-65535"]``."""
        return [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.intervals]

    @classmethod
    def from_list(cls, items: Iterable[str]) -> PortSet:
        # Cached: a large snapshot repeats the same few port lists thousands of times.
        return _from_list(tuple(str(i) for i in items))

    def __str__(self) -> str:
        if self.is_all():
            return "all"
        return ",".join(self.to_list()) if self.intervals else "none"


ALL_PORTS = PortSet(((0, MAX_PORT),))
NO_PORTS = PortSet(())


def _port_set(intervals: tuple[Interval, ...]) -> PortSet:
    """A PortSet of intervals known to be normalized and within range."""
    if not intervals:
        return NO_PORTS
    made = object.__new__(PortSet)
    object.__setattr__(made, "intervals", intervals)
    return made


def _parse_interval(text: str) -> Interval:
    text = text.strip()
    lo_text, dash, hi_text = text.partition("-")
    try:
        lo = int(lo_text)
        hi = int(hi_text) if dash else lo
    except ValueError:
        # int() would say "invalid literal"; the caller needs to know which entry was wrong.
        raise ValueError(f"not a port range: {text!r}") from None
    if lo > hi or lo < 0 or hi > MAX_PORT:
        raise ValueError(f"not a port range: {text!r}")
    return lo, hi


# Port sets are values, and an estate's rules repeat the same ones: one object per distinct
# set keeps a loaded snapshot smaller and lets two snapshots share them (see ``model.Peer``).
_INTERNED = 1 << 18


@lru_cache(maxsize=_INTERNED)
def _interned(intervals: tuple[Interval, ...]) -> PortSet:
    """The one PortSet of these normalized intervals, however they were spelt."""
    return ALL_PORTS if intervals == ALL_PORTS.intervals else _port_set(intervals)


@lru_cache(maxsize=_INTERNED)
def _port_set_of(intervals: tuple[Interval, ...]) -> PortSet:
    return _interned(PortSet(intervals).intervals)


@lru_cache(maxsize=_INTERNED)
def _from_list(items: tuple[str, ...]) -> PortSet:
    return _interned(PortSet(tuple(_parse_interval(i) for i in items)).intervals)


@lru_cache(maxsize=_INTERNED)
def _parse_ports(text: str) -> PortSet:
    if text.lower() in ("", "*", "all", "any"):
        return ALL_PORTS
    return _interned(PortSet(tuple(_parse_interval(part) for part in text.split(",")
                                   if part.strip())).intervals)


# --- protocols --------------------------------------------------------------------------------

ALL_PROTOCOLS = "all"

# IANA protocol numbers for the names the three clouds use.
PROTOCOL_NUMBERS: dict[str, int] = {
    "icmp": 1,
    "igmp": 2,
    "ipip": 4,
    "tcp": 6,
    "udp": 17,
    "gre": 47,
    "esp": 50,
    "ah": 51,
    "icmpv6": 58,
    "sctp": 132,
}
_NAMES_BY_NUMBER = {number: name for name, number in PROTOCOL_NUMBERS.items()}

# Protocols whose rules can restrict ports; for every other protocol a rule admits the whole
# protocol and its port set is "all" by convention.
PORT_PROTOCOLS = frozenset({"tcp", "udp", "sctp"})


def canonical_protocol(value: str | int) -> str:
    """One spelling per protocol: ``"6"``, ``6``, ``"TCP"``, ``"Tcp"`` all become ``"tcp"``.

    ``"-1"``, ``"*"`` and ``"all"`` (any case) are every protocol. Numbers without a common name
    stay as their decimal string so nothing the cloud said is lost.
    """
    text = str(value).strip().lower()
    if text in ("-1", "*", "all", "any"):
        return ALL_PROTOCOLS
    if text.isdigit():
        number = int(text)
        if not 0 <= number <= 255:
            raise ValueError(f"not an IP protocol number: {value!r}")
        return _NAMES_BY_NUMBER.get(number, str(number))
    if text in ("icmp6", "ipv6-icmp"):
        return "icmpv6"
    if text in PROTOCOL_NUMBERS:
        return text
    raise ValueError(f"unknown protocol: {value!r}")


def protocol_overlaps(a: str, b: str) -> bool:
    """Whether two canonical protocols share any traffic (``all`` overlaps everything)."""
    return a == b or ALL_PROTOCOLS in (a, b)


def protocol_covers(outer: str, inner: str) -> bool:
    return outer in (ALL_PROTOCOLS, inner)


# --- addresses --------------------------------------------------------------------------------

IPV4 = 4
IPV6 = 6
_FAMILY_SIZE = {IPV4: 2**32, IPV6: 2**128}

# Special-purpose ranges (RFC 6890 and successors) that are not reachable across the internet.
# "The internet" of a family is everything else; covering it is what "open to the world" means.
_NON_PUBLIC_V4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
)
# Only global unicast (2000::/3) is routed on the IPv6 internet; documentation space is not.
_PUBLIC_V6 = ("2000::/3",)
_NON_PUBLIC_V6 = ("2001:db8::/32",)


@lru_cache(maxsize=65536)
def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Parse a CIDR or a bare address (``10.0.0.1`` is ``10.0.0.1/32``); host bits are ignored."""
    return ipaddress.ip_network(text.strip(), strict=False)


# An IPv4 address or CIDR as ``ipaddress`` spells it (decimal octets without leading zeros, a
# prefix length): the common text, read here without ``ipaddress`` (the octets by inet_pton,
# which reads that form the same everywhere); anything else goes to ``parse_network``.
_PLAIN_V4 = re.compile(r"((?:(?:0|[1-9][0-9]{0,2})\.){3}(?:0|[1-9][0-9]{0,2}))"
                       r"(?:/(0|[1-9][0-9]?))?")


# Every peer's addresses are read when it is made (``Peer``), and again by the analyses: sized
# to hold the distinct CIDRs of two large snapshots, so the second reading is a lookup.
@lru_cache(maxsize=1 << 18)
def cidr_span(text: str) -> tuple[int, int, int]:
    """(family, first, last address as integers) of a CIDR, host bits ignored; ValueError
    for what ``parse_network`` refuses."""
    plain = _PLAIN_V4.fullmatch(text.strip())
    if plain is not None:
        address, prefix = plain.groups()
        length = 32 if prefix is None else int(prefix)
        try:
            value = int.from_bytes(inet_pton(AF_INET, address), "big")
        except OSError:
            value = -1  # an octet above 255: parse_network says what is wrong
        if value >= 0 and length <= 32:
            host = (1 << (32 - length)) - 1
            first = value & ~host
            return IPV4, first, first | host
    net = parse_network(text)
    return net.version, int(net.network_address), int(net.broadcast_address)


def is_network(text: str) -> bool:
    try:
        parse_network(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class AddressSet:
    """A set of addresses of one family as integer intervals."""

    family: int
    intervals: tuple[Interval, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "intervals", merge_intervals(self.intervals))

    @classmethod
    def from_cidrs(cls, family: int, cidrs: Iterable[str]) -> AddressSet:
        spans = []
        for cidr in cidrs:
            version, lo, hi = cidr_span(cidr)
            if version == family:
                spans.append((lo, hi))
        return cls(family, tuple(spans))

    @classmethod
    def _normalized(cls, family: int, intervals: tuple[Interval, ...]) -> AddressSet:
        """Built from intervals known to be normalized (results of the set operations)."""
        made = object.__new__(cls)
        object.__setattr__(made, "family", family)
        object.__setattr__(made, "intervals", intervals)
        return made

    def count(self) -> int:
        # The sum of hi - lo + 1, the subtractions done in C (sets of hundreds of intervals are
        # counted when drift describes what a widening opened).
        return len(self.intervals) - sum(starmap(sub, self.intervals))

    def intersection(self, other: AddressSet) -> AddressSet:
        return AddressSet._normalized(self.family,
                                      intersect_intervals(self.intervals, other.intervals))

    def difference(self, other: AddressSet) -> AddressSet:
        return AddressSet._normalized(self.family,
                                      subtract_intervals(self.intervals, other.intervals))

    def union(self, other: AddressSet) -> AddressSet:
        return AddressSet._normalized(self.family,
                                      union_intervals(self.intervals, other.intervals))

    def covers(self, other: AddressSet) -> bool:
        return not subtract_intervals(other.intervals, self.intervals)

    def is_empty(self) -> bool:
        return not self.intervals

    def to_cidrs(self, limit: int | None = None) -> list[str]:
        """The smallest list of CIDRs that spells this set exactly (the networks, and the text,
        of ``ipaddress.summarize_address_range``, worked out on the integers); with ``limit``,
        only its first ``limit`` CIDRs (the rest are not spelt)."""
        bits = 32 if self.family == IPV4 else 128
        spell = _ipv4_text if self.family == IPV4 else _ipv6_text
        out: list[str] = []
        if limit is not None and limit <= 0:
            return out
        for lo, hi in self.intervals:
            while lo <= hi:
                # The largest block that starts at lo (aligned) and does not pass hi.
                size = min((lo & -lo).bit_length() - 1 if lo else bits,
                           (hi - lo + 1).bit_length() - 1)
                out.append(f"{spell(lo)}/{bits - size}")
                if len(out) == limit:
                    return out
                lo += 1 << size
        return out

    def cidr_count(self) -> int:
        """How many CIDRs ``to_cidrs`` spells, counted without spelling them.

        Within one interval the blocks grow from its start up to the highest power-of-two
        boundary inside it, then shrink to its end: each side has one block per set bit of its
        length.
        """
        total = 0
        for lo, hi in self.intervals:
            end = hi + 1
            top = (lo ^ end).bit_length() - 1
            middle = end >> top << top
            total += (middle - lo).bit_count() + (end - middle).bit_count()
        return total


def _ipv4_text(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def _ipv6_text(value: int) -> str:
    return str(ipaddress.IPv6Address(value))


def _public_space(family: int) -> AddressSet:
    if family == IPV4:
        whole = AddressSet(IPV4, ((0, _FAMILY_SIZE[IPV4] - 1),))
        return whole.difference(AddressSet.from_cidrs(IPV4, _NON_PUBLIC_V4))
    return AddressSet.from_cidrs(IPV6, _PUBLIC_V6).difference(
        AddressSet.from_cidrs(IPV6, _NON_PUBLIC_V6)
    )


PUBLIC_SPACE = {IPV4: _public_space(IPV4), IPV6: _public_space(IPV6)}
PUBLIC_SIZE = {family: space.count() for family, space in PUBLIC_SPACE.items()}


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of the internet (the public space of each family) a set of CIDRs covers."""

    ipv4_public: int
    ipv6_public: int

    @property
    def internet_v4(self) -> bool:
        return self.ipv4_public == PUBLIC_SIZE[IPV4]

    @property
    def internet_v6(self) -> bool:
        return self.ipv6_public == PUBLIC_SIZE[IPV6]

    @property
    def internet(self) -> bool:
        """Open to the whole internet on at least one family."""
        return self.internet_v4 or self.internet_v6

    def fraction(self, family: int) -> float:
        covered = self.ipv4_public if family == IPV4 else self.ipv6_public
        return covered / PUBLIC_SIZE[family]

    def is_broad(self, min_v4_prefix: int = 8, min_v6_prefix: int = 32) -> bool:
        """Covers at least as many public addresses as one IPv4 /min_v4_prefix (or IPv6) does."""
        return (
            self.ipv4_public >= 2 ** (32 - min_v4_prefix)
            or self.ipv6_public >= 2 ** (128 - min_v6_prefix)
        )


@lru_cache(maxsize=65536)
def coverage(cidrs: tuple[str, ...]) -> Coverage:
    """Public addresses covered by ``cidrs`` per family.

    Every entry must be a CIDR or an address (``ValueError`` otherwise): peers that are not
    addresses never reach here, they have no ``addresses``.
    """
    return Coverage(
        ipv4_public=AddressSet.from_cidrs(IPV4, cidrs).intersection(PUBLIC_SPACE[IPV4]).count(),
        ipv6_public=AddressSet.from_cidrs(IPV6, cidrs).intersection(PUBLIC_SPACE[IPV6]).count(),
    )


def cidrs_cover(outer: Iterable[str], inner: Iterable[str]) -> bool:
    """Whether the addresses of ``outer`` include every address of ``inner`` (both families)."""
    outer, inner = tuple(outer), tuple(inner)
    return all(
        AddressSet.from_cidrs(family, outer).covers(AddressSet.from_cidrs(family, inner))
        for family in (IPV4, IPV6)
    )


def cidrs_overlap(a: Iterable[str], b: Iterable[str]) -> bool:
    a, b = tuple(a), tuple(b)
    return any(
        not AddressSet.from_cidrs(family, a)
        .intersection(AddressSet.from_cidrs(family, b))
        .is_empty()
        for family in (IPV4, IPV6)
    )


def address_in(address: str, cidrs: Iterable[str]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in parse_network(c) for c in cidrs if parse_network(c).version == ip.version)
