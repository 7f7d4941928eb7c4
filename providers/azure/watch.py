"""Watching Azure: the Activity Log's finished Microsoft.Network calls that change NSGs, their
rules or their attachments, and a re-read of just the objects such a call touched.

The Activity Log is read with the same client and page guard as attribution
(``fetch.list_activity_events``), filtered to the window and to the Microsoft.Network resource
provider; events are turned into :class:`AuditEvent` here by pure functions. A re-read fetches
single resources by ARM id (``GET`` through the ``NetworkManagementClient`` pipeline, the pinned
API version) and normalises them with the functions a full collection uses, so a re-read object
equals what the next full scan would report for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from providers.azure.audit import event_attribution, name_value
from providers.azure.balancers import LoadBalancerIndex, index_load_balancers
from providers.azure.normalize import arm_id, normalize_nic, normalize_nsg, normalize_vnet
from providers.guard import guarded
from providers.watching import AuditEvent, log_time, window_events
from scanner.attack import change_operations
from scanner.model import CollectedItem, CollectionError, RuleSetKind, Scope

PROVIDER = "azure"
_NSG = "/providers/microsoft.network/networksecuritygroups/"
_NIC = "/providers/microsoft.network/networkinterfaces/"
_VNET = "/providers/microsoft.network/virtualnetworks/"
_RULE = "/securityrules/"
# What drift already names for NSGs, plus a virtual network PUT: it carries its subnets inline,
# so it can set or remove a subnet's NSG as a subnet write does.
WATCHED = tuple(op.lower() for op in change_operations(RuleSetKind.AZURE_NSG)) + (
    "microsoft.network/virtualnetworks/write",)
# An operation is logged once per phase (Started, Accepted, then Succeeded or Failed), every
# phase with the same operationId and correlationId and its own eventDataId. Only the last
# phase says whether the change happened, so only it becomes an event.
_FINISHED = {"succeeded": False, "failed": True}


def activity_filter(start: datetime, end: datetime) -> str:
    """One Activity Log query for the window, every Microsoft.Network resource of the
    subscription (the ``resourceProvider`` pattern of the ``$filter`` grammar); both bounds are
    inclusive there, so the end is excluded again when events are read."""
    return (f"eventTimestamp ge '{log_time(start)}' and eventTimestamp le '{log_time(end)}' "
            "and resourceProvider eq 'Microsoft.Network'")


def nsg_of(resource_id: str) -> str:
    """A security rule's id is its NSG's id plus ``/securityRules/<name>``."""
    head, sep, _ = arm_id(resource_id).partition(_RULE)
    return head if sep else arm_id(resource_id)


def audit_event(scope: Scope, event: Mapping[str, Any]) -> AuditEvent | None:
    """One raw Activity Log event (REST JSON) as an AuditEvent; None when it is not a
    finished firewall-changing call."""
    operation = name_value(event.get("operationName")) or ""
    if operation.lower() not in WATCHED:
        return None
    status = (name_value(event.get("status")) or "").lower()
    if status not in _FINISHED:
        return None
    attribution = event_attribution(event)
    event_id = attribution.event_id
    if attribution.time is None or not event_id:
        raise ValueError(f"{operation} event {event_id or '(no eventDataId)'} has no "
                         "eventTimestamp or no eventDataId")
    return AuditEvent(
        provider=PROVIDER,
        account=scope.account,
        region=scope.region,
        # eventDataId is unique per log entry and the same every time the entry is read, so a
        # window that overlaps the last one reads it again under the same id.
        event_id=event_id,
        operation=operation,
        time=attribution.time,
        targets=(nsg_of(str(event.get("resourceId") or "")),),
        attribution=attribution,
        failed=_FINISHED[status],
    )


def audit_events(scope: Scope, events: Iterable[Mapping[str, Any]], start: datetime,
                 end: datetime) -> list[AuditEvent | CollectionError]:
    """The finished firewall-changing calls among ``events`` made in [start, end), oldest
    first, each once; an event that cannot be read is a CollectionError naming it."""
    return window_events(scope, events, start, end, audit_event, "activityLog",
                         "an Activity Log event")


# --- re-reading -------------------------------------------------------------------------------

# ARM id (lower-case) -> the resource's JSON, None when it does not exist (404); raises the SDK's
# error for any other answer.
GetResource = Callable[[str], "dict[str, Any] | None"]


class _Read:
    """What one re-read fetched, by lower-cased ARM id: the JSON, or None when the resource
    does not exist or could not be read (then ``failed`` has it and ``errors`` says why)."""

    def __init__(self, get: GetResource,
                 error_for: Callable[[str, BaseException, str], CollectionError]) -> None:
        self.get = get
        self.error_for = error_for
        self.resources: dict[str, dict[str, Any] | None] = {}
        self.failed: set[str] = set()
        self.errors: list[CollectionError] = []

    def fetch(self, resource_id: str, resource_type: str) -> dict[str, Any] | None:
        if resource_id not in self.resources:
            try:
                self.resources[resource_id] = self.get(resource_id)
            except Exception as exc:  # recorded as an error naming the resource
                self.errors.append(self.error_for(resource_id, exc, resource_type))
                self.failed.add(resource_id)
                self.resources[resource_id] = None
        return self.resources[resource_id]


def _kind(resource_id: str) -> str:
    if _NSG in resource_id:
        return "networkSecurityGroups"
    if _NIC in resource_id:
        return "networkInterfaces"
    if _VNET in resource_id:
        return "subnets" if "/subnets/" in resource_id else "virtualNetworks"
    return ""


def _vnet_of(subnet_id: str) -> str:
    return subnet_id.partition("/subnets/")[0]


def _refs(obj: Mapping[str, Any] | None, key: str) -> list[str]:
    props = (obj or {}).get("properties") or {}
    return [arm_id(r.get("id")) for r in props.get(key) or [] if isinstance(r, Mapping)
            and r.get("id")]


def _nic_refs(nic: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(public IP ids, load balancer ids) a NIC's IP configurations name."""
    pips, lbs = [], []
    for config in ((nic.get("properties") or {}).get("ipConfigurations") or []):
        props = config.get("properties") or {} if isinstance(config, Mapping) else {}
        pip = arm_id((props.get("publicIPAddress") or {}).get("id"))
        if pip:
            pips.append(pip)
        for ref in (props.get("loadBalancerBackendAddressPools") or []) + (
                props.get("loadBalancerInboundNatRules") or []):
            ref_id = arm_id((ref or {}).get("id"))
            for marker in ("/backendaddresspools/", "/inboundnatrules/"):
                if marker in ref_id:
                    lbs.append(ref_id.partition(marker)[0])
    return pips, lbs


def _front_end_ips(lb: Mapping[str, Any]) -> list[str]:
    return [arm_id(((f.get("properties") or {}).get("publicIPAddress") or {}).get("id"))
            for f in (lb.get("properties") or {}).get("frontendIPConfigurations") or []
            if isinstance(f, Mapping)
            and ((f.get("properties") or {}).get("publicIPAddress") or {}).get("id")]


def reread(scope: Scope, targets: Sequence[str], get: GetResource,
           error_for: Callable[[str, BaseException, str], CollectionError],
           ) -> tuple[list[CollectedItem], list[str]]:
    """(items, gone) for ``targets``: NSG (or security rule) ids give the NSG and the NICs and
    subnets attached to it; NIC and subnet ids give the NIC or subnet and the NSG it now names;
    a virtual network id gives the network, its subnets and their NSGs."""
    read = _Read(get, error_for)
    items: list[CollectedItem] = []
    gone: list[str] = []
    nsgs: list[str] = []
    nics: list[str] = []
    subnets: list[str] = []
    vnets: list[str] = []
    for target in dict.fromkeys(arm_id(t) for t in targets):
        kind = _kind(target)
        if kind == "networkSecurityGroups":
            nsgs.append(nsg_of(target))
        elif kind == "networkInterfaces":
            nics.append(target)
        elif kind == "subnets":
            subnets.append(target)
        elif kind == "virtualNetworks":
            vnets.append(target)
        else:
            items.append(CollectionError(
                PROVIDER, scope.account, scope.region,
                f"{target}: not an NSG, security rule, network interface, subnet or virtual "
                "network id", "report this as a cloudwall bug (rerun with --debug)",
                code="UnknownTarget"))
    # The NSGs first: they name every NIC and subnet attached to them.
    for nsg_id in dict.fromkeys(nsgs):
        nsg = read.fetch(nsg_id, "networkSecurityGroups")
        if nsg is not None:
            nics += _refs(nsg, "networkInterfaces")
            subnets += _refs(nsg, "subnets")
    asked_subnets = set(subnets)
    # Subnets live inside their virtual network: one GET of the network reads all of them.
    subnet_items: dict[str, CollectedItem] = {}
    for vnet_id in dict.fromkeys([*vnets, *(_vnet_of(s) for s in subnets)]):
        vnet = read.fetch(vnet_id, "virtualNetworks")
        if vnet is None:
            continue
        built = guarded(scope, "virtualNetworks", f"virtual network {vnet_id}",
                        lambda v=vnet: normalize_vnet(scope, v))
        if isinstance(built, CollectionError):
            items.append(built)
            continue
        network, found = built
        whole = vnet_id in vnets
        if whole:
            items.append(network)
        for subnet in found:
            if whole or subnet.subnet_id in asked_subnets:
                subnet_items[subnet.subnet_id] = subnet
    nic_items: dict[str, CollectedItem] = {}
    for nic_id in dict.fromkeys(nics):
        nic = read.fetch(nic_id, "networkInterfaces")
        if nic is not None:
            nic_items[nic_id] = _nic(scope, read, nic)
    # The NSGs a re-read NIC or subnet now names (an attachment just made).
    named = [rs for item in [*subnet_items.values(), *nic_items.values()]
             for rs in getattr(item, "rule_set_ids", ())]
    for nsg_id in dict.fromkeys(named):
        if nsg_id not in read.resources:
            read.fetch(nsg_id, "networkSecurityGroups")
    for nsg_id in dict.fromkeys([*nsgs, *named]):
        nsg = read.resources.get(nsg_id)
        if nsg is None:
            continue
        subnet_refs = [s for s, item in subnet_items.items()
                       if nsg_id in getattr(item, "rule_set_ids", ())]
        nic_refs = [n for n, item in nic_items.items()
                    if nsg_id in getattr(item, "rule_set_ids", ())]
        items.append(guarded(scope, "networkSecurityGroups", f"network security group {nsg_id}",
                             lambda n=nsg, s=subnet_refs, c=nic_refs:
                             normalize_nsg(scope, n, s, c)))
    items += [*subnet_items.values(), *nic_items.values()]
    for resource_id, found in read.resources.items():
        if found is None and resource_id not in read.failed and _kind(resource_id) in (
                "networkSecurityGroups", "networkInterfaces", "virtualNetworks"):
            gone.append(resource_id)
    # A subnet whose network is gone is gone with it.
    gone += [s for s in asked_subnets if _vnet_of(s) in gone]
    gone += [s for s in asked_subnets if _vnet_of(s) in read.resources
             and read.resources[_vnet_of(s)] is not None and s not in subnet_items]
    items += read.errors
    return items, list(dict.fromkeys(gone))


def _nic(scope: Scope, read: _Read, nic: dict[str, Any]) -> CollectedItem:
    """A NIC normalised with the public IPs and load balancers it names, as a full
    collection's joins would resolve them."""
    pip_ids, lb_ids = _nic_refs(nic)
    lbs = [read.fetch(lb_id, "loadBalancers") for lb_id in dict.fromkeys(lb_ids)]
    lb_failed = any(lb_id in read.failed for lb_id in lb_ids)
    for lb in lbs:
        pip_ids += _front_end_ips(lb or {})
    public_ips = {pip_id: pip for pip_id in dict.fromkeys(pip_ids)
                  if (pip := read.fetch(pip_id, "publicIPAddresses")) is not None}
    balancers: LoadBalancerIndex | None = None
    if not lb_failed:
        balancers = index_load_balancers([lb for lb in lbs if lb is not None], public_ips)
    nic_id = arm_id(nic.get("id"))
    built = guarded(scope, "networkInterfaces", f"network interface {nic_id}",
                    lambda: normalize_nic(scope, nic, public_ips, balancers))
    return built


def resource_errors(scope: Scope, describe: Callable[[BaseException], Any],
                    hint: Callable[[Any, str], str]
                    ) -> Callable[[str, BaseException, str], CollectionError]:
    """A failed GET as a CollectionError naming the resource (raises what is not an SDK error)."""

    def error_for(resource_id: str, exc: BaseException, resource_type: str) -> CollectionError:
        failure = describe(exc)
        if failure is None:
            raise exc
        return CollectionError(
            provider=PROVIDER, account=scope.account, region=scope.region,
            reason=f"{resource_id} could not be re-read: {failure.reason}",
            hint=hint(failure, f"Microsoft.Network/{resource_type}/read"),
            resource_type=resource_type, code=failure.code)

    return error_for


__all__ = ["WATCHED", "activity_filter", "audit_event", "audit_events", "nsg_of",
           "resource_errors", "reread"]
