"""EC2 and GuardDuty payloads of one (account, region) -> model objects. Pure functions.

``raw`` maps resource types to what the fetch half read, each item exactly as boto3 returns it:

    SecurityGroups, SecurityGroupRules, NetworkAcls, NetworkInterfaces, Instances (the instances
    of every reservation), Subnets, RouteTables, InternetGateways, Vpcs, ManagedPrefixLists
                                    lists of the API's items (all pages concatenated)
    ManagedPrefixListEntries        {prefix list id: [PrefixListEntry, ...]}
    GuardDutyDetectors              {detector id: get_detector response}
    GuardDutyIPSets                 {detector id: {ip set id: get_ip_set response}}
    GuardDutyThreatIntelSets        {detector id: {set id: get_threat_intel_set response}}

A resource type that could not be read is absent (its CollectionError is recorded by fetch);
everything is joined from what is there, in dictionaries.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from providers.aws import rules as rule_norm
from providers.aws.network import interface, normalize_subnets, normalize_vpc
from providers.aws.rules import intern_text, tag_map
from providers.guard import (
    ShapeError,
    checked_payload,
    guarded,
    label,
    optional_mappings,
    require_mapping,
    require_text,
)
from scanner.model import (
    Attachment,
    CollectedItem,
    CollectionError,
    IpList,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
)

PROVIDER = "aws"
Json = Mapping[str, Any]


def prefix_entries(raw: Json) -> dict[str, tuple[str, ...]]:
    return {pl_id: tuple(e["Cidr"] for e in entries if e.get("Cidr"))
            for pl_id, entries in (raw.get("ManagedPrefixListEntries") or {}).items()}


def _rule_order(rule: Rule) -> tuple:
    # The content hash is only needed (and only paid for) where the cloud gave no id.
    return (rule.direction.value, rule.priority or 0, rule.native_id or "",
            "" if rule.native_id else rule.content_hash())


def _sort_rules(rules: list[Rule]) -> tuple[Rule, ...]:
    return tuple(sorted(rules, key=_rule_order))


def _group_rules(group: Json, rows: Sequence[Json] | None, entries) -> tuple[Rule, ...]:
    if rows:
        return _sort_rules([rule_norm.security_group_rule(row, entries) for row in rows])
    rules: list[Rule] = []
    for key, egress in (("IpPermissions", False), ("IpPermissionsEgress", True)):
        for permission in optional_mappings(group, key):
            rules.extend(rule_norm.permission_rules(permission, egress, entries))
    return _sort_rules(rules)


def security_group(scope: Scope, group: Json, rows: Sequence[Json] | None,
                   enis: Sequence[str], entries) -> RuleSet:
    """``rows``: this group's SecurityGroupRule rows (None or empty: use IpPermissions)."""
    require_text(require_mapping(group, "security group"), "GroupId")
    tags = tag_map(group.get("Tags"))
    extra = {k: intern_text(group[k]) for k in ("OwnerId", "SecurityGroupArn") if group.get(k)}
    return RuleSet(
        provider=PROVIDER,
        account=scope.account,
        region=scope.region,
        kind=RuleSetKind.AWS_SECURITY_GROUP,
        resource_id=group["GroupId"],
        name=group.get("GroupName", ""),
        rules=_group_rules(group, rows, entries),
        attachments=tuple(Attachment("network_interface", e) for e in sorted(set(enis))),
        network=intern_text(group.get("VpcId")),
        is_default=group.get("GroupName") == "default",
        description=group.get("Description") or "",
        tags=tags,
        extra=extra,
    )


def network_acl(scope: Scope, acl: Json) -> RuleSet:
    associations = sorted({a["SubnetId"] for a in acl.get("Associations") or ()
                           if a.get("SubnetId")})
    require_text(require_mapping(acl, "network ACL"), "NetworkAclId")
    if "Entries" not in acl:  # the API always lists them (the "*" entries at least)
        raise ShapeError("network ACL has no Entries")
    rules = _sort_rules([rule_norm.nacl_entry(e) for e in optional_mappings(acl, "Entries")])
    tags = tag_map(acl.get("Tags"))
    return RuleSet(
        provider=PROVIDER,
        account=scope.account,
        region=scope.region,
        kind=RuleSetKind.AWS_NETWORK_ACL,
        resource_id=acl["NetworkAclId"],
        name=tags.get("Name", ""),
        rules=rules,
        attachments=tuple(Attachment("subnet", s) for s in associations),
        network=intern_text(acl.get("VpcId")),
        is_default=bool(acl.get("IsDefault")),
        tags=tags,
        extra={"OwnerId": intern_text(acl["OwnerId"])} if acl.get("OwnerId") else {},
    )


def _ip_sets(scope: Scope, raw: Json, key: str,
             list_type: str) -> Iterator[IpList | CollectionError]:
    detectors = raw.get("GuardDutyDetectors") or {}
    for detector_id, sets in sorted((raw.get(key) or {}).items()):
        detector = detectors.get(detector_id) if isinstance(detectors, Mapping) else None
        detector_status = (detector or {}).get("Status", "") if isinstance(
            detector, Mapping) else ""
        if not isinstance(sets, Mapping):
            yield _guarded(scope, key, f"the IP sets of detector {detector_id}",
                           lambda s=sets: require_mapping(s, "IP sets"))
            continue
        for set_id, item in sorted(sets.items()):
            yield _guarded(scope, key, f"IP set {set_id}",
                           lambda i=item, s=set_id, d=detector_id, t=detector_status: _ip_list(
                               scope, s, i, list_type, d, t))


def _ip_list(scope: Scope, set_id: str, item: Json, list_type: str, detector_id: str,
             detector_status: str) -> IpList:
    require_mapping(item, "IP set")
    # Whether a trusted list is active decides a finding: a status that is not text is a
    # shape we do not understand, not an inactive list.
    status = require_text(item, "Status", "IP set Status")
    extra: dict[str, Any] = {"detector_status": detector_status} if detector_status else {}
    if item.get("Tags"):
        extra["tags"] = dict(item["Tags"])
    return IpList(
        provider=PROVIDER,
        account=scope.account,
        region=scope.region,
        list_id=set_id,
        name=str(item.get("Name", "")),
        list_type=list_type,
        status=status,
        location=str(item.get("Location", "")),
        format=str(item.get("Format", "")),
        detector_id=detector_id,
        extra=extra,
    )


def _guarded(scope: Scope, resource_type: str, resource_id: str, build):
    """Build one object; a payload we cannot read is recorded, never dropped silently."""
    return guarded(scope, resource_type, resource_id or "an item", build)


def _security_groups(scope: Scope, raw: Json, eni_groups: Mapping[str, list[str]]):
    entries = prefix_entries(raw)
    rows_by_group: dict[str, list[Json]] = {}
    have_rows = "SecurityGroupRules" in raw
    for index, row in enumerate(raw.get("SecurityGroupRules") or ()):
        if isinstance(row, Mapping) and isinstance(row.get("GroupId"), str):
            rows_by_group.setdefault(row["GroupId"], []).append(row)
        else:  # a rule row that names no group cannot be put anywhere: say so
            yield _guarded(scope, "SecurityGroupRules",
                           f"security group rule {label(row, 'SecurityGroupRuleId', index=index)}",
                           lambda r=row: require_text(require_mapping(r, "rule"), "GroupId"))
    groups = {g["GroupId"]: g for g in raw.get("SecurityGroups") or ()
              if isinstance(g, Mapping) and isinstance(g.get("GroupId"), str) and g["GroupId"]}
    for index, group in enumerate(raw.get("SecurityGroups") or ()):
        if not (isinstance(group, Mapping) and isinstance(group.get("GroupId"), str)
                and group["GroupId"]):
            yield _guarded(scope, "SecurityGroups", f"security group {label(group, index=index)}",
                           lambda g=group: require_text(require_mapping(g, "group"), "GroupId"))
    if "SecurityGroups" not in raw:
        # Only the rule rows were read: the groups are known by id, without names.
        groups = {gid: {"GroupId": gid} for gid in rows_by_group}
    for group_id, group in sorted(groups.items()):
        rows = rows_by_group.get(group_id) if have_rows else None
        yield _guarded(scope, "SecurityGroups", group_id, lambda g=group, r=rows, i=group_id:
                       security_group(scope, g, r, eni_groups.get(i, ()), entries))


_EXPECTED = {**{key: list for key in (
    "SecurityGroups", "SecurityGroupRules", "NetworkAcls", "NetworkInterfaces", "Instances",
    "Subnets", "RouteTables", "InternetGateways", "Vpcs", "ManagedPrefixLists")},
    **{key: Mapping for key in ("ManagedPrefixListEntries", "GuardDutyDetectors",
                                "GuardDutyIPSets", "GuardDutyThreatIntelSets")}}


def normalize_scope(scope: Scope, raw: Json) -> Iterator[CollectedItem]:
    """Everything read in one (account, region): rule sets, assets, subnets, VPCs, IP lists.

    Each object is built under its own guard: one the normalizer cannot read becomes a
    CollectionError naming it, and the rest of the region is still reported.
    """
    raw, shape_errors = checked_payload(scope, raw, _EXPECTED)
    yield from shape_errors
    instances = {i["InstanceId"]: i for i in raw.get("Instances") or ()
                 if isinstance(i, Mapping) and isinstance(i.get("InstanceId"), str)}
    eni_groups: dict[str, list[str]] = {}
    for index, eni in enumerate(raw.get("NetworkInterfaces") or ()):
        asset = _guarded(scope, "NetworkInterfaces",
                         f"network interface {label(eni, 'NetworkInterfaceId', index=index)}",
                         lambda e=eni: interface(scope, e, instances))
        if not isinstance(asset, CollectionError):
            for group_id in asset.rule_set_ids:
                eni_groups.setdefault(group_id, []).append(asset.asset_id)
        yield asset
    yield from _security_groups(scope, raw, eni_groups)
    for index, acl in enumerate(raw.get("NetworkAcls") or ()):
        yield _guarded(scope, "NetworkAcls",
                       f"network ACL {label(acl, 'NetworkAclId', index=index)}",
                       lambda a=acl: network_acl(scope, a))
    for index, vpc in enumerate(raw.get("Vpcs") or ()):
        yield _guarded(scope, "Vpcs", f"VPC {label(vpc, 'VpcId', index=index)}",
                       lambda v=vpc: normalize_vpc(scope, v, raw.get("InternetGateways")))
    yield from normalize_subnets(scope, raw)
    for key, list_type in (("GuardDutyIPSets", "trusted"), ("GuardDutyThreatIntelSets", "threat")):
        found = _guarded(scope, key, f"the {list_type} IP sets",
                         lambda k=key, t=list_type: list(_ip_sets(scope, raw, k, t)))
        if isinstance(found, CollectionError):
            yield found
        else:
            yield from found
