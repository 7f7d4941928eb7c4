"""Trusted ranges that cover a whole address family (or its public space, or halves of it)
leave nothing public to judge: every command still answers, it just finds less.

The address algebra is property-tested with arbitrary trusted sets, including those whose
complement in the public space is empty."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.admitted import Thresholds, levels_of
from policies.engine import evaluate_snapshot
from policies.policy import PolicySettings
from providers.base import ProviderSettings
from providers.demo import DemoProvider
from scanner.cli import main
from scanner.collect import collect_snapshot
from scanner.drift.comparison import compare
from scanner.exposure import analyze_exposure, newly_exposed
from scanner.netmath import IPV4, IPV6, PUBLIC_SPACE, AddressSet
from scanner.reach.base import public_offer
from scanner.traffic import TrafficSpace

WHOLE_FAMILIES = [
    ("0.0.0.0/0",), ("::/0",), ("2000::/3",), ("0.0.0.0/1", "128.0.0.0/1"),
    ("::/1", "8000::/1"), ("0.0.0.0/0", "::/0"), ("2000::/4", "3000::/4"),
]


@pytest.fixture(scope="module")
def demo():
    baseline = collect_snapshot([DemoProvider(ProviderSettings(demo_stage="baseline"))])
    changed = collect_snapshot([DemoProvider(ProviderSettings(demo_stage="changed"))])
    return baseline, changed


def _cidrs():
    v4 = st.builds(lambda a, p: f"{AddressSet(IPV4, ((a, a),)).to_cidrs()[0].split('/')[0]}/{p}",
                   st.integers(0, 2**32 - 1), st.integers(0, 32))
    v6 = st.builds(lambda a, p: f"{AddressSet(IPV6, ((a, a),)).to_cidrs()[0].split('/')[0]}/{p}",
                   st.integers(0, 2**128 - 1), st.integers(0, 128))
    whole = st.sampled_from([c for group in WHOLE_FAMILIES for c in group])
    return st.lists(st.one_of(whole, v4, v6), max_size=5)


def _strict(cidr: str) -> str:
    import ipaddress

    return str(ipaddress.ip_network(cidr, strict=False))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cidrs())
def test_address_algebra_with_any_trusted_set(raw):
    trusted = [_strict(c) for c in raw]
    for family in (IPV4, IPV6):
        chosen = AddressSet.from_cidrs(family, trusted)
        rest = PUBLIC_SPACE[family].difference(chosen)
        # The complement and the trusted part make the public space again, disjointly.
        assert rest.union(PUBLIC_SPACE[family].intersection(chosen)) == PUBLIC_SPACE[family]
        assert rest.intersection(chosen).is_empty()
        space = TrafficSpace.everything(family, rest)
        assert space.is_empty() == rest.is_empty()
        assert all(not b.addresses.is_empty() for b in space.boxes)
        offer = public_offer(family, chosen)
        assert sum(hi - lo + 1 for _, _, a in offer for lo, hi in a) == rest.count()
        # Policies' levels: a whole-internet rule stays the internet unless everything it
        # admits is trusted (then it is exempt, like any rule inside the trusted ranges).
        thresholds = Thresholds.build(trusted, 8, 32)
        levels = levels_of(TrafficSpace.everything(family), thresholds)
        assert levels.internet.is_empty() == rest.is_empty()
        assert levels.broad.is_empty() and levels.specific.is_empty()


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(_cidrs())
def test_exposure_policies_and_drift_answer_with_any_trusted_set(demo, raw):
    baseline, changed = demo
    trusted = tuple(_strict(c) for c in raw)
    before = analyze_exposure(baseline, trusted)
    after = analyze_exposure(changed, trusted)
    newly_exposed(before, after)
    evaluate_snapshot(changed, PolicySettings(trusted_cidrs=trusted), after)
    compare(baseline, changed)


@pytest.mark.parametrize("trusted", WHOLE_FAMILIES, ids=lambda t: ",".join(t))
def test_whole_family_trusted_leaves_that_family_unexposed(demo, trusted):
    _, changed = demo
    analysis = analyze_exposure(changed, trusted)
    covered = {family for family in (IPV4, IPV6)
               if PUBLIC_SPACE[family].difference(AddressSet.from_cidrs(family, trusted))
               .is_empty()}
    names = {IPV4: "ipv4", IPV6: "ipv6"}
    assert covered
    assert not [e for e in analysis.exposures if e.family in {names[f] for f in covered}]


@pytest.mark.parametrize("trusted", ["0.0.0.0/0", "::/0", "2000::/3", "0.0.0.0/1,128.0.0.0/1"])
def test_every_command_accepts_a_whole_family_as_trusted(tmp_path, trusted):
    store = str(tmp_path / "store.db")
    runner = CliRunner()
    flags = [f for c in trusted.split(",") for f in ("--trusted-cidr", c)]
    result = runner.invoke(main, ["--store", store, "scan", "--provider", "demo", "--save",
                                  *flags])
    assert result.exit_code in (0, 1), result.output
    result = runner.invoke(main, ["--store", store, "exposure", "--format", "json", *flags])
    assert result.exit_code in (0, 1), result.output
    json.loads(result.stdout)
