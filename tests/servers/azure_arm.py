"""A local HTTPS server that speaks the Azure Resource Manager REST API, for the Azure adapter.

What it serves is an :class:`ArmEstate`: subscriptions, their Microsoft.Network resources as the
real API shapes them (``properties`` nesting, ids, empty plural lists next to singular values),
their Activity Log events, and management groups (listed with ``descendants``). Behaviour that
the adapter must cope with is switchable per subscription and resource type: 403 with the
real ``AuthorizationFailed`` body, 429 with ``Retry-After``, 500s, slow answers, bodies cut
short, and lists that never end (``nextLink`` back to the same page, or new links on empty pages
forever). Lists are paged with ``nextLink``
URLs that carry the ``api-version`` (the SDK follows them as-is); a request without
``api-version`` or without the bearer token is refused as ARM refuses it. TLS uses a
``trustme`` certificate authority whose bundle is written to ``ca_bundle`` for
``REQUESTS_CA_BUNDLE``.

The payload builders below are the single source of ARM JSON for tests and the benchmark.
"""

from __future__ import annotations

import json
import re
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from providers.demo.azure import activity_event as demo_activity_event
from tests.servers.quiet import QuietHTTPServer

TENANT = "72f988bf-0000-4000-8000-00000000abcd"
TOKEN = "test-token-not-a-secret"
NETWORK_TYPES = (
    "networkSecurityGroups",
    "networkInterfaces",
    "virtualNetworks",
    "publicIPAddresses",
    "applicationSecurityGroups",
    "loadBalancers",
)
_ETAG = 'W/"8f0c3b4e-0000-4000-8000-000000000001"'

# --- payload builders: ARM JSON exactly as the REST API returns it ----------------------------


def network_id(sub: str, rg: str, kind: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{kind}/{name}"


def _one_or_many(props: dict[str, Any], singular: str, plural: str, value: Any) -> None:
    """The API sets one form and returns the other as an empty list."""
    if isinstance(value, (list, tuple)):
        props[plural] = list(value)
    else:
        props[singular] = value
        props[plural] = []


def security_rule(nsg_id: str, name: str, priority: int, access: str, direction: str,
                  protocol: str = "Tcp", ports: str | list[str] = "*",
                  source: str | list[str] | None = "*", destination: str | list[str] | None = "*",
                  source_ports: str | list[str] = "*", description: str | None = None,
                  source_asgs: Iterable[str] = (), destination_asgs: Iterable[str] = (),
                  default: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {"provisioningState": "Succeeded"}
    if description is not None:
        props["description"] = description
    props["protocol"] = protocol
    _one_or_many(props, "sourcePortRange", "sourcePortRanges", source_ports)
    _one_or_many(props, "destinationPortRange", "destinationPortRanges", ports)
    if source_asgs:
        props["sourceApplicationSecurityGroups"] = [{"id": a} for a in source_asgs]
        props["sourceAddressPrefixes"] = []
    elif source is not None:
        _one_or_many(props, "sourceAddressPrefix", "sourceAddressPrefixes", source)
    if destination_asgs:
        props["destinationApplicationSecurityGroups"] = [{"id": a} for a in destination_asgs]
        props["destinationAddressPrefixes"] = []
    elif destination is not None:
        _one_or_many(props, "destinationAddressPrefix", "destinationAddressPrefixes", destination)
    props.update({"access": access, "priority": priority, "direction": direction})
    kind = "defaultSecurityRules" if default else "securityRules"
    return {
        "name": name,
        "id": f"{nsg_id}/{kind}/{name}",
        "etag": _ETAG,
        "type": f"Microsoft.Network/networkSecurityGroups/{kind}",
        "properties": props,
    }


_DEFAULT_RULES = (
    ("AllowVnetInBound", "Allow inbound traffic from all VMs in VNET", 65000, "Allow", "Inbound",
     "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", "Allow inbound traffic from azure load balancer", 65001,
     "Allow", "Inbound", "AzureLoadBalancer", "*"),
    ("DenyAllInBound", "Deny all inbound traffic", 65500, "Deny", "Inbound", "*", "*"),
    ("AllowVnetOutBound", "Allow outbound traffic from all VMs to all VMs in VNET", 65000,
     "Allow", "Outbound", "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", "Allow outbound traffic from all VMs to Internet", 65001, "Allow",
     "Outbound", "*", "Internet"),
    ("DenyAllOutBound", "Deny all outbound traffic", 65500, "Deny", "Outbound", "*", "*"),
)


def default_rules(nsg_id: str) -> list[dict[str, Any]]:
    """The six rules Azure puts in every NSG."""
    return [security_rule(nsg_id, name, prio, access, direction, "*", "*", src, dst,
                          description=text, default=True)
            for name, text, prio, access, direction, src, dst in _DEFAULT_RULES]


def nsg(sub: str, rg: str, name: str, rules: Iterable[dict[str, Any]] = (),
        location: str = "westeurope", subnets: Iterable[str] = (), nics: Iterable[str] = (),
        tags: dict[str, str] | None = None) -> dict[str, Any]:
    nsg_id = network_id(sub, rg, "networkSecurityGroups", name)
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "resourceGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, nsg_id)),
        "securityRules": list(rules),
        "defaultSecurityRules": default_rules(nsg_id),
    }
    if subnets:
        props["subnets"] = [{"id": s} for s in subnets]
    if nics:
        props["networkInterfaces"] = [{"id": n} for n in nics]
    body: dict[str, Any] = {
        "name": name,
        "id": nsg_id,
        "etag": _ETAG,
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": location,
    }
    if tags:
        body["tags"] = tags
    body["properties"] = props
    return body


def subnet(vnet_id: str, name: str, prefix: str | list[str], nsg_id: str | None = None,
           route_table: str | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"provisioningState": "Succeeded"}
    if isinstance(prefix, list):
        props["addressPrefixes"] = prefix
    else:
        props["addressPrefix"] = prefix
    if nsg_id:
        props["networkSecurityGroup"] = {"id": nsg_id}
    if route_table:
        props["routeTable"] = {"id": route_table}
    props.update({"delegations": [], "privateEndpointNetworkPolicies": "Disabled",
                  "privateLinkServiceNetworkPolicies": "Enabled"})
    return {"name": name, "id": f"{vnet_id}/subnets/{name}", "etag": _ETAG,
            "type": "Microsoft.Network/virtualNetworks/subnets", "properties": props}


def vnet(sub: str, rg: str, name: str, prefixes: list[str],
         subnets: Iterable[tuple[str, str | list[str], str | None]] = (),
         location: str = "westeurope") -> dict[str, Any]:
    vnet_id = network_id(sub, rg, "virtualNetworks", name)
    return {
        "name": name,
        "id": vnet_id,
        "etag": _ETAG,
        "type": "Microsoft.Network/virtualNetworks",
        "location": location,
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, vnet_id)),
            "addressSpace": {"addressPrefixes": prefixes},
            "subnets": [subnet(vnet_id, n, p, g) for n, p, g in subnets],
            "virtualNetworkPeerings": [],
            "enableDdosProtection": False,
        },
    }


def nic(sub: str, rg: str, name: str, subnet_id: str, private_ip: str,
        public_ip_id: str | None = None, nsg_id: str | None = None, vm: str | None = None,
        asgs: Iterable[str] = (), ip_forwarding: bool = False, ipv6: str | None = None,
        pools: Iterable[str] = (), location: str = "westeurope") -> dict[str, Any]:
    nic_id = network_id(sub, rg, "networkInterfaces", name)
    config: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "privateIPAddress": private_ip,
        "privateIPAllocationMethod": "Dynamic",
        "subnet": {"id": subnet_id},
        "primary": True,
        "privateIPAddressVersion": "IPv4",
    }
    if public_ip_id:
        config["publicIPAddress"] = {"id": public_ip_id}
    if asgs:
        config["applicationSecurityGroups"] = [{"id": a} for a in asgs]
    if pools:
        config["loadBalancerBackendAddressPools"] = [{"id": p} for p in pools]
    configs = [{"name": "ipconfig1", "id": f"{nic_id}/ipConfigurations/ipconfig1",
                "etag": _ETAG, "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
                "properties": config}]
    if ipv6:
        configs.append({"name": "ipconfig-v6", "id": f"{nic_id}/ipConfigurations/ipconfig-v6",
                        "etag": _ETAG,
                        "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
                        "properties": {"provisioningState": "Succeeded",
                                       "privateIPAddress": ipv6,
                                       "privateIPAllocationMethod": "Dynamic",
                                       "subnet": {"id": subnet_id}, "primary": False,
                                       "privateIPAddressVersion": "IPv6"}})
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "resourceGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, nic_id)),
        "ipConfigurations": configs,
        "dnsSettings": {"dnsServers": [], "appliedDnsServers": []},
        "macAddress": "00-0D-3A-1B-C7-21",
        "enableAcceleratedNetworking": False,
        "vnetEncryptionSupported": False,
        "enableIPForwarding": ip_forwarding,
        "disableTcpStateTracking": False,
        "primary": True,
        "nicType": "Standard",
        "auxiliaryMode": "None",
    }
    if nsg_id:
        props["networkSecurityGroup"] = {"id": nsg_id}
    if vm:
        props["virtualMachine"] = {
            "id": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/"
                  f"virtualMachines/{vm}"}
    return {"name": name, "id": nic_id, "etag": _ETAG,
            "type": "Microsoft.Network/networkInterfaces", "location": location,
            "properties": props}


def public_ip(sub: str, rg: str, name: str, address: str | None, sku: str | None = "Standard",
              ip_config_id: str | None = None, version: str = "IPv4",
              location: str = "westeurope") -> dict[str, Any]:
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "resourceGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        "publicIPAddressVersion": version,
        "publicIPAllocationMethod": "Static" if sku == "Standard" else "Dynamic",
        "idleTimeoutInMinutes": 4,
        "ipTags": [],
    }
    if address:
        props["ipAddress"] = address
    if ip_config_id:
        props["ipConfiguration"] = {"id": ip_config_id}
    body: dict[str, Any] = {"name": name, "id": network_id(sub, rg, "publicIPAddresses", name),
                            "etag": _ETAG, "type": "Microsoft.Network/publicIPAddresses",
                            "location": location}
    if sku:  # API versions before 2017 have no sku: those addresses are Basic
        body["sku"] = {"name": sku, "tier": "Regional"}
    body["properties"] = props
    return body


def asg(sub: str, rg: str, name: str, location: str = "westeurope") -> dict[str, Any]:
    asg_id = network_id(sub, rg, "applicationSecurityGroups", name)
    return {"name": name, "id": asg_id, "etag": _ETAG,
            "type": "Microsoft.Network/applicationSecurityGroups", "location": location,
            "properties": {"resourceGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, asg_id)),
                           "provisioningState": "Succeeded"}}


def load_balancer(sub: str, rg: str, name: str, public_ip_id: str | None,
                  pool_members: Iterable[str] = (), ports: Iterable[int] = (),
                  nat_rules: Iterable[tuple[str, int, int, str]] = (),
                  location: str = "westeurope") -> dict[str, Any]:
    """A Standard load balancer with one front end (public when ``public_ip_id`` is given),
    one backend pool of NIC IP configurations, a rule per port, and inbound NAT rules
    ``(name, frontend port, backend port, NIC IP configuration id)``."""
    lb_id = network_id(sub, rg, "loadBalancers", name)
    front_id, pool_id = f"{lb_id}/frontendIPConfigurations/fe", f"{lb_id}/backendAddressPools/pool"
    front: dict[str, Any] = {"provisioningState": "Succeeded",
                             "privateIPAllocationMethod": "Dynamic"}
    if public_ip_id:
        front["publicIPAddress"] = {"id": public_ip_id}
    else:
        front["subnet"] = {"id": f"{network_id(sub, rg, 'virtualNetworks', 'vnet-main')}"
                                 "/subnets/app"}
    rules = [{"name": f"tcp-{port}", "id": f"{lb_id}/loadBalancingRules/tcp-{port}",
              "etag": _ETAG, "type": "Microsoft.Network/loadBalancers/loadBalancingRules",
              "properties": {"provisioningState": "Succeeded",
                             "frontendIPConfiguration": {"id": front_id},
                             "backendAddressPool": {"id": pool_id},
                             "backendAddressPools": [{"id": pool_id}],
                             "protocol": "Tcp", "loadDistribution": "Default",
                             "frontendPort": port, "backendPort": port,
                             "idleTimeoutInMinutes": 4, "enableFloatingIP": False,
                             "enableTcpReset": False, "disableOutboundSnat": False}}
             for port in ports]
    nats = [{"name": nat, "id": f"{lb_id}/inboundNatRules/{nat}", "etag": _ETAG,
             "type": "Microsoft.Network/loadBalancers/inboundNatRules",
             "properties": {"provisioningState": "Succeeded",
                            "frontendIPConfiguration": {"id": front_id},
                            "backendIPConfiguration": {"id": config},
                            "protocol": "Tcp", "frontendPort": fport, "backendPort": bport,
                            "idleTimeoutInMinutes": 4, "enableFloatingIP": False,
                            "enableTcpReset": False}}
            for nat, fport, bport, config in nat_rules]
    front["loadBalancingRules"] = [{"id": r["id"]} for r in rules]
    front["inboundNatRules"] = [{"id": n["id"]} for n in nats]
    return {
        "name": name, "id": lb_id, "etag": _ETAG, "type": "Microsoft.Network/loadBalancers",
        "location": location, "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, lb_id)),
            "frontendIPConfigurations": [{"name": "fe", "id": front_id, "etag": _ETAG,
                                          "type": "Microsoft.Network/loadBalancers/"
                                                  "frontendIPConfigurations",
                                          "properties": front}],
            "backendAddressPools": [{"name": "pool", "id": pool_id, "etag": _ETAG,
                                     "type": "Microsoft.Network/loadBalancers/"
                                             "backendAddressPools",
                                     "properties": {"provisioningState": "Succeeded",
                                                    "backendIPConfigurations": [
                                                        {"id": m} for m in pool_members],
                                                    "loadBalancingRules": [
                                                        {"id": r["id"]} for r in rules]}}],
            "loadBalancingRules": rules,
            "probes": [],
            "inboundNatRules": nats,
            "outboundRules": [],
            "inboundNatPools": [],
        },
    }


def subscription(sub: str, name: str, state: str = "Enabled") -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub,
        "tenantId": TENANT,
        "displayName": name,
        "state": state,
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01",
                                 "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
    }


def _stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def activity_event(resource_id: str, operation: str, caller: str, when: datetime,
                   client_ip: str, status: str = "Succeeded",
                   correlation_id: str | None = None) -> dict[str, Any]:
    """One Activity Log (Administrative) event, with ids derived from what it records."""
    correlation = correlation_id or str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                   f"{resource_id}|{operation}|{when}"))
    return demo_activity_event(
        resource_id, operation, _stamp(when), status, caller=caller, client_ip=client_ip,
        tenant=TENANT,
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{resource_id}|{operation}|{when}|{status}")),
        correlation_id=correlation,
        request_id=str(uuid.uuid5(uuid.NAMESPACE_URL, correlation)),
        ticks=str(int(when.timestamp() * 10**7)))


# --- the estate the server serves --------------------------------------------------------------


class ArmEstate:
    """Mutable, thread-safe state. Tests change it between scans under ``with estate.lock``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.resources: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.forbidden: set[str] = set()  # whole subscriptions answering 403
        self.forbidden_types: set[tuple[str, str]] = set()  # (subscription, resource type)
        self.throttled: dict[tuple[str, str], int] = {}  # 429s still to send
        self.slow: dict[tuple[str, str], float] = {}  # seconds to wait before answering
        self.server_errors: dict[tuple[str, str], int] = {}  # 500s still to send
        self.truncated: set[tuple[str, str]] = set()  # pages whose JSON is cut half-way
        # (subscription, resource type) -> "repeat" (nextLink to the same page) or "endless"
        # (empty pages, each with a new nextLink)
        self.paging_faults: dict[tuple[str, str], str] = {}
        self.listing_forbidden = False  # GET /subscriptions answers 403
        # Management groups: id -> (display name, parent group id or None for the root), the
        # group each subscription sits in, and groups whose descendants answer 403.
        self.groups: dict[str, tuple[str, str | None]] = {}
        self.group_of: dict[str, str] = {}
        self.forbidden_groups: set[str] = set()
        self.retry_after = "1"
        self.page_size = 2
        self.next_link_base: str | None = None  # nextLinks to another host (a hostile server)
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        # Who the Activity Log says made the writes the server accepts.
        self.caller = "ops@contoso.com"
        self.client_ip = "203.0.113.10"

    def log_call(self, sub: str, resource_id: str, operation: str,
                 status: str = "Succeeded", when: datetime | None = None) -> list[dict]:
        """Append the Activity Log events of one call, as ARM logs them: a Started event, then
        the outcome, both under one correlation id, each with its own eventDataId."""
        began = when or datetime.now(timezone.utc)
        with self.lock:
            started = activity_event(resource_id, operation, self.caller, began,
                                     self.client_ip, "Started",
                                     correlation_id=str(uuid.uuid4()))
            ended = activity_event(resource_id, operation, self.caller, began, self.client_ip,
                                   status, correlation_id=started["correlationId"])
            self.events.setdefault(sub, []).extend([started, ended])
        return [started, ended]

    def add_subscription(self, sub: str, name: str, state: str = "Enabled") -> None:
        with self.lock:
            self.subscriptions[sub] = subscription(sub, name, state)
            self.resources.setdefault(sub, {key: [] for key in NETWORK_TYPES})
            self.events.setdefault(sub, [])

    def add_group(self, group: str, name: str, parent: str | None = None) -> None:
        with self.lock:
            self.groups[group] = (name, parent)

    def place(self, sub: str, group: str) -> None:
        """Move a subscription into a management group."""
        with self.lock:
            self.group_of[sub] = group

    def descendants(self, group: str) -> list[dict[str, Any]]:
        """Every group and subscription below ``group``, as the descendants API lists them:
        parents before children, each with its parent's id."""
        with self.lock:
            out, level = [], [group]
            while level:
                following = []
                for parent in level:
                    parent_id = {"id": f"{_GROUPS}/{parent}"}
                    for child, (name, above) in self.groups.items():
                        if above == parent:
                            out.append({"id": f"{_GROUPS}/{child}", "type": _GROUP_TYPE,
                                        "name": child, "properties": {
                                            "displayName": name, "parent": parent_id}})
                            following.append(child)
                    for sub, home in self.group_of.items():
                        if home == parent:
                            out.append({"id": f"/subscriptions/{sub}", "type":
                                        f"{_GROUP_TYPE}/subscriptions", "name": sub,
                                        "properties": {"displayName": self.subscriptions[sub][
                                            "displayName"], "parent": parent_id}})
                level = following
            return out

    def add(self, sub: str, key: str, *objects: dict[str, Any]) -> None:
        with self.lock:
            self.resources[sub][key].extend(objects)

    def get(self, sub: str, key: str, name: str) -> dict[str, Any]:
        with self.lock:
            for obj in self.resources[sub][key]:
                if obj["name"] == name:
                    return obj
        raise KeyError(f"{key}/{name} not in {sub}")

    def remove(self, sub: str, key: str, name: str) -> None:
        with self.lock:
            self.resources[sub][key] = [o for o in self.resources[sub][key] if o["name"] != name]

    def requests_for(self, fragment: str) -> list[tuple[str, dict[str, list[str]]]]:
        with self.lock:
            return [r for r in self.requests if fragment.lower() in r[0].lower()]


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _forbidden(sub: str, action: str) -> dict[str, Any]:
    return _error(
        "AuthorizationFailed",
        f"The client 'scanner@contoso.com' with object id '{uuid.uuid5(uuid.NAMESPACE_URL, sub)}'"
        f" does not have authorization to perform action '{action}' over scope "
        f"'/subscriptions/{sub}' or the scope is invalid. If access was recently granted, "
        "please refresh your credentials.")


_GROUPS = "/providers/Microsoft.Management/managementGroups"
_GROUP_TYPE = "Microsoft.Management/managementGroups"
_DESCENDANTS_PATH = re.compile(
    r"^/providers/microsoft\.management/managementgroups/([^/]+)/descendants$", re.I)
_NETWORK_PATH = re.compile(r"^/subscriptions/([^/]+)/providers/microsoft\.network/([^/]+)$", re.I)
_EVENTS_PATH = re.compile(
    r"^/subscriptions/([^/]+)/providers/microsoft\.insights/eventtypes/management/values$", re.I)
_FILTER = re.compile(
    r"^eventTimestamp ge '([^']+)'(?: and eventTimestamp le '([^']+)')?"
    r" and (resourceUri|resourceProvider) eq '([^']+)'$", re.I)
_RESOURCE_PATH = re.compile(
    r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/microsoft\.network/([^/]+)/"
    r"([^/]+)$", re.I)
_RULE_PATH = re.compile(
    r"^(/subscriptions/([^/]+)/resourceGroups/[^/]+/providers/microsoft\.network/"
    r"networkSecurityGroups/([^/]+))/securityRules/([^/]+)$", re.I)
RULE_WRITE = "Microsoft.Network/networkSecurityGroups/securityRules/write"
RULE_DELETE = "Microsoft.Network/networkSecurityGroups/securityRules/delete"


def _parse_time(text: str) -> datetime:
    value = text.replace("Z", "+00:00")
    head, dot, rest = value.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        value = f"{head}.{digits[:6]}{rest[len(digits):]}"
    return datetime.fromisoformat(value).astimezone(timezone.utc)


def _event_field(event: dict[str, Any], field: str) -> str:
    if field == "resourceuri":
        return event["resourceId"]
    return (event.get("resourceProviderName") or {}).get("value", "")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ArmHttpServer

    def log_message(self, *_args: Any) -> None:  # keep test output quiet
        return None

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        self._send_raw(status, json.dumps(body).encode(), headers)

    def _send_raw(self, status: int, data: bytes, headers: dict[str, str] | None = None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _page(self, items: list[dict[str, Any]], path: str, query: dict[str, list[str]]):
        """One page of ``items`` (read under the estate lock, so a test's edit is atomic)."""
        estate = self.server.estate
        size = estate.page_size
        start = int(query.get("$skiptoken", ["0"])[0])
        with estate.lock:
            data = json.dumps(items[start:start + size])
            more = start + size < len(items)
        body = '{"value": ' + data
        if more:
            keep = [(k, v[0]) for k, v in query.items() if k != "$skiptoken"]
            keep.append(("$skiptoken", str(start + size)))
            link = (estate.next_link_base or self.server.base_url) + path + "?" + "&".join(
                f"{k}={quote(v, safe='')}" for k, v in keep)
            body += ', "nextLink": ' + json.dumps(link)
        self._send_raw(200, (body + "}").encode())

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        estate = self.server.estate
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        with estate.lock:
            estate.requests.append((path, query))
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            self._send(401, _error("AuthenticationFailed",
                                   "Authentication failed. The 'Authorization' header is missing "
                                   "or the token is invalid."),
                       {"WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/"'
                                           ', error="invalid_token"'})
            return
        if "api-version" not in query:
            self._send(400, _error("MissingApiVersionParameter",
                                   "The api-version query parameter (?api-version=) is required "
                                   "for all requests."))
            return
        if path.rstrip("/").lower() == "/subscriptions":
            if estate.listing_forbidden:
                self._send(403, _forbidden("", "Microsoft.Resources/subscriptions/read"))
                return
            with estate.lock:
                items = list(estate.subscriptions.values())
            self._page(items, path, query)
            return
        match = _DESCENDANTS_PATH.match(path)
        if match:
            self._descendants(match.group(1), path, query)
            return
        match = _NETWORK_PATH.match(path)
        if match:
            self._network(match.group(1), match.group(2), path, query)
            return
        match = _EVENTS_PATH.match(path)
        if match:
            self._events(match.group(1), path, query)
            return
        match = _RESOURCE_PATH.match(path)
        if match:
            self._resource(match.group(1), match.group(2), match.group(3), match.group(4),
                           path)
            return
        self._send(404, _error("InvalidResourceType", f"The resource type could not be found "
                                                      f"for path '{path}'."))

    def _gate(self, sub: str, key: str, action: str) -> bool:
        """Answers the request with an error when the estate says so; True if it did."""
        estate = self.server.estate
        with estate.lock:
            known = sub in estate.subscriptions
            forbidden = sub in estate.forbidden or (sub, key) in estate.forbidden_types
            throttle = estate.throttled.get((sub, key), 0)
            if throttle:
                estate.throttled[(sub, key)] = throttle - 1
            delay = estate.slow.get((sub, key), 0.0)
            broken = estate.server_errors.get((sub, key), 0)
            if broken:
                estate.server_errors[(sub, key)] = broken - 1
        if delay:
            time.sleep(delay)
        if not known:
            self._send(404, _error("SubscriptionNotFound",
                                   f"The subscription '{sub}' could not be found."))
            return True
        if forbidden:
            self._send(403, _forbidden(sub, action))
            return True
        if broken:
            self._send(500, _error("InternalServerError", "Encountered internal server error. "
                                   "Diagnostic information: timestamp '20240101T000000Z'."))
            return True
        if throttle:
            self._send(429, _error("TooManyRequests",
                                   f"Number of 'read' requests for subscription '{sub}' exceeded. "
                                   f"Please try again after '{estate.retry_after}' seconds."),
                       {"Retry-After": estate.retry_after})
            return True
        return False

    def _network(self, sub: str, kind: str, path: str, query: dict[str, list[str]]) -> None:
        estate = self.server.estate
        key = next((k for k in NETWORK_TYPES if k.lower() == kind.lower()), None)
        if key is None:
            self._send(404, _error("InvalidResourceType",
                                   f"The resource type '{kind}' could not be found in the "
                                   "namespace 'Microsoft.Network'."))
            return
        if self._gate(sub, key, f"Microsoft.Network/{key}/read"):
            return
        with estate.lock:
            mode = estate.paging_faults.get((sub, key))
            cut = (sub, key) in estate.truncated
        if mode is not None:
            self._endless(mode, path, query)
            return
        if cut:
            data = json.dumps({"value": estate.resources[sub][key]}).encode()
            self._send_raw(200, data[: max(1, len(data) // 2)])
            return
        self._page(estate.resources[sub][key], path, query)

    def _descendants(self, group: str, path: str, query: dict[str, list[str]]) -> None:
        estate = self.server.estate
        with estate.lock:
            known = group in estate.groups
            forbidden = group in estate.forbidden_groups
        if forbidden:
            self._send(403, _error(
                "AuthorizationFailed",
                f"The client 'scanner@contoso.com' does not have authorization to perform "
                f"action 'Microsoft.Management/managementGroups/descendants/read' over scope "
                f"'{_GROUPS}/{group}' or the scope is invalid."))
            return
        if not known:
            self._send(404, _error("NotFound", f"'{_GROUPS}/{group}' not found"))
            return
        self._page(estate.descendants(group), path, query)

    def _resource(self, sub: str, rg: str, kind: str, name: str, path: str) -> None:
        """One resource by id, as ARM answers ``GET {id}``."""
        estate = self.server.estate
        key = next((k for k in NETWORK_TYPES if k.lower() == kind.lower()), kind)
        if self._gate(sub, key, f"Microsoft.Network/{key}/read"):
            return
        with estate.lock:
            found = next((json.dumps(o) for o in estate.resources[sub].get(key, [])
                          if o["id"].lower() == path.lower()), None)
        if found is None:
            self._send(404, _error(
                "ResourceNotFound", f"The Resource 'Microsoft.Network/{kind}/{name}' under "
                f"resource group '{rg}' was not found. For more details please go to "
                "https://aka.ms/ARMResourceNotFound"))
            return
        self._send_raw(200, found.encode())

    def _authorised_write(self) -> tuple[str, dict[str, list[str]], Any] | None:
        """(path, query, rule path match) of a security rule write, or None once answered."""
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        estate = self.server.estate
        with estate.lock:
            estate.requests.append((path, query))
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            self._send(401, _error("AuthenticationFailed", "Authentication failed."))
            return None
        if "api-version" not in query:
            self._send(400, _error("MissingApiVersionParameter",
                                   "The api-version query parameter (?api-version=) is required "
                                   "for all requests."))
            return None
        match = _RULE_PATH.match(path)
        if match is None:
            self._send(405, _error("MethodNotAllowed", f"Writes to '{path}' are not served."))
            return None
        return path, query, match

    def do_PUT(self) -> None:  # noqa: N802 (the http.server API)
        """Create or replace a security rule, and log the call as Activity Log events."""
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        found = self._authorised_write()
        if found is None:
            return
        _, _, match = found
        nsg_id, sub, nsg_name, rule_name = match.groups()
        if self._gate(sub, "networkSecurityGroups", RULE_WRITE):
            return
        rule = {"name": rule_name, "id": f"{nsg_id}/securityRules/{rule_name}", "etag": _ETAG,
                "type": "Microsoft.Network/networkSecurityGroups/securityRules",
                "properties": {**(body.get("properties") or {}),
                               "provisioningState": "Succeeded"}}
        estate = self.server.estate
        with estate.lock:
            try:
                props = estate.get(sub, "networkSecurityGroups", nsg_name)["properties"]
            except KeyError:
                props = None
            if props is not None:
                rules = props.setdefault("securityRules", [])
                index = next((i for i, r in enumerate(rules)
                              if r["name"].lower() == rule_name.lower()), None)
                if index is None:
                    rules.append(rule)
                else:
                    rules[index] = rule
                estate.log_call(sub, rule["id"], RULE_WRITE)
        if props is None:
            self._send(404, _error("ResourceNotFound", f"The Resource 'Microsoft.Network/"
                                   f"networkSecurityGroups/{nsg_name}' was not found."))
            return
        self._send(201 if index is None else 200, rule)

    def do_DELETE(self) -> None:  # noqa: N802 (the http.server API)
        found = self._authorised_write()
        if found is None:
            return
        _, _, match = found
        nsg_id, sub, nsg_name, rule_name = match.groups()
        if self._gate(sub, "networkSecurityGroups", RULE_DELETE):
            return
        estate = self.server.estate
        with estate.lock:
            try:
                props = estate.get(sub, "networkSecurityGroups", nsg_name)["properties"]
            except KeyError:
                props = {}
            rules = props.get("securityRules") or []
            kept = [r for r in rules if r["name"].lower() != rule_name.lower()]
            if len(kept) != len(rules):
                props["securityRules"] = kept
                estate.log_call(sub, f"{nsg_id}/securityRules/{rule_name}", RULE_DELETE)
        self._send_raw(200 if len(kept) != len(rules) else 204, b"")

    def _endless(self, mode: str, path: str, query: dict[str, list[str]]) -> None:
        keep = [(k, v[0]) for k, v in query.items() if k != "$skiptoken"]
        token = "same" if mode == "repeat" else uuid.uuid4().hex
        keep.append(("$skiptoken", token))
        link = self.server.base_url + path + "?" + "&".join(
            f"{k}={quote(v, safe='')}" for k, v in keep)
        self._send(200, {"value": [], "nextLink": link})

    def _events(self, sub: str, path: str, query: dict[str, list[str]]) -> None:
        estate = self.server.estate
        if self._gate(sub, "events", "Microsoft.Insights/eventtypes/values/read"):
            return
        match = _FILTER.match(query.get("$filter", [""])[0].strip())
        if not match:
            self._send(400, _error("BadRequest", "The $filter is not valid: it needs "
                                                 "eventTimestamp ge and a supported condition."))
            return
        since = _parse_time(match.group(1))
        until = _parse_time(match.group(2)) if match.group(2) else None
        field, wanted = match.group(3).lower(), match.group(4).lower()
        with estate.lock:
            events = [e for e in estate.events.get(sub, [])
                      if _event_field(e, field).lower() == wanted
                      and _parse_time(e["eventTimestamp"]) >= since
                      and (until is None or _parse_time(e["eventTimestamp"]) <= until)]
        events.sort(key=lambda e: e["eventTimestamp"], reverse=True)  # newest first, as ARM
        self._page(events, path, query)


class _ArmHttpServer(QuietHTTPServer):
    def __init__(self, estate: ArmEstate, token: str, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.estate = estate
        self.token = token
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.base_url = f"https://127.0.0.1:{self.server_address[1]}"




class ArmServer:
    """``with ArmServer() as arm:`` serves ``arm.estate`` at ``arm.url`` until the block ends."""

    def __init__(self, estate: ArmEstate | None = None, token: str = TOKEN) -> None:
        import trustme

        self.estate = estate or ArmEstate()
        self.token = token
        self._ca = trustme.CA()
        self._dir = tempfile.TemporaryDirectory(prefix="cloudwall-arm-")
        self.ca_bundle = str(Path(self._dir.name) / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_bundle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._server = _ArmHttpServer(self.estate, token, context)
        self.url = self._server.base_url
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def use(self, estate: ArmEstate) -> ArmEstate:
        """Serve another estate from now on (one server, a fresh estate per test)."""
        self.estate = self._server.estate = estate
        return estate

    def start(self) -> ArmServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._dir.cleanup()

    def __enter__(self) -> ArmServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
