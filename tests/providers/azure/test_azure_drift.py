"""Drift over the ARM server: scan, change the served estate as an adversary would, rescan."""

from __future__ import annotations

import copy

from scanner.collect import collect_snapshot
from scanner.drift.comparison import compare
from scanner.model import ChangeKind, Effect, Severity
from tests.providers.azure.azure_estate import (
    NSG_SHARED,
    NSG_WEB,
    SUB,
    SUB_DEV,
    SUBNET_WEB,
    make_provider,
)
from tests.servers.azure_arm import security_rule


def _scan(arm, *subscriptions):
    provider = make_provider(arm, subscriptions=subscriptions or (SUB,))
    return collect_snapshot([provider], max_workers=2)


def _adversary(estate):
    """Four T1562.007-style changes to the served estate."""
    with estate.lock:
        web = estate.get(SUB, "networkSecurityGroups", "nsg-web")["properties"]
        # 1. Delete a deny: allow-rdp-any (priority 300) now wins for RDP from the internet.
        web["securityRules"] = [r for r in web["securityRules"]
                                if r["name"] != "deny-rdp-internet"]
        shared = estate.get(SUB, "networkSecurityGroups", "nsg-shared")["properties"]
        # 2. Edit a rule in place: SSH from a /24 becomes SSH from the internet.
        for rule in shared["securityRules"]:
            if rule["name"] == "allow-ssh-bastion":
                rule["properties"]["sourceAddressPrefix"] = "Internet"
        # 3. Add a rule.
        shared["securityRules"].append(security_rule(
            NSG_SHARED, "allow-redis", 160, "Allow", "Inbound", "Tcp", "6379", "Internet"))
        # 4. Take the NSG off its subnet (both sides of the association change, as in ARM).
        web.pop("subnets")
        vnet = estate.get(SUB, "virtualNetworks", "vnet-main")
        for subnet in vnet["properties"]["subnets"]:
            if subnet["name"] == "web":
                del subnet["properties"]["networkSecurityGroup"]


def _kinds(items):
    return {(i.change, i.rule_key or i.details.get("target"), i.effect) for i in items}


def test_adversary_changes_are_widened_and_their_reversal_narrowed(arm):
    pristine = copy.deepcopy(arm.estate.resources)
    baseline = _scan(arm)
    _adversary(arm.estate)
    current = _scan(arm)
    items = compare(baseline, current)
    assert _kinds(items) == {
        (ChangeKind.RULE_REMOVED, "deny-rdp-internet", Effect.WIDENED),
        (ChangeKind.RULE_MODIFIED, "allow-ssh-bastion", Effect.WIDENED),
        (ChangeKind.RULE_ADDED, "allow-redis", Effect.WIDENED),
        (ChangeKind.ATTACHMENT_REMOVED, f"subnet {SUBNET_WEB.lower()}", Effect.WIDENED),
    }
    by_key = {i.rule_key: i for i in items if i.rule_key}
    ssh = by_key["allow-ssh-bastion"]
    assert ssh.severity is Severity.CRITICAL
    assert ssh.before.peers[0].value == "10.10.0.0/24" and ssh.after.peers[0].value == "Internet"
    assert ssh.attack == ("T1562.007",)
    assert "Microsoft.Network/networkSecurityGroups/securityRules/write" in ssh.operations
    assert by_key["deny-rdp-internet"].severity.rank >= Severity.HIGH.rank
    detached = next(i for i in items if i.change is ChangeKind.ATTACHMENT_REMOVED)
    assert detached.resource_id == NSG_WEB.lower()
    assert "Microsoft.Network/virtualNetworks/subnets/write" in detached.operations

    # Put the estate back: every change is now the opposite, and nothing widens.
    arm.estate.resources = pristine
    restored = _scan(arm)
    back = compare(current, restored)
    assert {i.change for i in back} == {ChangeKind.RULE_ADDED, ChangeKind.RULE_MODIFIED,
                                        ChangeKind.RULE_REMOVED, ChangeKind.ATTACHMENT_ADDED}
    assert {i.effect for i in back} <= {Effect.NARROWED, Effect.NEUTRAL}
    assert not compare(baseline, restored)


def test_priority_change_of_a_deny(arm):
    baseline = _scan(arm)
    with arm.estate.lock:
        web = arm.estate.get(SUB, "networkSecurityGroups", "nsg-web")["properties"]
        for rule in web["securityRules"]:
            if rule["name"] == "deny-rdp-internet":
                rule["properties"]["priority"] = 350  # now after allow-rdp-any (300)
    items = compare(baseline, _scan(arm))
    assert [(i.change, i.effect) for i in items] == [
        (ChangeKind.PRIORITY_CHANGED, Effect.WIDENED)]


def test_subscription_that_turns_forbidden_is_unknown_not_removed(arm):
    arm.estate.forbidden_types.clear()
    baseline = _scan(arm, SUB, SUB_DEV)
    assert baseline.complete and any(rs.account == SUB_DEV for rs in baseline.rule_sets)
    arm.estate.forbidden.add(SUB_DEV)
    current = _scan(arm, SUB, SUB_DEV)
    items = compare(baseline, current)
    assert not [i for i in items if i.change in (ChangeKind.RULE_REMOVED,
                                                 ChangeKind.RULE_SET_DELETED)]
    unknown = [i for i in items if i.change is ChangeKind.SCOPE_UNKNOWN]
    assert [(i.account, i.effect) for i in unknown if i.account == SUB_DEV] == [
        (SUB_DEV, Effect.UNKNOWN)]


def test_default_rules_and_untouched_sets_are_stable_across_scans(arm):
    assert compare(_scan(arm), _scan(arm)) == []
