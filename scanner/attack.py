"""A small static ATT&CK table: T1562.007 and the control-plane operations behind it."""

from __future__ import annotations

from functools import cache

from scanner.model import ChangeKind, RuleSetKind

TECHNIQUE = "T1562.007"
TECHNIQUE_NAME = "Impair Defenses: Disable or Modify Cloud Firewall"
TACTIC = "TA0005"  # Defense Evasion
RULE_MODIFICATION = "Firewall Rule Modification"
FIREWALL_DISABLE = "Firewall Disable"

# Changes that switch protection off rather than edit it map to the "Firewall Disable" component.
_DISABLING = {
    ChangeKind.RULE_DISABLED,
    ChangeKind.RULE_SET_DELETED,
    ChangeKind.ATTACHMENT_REMOVED,
    ChangeKind.IP_LIST_ADDED,
    ChangeKind.IP_LIST_CHANGED,
}

_SG_RULE = (
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "ModifySecurityGroupRules",
)
_NACL_RULE = ("CreateNetworkAclEntry", "ReplaceNetworkAclEntry", "DeleteNetworkAclEntry")
_NSG_RULE = (
    "Microsoft.Network/networkSecurityGroups/securityRules/write",
    "Microsoft.Network/networkSecurityGroups/securityRules/delete",
    "Microsoft.Network/networkSecurityGroups/write",
)
_GCP_VPC = ("v1.compute.firewalls.insert", "v1.compute.firewalls.patch",
            "v1.compute.firewalls.update", "v1.compute.firewalls.delete")
_GCP_POLICY_RULE = ("compute.firewallPolicies.addRule", "compute.firewallPolicies.patchRule",
                    "compute.firewallPolicies.removeRule")
_GCP_NET_POLICY_RULE = ("compute.networkFirewallPolicies.addRule",
                        "compute.networkFirewallPolicies.patchRule",
                        "compute.networkFirewallPolicies.removeRule",
                        "compute.regionNetworkFirewallPolicies.addRule",
                        "compute.regionNetworkFirewallPolicies.patchRule",
                        "compute.regionNetworkFirewallPolicies.removeRule")

_RULE_OPS: dict[RuleSetKind, tuple[str, ...]] = {
    RuleSetKind.AWS_SECURITY_GROUP: _SG_RULE,
    RuleSetKind.AWS_NETWORK_ACL: _NACL_RULE,
    RuleSetKind.AZURE_NSG: _NSG_RULE,
    RuleSetKind.GCP_VPC_FIREWALL: _GCP_VPC,
    RuleSetKind.GCP_HIERARCHICAL_POLICY: _GCP_POLICY_RULE,
    RuleSetKind.GCP_NETWORK_POLICY: _GCP_NET_POLICY_RULE,
}
_SET_OPS: dict[RuleSetKind, tuple[str, ...]] = {
    RuleSetKind.AWS_SECURITY_GROUP: ("CreateSecurityGroup", "DeleteSecurityGroup"),
    RuleSetKind.AWS_NETWORK_ACL: ("CreateNetworkAcl", "DeleteNetworkAcl"),
    RuleSetKind.AZURE_NSG: ("Microsoft.Network/networkSecurityGroups/write",
                            "Microsoft.Network/networkSecurityGroups/delete"),
    RuleSetKind.GCP_VPC_FIREWALL: _GCP_VPC,
    RuleSetKind.GCP_HIERARCHICAL_POLICY: ("compute.firewallPolicies.insert",
                                          "compute.firewallPolicies.delete"),
    RuleSetKind.GCP_NETWORK_POLICY: ("compute.networkFirewallPolicies.insert",
                                     "compute.networkFirewallPolicies.delete",
                                     "compute.regionNetworkFirewallPolicies.insert",
                                     "compute.regionNetworkFirewallPolicies.delete"),
}
_ATTACH_OPS: dict[RuleSetKind, tuple[str, ...]] = {
    RuleSetKind.AWS_SECURITY_GROUP: ("ModifyNetworkInterfaceAttribute",
                                     "ModifyInstanceAttribute", "RunInstances"),
    RuleSetKind.AWS_NETWORK_ACL: ("ReplaceNetworkAclAssociation", "CreateNetworkAcl"),
    RuleSetKind.AZURE_NSG: ("Microsoft.Network/networkInterfaces/write",
                            "Microsoft.Network/virtualNetworks/subnets/write"),
    RuleSetKind.GCP_VPC_FIREWALL: ("compute.instances.setTags",
                                   "compute.instances.setServiceAccount"),
    RuleSetKind.GCP_HIERARCHICAL_POLICY: ("compute.firewallPolicies.addAssociation",
                                          "compute.firewallPolicies.removeAssociation"),
    RuleSetKind.GCP_NETWORK_POLICY: ("compute.networkFirewallPolicies.addAssociation",
                                     "compute.networkFirewallPolicies.removeAssociation",
                                     "compute.regionNetworkFirewallPolicies.addAssociation",
                                     "compute.regionNetworkFirewallPolicies.removeAssociation"),
}
GUARDDUTY_OPS = ("CreateIPSet", "UpdateIPSet", "DeleteIPSet")
GCP_ENFORCEMENT_OPS = ("v1.compute.networks.patch", "v1.compute.networks.update")

_RULE_CHANGES = {
    ChangeKind.RULE_ADDED,
    ChangeKind.RULE_REMOVED,
    ChangeKind.RULE_MODIFIED,
    ChangeKind.RULE_ENABLED,
    ChangeKind.RULE_DISABLED,
    ChangeKind.PRIORITY_CHANGED,
}
_ATTACH_CHANGES = {ChangeKind.ATTACHMENT_ADDED, ChangeKind.ATTACHMENT_REMOVED}
_IP_LIST_CHANGES = {ChangeKind.IP_LIST_ADDED, ChangeKind.IP_LIST_CHANGED,
                    ChangeKind.IP_LIST_REMOVED}


_SG_BY_CHANGE = {
    (ChangeKind.RULE_ADDED, "ingress"): ("AuthorizeSecurityGroupIngress",),
    (ChangeKind.RULE_ADDED, "egress"): ("AuthorizeSecurityGroupEgress",),
    (ChangeKind.RULE_REMOVED, "ingress"): ("RevokeSecurityGroupIngress",),
    (ChangeKind.RULE_REMOVED, "egress"): ("RevokeSecurityGroupEgress",),
}
_SG_DESCRIPTION = {
    "ingress": ("UpdateSecurityGroupRuleDescriptionsIngress", "ModifySecurityGroupRules"),
    "egress": ("UpdateSecurityGroupRuleDescriptionsEgress", "ModifySecurityGroupRules"),
}
_NACL_BY_CHANGE = {
    ChangeKind.RULE_ADDED: ("CreateNetworkAclEntry",),
    ChangeKind.RULE_REMOVED: ("DeleteNetworkAclEntry",),
}
_THREAT_LIST_OPS = ("CreateThreatIntelSet", "UpdateThreatIntelSet", "DeleteThreatIntelSet")


def _rule_operations(change: ChangeKind, kind: RuleSetKind, direction: str | None,
                     description_only: bool) -> tuple[str, ...]:
    if kind is RuleSetKind.AWS_SECURITY_GROUP and direction:
        if description_only:
            return _SG_DESCRIPTION[direction]
        if (change, direction) in _SG_BY_CHANGE:
            return _SG_BY_CHANGE[(change, direction)]
        # An edited rule is ModifySecurityGroupRules, or a revoke and an authorize.
        side = "Ingress" if direction == "ingress" else "Egress"
        return ("ModifySecurityGroupRules", f"AuthorizeSecurityGroup{side}",
                f"RevokeSecurityGroup{side}")
    if kind is RuleSetKind.AWS_NETWORK_ACL:
        return _NACL_BY_CHANGE.get(change, ("ReplaceNetworkAclEntry",))
    return _RULE_OPS[kind]


def operations(change: ChangeKind, kind: RuleSetKind | None, direction: object = None,
               description_only: bool = False, list_type: str | None = None) -> tuple[str, ...]:
    """The control-plane operations that can make ``change`` on a rule set of ``kind``.

    ``direction`` (of the changed rule) and ``description_only`` narrow AWS security group
    operations to the ones that make that change; ``list_type`` tells GuardDuty trusted IP
    sets from threat intelligence sets.
    """
    if change in _IP_LIST_CHANGES:
        return _THREAT_LIST_OPS if list_type == "threat" else GUARDDUTY_OPS
    if change is ChangeKind.ENFORCEMENT_ORDER_CHANGED:
        return GCP_ENFORCEMENT_OPS
    if kind is None:
        return ()
    side = getattr(direction, "value", direction)
    if change in _RULE_CHANGES:
        return _rule_operations(change, kind, side if isinstance(side, str) else None,
                                description_only)
    if change in _ATTACH_CHANGES:
        return _ATTACH_OPS[kind]
    return _SET_OPS[kind]


def change_operations(kind: RuleSetKind) -> tuple[str, ...]:
    """Every control-plane operation that can change a rule set of ``kind``: its rules, the
    rule set itself, and what it is attached to. What a watch reads from the audit logs."""
    return tuple(dict.fromkeys(_RULE_OPS[kind] + _SET_OPS[kind] + _ATTACH_OPS[kind]))


def detection_component(change: ChangeKind) -> str:
    """The ATT&CK DS0018 component a change matches: switching protection off is
    *Firewall Disable*, editing it is *Firewall Rule Modification*."""
    return FIREWALL_DISABLE if change in _DISABLING else RULE_MODIFICATION


# Names and tactics of the techniques reports may cite (policies name techniques by id only).
# A technique not listed here is still reported, by id, under every tactic it belongs to.
TECHNIQUE_NAMES = {
    "T1562": "Impair Defenses",
    "T1562.001": "Impair Defenses: Disable or Modify Tools",
    TECHNIQUE: TECHNIQUE_NAME,
    "T1133": "External Remote Services",
    "T1190": "Exploit Public-Facing Application",
    "T1021": "Remote Services",
    "T1021.001": "Remote Services: Remote Desktop Protocol",
    "T1021.004": "Remote Services: SSH",
    "T1046": "Network Service Discovery",
    "T1110": "Brute Force",
}
TACTIC_NAMES = {
    "TA0001": ("initial-access", "Initial Access"),
    "TA0003": ("persistence", "Persistence"),
    TACTIC: ("defense-evasion", "Defense Evasion"),
    "TA0006": ("credential-access", "Credential Access"),
    "TA0007": ("discovery", "Discovery"),
    "TA0008": ("lateral-movement", "Lateral Movement"),
}
TECHNIQUE_TACTICS = {
    "T1562": (TACTIC,),
    "T1562.001": (TACTIC,),
    TECHNIQUE: (TACTIC,),
    "T1133": ("TA0001", "TA0003"),
    "T1190": ("TA0001",),
    "T1021": ("TA0008",),
    "T1021.001": ("TA0008",),
    "T1021.004": ("TA0008",),
    "T1046": ("TA0007",),
    "T1110": ("TA0006",),
}


def technique_url(technique: str) -> str:
    """The technique's page on attack.mitre.org (sub-techniques as ``T1562/007``)."""
    return "https://attack.mitre.org/techniques/" + technique.replace(".", "/") + "/"


@cache  # asked once per audit-log record
def watched_operations() -> frozenset[str]:
    """Every control-plane operation some drift item can list: the audit-log events
    ``cloudwall watch`` acts on (each cloud's names are its own, so one set serves all)."""
    names: set[str] = set(GUARDDUTY_OPS) | set(_THREAT_LIST_OPS) | set(GCP_ENFORCEMENT_OPS)
    for table in (_RULE_OPS, _SET_OPS, _ATTACH_OPS):
        for ops in table.values():
            names.update(ops)
    for ops in (*_SG_BY_CHANGE.values(), *_SG_DESCRIPTION.values(), *_NACL_BY_CHANGE.values()):
        names.update(ops)
    return frozenset(names)
