"""Drift over the wire: scan, change the served estate as an adversary would, scan, compare."""

from __future__ import annotations

from providers.demo.gcp import firewall
from providers.gcp import GcpProvider
from scanner import attack
from scanner.collect import collect_snapshot
from scanner.drift.comparison import compare
from scanner.model import ChangeKind, Effect, Severity

PROD_VPC = "projects/alpha/global/networks/prod/firewalls"
LAB_VPC = "projects/alpha/global/networks/lab/firewalls"
PROD_NETWORK = "projects/alpha/global/networks/prod"
PROD_CENTRAL = "projects/alpha/regions/us-central1/firewallPolicies/prod-central"


def scan(settings):
    return collect_snapshot([GcpProvider(settings)], max_workers=4)


def folder_policy(estate):
    return next(p for p in estate.hierarchical_policies if p["shortName"] == "prod-folder")


def impair(estate) -> None:
    """T1562.007-style changes to project alpha."""
    alpha = estate.projects["alpha"]
    alpha.firewall("deny-ssh-internet")["disabled"] = True
    alpha.firewalls.append(firewall("alpha", "lab", "allow-ssh-everywhere",
                                    allowed=[("tcp", ["22"])], source_ranges=["0.0.0.0/0"]))
    alpha.firewall("allow-partner-udp")["sourceRanges"].append("0.0.0.0/0")
    alpha.network("prod")["networkFirewallPolicyEnforcementOrder"] = "AFTER_CLASSIC_FIREWALL"
    next(r for r in folder_policy(estate)["rules"] if r["priority"] == 500)["action"] = (
        "goto_next")
    next(p for p in alpha.network_policies if p["name"] == "prod-central")["associations"] = []


def keyed(items):
    return {(i.change, i.resource_id, i.rule_key): i for i in items}


def test_adversary_changes_are_classified_and_mapped(gcp, settings_for):
    baseline = scan(settings_for("alpha", "beta"))
    impair(gcp.estate)
    current = scan(settings_for("alpha", "beta"))
    items = keyed(compare(baseline, current))
    folder_id = f"locations/global/firewallPolicies/{folder_policy(gcp.estate)['name']}"

    disabled = items[(ChangeKind.RULE_DISABLED, PROD_VPC, "deny-ssh-internet/tcp")]
    assert disabled.effect is Effect.WIDENED and disabled.detection == attack.FIREWALL_DISABLE
    assert "v1.compute.firewalls.patch" in disabled.operations

    added = items[(ChangeKind.RULE_ADDED, LAB_VPC, "allow-ssh-everywhere/tcp")]
    assert added.effect is Effect.WIDENED and added.severity is Severity.CRITICAL
    assert added.attack == ("T1562.007",)

    for protocol in ("udp", "sctp"):
        widened = items[(ChangeKind.RULE_MODIFIED, PROD_VPC, f"allow-partner-udp/{protocol}")]
        assert widened.effect is Effect.WIDENED

    order = items[(ChangeKind.ENFORCEMENT_ORDER_CHANGED, PROD_NETWORK, None)]
    # VPC rules now come first: allow-mysql-vendor beats prod-policy's deny of tcp/3306.
    assert order.effect is Effect.WIDENED and "AFTER_CLASSIC_FIREWALL" in order.summary

    goto = items[(ChangeKind.RULE_MODIFIED, folder_id, "500/tcp")]
    assert goto.effect is Effect.WIDENED
    assert goto.before.action.value == "deny" and goto.after.action.value == "goto_next"
    assert "compute.firewallPolicies.patchRule" in goto.operations

    detached = items[(ChangeKind.ATTACHMENT_REMOVED, PROD_CENTRAL, None)]
    assert detached.effect is Effect.WIDENED
    assert detached.details["target"] == f"network {PROD_NETWORK}"

    # Nothing else moved: beta and the untouched rules produce no items.
    assert len(items) == 7, sorted((k[0].value, k[2]) for k in items)

    # The same changes undone narrow.
    for item in compare(current, baseline):
        assert item.effect in (Effect.NARROWED, Effect.NEUTRAL), item.summary
    reverse = keyed(compare(current, baseline))
    assert reverse[(ChangeKind.RULE_ENABLED, PROD_VPC, "deny-ssh-internet/tcp")].effect is (
        Effect.NARROWED)
    assert (ChangeKind.RULE_REMOVED, LAB_VPC, "allow-ssh-everywhere/tcp") in reverse
    assert (ChangeKind.ATTACHMENT_ADDED, PROD_CENTRAL, None) in reverse
    assert reverse[(ChangeKind.ENFORCEMENT_ORDER_CHANGED, PROD_NETWORK, None)].effect is (
        Effect.NARROWED)


def test_forbidden_project_is_unknown_never_removed(gcp, settings_for):
    baseline = scan(settings_for("alpha", "beta"))
    gcp.estate.forbidden.add("alpha")
    current = scan(settings_for("alpha", "beta"))
    items = compare(baseline, current)
    assert not [i for i in items if i.change in (ChangeKind.RULE_REMOVED,
                                                 ChangeKind.RULE_SET_DELETED)]
    unknown = [i for i in items if i.change is ChangeKind.SCOPE_UNKNOWN]
    assert [i.account for i in unknown] == ["alpha"]
    assert all(i.account == "alpha" for i in items)
