"""The GCP part of the demo estate: one project, Compute JSON as the REST API returns it.

The project sits in folder ``prod`` of the organization. Its ``default`` network still has the
rules GCP pre-populates (SSH and RDP from anywhere); network ``prod`` has a deny rule in front of
a legacy allow, a network firewall policy evaluated before its VPC rules, and instances with tags
and external addresses. The organization's policy delegates SSH to the networks with
``goto_next``.

Changes in the ``changed`` stage (T1562.007-style):
- VPC rule ``deny-ssh-internet`` (priority 900) disabled, so ``allow-ssh-legacy`` now wins.
- VPC rule ``allow-admin-anywhere`` added: tcp 22 and 3389 from 0.0.0.0/0 at priority 10.
- VPC rule ``allow-app-from-web`` widened: source range 0.0.0.0/0 added to its source tag.
- Folder policy rule 1000 (deny PostgreSQL from the internet) turned into ``goto_next``.
- Network policy ``prod-policy`` taken off network ``prod``: network ``prod`` evaluates it before
  its VPC rules, so its deny no longer shadows ``allow-mysql-legacy`` (MySQL from anywhere).

The builders below produce the API's own shapes and are also used by the local test server.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from providers.demo.clock import Clock
from scanner.model import Scope

COMPUTE = "https://www.googleapis.com/compute/v1"
PROJECT = "shop-gcp-prod"
ORGANIZATION = "organizations/418772630118"
FOLDER = "folders/720398451297"
CREATED = "2026-03-02T09:14:27.331-08:00"
SA_APP = f"app@{PROJECT}.iam.gserviceaccount.com"
SA_DEFAULT = "123456789012-compute@developer.gserviceaccount.com"
POLICY_DEFAULT_PRIORITIES = (2147483644, 2147483645, 2147483646, 2147483647)

Json = dict[str, Any]


def numeric_id(*parts: str) -> str:
    """A stable 19-digit resource id, as Compute gives every resource one."""
    return str(10**18 + zlib.crc32("/".join(parts).encode()) * 1000003 % 10**18)


def network(project: str, name: str, *, auto: bool = False,
            order: str | None = "AFTER_CLASSIC_FIREWALL", regions: Sequence[str] = ()) -> Json:
    link = f"{COMPUTE}/projects/{project}/global/networks/{name}"
    out: Json = {
        "kind": "compute#network",
        "id": numeric_id(project, "network", name),
        "creationTimestamp": CREATED,
        "name": name,
        "selfLink": link,
        "selfLinkWithId": f"{COMPUTE}/projects/{project}/global/networks/"
                          f"{numeric_id(project, 'network', name)}",
        "autoCreateSubnetworks": auto,
        "subnetworks": [f"{COMPUTE}/projects/{project}/regions/{r}/subnetworks/{name}"
                        for r in regions],
        "routingConfig": {"routingMode": "REGIONAL", "bgpBestPathSelectionMode": "LEGACY"},
        "mtu": 1460,
    }
    if order is not None:
        out["networkFirewallPolicyEnforcementOrder"] = order
    return out


def _protocols(specs: Iterable[tuple], key: str) -> list[Json]:
    """``[("tcp", ["22"]), ("all",)]`` -> ``[{key: "tcp", "ports": ["22"]}, {key: "all"}]``."""
    out = []
    for spec in specs:
        entry: Json = {key: spec[0]}
        if len(spec) > 1 and spec[1]:
            entry["ports"] = list(spec[1])
        out.append(entry)
    return out


def firewall(project: str, net: str, name: str, *, priority: int = 1000,
             direction: str = "INGRESS", allowed: Iterable[tuple] = (),
             denied: Iterable[tuple] = (), source_ranges: Sequence[str] = (),
             source_tags: Sequence[str] = (), source_service_accounts: Sequence[str] = (),
             destination_ranges: Sequence[str] = (), target_tags: Sequence[str] = (),
             target_service_accounts: Sequence[str] = (), disabled: bool = False,
             log: bool = False, description: str = "") -> Json:
    out: Json = {
        "kind": "compute#firewall",
        "id": numeric_id(project, "firewall", name),
        "creationTimestamp": CREATED,
        "name": name,
        "description": description,
        "network": f"{COMPUTE}/projects/{project}/global/networks/{net}",
        "priority": priority,
        "direction": direction,
        "logConfig": {"enable": log, **({"metadata": "INCLUDE_ALL_METADATA"} if log else {})},
        "disabled": disabled,
        "selfLink": f"{COMPUTE}/projects/{project}/global/firewalls/{name}",
    }
    for key, values in (("sourceRanges", source_ranges), ("sourceTags", source_tags),
                        ("sourceServiceAccounts", source_service_accounts),
                        ("destinationRanges", destination_ranges), ("targetTags", target_tags),
                        ("targetServiceAccounts", target_service_accounts)):
        if values:
            out[key] = list(values)
    if allowed:
        out["allowed"] = _protocols(allowed, "IPProtocol")
    if denied:
        out["denied"] = _protocols(denied, "IPProtocol")
    return out


def default_network_firewalls(project: str) -> list[Json]:
    """The four rules GCP creates with the auto-mode ``default`` network."""
    return [
        firewall(project, "default", "default-allow-internal", priority=65534,
                 allowed=[("tcp", ["0-65535"]), ("udp", ["0-65535"]), ("icmp",)],
                 source_ranges=["10.128.0.0/9"],
                 description="Allow internal traffic on the default network"),
        firewall(project, "default", "default-allow-ssh", priority=65534,
                 allowed=[("tcp", ["22"])], source_ranges=["0.0.0.0/0"],
                 description="Allow SSH from anywhere"),
        firewall(project, "default", "default-allow-rdp", priority=65534,
                 allowed=[("tcp", ["3389"])], source_ranges=["0.0.0.0/0"],
                 description="Allow RDP from anywhere"),
        firewall(project, "default", "default-allow-icmp", priority=65534,
                 allowed=[("icmp",)], source_ranges=["0.0.0.0/0"],
                 description="Allow ICMP from anywhere"),
    ]


def policy_rule(priority: int, action: str, direction: str = "INGRESS", *,
                layer4: Iterable[tuple] = (("all",),), src_ranges: Sequence[str] = (),
                dest_ranges: Sequence[str] = (), target_service_accounts: Sequence[str] = (),
                target_secure_tags: Sequence[str] = (), src_secure_tags: Sequence[str] = (),
                description: str = "", disabled: bool = False, log: bool = False,
                rule_name: str = "", **match_extra: Sequence[str]) -> Json:
    match: Json = {"layer4Configs": _protocols(layer4, "ipProtocol")}
    if src_ranges:
        match["srcIpRanges"] = list(src_ranges)
    if dest_ranges:
        match["destIpRanges"] = list(dest_ranges)
    if src_secure_tags:
        match["srcSecureTags"] = [{"name": t, "state": "EFFECTIVE"} for t in src_secure_tags]
    match.update({k: list(v) for k, v in match_extra.items()})
    out: Json = {
        "kind": "compute#firewallPolicyRule",
        "description": description,
        "priority": priority,
        "match": match,
        "action": action,
        "direction": direction,
        "enableLogging": log,
        "ruleTupleCount": 2 + len(match.get("srcIpRanges", ())) + len(match["layer4Configs"]),
        "disabled": disabled,
    }
    if rule_name:
        out["ruleName"] = rule_name
    if target_service_accounts:
        out["targetServiceAccounts"] = list(target_service_accounts)
    if target_secure_tags:
        out["targetSecureTags"] = [{"name": t, "state": "EFFECTIVE"} for t in target_secure_tags]
    return out


def default_policy_rules() -> list[Json]:
    """The four goto_next rules GCP appends to every firewall policy."""
    return [
        policy_rule(2147483644, "goto_next", "EGRESS", dest_ranges=["::/0"],
                    description="default egress rule ipv6"),
        policy_rule(2147483645, "goto_next", "INGRESS", src_ranges=["::/0"],
                    description="default ingress rule ipv6"),
        policy_rule(2147483646, "goto_next", "EGRESS", dest_ranges=["0.0.0.0/0"],
                    description="default egress rule"),
        policy_rule(2147483647, "goto_next", "INGRESS", src_ranges=["0.0.0.0/0"],
                    description="default ingress rule"),
    ]


def hierarchical_policy(short_name: str, parent: str, rules: Sequence[Json],
                        attached_to: Sequence[str] = ()) -> Json:
    policy_id = numeric_id("firewallPolicy", parent, short_name)
    link = f"{COMPUTE}/locations/global/firewallPolicies/{policy_id}"
    return {
        "kind": "compute#firewallPolicy",
        "id": policy_id,
        "creationTimestamp": CREATED,
        "name": policy_id,
        "description": "",
        "fingerprint": "bVDtsEvBWrk=",
        "selfLink": link,
        "selfLinkWithId": link,
        "rules": [*rules, *default_policy_rules()],
        "associations": [{"name": f"{target.replace('/', '-')}-{short_name}",
                          "attachmentTarget": target, "firewallPolicyId": policy_id,
                          "shortName": short_name, "displayName": short_name}
                         for target in attached_to],
        "ruleTupleCount": sum(r["ruleTupleCount"] for r in rules) + 16,
        "displayName": short_name,
        "shortName": short_name,
        "parent": parent,
    }


def network_policy(project: str, name: str, rules: Sequence[Json],
                   networks: Sequence[str] = (), region: str | None = None) -> Json:
    where = f"regions/{region}" if region else "global"
    out: Json = {
        "kind": "compute#firewallPolicy",
        "id": numeric_id(project, "networkFirewallPolicy", where, name),
        "creationTimestamp": CREATED,
        "name": name,
        "description": "",
        "fingerprint": "Xx5VKo6xNXA=",
        "selfLink": f"{COMPUTE}/projects/{project}/{where}/firewallPolicies/{name}",
        "selfLinkWithId": f"{COMPUTE}/projects/{project}/{where}/firewallPolicies/"
                          f"{numeric_id(project, 'networkFirewallPolicy', where, name)}",
        "rules": [*rules, *default_policy_rules()],
        "associations": [{"name": f"{name}-{net}",
                          "attachmentTarget": f"{COMPUTE}/projects/{project}/global/networks/{net}",
                          "shortName": f"{name}-{net}", "displayName": f"{name}-{net}"}
                         for net in networks],
        "ruleTupleCount": sum(r["ruleTupleCount"] for r in rules) + 16,
    }
    if region:
        out["region"] = f"{COMPUTE}/projects/{project}/regions/{region}"
    return out


def instance(project: str, zone: str, name: str, *, net: str, ip: str,
             nat_ip: str | None = None, external_ipv6: str | None = None,
             tags: Sequence[str] = (), service_accounts: Sequence[str] = (),
             status: str = "RUNNING", labels: dict[str, str] | None = None,
             extra_nics: Sequence[Json] = ()) -> Json:
    region = zone.rsplit("-", 1)[0]
    nic: Json = {
        "kind": "compute#networkInterface",
        "network": f"{COMPUTE}/projects/{project}/global/networks/{net}",
        "subnetwork": f"{COMPUTE}/projects/{project}/regions/{region}/subnetworks/{net}",
        "networkIP": ip,
        "name": "nic0",
        "fingerprint": "kGHt6XIrWe8=",
        "stackType": "IPV4_IPV6" if external_ipv6 else "IPV4_ONLY",
    }
    if nat_ip:
        nic["accessConfigs"] = [{"kind": "compute#accessConfig", "type": "ONE_TO_ONE_NAT",
                                 "name": "External NAT", "natIP": nat_ip,
                                 "networkTier": "PREMIUM"}]
    if external_ipv6:
        nic["ipv6AccessConfigs"] = [{"kind": "compute#accessConfig", "type": "DIRECT_IPV6",
                                     "name": "external-ipv6", "externalIpv6": external_ipv6,
                                     "externalIpv6PrefixLength": 96,
                                     "networkTier": "PREMIUM"}]
    return {
        "kind": "compute#instance",
        "id": numeric_id(project, zone, "instance", name),
        "creationTimestamp": CREATED,
        "name": name,
        "tags": {"items": list(tags), "fingerprint": "42WmSpB8rSM="} if tags else
                {"fingerprint": "42WmSpB8rSM="},
        "machineType": f"{COMPUTE}/projects/{project}/zones/{zone}/machineTypes/e2-medium",
        "status": status,
        "zone": f"{COMPUTE}/projects/{project}/zones/{zone}",
        "canIpForward": False,
        "networkInterfaces": [nic, *extra_nics],
        "serviceAccounts": [{"email": sa, "scopes":
                             ["https://www.googleapis.com/auth/cloud-platform"]}
                            for sa in service_accounts],
        "selfLink": f"{COMPUTE}/projects/{project}/zones/{zone}/instances/{name}",
        "labels": dict(labels or {}),
    }


def aggregated(scoped: dict[str, list[Json]], key: str, zones: Iterable[str] = ()) -> Json:
    """An aggregatedList ``items`` map; scopes without results carry the API's warning."""
    items: Json = {}
    for scope in sorted(set(scoped) | set(zones)):
        found = scoped.get(scope) or []
        if found:
            items[scope] = {key: found}
        else:
            items[scope] = {"warning": {
                "code": "NO_RESULTS_ON_PAGE",
                "message": f"There are no results for scope '{scope}' on this page.",
                "data": [{"key": "scope", "value": scope}]}}
    return items


# --- the demo project -------------------------------------------------------------------------


def _estate_raw() -> Json:
    p = PROJECT
    org_policy = hierarchical_policy("org-guardrails", ORGANIZATION, [
        policy_rule(100, "deny", layer4=[("tcp", ["23", "3389"])], src_ranges=["0.0.0.0/0"],
                    description="no telnet or RDP from the internet anywhere", log=True),
        policy_rule(200, "allow", layer4=[("tcp", ["22"])], src_ranges=["35.235.240.0/20"],
                    description="SSH through Identity-Aware Proxy"),
        policy_rule(300, "goto_next", layer4=[("tcp", ["22"])], src_ranges=["0.0.0.0/0"],
                    description="other SSH: each network decides"),
    ], attached_to=[ORGANIZATION])
    folder_policy = hierarchical_policy("prod-folder", FOLDER, [
        policy_rule(1000, "deny", layer4=[("tcp", ["5432"])], src_ranges=["0.0.0.0/0"],
                    description="no PostgreSQL from the internet in production"),
    ], attached_to=[FOLDER])
    prod_policy = network_policy(p, "prod-policy", [
        policy_rule(1000, "deny", layer4=[("tcp", ["3306"])], src_ranges=["0.0.0.0/0"],
                    description="no MySQL from the internet"),
        policy_rule(1100, "allow", layer4=[("tcp", ["443"])],
                    srcAddressGroups=[f"projects/{p}/locations/global/addressGroups/partners"],
                    target_service_accounts=[SA_APP], description="partner API"),
    ], networks=["prod"])
    firewalls = default_network_firewalls(p) + [
        firewall(p, "prod", "deny-ssh-internet", priority=900, denied=[("tcp", ["22"])],
                 source_ranges=["0.0.0.0/0"], log=True,
                 description="SSH only through IAP (allowed by the organization policy)"),
        firewall(p, "prod", "allow-ssh-legacy", allowed=[("tcp", ["22"])],
                 source_ranges=["0.0.0.0/0"], description="legacy: superseded by the deny"),
        firewall(p, "prod", "allow-web", allowed=[("tcp", ["80", "443"])],
                 source_ranges=["0.0.0.0/0", "::/0"], target_tags=["web"]),
        firewall(p, "prod", "allow-app-from-web", allowed=[("tcp", ["8080-8090"])],
                 source_tags=["web"], target_service_accounts=[SA_APP]),
        firewall(p, "prod", "allow-db-from-app", allowed=[("tcp", ["5432"])],
                 source_service_accounts=[SA_APP], target_tags=["db"]),
        firewall(p, "prod", "allow-mysql-legacy", allowed=[("tcp", ["3306"])],
                 source_ranges=["0.0.0.0/0"], target_tags=["db"],
                 description="legacy; blocked by prod-policy, evaluated first"),
        firewall(p, "prod", "deny-smtp-egress", direction="EGRESS", priority=500,
                 denied=[("tcp", ["25"])], destination_ranges=["0.0.0.0/0"]),
    ]
    instances = {
        "zones/us-central1-a": [
            instance(p, "us-central1-a", "web-1", net="prod", ip="10.10.0.2",
                     nat_ip="34.118.20.11", external_ipv6="2600:1900:4000:1a2b::",
                     tags=["web"], service_accounts=[SA_DEFAULT], labels={"tier": "web"}),
            instance(p, "us-central1-a", "app-1", net="prod", ip="10.10.0.3",
                     service_accounts=[SA_APP], labels={"tier": "app"}),
            instance(p, "us-central1-a", "db-1", net="prod", ip="10.10.0.4",
                     nat_ip="34.118.20.14", tags=["db"], labels={"tier": "db"}),
        ],
        "zones/europe-west1-b": [
            instance(p, "europe-west1-b", "legacy-1", net="default", ip="10.132.0.2",
                     nat_ip="35.205.33.7", service_accounts=[SA_DEFAULT]),
        ],
    }
    return {
        "ancestry": [ORGANIZATION, FOLDER],
        "hierarchicalFirewallPolicies": [org_policy, folder_policy],
        "networks": [network(p, "default", auto=True, regions=["us-central1", "europe-west1"]),
                     network(p, "prod", order="BEFORE_CLASSIC_FIREWALL",
                             regions=["us-central1"])],
        "firewalls": firewalls,
        "networkFirewallPolicies": [prod_policy],
        "regionNetworkFirewallPolicies": [],
        "instances": aggregated(instances, "instances",
                                zones=["us-east1-b", "asia-east1-a", "europe-west1-c"]),
        "errors": [],
    }


def _apply_changes(raw: Json) -> None:
    p = PROJECT
    by_name = {f["name"]: f for f in raw["firewalls"]}
    by_name["deny-ssh-internet"]["disabled"] = True
    by_name["allow-app-from-web"]["sourceRanges"] = ["0.0.0.0/0"]
    raw["firewalls"].append(firewall(p, "prod", "allow-admin-anywhere", priority=10,
                                     allowed=[("tcp", ["22", "3389"])],
                                     source_ranges=["0.0.0.0/0"], description="temp debug"))
    folder_policy = raw["hierarchicalFirewallPolicies"][1]
    for rule in folder_policy["rules"]:
        if rule["priority"] == 1000:
            rule["action"] = "goto_next"
    raw["networkFirewallPolicies"][0]["associations"] = []


def estate(stage: str) -> list[tuple[Scope, Json]]:
    raw = copy.deepcopy(_estate_raw())
    if stage == "changed":
        _apply_changes(raw)
    return [(Scope("gcp", PROJECT, "", name="Shop production"), raw)]


def audit_entry(method: str, resource: str, when: str, actor: str, caller_ip: str,
                log_parent: str = f"projects/{PROJECT}", request: Json | None = None) -> Json:
    """One Admin Activity LogEntry, as the Logging API returns it."""
    insert = f"-{numeric_id(method, resource, when)[-12:]}"
    return {
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {},
            "authenticationInfo": {"principalEmail": actor},
            "requestMetadata": {
                "callerIp": caller_ip,
                "callerSuppliedUserAgent": "google-cloud-sdk gcloud/502.0.0 command/gcloud",
                "requestAttributes": {"time": when, "auth": {}},
                "destinationAttributes": {},
            },
            "serviceName": "compute.googleapis.com",
            "methodName": method,
            "authorizationInfo": [{"permission": method.removeprefix("v1."), "granted": True,
                                   "resourceAttributes": {"service": "compute",
                                                          "name": resource}}],
            "resourceName": resource,
            "request": {"@type": f"type.googleapis.com/{method.removeprefix('v1.')}",
                        **(request or {})},
            "resourceLocation": {"currentLocations": ["global"]},
        },
        "insertId": insert,
        "resource": {"type": "gce_firewall_rule" if ".firewalls." in method else "gce_network",
                     "labels": {"project_id": PROJECT}},
        "timestamp": when,
        "severity": "NOTICE",
        "logName": f"{log_parent}/logs/cloudaudit.googleapis.com%2Factivity",
        "operation": {"id": f"operation-{insert[1:]}", "producer": "compute.googleapis.com",
                      "first": True, "last": True},
        "receiveTimestamp": when,
    }


def audit_events(stage: str, start: datetime | None = None) -> list[Json]:
    """The Admin Activity entries behind the ``changed`` stage (none for ``baseline``).

    ``start``: the baseline's time; the events are dated just after it
    (``providers.demo.clock``)."""
    if stage != "changed":
        return []
    at = Clock("2026-11-30T22:41:07.118Z", start)
    actor, ip = "ci-deployer@shop-gcp-prod.iam.gserviceaccount.com", "198.51.100.77"
    fw = f"projects/{PROJECT}/global/firewalls"
    folder_policy = hierarchical_policy("prod-folder", FOLDER, [])["name"]
    return [
        audit_entry("v1.compute.firewalls.patch", f"{fw}/deny-ssh-internet",
                    at("2026-11-30T22:41:07.118Z"), actor, ip, request={"disabled": True}),
        audit_entry("v1.compute.firewalls.insert", f"{fw}/allow-admin-anywhere",
                    at("2026-11-30T22:43:51.402Z"), actor, ip,
                    request={"name": "allow-admin-anywhere"}),
        audit_entry("v1.compute.firewalls.patch", f"{fw}/allow-app-from-web",
                    at("2026-11-30T22:45:12.009Z"), actor, ip,
                    request={"sourceRanges": ["0.0.0.0/0"]}),
        audit_entry("compute.firewallPolicies.patchRule",
                    f"locations/global/firewallPolicies/{folder_policy}",
                    at("2026-11-30T22:47:30.774Z"), actor, ip, log_parent=FOLDER,
                    request={"priority": 1000}),
        audit_entry("compute.networkFirewallPolicies.removeAssociation",
                    f"projects/{PROJECT}/global/firewallPolicies/prod-policy",
                    at("2026-11-30T22:49:02.551Z"), actor, ip,
                    request={"name": "prod-policy-prod"}),
    ]
