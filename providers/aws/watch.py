"""``cloudwall watch`` on AWS: firewall-changing calls from CloudTrail, and a re-read of just
what one touched.

The pure half turns one CloudTrail record (a LookupEvents item's ``CloudTrailEvent``, or the
``detail`` of an EventBridge "AWS API Call via CloudTrail" event) into an AuditEvent: the
targets are the security group, network ACL, interface and instance ids the call names in its
request or answer (and in the record's ``Resources``), and GuardDuty lists as
``ipset/DETECTOR/SET`` or ``threatintelset/DETECTOR/SET``.

The reading half asks CloudTrail for the write events of one region (``ReadOnly=false``: one
paginated call per region per interval, whatever the number of operations watched, under
LookupEvents' two calls a second) and re-reads targets with id filters, so a group deleted since
the call is simply absent (``gone``) rather than an InvalidGroup.NotFound for the whole batch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from providers.aws.audit import attribution_from_detail, event_detail
from providers.aws.fetch import PROVIDER, ScopeReader, aws_pages, collection_error
from providers.aws.normalize import normalize_scope
from providers.aws.resources import Resource
from providers.watching import AuditEvent, Reread, window_events
from scanner.attack import watched_operations
from scanner.model import CollectedItem, CollectionError, Scope

# Ids of the EC2 objects a firewall call can touch, wherever the record names them.
_EC2_ID = re.compile(r"(?<![\w-])((?:sg|acl|eni|i)-[0-9a-f]{8,17})(?![\w-])")
_GUARDDUTY_KINDS = {"IPSet": "ipset", "ThreatIntelSet": "threatintelset"}
_SET_ID_KEYS = {"ipset": "ipSetId", "threatintelset": "threatIntelSetId"}
_FILTER_CHUNK = 200  # values per EC2 filter (the API takes at most 200)

# The reads a re-read makes, named as the full collection names them (errors then mark the
# same kinds unknown in drift), with the IAM action each needs.
_GROUPS = Resource("SecurityGroups", "ec2", "describe_security_groups", "SecurityGroups",
                   "ec2:DescribeSecurityGroups", 1000)
_RULES = Resource("SecurityGroupRules", "ec2", "describe_security_group_rules",
                  "SecurityGroupRules", "ec2:DescribeSecurityGroupRules", 1000)
_ACLS = Resource("NetworkAcls", "ec2", "describe_network_acls", "NetworkAcls",
                 "ec2:DescribeNetworkAcls", 1000)
_ENIS = Resource("NetworkInterfaces", "ec2", "describe_network_interfaces",
                 "NetworkInterfaces", "ec2:DescribeNetworkInterfaces", 1000)
_INSTANCES = Resource("Instances", "ec2", "describe_instances", "Reservations",
                      "ec2:DescribeInstances", 1000)


# --- the pure half: one CloudTrail record -> one AuditEvent ------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _guardduty_targets(name: str, detail: Mapping[str, Any]) -> tuple[str, ...]:
    kind = next((k for suffix, k in _GUARDDUTY_KINDS.items() if name.endswith(suffix)), None)
    if kind is None:
        return ()
    request = detail.get("requestParameters") or {}
    answer = detail.get("responseElements") or {}
    detector = request.get("detectorId") if isinstance(request, Mapping) else None
    key = _SET_ID_KEYS[kind]
    set_id = (request.get(key) if isinstance(request, Mapping) else None) or (
        answer.get(key) if isinstance(answer, Mapping) else None)
    if not (isinstance(detector, str) and isinstance(set_id, str)):
        return ()
    return (f"{kind}/{detector}/{set_id}",)


def targets_of(detail: Mapping[str, Any], resources: Iterable[Mapping[str, Any]] = ()) -> tuple[
        str, ...]:
    """The ids a call touched: from its request and answer, and the record's resources."""
    name = str(detail.get("eventName") or "")
    if detail.get("eventSource") == "guardduty.amazonaws.com":
        return _guardduty_targets(name, detail)
    found: dict[str, None] = {}
    texts = [*_strings(detail.get("requestParameters")),
             *_strings(detail.get("responseElements")),
             *(str(r.get("ResourceName") or "") for r in resources)]
    for text in texts:
        for match in _EC2_ID.finditer(text):
            found[match.group(1)] = None
    return tuple(sorted(found))


def audit_event(scope: Scope, detail: Mapping[str, Any], *,
                resources: Iterable[Mapping[str, Any]] = (),
                fallback: Mapping[str, Any] | None = None) -> AuditEvent | None:
    """One CloudTrail record as an AuditEvent of ``scope``; None for a call that changes no
    firewall (not in the watched catalogue) or that no id can be told of."""
    attribution = attribution_from_detail(detail, fallback)
    name = attribution.operation
    if not name or name not in watched_operations() or attribution.event_id is None:
        return None
    time = attribution.time
    if time is None:
        return None
    return AuditEvent(
        provider=PROVIDER, account=scope.account, region=scope.region,
        event_id=attribution.event_id, operation=name, time=time,
        targets=targets_of(detail, resources), attribution=attribution,
        failed=bool(detail.get("errorCode")))


def _in_scope(scope: Scope, detail: Mapping[str, Any]) -> bool:
    return (detail.get("awsRegion", scope.region) == scope.region
            and detail.get("recipientAccountId", scope.account) == scope.account)


def lookup_events(clients: Any, scope: Scope, start: datetime,
                  end: datetime) -> Iterator[AuditEvent | CollectionError]:
    """The watched write calls CloudTrail event history holds for one region, in [start, end)."""
    try:
        client = clients("cloudtrail", scope.region)
        pages = aws_pages(client, "lookup_events", "Events", 50, getattr(clients, "limits", None),
                          LookupAttributes=[{"AttributeKey": "ReadOnly",
                                             "AttributeValue": "false"}],
                          StartTime=start, EndTime=end)
        items = [item for page in pages for item in page.get("Events") or ()]
    except Exception as exc:  # noqa: BLE001 - classify() re-raises non-SDK errors
        error = collection_error(scope, "CloudTrail", "cloudtrail:LookupEvents", exc)
        yield CollectionError(provider=PROVIDER, account=scope.account, region=scope.region,
                              reason=f"CloudTrail event history not read: {error.reason}",
                              hint=error.hint, resource_type="CloudTrail", code=error.code)
        return
    # LookupEvents answers newest first; window_events hands them on oldest first, each
    # record read under the item guard (one unreadable record is an error naming it).
    yield from window_events(scope, items, start, end, _lookup_event, "CloudTrail",
                             "a CloudTrail event")


def _lookup_event(scope: Scope, item: Mapping[str, Any]) -> AuditEvent | None:
    detail = event_detail(item)
    if not _in_scope(scope, detail):
        return None
    return audit_event(scope, detail, resources=item.get("Resources") or (), fallback=item)


# --- the reading half: re-read what the calls touched ------------------------------------------


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _FILTER_CHUNK):
        yield list(values[start:start + _FILTER_CHUNK])


class _Reader(ScopeReader):
    """The full collection's reader (its error handling and page guard), filtered reads."""

    def filtered(self, resource: Resource, name: str, values: Sequence[str],
                 flatten: bool = False) -> list | None:
        if not values:
            return []
        ec2 = self.make_client("ec2", self.scope.region)
        out: list = []

        def read() -> list:
            for chunk in _chunks(sorted(set(values))):
                for page in aws_pages(ec2, resource.operation, resource.result_key,
                                      resource.page_size, self.limits,
                                      Filters=[{"Name": name, "Values": chunk}]):
                    rows = page.get(resource.result_key) or ()
                    if flatten:  # reservations -> instances
                        rows = [i for r in rows for i in r.get("Instances") or ()]
                    out.extend(rows)
            return out

        return out if self._read(resource, read) else None

    def ip_sets(self, targets: Sequence[str]) -> tuple[dict, list[str]]:
        """GuardDuty lists by ``KIND/DETECTOR/SET``: the raw sections, and the sets gone."""
        from botocore.exceptions import ClientError

        guardduty = self.make_client("guardduty", self.scope.region)
        sections: dict[str, dict[str, dict]] = {"GuardDutyIPSets": {},
                                                 "GuardDutyThreatIntelSets": {}}
        detectors: dict[str, dict] = {}
        gone: list[str] = []
        for target in targets:
            kind, detector, set_id = target.split("/", 2)
            key = "GuardDutyIPSets" if kind == "ipset" else "GuardDutyThreatIntelSets"
            getter = "get_ip_set" if kind == "ipset" else "get_threat_intel_set"
            param = "IpSetId" if kind == "ipset" else "ThreatIntelSetId"
            resource = Resource(key, "guardduty", getter, "", f"guardduty:{getter}", 1)
            try:
                if detector not in detectors:
                    answer = guardduty.get_detector(DetectorId=detector)
                    detectors[detector] = {k: v for k, v in answer.items()
                                           if k != "ResponseMetadata"}
                answer = getattr(guardduty, getter)(DetectorId=detector, **{param: set_id})
            except ClientError as exc:
                # GuardDuty says a set or detector that is not there is "not owned".
                if exc.response.get("Error", {}).get("Code") == "BadRequestException":
                    gone.append(set_id)
                    continue
                self._fail(resource.name, resource.action, exc)
                continue
            except Exception as exc:  # noqa: BLE001 - classify() re-raises non-SDK errors
                self._fail(resource.name, resource.action, exc)
                continue
            body = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
            sections[key].setdefault(detector, {})[set_id] = body
        return {"GuardDutyDetectors": detectors, **sections}, gone


def _named(errors: list[CollectionError], targets: Sequence[str]) -> list[CollectionError]:
    """Errors of a re-read say which targets they leave unread."""
    listed = ", ".join(targets)
    return [CollectionError(provider=e.provider, account=e.account, region=e.region,
                            reason=f"{listed} not re-read: {e.reason}", hint=e.hint,
                            resource_type=e.resource_type, code=e.code) for e in errors]


def reread(clients: Any, scope: Scope, targets: Sequence[str]) -> Reread:
    """The current state of ``targets`` (security groups with their rules and interfaces,
    network ACLs with every ACL of their VPC, interfaces, instances' interfaces, GuardDuty
    lists), normalised as the full collection would."""
    reader = _Reader(clients, scope)
    groups = sorted({t for t in targets if t.startswith("sg-")})
    acls = sorted({t for t in targets if t.startswith("acl-")})
    enis = sorted({t for t in targets if t.startswith("eni-")})
    instances = sorted({t for t in targets if t.startswith("i-")})
    lists = sorted({t for t in targets if t.count("/") == 2})
    raw: dict[str, Any] = {}
    errors: list[CollectionError] = []
    gone: list[str] = []
    if groups:
        found = reader.filtered(_GROUPS, "group-id", groups)
        rows = reader.filtered(_RULES, "group-id", groups)
        if found is not None and rows is not None:
            raw["SecurityGroups"], raw["SecurityGroupRules"] = found, rows
            present = {g.get("GroupId") for g in found}
            gone += [g for g in groups if g not in present]
    interfaces: dict[str, dict] = {}
    for name, values in (("group-id", groups), ("network-interface-id", enis),
                         ("attachment.instance-id", instances)):
        found = reader.filtered(_ENIS, name, values)
        for eni in found or ():
            interfaces[eni["NetworkInterfaceId"]] = eni
        if found is not None and name == "network-interface-id":
            gone += [e for e in enis if e not in interfaces]
    if groups or enis or instances:
        raw["NetworkInterfaces"] = list(interfaces.values())
        attached = sorted({(e.get("Attachment") or {}).get("InstanceId") or ""
                           for e in interfaces.values()} - {""})
        raw["Instances"] = reader.filtered(_INSTANCES, "instance-id", attached, flatten=True) or []
    if acls:
        named = reader.filtered(_ACLS, "network-acl-id", acls)
        vpcs = sorted({a.get("VpcId") for a in named or () if a.get("VpcId")})
        # Every ACL of those VPCs: an association moved to one ACL left another one.
        found = reader.filtered(_ACLS, "vpc-id", vpcs) if named is not None else None
        if found is not None:
            raw["NetworkAcls"] = found
            present = {a.get("NetworkAclId") for a in found}
            gone += [a for a in acls if a not in present]
    if raw.get("SecurityGroupRules") or raw.get("SecurityGroups"):
        from providers.aws.fetch import referenced_prefix_lists

        reader.read_prefix_list_entries(clients("ec2", scope.region),
                                        referenced_prefix_lists(raw))
        raw["ManagedPrefixListEntries"] = reader.raw.get("ManagedPrefixListEntries", {})
    if lists:
        sections, lists_gone = reader.ip_sets(lists)
        raw.update(sections)
        gone += lists_gone
    errors = _named(reader.errors, targets)
    items: list[CollectedItem] = [*errors, *normalize_scope(scope, raw)]
    return Reread(scope=scope, items=tuple(items), gone=tuple(sorted(set(gone))))
