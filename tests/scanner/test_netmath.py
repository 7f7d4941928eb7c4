"""Property tests of the port and address algebra against brute-force set models."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scanner.netmath import (
    ALL_PORTS,
    IPV4,
    IPV6,
    MAX_PORT,
    NO_PORTS,
    PUBLIC_SIZE,
    AddressSet,
    PortSet,
    address_in,
    canonical_protocol,
    cidr_span,
    cidrs_cover,
    cidrs_overlap,
    coverage,
    merge_intervals,
    protocol_covers,
    protocol_overlaps,
    union_intervals,
)

# Ports drawn from both ends of the range so intervals touch 0 and 65535, where off-by-one
# mistakes live. Every endpoint is in 0-40 or 65495-65535, so the ports between (41-65494) are
# either all in a set or all out of it: the brute-force model treats that gap as one point.
_LOW = st.integers(0, 40)
_HIGH = st.integers(MAX_PORT - 40, MAX_PORT)
_PORT = st.one_of(_LOW, _HIGH)
_GAP = (41, MAX_PORT - 41)
GAP = "gap"


@st.composite
def intervals(draw):
    a, b = draw(_PORT), draw(_PORT)
    return (min(a, b), max(a, b))


port_sets = st.lists(intervals(), max_size=6).map(lambda items: PortSet(tuple(items)))


def model(ports: PortSet) -> set[int | str]:
    """The ports of the set at both ends, plus GAP when the middle is in it."""
    members: set[int | str] = set()
    for lo, hi in ports.intervals:
        members.update(range(lo, min(hi, _GAP[0] - 1) + 1))
        members.update(range(max(lo, _GAP[1] + 1), hi + 1))
        if lo <= _GAP[1] and hi >= _GAP[0]:
            # The middle is uniform: if any of it is in, all of it is.
            assert lo <= _GAP[0] and hi >= _GAP[1], (lo, hi)
            members.add(GAP)
    return members


def from_model(items: set[int | str]) -> PortSet:
    return PortSet(tuple(_GAP if p == GAP else (p, p) for p in items))


def size(items: set[int | str]) -> int:
    return sum(_GAP[1] - _GAP[0] + 1 if p == GAP else 1 for p in items)


def assert_canonical(ports: PortSet) -> None:
    """Sorted, disjoint, non-adjacent, inside 0-65535."""
    for lo, hi in ports.intervals:
        assert 0 <= lo <= hi <= MAX_PORT
    for (_, hi), (lo, _) in zip(ports.intervals, ports.intervals[1:], strict=False):
        assert lo > hi + 1


# --- PortSet ----------------------------------------------------------------------------------


@given(port_sets, port_sets)
def test_union_intersection_difference_match_the_set_model(a, b):
    for result, expected in (
        (a | b, model(a) | model(b)),
        (a & b, model(a) & model(b)),
        (a - b, model(a) - model(b)),
        (b - a, model(b) - model(a)),
    ):
        assert_canonical(result)
        assert model(result) == expected
        # One canonical form per set: equal sets are equal values with equal hashes.
        assert result == from_model(expected)
        assert hash(result) == hash(from_model(expected))


@given(port_sets, port_sets)
def test_covers_and_overlaps_match_the_set_model(a, b):
    assert a.covers(b) == (model(b) <= model(a))
    assert a.overlaps(b) == bool(model(a) & model(b))
    assert a.covers(NO_PORTS)
    assert ALL_PORTS.covers(a)


@given(port_sets)
def test_count_contains_and_truthiness(a):
    members = model(a)
    assert a.count() == size(members)
    assert bool(a) == bool(members) == (not a.is_empty())
    for port in (0, 1, 22, 40, MAX_PORT - 40, MAX_PORT - 1, MAX_PORT):
        assert (port in a) == (port in members)
    for port in (41, 30000, MAX_PORT - 41):
        assert (port in a) == (GAP in members)


@given(port_sets)
def test_complement_and_all(a):
    rest = ALL_PORTS - a
    assert (rest | a).is_all()
    assert not rest.overlaps(a)
    assert rest.count() + a.count() == MAX_PORT + 1


@given(port_sets)
def test_to_list_from_list_round_trip(a):
    items = a.to_list()
    assert all(isinstance(item, str) for item in items)
    assert PortSet.from_list(items) == a
    if items:  # the empty text means "all ports" to parse, so only non-empty sets round-trip
        assert PortSet.parse(",".join(items)) == a


def test_adjacent_and_overlapping_intervals_coalesce():
    assert PortSet(((1, 2), (3, 4))).intervals == ((1, 4),)
    assert PortSet(((10, 20), (15, 30), (0, 0))).intervals == ((0, 0), (10, 30))
    assert PortSet.of(22, (1000, 2000), 23).to_list() == ["22-23", "1000-2000"]
    assert ALL_PORTS.to_list() == ["0-65535"]
    assert str(ALL_PORTS) == "all" and str(NO_PORTS) == "none"
    assert str(PortSet.of(22, 80)) == "22,80"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*", ALL_PORTS),
        ("all", ALL_PORTS),
        ("Any", ALL_PORTS),
        ("ANY", ALL_PORTS),
        ("0-65535", ALL_PORTS),
        ("22", PortSet.of(22)),
        (" 22 ", PortSet.of(22)),
        ("1000-2000", PortSet.of((1000, 2000))),
        ("22,80,443", PortSet.of(22, 80, 443)),
        ("20-25, 23-30,8080", PortSet.of((20, 30), 8080)),
        ("65535", PortSet.of(MAX_PORT)),
        ("0", PortSet.of(0)),
    ],
)
def test_parse(text, expected):
    assert PortSet.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["ssh", "22-", "-22", "2000-1000", "65536", "0-65536", "-1", "1-2-3", "22;23", "1.5"]
)
def test_parse_rejects_bad_input_with_value_error(text):
    with pytest.raises(ValueError, match="port"):
        PortSet.parse(text)


def test_out_of_range_intervals_are_refused():
    with pytest.raises(ValueError):
        PortSet(((0, MAX_PORT + 1),))
    with pytest.raises(ValueError):
        PortSet(((-1, 5),))
    with pytest.raises(ValueError):
        PortSet.from_list(["70000"])


# --- addresses --------------------------------------------------------------------------------


def test_whole_ipv4_space_is_the_internet():
    assert coverage(("0.0.0.0/0",)).internet_v4
    assert coverage(("0.0.0.0/0",)).internet
    assert not coverage(("0.0.0.0/0",)).internet_v6


def test_two_halves_are_as_open_as_the_whole():
    halves = coverage(("0.0.0.0/1", "128.0.0.0/1"))
    assert halves.internet_v4
    assert halves == coverage(("0.0.0.0/0",))
    # Overlapping and redundant spellings count each address once.
    assert coverage(("0.0.0.0/1", "128.0.0.0/1", "8.8.8.0/24", "0.0.0.0/0")) == halves


def test_private_ranges_are_not_the_internet():
    for cidrs in (("10.0.0.0/8",), ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"),
                  ("127.0.0.1",), ("fd00::/8",), ("fe80::/10",)):
        cov = coverage(cidrs)
        assert not cov.internet, cidrs
        assert cov.ipv4_public == 0 and cov.ipv6_public == 0, cidrs
        assert not cov.is_broad()


def test_ipv6_internet():
    assert coverage(("::/0",)).internet_v6
    assert coverage(("2000::/3",)).internet_v6
    assert coverage(("2000::/4", "3000::/4")).internet_v6
    assert not coverage(("2000::/4",)).internet_v6
    assert not coverage(("::/0",)).internet_v4
    assert coverage(("::/0",)).fraction(IPV6) == 1.0


def test_everything_but_one_public_address_is_broad_but_not_internet():
    rest = AddressSet.from_cidrs(IPV4, ["0.0.0.0/0"]).difference(
        AddressSet.from_cidrs(IPV4, ["8.8.8.8/32"])
    )
    cov = coverage(tuple(rest.to_cidrs()))
    assert not cov.internet
    assert cov.is_broad()
    assert cov.ipv4_public == PUBLIC_SIZE[IPV4] - 1
    # Removing a private address instead changes nothing public.
    rest_private = AddressSet.from_cidrs(IPV4, ["0.0.0.0/0"]).difference(
        AddressSet.from_cidrs(IPV4, ["10.1.2.3/32"])
    )
    assert coverage(tuple(rest_private.to_cidrs())).internet_v4


def test_broadness_threshold():
    assert coverage(("8.0.0.0/8",)).is_broad()
    assert not coverage(("8.0.0.0/9",)).is_broad()
    assert coverage(("8.0.0.0/9",)).is_broad(min_v4_prefix=9)
    assert coverage(("2a00::/32",)).is_broad()
    assert not coverage(("2a00::/33",)).is_broad()


_V4_CIDR = st.builds(
    lambda addr, prefix: str(ipaddress.ip_network(f"{ipaddress.IPv4Address(addr)}/{prefix}",
                                                  strict=False)),
    st.integers(0, 2**32 - 1),
    st.integers(0, 32),
)
_V6_CIDR = st.builds(
    lambda addr, prefix: str(ipaddress.ip_network(f"{ipaddress.IPv6Address(addr)}/{prefix}",
                                                  strict=False)),
    st.integers(0, 2**128 - 1),
    st.integers(0, 128),
)


@given(st.lists(_V4_CIDR, max_size=5))
def test_to_cidrs_round_trip_v4(cidrs):
    space = AddressSet.from_cidrs(IPV4, cidrs)
    spelled = space.to_cidrs()
    assert AddressSet.from_cidrs(IPV4, spelled) == space
    # Minimal spelling: no CIDR in it is contained in another.
    nets = [ipaddress.ip_network(c) for c in spelled]
    assert not any(a != b and a.subnet_of(b) for a in nets for b in nets)
    assert space.count() == sum(n.num_addresses for n in nets)


@given(st.lists(_V6_CIDR, max_size=4))
def test_to_cidrs_round_trip_v6(cidrs):
    space = AddressSet.from_cidrs(IPV6, cidrs)
    assert AddressSet.from_cidrs(IPV6, space.to_cidrs()) == space


@given(st.lists(_V4_CIDR, max_size=4), st.lists(_V4_CIDR, max_size=4))
def test_address_algebra_matches_ipaddress(a, b):
    sa, sb = AddressSet.from_cidrs(IPV4, a), AddressSet.from_cidrs(IPV4, b)
    assert sa.union(sb).count() + sa.intersection(sb).count() == sa.count() + sb.count()
    assert sa.difference(sb).intersection(sb).is_empty()
    assert sa.union(sb).covers(sa) and sa.union(sb).covers(sb)
    assert cidrs_cover(a, b) == sa.covers(sb)
    assert cidrs_overlap(a, b) == (not sa.intersection(sb).is_empty())
    # Containment agrees with the standard library on single networks.
    if len(a) == 1 and len(b) == 1:
        na, nb = ipaddress.ip_network(a[0]), ipaddress.ip_network(b[0])
        assert sa.covers(sb) == nb.subnet_of(na)


def test_families_are_kept_apart():
    assert AddressSet.from_cidrs(IPV4, ["::/0"]).is_empty()
    assert AddressSet.from_cidrs(IPV6, ["0.0.0.0/0"]).is_empty()
    assert not cidrs_cover(["0.0.0.0/0"], ["2001:db8::1"])
    assert cidrs_cover(["0.0.0.0/0", "::/0"], ["2001:db8::1", "10.0.0.1"])
    assert not cidrs_overlap(["0.0.0.0/0"], ["::/0"])


def test_host_bits_and_bare_addresses():
    eight = AddressSet.from_cidrs(IPV4, ["10.0.0.0/8"])
    assert AddressSet.from_cidrs(IPV4, ["10.0.0.5/8"]) == eight
    assert AddressSet.from_cidrs(IPV4, ["10.0.0.5"]).count() == 1
    assert address_in("10.1.2.3", ["10.0.0.0/8"])
    assert not address_in("10.1.2.3", ["::/0"])


def test_peers_that_are_not_addresses_are_refused_not_guessed():
    with pytest.raises(ValueError):
        coverage(("sg-0123456789abcdef0",))
    with pytest.raises(ValueError):
        AddressSet.from_cidrs(IPV4, ["Internet"])


# --- protocols --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("tcp", "tcp"), ("TCP", "tcp"), ("Tcp", "tcp"), (" udp ", "udp"), ("6", "tcp"), (6, "tcp"),
        ("17", "udp"), ("1", "icmp"), ("58", "icmpv6"), ("icmp6", "icmpv6"),
        ("ipv6-icmp", "icmpv6"), ("ICMPv6", "icmpv6"), ("132", "sctp"), ("esp", "esp"),
        ("-1", "all"), (-1, "all"), ("*", "all"), ("all", "all"), ("ALL", "all"), ("Any", "all"),
        ("99", "99"), ("0", "0"), ("255", "255"),
    ],
)
def test_canonical_protocol(value, expected):
    assert canonical_protocol(value) == expected


@pytest.mark.parametrize("value", ["256", "-2", "tcpx", "", "6.0", "t c p", 300, "0x06"])
def test_canonical_protocol_rejects_bad_values(value):
    with pytest.raises(ValueError):
        canonical_protocol(value)


@given(st.integers(0, 255))
def test_every_protocol_number_has_one_spelling(number):
    name = canonical_protocol(number)
    assert canonical_protocol(str(number)) == name
    assert canonical_protocol(name) == name


def test_protocol_overlap_and_cover():
    assert protocol_overlaps("tcp", "all") and protocol_overlaps("all", "udp")
    assert protocol_overlaps("tcp", "tcp") and not protocol_overlaps("tcp", "udp")
    assert protocol_covers("all", "tcp") and not protocol_covers("tcp", "all")


# --- interval helpers -------------------------------------------------------------------------

_raw_intervals = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=6)


def _points(intervals) -> set[int]:
    return {p for lo, hi in intervals for p in range(lo, hi + 1)}


def _assert_normalized(intervals) -> None:
    assert isinstance(intervals, tuple)
    for lo, hi in intervals:
        assert type((lo, hi)) is tuple and lo <= hi
    for (_, hi), (lo, _) in zip(intervals, intervals[1:], strict=False):
        assert lo > hi + 1


@given(_raw_intervals)
def test_merge_intervals_normalizes_any_input(raw):
    # Lists, tuples of one (possibly reversed) pair and lists inside tuples all come out
    # as one canonical tuple of tuples; reversed pairs are empty.
    for given_form in (raw, tuple(raw), tuple(list(i) for i in raw)):
        merged = merge_intervals(given_form)
        _assert_normalized(merged)
        assert _points(merged) == _points(raw)


@given(_raw_intervals, _raw_intervals)
def test_union_intervals_is_the_merge_of_both(a, b):
    a, b = merge_intervals(a), merge_intervals(b)
    union = union_intervals(a, b)
    _assert_normalized(union)
    assert union == merge_intervals(a + b)


@given(st.lists(_V4_CIDR, max_size=4), st.lists(_V4_CIDR, max_size=4))
def test_address_set_operations_stay_canonical(a, b):
    x, y = AddressSet.from_cidrs(IPV4, a), AddressSet.from_cidrs(IPV4, b)
    for result in (x.union(y), x.intersection(y), x.difference(y)):
        _assert_normalized(result.intervals)
        # The same set built through the checking constructor is the same value.
        assert result == AddressSet(IPV4, result.intervals)
        assert hash(result) == hash(AddressSet(IPV4, result.intervals))


def _reference_span(text: str):
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
    return net.version, int(net.network_address), int(net.broadcast_address)


# Texts near the plain IPv4 form: leading zeros, octets and prefixes out of range, spaces,
# missing parts, netmasks, IPv6, other digits.
_OCTET = st.one_of(st.integers(0, 255).map(str), st.sampled_from(
    ("256", "999", "00", "01", "010", "1000", "", " 1", "+1", "٣", "0x1")))
_PREFIX = st.one_of(st.none(), st.integers(0, 33).map(str), st.sampled_from(
    ("08", "00", "", "255.255.0.0", "0.0.255.255", "-1", " 8", "٣")))
_NEAR_V4 = st.builds(
    lambda octets, prefix, pad: pad + ".".join(octets) + ("" if prefix is None else "/" + prefix)
    + pad, st.lists(_OCTET, min_size=3, max_size=5), _PREFIX, st.sampled_from(("", " ", "\t")))


@settings(max_examples=400)
@given(st.one_of(_NEAR_V4, _V4_CIDR, _V6_CIDR, st.text(max_size=12)))
@example("01.2.3.4")
@example("1.2.3.04/8")
@example("1.2.3.4/08")
@example("256.0.0.0/8")
@example("1.2.3.4/33")
@example(" 10.0.0.1/8 ")
def test_cidr_span_agrees_with_ipaddress(text):
    expected = _reference_span(text)
    if expected is None:
        with pytest.raises(ValueError):
            cidr_span(text)
    else:
        assert cidr_span(text) == expected


_V4_SPAN = st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)).map(sorted)
_V4_SHORT = st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 600)).map(
    lambda s: (s[0], min(2**32 - 1, s[0] + s[1])))


@settings(max_examples=400)
@given(st.lists(st.one_of(_V4_SPAN, _V4_SHORT), max_size=4), st.integers(0, 6))
@example([(0, 2**32 - 1)], 4)
@example([(1, 2**32 - 2)], 4)
@example([(0, 0), (2**32 - 1, 2**32 - 1)], 1)
def test_cidr_count_and_limited_spelling_agree_with_to_cidrs(spans, limit):
    space = AddressSet(IPV4, tuple(map(tuple, spans)))
    spelled = space.to_cidrs()
    assert space.cidr_count() == len(spelled)
    assert space.to_cidrs(limit) == spelled[:limit]


@given(st.lists(_V6_CIDR, max_size=4), st.integers(0, 6))
def test_cidr_count_and_limited_spelling_agree_with_to_cidrs_v6(cidrs, limit):
    space = AddressSet.from_cidrs(IPV6, cidrs)
    spelled = space.to_cidrs()
    assert space.cidr_count() == len(spelled)
    assert space.to_cidrs(limit) == spelled[:limit]


@given(st.lists(st.one_of(_V4_CIDR, _V6_CIDR), max_size=5))
def test_to_cidrs_spells_what_ipaddress_summarizes(cidrs):
    for family, make in ((IPV4, ipaddress.IPv4Address), (IPV6, ipaddress.IPv6Address)):
        space = AddressSet.from_cidrs(family, cidrs)
        expected = [str(n) for lo, hi in space.intervals
                    for n in ipaddress.summarize_address_range(make(lo), make(hi))]
        assert space.to_cidrs() == expected
