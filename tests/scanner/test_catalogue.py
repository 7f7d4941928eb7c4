"""The services a (protocol, ports) pair admits: the catalogue's quick lookup against asking every
service in turn."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.catalogue import SERVICES, ServiceHit, services_in, services_met
from scanner.netmath import PortSet

# Ports near the catalogue's (and the ends of the range), where an off-by-one would show.
_PORT = st.one_of(st.integers(0, 65535), st.sampled_from(
    (0, 19, 20, 21, 22, 23, 24, 52, 53, 54, 3388, 3389, 3390, 9042, 61620, 61621, 61622, 65535)))
_SPAN = st.tuples(_PORT, _PORT).map(sorted).map(tuple)
_PROTOCOL = st.sampled_from(("tcp", "udp", "sctp", "all", "icmp", "47"))


@settings(max_examples=300)
@given(_PROTOCOL, st.lists(_SPAN, max_size=4))
def test_services_in_finds_what_each_service_says_it_exposes(protocol, spans):
    ports = PortSet(tuple(spans))
    expected = tuple(ServiceHit(s, hit) for s in SERVICES
                     if (hit := s.exposed_by(protocol, ports)))
    assert services_in(protocol, ports) == expected
    assert services_met(protocol, ports) == tuple(hit.service for hit in expected)


def test_a_port_range_between_services_finds_none_and_one_port_finds_its_service():
    assert services_in("tcp", PortSet.of((24, 24))) == ()
    assert [h.service.key for h in services_in("tcp", PortSet.of(22))] == ["ssh"]
    assert [h.service.key for h in services_in("all", PortSet.of((3389, 3389)))] == ["rdp"]
