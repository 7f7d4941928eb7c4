"""A rule set's view is freed as soon as it is released, without waiting for the cyclic
collector (policies run with it paused: ``scanner.gcpause``)."""

from __future__ import annotations

import gc
import weakref
from datetime import datetime, timezone

from policies.context import EvaluationContext
from policies.engine import select_policies
from policies.policy import PolicySettings
from scanner.model import Action, Direction, Peer, Rule, RuleSet, RuleSetKind, Snapshot
from scanner.netmath import PortSet


def test_a_released_view_with_pools_is_freed_without_a_collection():
    halves = tuple(Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(22),
                        (Peer.cidr(half),), native_id=f"half{i}")
                   for i, half in enumerate(("0.0.0.0/1", "128.0.0.0/1")))
    rule_set = RuleSet("aws", "111122223333", "eu-west-1", RuleSetKind.AWS_SECURITY_GROUP,
                       "sg-1", "sg-1", halves)
    ctx = EvaluationContext(Snapshot("s", datetime(2026, 1, 1, tzinfo=timezone.utc),
                                     rule_sets=(rule_set,)))
    match = next(p.match for p in select_policies(PolicySettings())
                 if p.policy_id == "CW-NET-001")
    was = gc.isenabled()
    gc.disable()
    try:
        view = ctx.view(rule_set)
        assert view.pools(match)  # the two halves pool: the view and its pool refer to each other
        freed = weakref.ref(view)
        del view
        ctx.release(rule_set)
        assert freed() is None
    finally:
        if was:
            gc.enable()
