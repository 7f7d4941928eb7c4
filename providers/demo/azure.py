"""The Azure part of the demo estate: one subscription, ARM JSON as the REST API returns it.

Changes in the ``changed`` stage (T1562.007-style), each with the Activity Log events that
``audit_events("changed")`` returns (a Started and a Succeeded event per operation):
- NSG ``nsg-web`` (subnet ``web``): security rule ``deny-rdp-internet`` (priority 100, Deny
  Internet -> 3389) deleted, so ``allow-rdp-any`` (priority 300) now wins.
- NSG ``nsg-app``: rule ``allow-ssh-bastion`` edited in place: source 10.20.0.0/24 -> Internet.
- NSG ``nsg-data`` taken off subnet ``data``.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from providers.demo.clock import Clock
from scanner.model import Scope

SUBSCRIPTION = "5f1c2a3b-0000-4c1d-9e2f-0123456789ab"
RG = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-shop/providers/Microsoft.Network"
LOCATION = "westeurope"


def _rule(nsg: str, name: str, priority: int, access: str, direction: str, protocol: str,
          ports: str | list[str], source: str | list[str], destination: str = "*",
          description: str = "", default: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "protocol": protocol,
        "sourcePortRange": "*",
        "access": access,
        "priority": priority,
        "direction": direction,
        "sourcePortRanges": [],
        "destinationPortRanges": [],
        "sourceAddressPrefixes": [],
        "destinationAddressPrefixes": [],
        "destinationAddressPrefix": destination,
    }
    if isinstance(ports, list):
        props["destinationPortRanges"] = ports
    else:
        props["destinationPortRange"] = ports
    if isinstance(source, list):
        props["sourceAddressPrefixes"] = source
    else:
        props["sourceAddressPrefix"] = source
    if description:
        props["description"] = description
    kind = "defaultSecurityRules" if default else "securityRules"
    return {
        "name": name,
        "id": f"{RG}/networkSecurityGroups/{nsg}/{kind}/{name}",
        "etag": 'W/"00000000-0000-0000-0000-000000000000"',
        "type": f"Microsoft.Network/networkSecurityGroups/{kind}",
        "properties": props,
    }


def _default_rules(nsg: str) -> list[dict[str, Any]]:
    """The six rules Azure adds to every NSG."""
    spec = [
        ("AllowVnetInBound", 65000, "Allow", "Inbound", "VirtualNetwork", "VirtualNetwork",
         "Allow inbound traffic from all VMs in VNET"),
        ("AllowAzureLoadBalancerInBound", 65001, "Allow", "Inbound", "AzureLoadBalancer", "*",
         "Allow inbound traffic from azure load balancer"),
        ("DenyAllInBound", 65500, "Deny", "Inbound", "*", "*", "Deny all inbound traffic"),
        ("AllowVnetOutBound", 65000, "Allow", "Outbound", "VirtualNetwork", "VirtualNetwork",
         "Allow outbound traffic from all VMs to all VMs in VNET"),
        ("AllowInternetOutBound", 65001, "Allow", "Outbound", "*", "Internet",
         "Allow outbound traffic from all VMs to Internet"),
        ("DenyAllOutBound", 65500, "Deny", "Outbound", "*", "*", "Deny all outbound traffic"),
    ]
    return [_rule(nsg, name, prio, access, direction, "*", "*", src, dst, description=text,
                  default=True)
            for name, prio, access, direction, src, dst, text in spec]


def _nsg(name: str, rules: list[dict[str, Any]], subnets: list[str], nics: list[str]):
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "securityRules": rules,
        "defaultSecurityRules": _default_rules(name),
    }
    # The API leaves out association lists that are empty.
    if subnets:
        props["subnets"] = [{"id": f"{RG}/virtualNetworks/vnet-shop/subnets/{s}"} for s in subnets]
    if nics:
        props["networkInterfaces"] = [{"id": f"{RG}/networkInterfaces/{n}"} for n in nics]
    return {
        "id": f"{RG}/networkSecurityGroups/{name}",
        "name": name,
        "etag": 'W/"00000000-0000-0000-0000-000000000000"',
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": LOCATION,
        "tags": {"owner": "shop-team"},
        "properties": props,
    }


def _subnet(name: str, prefix: str, nsg: str | None) -> dict[str, Any]:
    props: dict[str, Any] = {"provisioningState": "Succeeded", "addressPrefix": prefix}
    if nsg:
        props["networkSecurityGroup"] = {"id": f"{RG}/networkSecurityGroups/{nsg}"}
    return {"name": name, "id": f"{RG}/virtualNetworks/vnet-shop/subnets/{name}",
            "type": "Microsoft.Network/virtualNetworks/subnets", "properties": props}


def _nic(name: str, vm: str, subnet: str, private_ip: str, public_ip: str | None,
         nsg: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "privateIPAddress": private_ip,
        "privateIPAllocationMethod": "Dynamic",
        "privateIPAddressVersion": "IPv4",
        "subnet": {"id": f"{RG}/virtualNetworks/vnet-shop/subnets/{subnet}"},
        "primary": True,
        "provisioningState": "Succeeded",
    }
    if public_ip:
        config["publicIPAddress"] = {"id": f"{RG}/publicIPAddresses/{public_ip}"}
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "ipConfigurations": [{"name": "ipconfig1",
                              "id": f"{RG}/networkInterfaces/{name}/ipConfigurations/ipconfig1",
                              "properties": config}],
        "enableIPForwarding": False,
        "enableAcceleratedNetworking": False,
        "virtualMachine": {"id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-shop/"
                                 f"providers/Microsoft.Compute/virtualMachines/{vm}"},
        "primary": True,
    }
    if nsg:
        props["networkSecurityGroup"] = {"id": f"{RG}/networkSecurityGroups/{nsg}"}
    return {"name": name, "id": f"{RG}/networkInterfaces/{name}", "location": LOCATION,
            "type": "Microsoft.Network/networkInterfaces", "properties": props}


def _public_ip(name: str, address: str, nic: str, sku: str = "Standard") -> dict[str, Any]:
    return {
        "name": name,
        "id": f"{RG}/publicIPAddresses/{name}",
        "location": LOCATION,
        "type": "Microsoft.Network/publicIPAddresses",
        "sku": {"name": sku, "tier": "Regional"},
        "properties": {
            "provisioningState": "Succeeded",
            "ipAddress": address,
            "publicIPAddressVersion": "IPv4",
            "publicIPAllocationMethod": "Static",
            "idleTimeoutInMinutes": 4,
            "ipConfiguration": {"id": f"{RG}/networkInterfaces/{nic}/ipConfigurations/ipconfig1"},
        },
    }


def _base() -> dict[str, Any]:
    web_rules = [
        _rule("nsg-web", "deny-rdp-internet", 100, "Deny", "Inbound", "*", "3389", "Internet",
              description="RDP only through the bastion"),
        _rule("nsg-web", "allow-https", 200, "Allow", "Inbound", "Tcp", ["80", "443"], "Internet"),
        _rule("nsg-web", "allow-rdp-any", 300, "Allow", "Inbound", "Tcp", "3389", "*",
              description="legacy: superseded by deny-rdp-internet"),
    ]
    app_rules = [
        _rule("nsg-app", "allow-ssh-bastion", 100, "Allow", "Inbound", "Tcp", "22",
              "10.20.0.0/24"),
        _rule("nsg-app", "allow-web-tier", 110, "Allow", "Inbound", "Tcp", "8080-8090",
              ["10.20.1.0/24", "10.20.2.0/24"]),
    ]
    data_rules = [
        _rule("nsg-data", "deny-sql-internet", 100, "Deny", "Inbound", "Tcp", "1433",
              "Internet"),
        _rule("nsg-data", "allow-sql-app", 200, "Allow", "Inbound", "Tcp", "1433", "*"),
    ]
    return {
        "networkSecurityGroups": [
            _nsg("nsg-web", web_rules, ["web"], []),
            _nsg("nsg-app", app_rules, [], ["nic-app-1"]),
            _nsg("nsg-data", data_rules, ["data"], []),
        ],
        "virtualNetworks": [{
            "name": "vnet-shop",
            "id": f"{RG}/virtualNetworks/vnet-shop",
            "location": LOCATION,
            "type": "Microsoft.Network/virtualNetworks",
            "properties": {
                "provisioningState": "Succeeded",
                "addressSpace": {"addressPrefixes": ["10.20.0.0/16"]},
                "subnets": [_subnet("bastion", "10.20.0.0/24", None),
                            _subnet("web", "10.20.1.0/24", "nsg-web"),
                            _subnet("app", "10.20.2.0/24", None),
                            _subnet("data", "10.20.3.0/24", "nsg-data")],
            },
        }],
        "networkInterfaces": [
            _nic("nic-web-1", "vm-web-1", "web", "10.20.1.4", "pip-web-1"),
            _nic("nic-app-1", "vm-app-1", "app", "10.20.2.4", "pip-app-1", nsg="nsg-app"),
            _nic("nic-sql-1", "vm-sql-1", "data", "10.20.3.4", "pip-sql-1"),
        ],
        "publicIPAddresses": [
            _public_ip("pip-web-1", "20.50.10.11", "nic-web-1"),
            _public_ip("pip-app-1", "20.50.10.12", "nic-app-1"),
            _public_ip("pip-sql-1", "20.50.10.13", "nic-sql-1", sku="Basic"),
        ],
        "applicationSecurityGroups": [],
        "loadBalancers": [],
    }


def _apply_changes(raw: dict[str, Any]) -> None:
    nsgs = {n["name"]: n for n in raw["networkSecurityGroups"]}
    web = nsgs["nsg-web"]["properties"]
    web["securityRules"] = [r for r in web["securityRules"] if r["name"] != "deny-rdp-internet"]
    for rule in nsgs["nsg-app"]["properties"]["securityRules"]:
        if rule["name"] == "allow-ssh-bastion":
            rule["properties"]["sourceAddressPrefix"] = "Internet"
    nsgs["nsg-data"]["properties"].pop("subnets", None)
    for subnet in raw["virtualNetworks"][0]["properties"]["subnets"]:
        if subnet["name"] == "data":
            del subnet["properties"]["networkSecurityGroup"]


def estate(stage: str) -> list[tuple[Scope, dict[str, Any]]]:
    raw = copy.deepcopy(_base())
    if stage == "changed":
        _apply_changes(raw)
    return [(Scope("azure", SUBSCRIPTION, "", name="shop-production"), raw)]


_CALLER = "mallory@shop.example"
_CLIENT_IP = "198.51.100.23"
_TENANT = "9b2c1d4e-0000-4a1b-8c2d-3e4f5a6b7c8d"


def activity_event(resource_id: str, operation: str, when: str, status: str, *, caller: str,
                   client_ip: str, tenant: str, event_id: str, correlation_id: str,
                   request_id: str, ticks: str) -> dict[str, Any]:
    """One Administrative Activity Log event as ``eventtypes/management/values`` lists it."""
    started = status == "Started"
    parts = resource_id.split("/")
    resource_type = "/".join(parts[6:7] + parts[7::2])
    return {
        "authorization": {"action": operation, "scope": resource_id},
        "caller": caller,
        "channels": "Operation",
        "claims": {"aud": "https://management.core.windows.net/",
                   "http://schemas.microsoft.com/identity/claims/tenantid": tenant,
                   "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": caller,
                   "ipaddr": client_ip},
        "correlationId": correlation_id,
        "description": "",
        "eventDataId": event_id,
        "eventName": {"value": "BeginRequest" if started else "EndRequest",
                      "localizedValue": "Begin request" if started else "End request"},
        "category": {"value": "Administrative", "localizedValue": "Administrative"},
        "httpRequest": {"clientRequestId": request_id,
                        "clientIpAddress": client_ip,
                        "method": "DELETE" if operation.endswith("/delete") else "PUT"},
        "id": f"{resource_id}/events/{event_id}/ticks/{ticks}",
        "level": "Informational",
        "resourceGroupName": parts[4],
        "resourceProviderName": {"value": "Microsoft.Network",
                                 "localizedValue": "Microsoft.Network"},
        "resourceId": resource_id,
        "resourceType": {"value": resource_type, "localizedValue": resource_type},
        "operationId": correlation_id,
        "operationName": {"value": operation, "localizedValue": operation},
        "properties": {"eventCategory": "Administrative", "statusCode": "" if started else "OK"},
        "status": {"value": status, "localizedValue": status},
        "subStatus": {"value": "" if started else "OK",
                      "localizedValue": "" if started else "OK (HTTP Status Code: 200)"},
        "eventTimestamp": when,
        "submissionTimestamp": when,
        "subscriptionId": parts[2],
        "tenantId": tenant,
    }


def _event(resource_id: str, operation: str, when: str, status: str, n: int) -> dict[str, Any]:
    """The demo's events, with ids numbered so the output stays the same run to run."""
    return activity_event(
        resource_id, operation, when, status, caller=_CALLER, client_ip=_CLIENT_IP,
        tenant=_TENANT,
        event_id=f"{'e' if status == 'Succeeded' else 'b'}{n:07d}-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
        correlation_id=f"7d3e{n:04d}-1c2b-4a5d-9e8f-0a1b2c3d4e5f",
        request_id=f"c1{n:06d}-2b3c-4d5e-8f9a-0b1c2d3e4f5a", ticks=f"63{n:016d}")


def audit_events(stage: str, start: datetime | None = None) -> list[dict[str, Any]]:
    """The Activity Log events behind the ``changed`` stage (none for ``baseline``).

    ``start``: the baseline's time; the events are dated just after it
    (``providers.demo.clock``)."""
    if stage != "changed":
        return []
    at = Clock("2026-11-30T22:51:04.2317645Z", start)
    changes = [
        (f"{RG}/networkSecurityGroups/nsg-web/securityRules/deny-rdp-internet",
         "Microsoft.Network/networkSecurityGroups/securityRules/delete",
         at("2026-11-30T22:51:04.2317645Z"), at("2026-11-30T22:51:15.8840012Z")),
        (f"{RG}/networkSecurityGroups/nsg-app/securityRules/allow-ssh-bastion",
         "Microsoft.Network/networkSecurityGroups/securityRules/write",
         at("2026-11-30T22:53:40.0091823Z"), at("2026-11-30T22:53:52.6604417Z")),
        (f"{RG}/virtualNetworks/vnet-shop/subnets/data",
         "Microsoft.Network/virtualNetworks/subnets/write",
         at("2026-11-30T22:56:18.5120337Z"), at("2026-11-30T22:56:31.0079264Z")),
    ]
    events = []
    for n, (resource_id, operation, began, ended) in enumerate(changes, start=1):
        events.append(_event(resource_id, operation, began, "Started", n))
        events.append(_event(resource_id, operation, ended, "Succeeded", n))
    return events
