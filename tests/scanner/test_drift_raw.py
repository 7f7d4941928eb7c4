"""Drift's walk runs on raw interval tuples: the same boxes, in the same order, as the traffic
space algebra it stands for (so drift items and their traffic entries stay byte-identical)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.drift.classify import (
    _raw_intersect,
    _raw_meets,
    _union,
    intersect,
    meets,
    minus,
    subtract_boxes,
)
from scanner.netmath import IPV4, AddressSet, PortSet
from scanner.reach.fast import cooked, raw
from scanner.traffic import Box, ProtocolSet, TrafficSpace


def _intervals(top: int):
    pair = st.tuples(st.integers(0, top), st.integers(0, top)).map(sorted).map(tuple)
    # Mostly real spans; now and then an empty side, which holds nothing and meets nothing.
    return st.lists(pair, min_size=0, max_size=3)


boxes = st.builds(
    lambda p, q, a: Box(ProtocolSet(tuple(p)), PortSet(tuple(q)), AddressSet(IPV4, tuple(a))),
    _intervals(20), _intervals(60), _intervals(100))
spaces = st.lists(boxes, max_size=5).map(lambda b: TrafficSpace(IPV4, tuple(b)))


@settings(max_examples=300, deadline=None)
@given(spaces, spaces)
def test_raw_algebra_builds_the_same_boxes(a, b):
    assert cooked(IPV4, _raw_intersect(raw(a), raw(b))) == intersect(a, b)
    assert cooked(IPV4, subtract_boxes(raw(a), raw(b))) == minus(a, b)
    assert _union(a, b) == a.union(b)
    assert cooked(IPV4, raw(a)) == a
    assert _raw_meets(raw(a), raw(b)) == meets(a, b)
