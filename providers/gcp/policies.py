"""Firewall policies (hierarchical, global and regional network) -> RuleSets. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from providers.gcp.common import (
    ACTIONS,
    EVERYWHERE,
    POLICY_DEFAULT_PRIORITY,
    PROVIDER,
    Json,
    canonical,
    cidr_peer,
    cidrs,
    last_segment,
    parse_direction,
    protocol_ports,
    rule_order,
    symbol_peer,
    symbols,
)
from providers.guard import optional_list, optional_mappings, require_choice, require_mapping
from scanner.model import (
    Attachment,
    Direction,
    Peer,
    PeerKind,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
)

_SRC = (
    ("srcAddressGroups", PeerKind.ADDRESS_GROUP),
    ("srcFqdns", PeerKind.FQDN),
    ("srcRegionCodes", PeerKind.REGION_CODE),
    ("srcThreatIntelligences", PeerKind.THREAT_INTELLIGENCE),
)
_DEST = (
    ("destAddressGroups", PeerKind.ADDRESS_GROUP),
    ("destFqdns", PeerKind.FQDN),
    ("destRegionCodes", PeerKind.REGION_CODE),
    ("destThreatIntelligences", PeerKind.THREAT_INTELLIGENCE),
)


def _secure_tags(tags: Iterable[Json] | None) -> list[Peer]:
    # An INEFFECTIVE tag (its VPC or value was deleted) matches nothing, so it is not a peer.
    return [symbol_peer(PeerKind.NETWORK_TAG, t["name"]) for t in tags or ()
            if t.get("name") and t.get("state", "EFFECTIVE") != "INEFFECTIVE"]


def policy_rule_peers(raw: Json) -> tuple[tuple[Peer, ...], dict[str, Any]]:
    match = raw.get("match") or {}
    extra: dict[str, Any] = {}
    if parse_direction(raw.get("direction")) is Direction.INGRESS:
        peers = cidrs(match.get("srcIpRanges"))
        peers += _secure_tags(match.get("srcSecureTags"))
        for key, kind in _SRC:
            peers += symbols(kind, match.get(key))
        if match.get("srcNetworks"):
            peers += [symbol_peer(PeerKind.OTHER, canonical(n)) for n in match["srcNetworks"]]
        other_side = {k: match[k] for k in ("destIpRanges", *(k for k, _ in _DEST)) if match.get(k)}
    else:
        peers = cidrs(match.get("destIpRanges"))
        for key, kind in _DEST:
            peers += symbols(kind, match.get(key))
        other_side = {k: match[k] for k in ("srcIpRanges", *(k for k, _ in _SRC)) if match.get(k)}
    if other_side:
        extra["localMatch"] = other_side
    scope = match.get("srcNetworkScope") or match.get("destNetworkScope")
    if scope:
        extra["networkScope"] = scope
    if not peers and scope and scope.upper() != "INTERNET":
        # Sources limited to VPC networks (INTRA_VPC, VPC_NETWORKS, NON_INTERNET), not ranges.
        peers = [symbol_peer(PeerKind.OTHER, f"networkScope:{scope.upper()}")]
    if not peers:
        # A match on nothing but protocol (and maybe the local side) matches every remote.
        peers = [cidr_peer(c) for c in EVERYWHERE]
        extra["defaultedRange"] = True
    return tuple(peers), extra


def normalize_policy_rule(raw: Json) -> list[Rule]:
    """One firewall policy rule -> one Rule per protocol of ``match.layer4Configs``."""
    require_mapping(raw, "firewall policy rule")
    priority = int(raw.get("priority", 0))
    what = f"firewall policy rule {priority}"
    action_text = require_choice(raw, "action", set(ACTIONS), f"{what} action")
    action = ACTIONS[action_text]
    require_choice(raw, "direction", {"ingress", "egress"}, f"{what} direction")
    match = raw.get("match")
    if match is not None:
        require_mapping(match, f"{what} match")
        optional_mappings(match, "layer4Configs", f"{what} layer4Configs")
    peers, extra = policy_rule_peers(raw)
    if action_text not in ("allow", "deny", "goto_next"):
        extra["action"] = raw.get("action")
    if raw.get("securityProfileGroup"):
        extra["securityProfileGroup"] = raw["securityProfileGroup"]
    targets = _secure_tags(raw.get("targetSecureTags"))
    targets += symbols(PeerKind.SERVICE_ACCOUNT, raw.get("targetServiceAccounts"))
    targets += [symbol_peer(PeerKind.OTHER, canonical(r))
                for r in raw.get("targetResources") or ()]
    layer4 = (raw.get("match") or {}).get("layer4Configs") or [{"ipProtocol": "all"}]
    rules = []
    for protocol, ports, spelled in protocol_ports(layer4, "ipProtocol"):
        rule_extra = dict(extra)
        if spelled != [protocol]:
            rule_extra["ipProtocol"] = spelled
        rules.append(Rule(
            direction=parse_direction(raw.get("direction")),
            action=action,
            protocol=protocol,
            ports=ports,
            peers=peers,
            priority=priority,
            enabled=not raw.get("disabled", False),
            native_id=f"{priority}/{protocol}",
            name=raw.get("ruleName") or "",
            description=raw.get("description") or "",
            targets=tuple(targets),
            is_default=priority >= POLICY_DEFAULT_PRIORITY,
            logging=bool(raw.get("enableLogging", False)),
            extra=rule_extra,
        ))
    return rules


def hierarchical_policy_id(raw: Json) -> str:
    return f"locations/global/firewallPolicies/{raw['name']}"


def network_policy_id(raw: Json, scope: Scope) -> str:
    link = canonical(raw.get("selfLink"))
    if link:
        return link
    region = last_segment(raw.get("region"))
    where = f"regions/{region}" if region else "global"
    return f"projects/{scope.account}/{where}/firewallPolicies/{raw['name']}"


def _attachment(target: str) -> Attachment:
    target = canonical(target)
    if target.startswith("organizations/"):
        return Attachment("organization", target)
    if target.startswith("folders/"):
        return Attachment("folder", target)
    return Attachment("network", target)


def normalize_policy(scope: Scope, raw: Json, kind: RuleSetKind,
                     attachments: Iterable[Attachment] | None = None,
                     extra: Mapping[str, Any] | None = None) -> RuleSet:
    """A hierarchical or network firewall policy. ``attachments`` replace its associations when
    given (the effective-firewalls view names the policy, not where it is associated)."""
    require_mapping(raw, "firewall policy")
    rules = [r for rule in optional_list(raw, "rules") for r in normalize_policy_rule(rule)]
    rules.sort(key=rule_order)
    if attachments is None:
        attachments = [_attachment(a["attachmentTarget"])
                       for a in optional_mappings(raw, "associations")
                       if a.get("attachmentTarget")]
    hierarchical = kind is RuleSetKind.GCP_HIERARCHICAL_POLICY
    region = last_segment(raw.get("region")) or "global"
    info: dict[str, Any] = {k: raw[k] for k in ("parent", "shortName") if raw.get(k)}
    if raw.get("id"):
        info["id"] = str(raw["id"])
    info.update(extra or {})
    return RuleSet(
        provider=PROVIDER,
        account=scope.account,
        region="global" if hierarchical else region,
        kind=kind,
        resource_id=hierarchical_policy_id(raw) if hierarchical else network_policy_id(raw, scope),
        name=raw.get("shortName") or raw.get("displayName") or raw.get("name", ""),
        rules=tuple(rules),
        attachments=tuple(sorted(set(attachments), key=lambda a: (a.target_kind, a.target_id))),
        description=raw.get("description") or "",
        extra=info,
    )


def applicable_hierarchical(raw_policies: Iterable[Json], ancestry: list[str]) -> list[Json]:
    """Policies associated with one of the project's ancestors, top down (organization first)."""
    depth = {node: i for i, node in enumerate(ancestry)}
    ranked = []
    for policy in raw_policies:
        levels = [depth[canonical(a.get("attachmentTarget"))]
                  for a in policy.get("associations") or ()
                  if canonical(a.get("attachmentTarget")) in depth]
        if levels:
            ranked.append((min(levels), policy.get("name", ""), policy))
    ranked.sort(key=lambda r: (r[0], r[1]))
    seen: set[str] = set()
    out = []
    for _, name, policy in ranked:
        if name not in seen:
            seen.add(name)
            out.append(policy)
    return out


