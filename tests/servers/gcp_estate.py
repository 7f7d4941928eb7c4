"""The estate the GCP tests serve: an organization with nested folders, two readable projects,
one that answers 403 and one whose Compute API is not enabled."""

from __future__ import annotations

from providers.demo.gcp import (
    default_network_firewalls,
    firewall,
    hierarchical_policy,
    instance,
    network,
    network_policy,
    policy_rule,
)
from tests.servers.gcp_compute import Estate, Project

ORG = "organizations/100"
FOLDER_TEAM = "folders/200"
FOLDER_PROD = "folders/300"
SA_APP = "app@alpha.iam.gserviceaccount.com"
SA_BATCH = "batch@alpha.iam.gserviceaccount.com"
ALPHA_FIREWALLS = 14  # 4 pre-populated + 10 on prod: several pages at page size 3


def alpha() -> Project:
    p = "alpha"
    firewalls = default_network_firewalls(p) + [
        firewall(p, "prod", "deny-ssh-internet", priority=900, denied=[("tcp", ["22"])],
                 source_ranges=["0.0.0.0/0"], log=True, description="SSH only via IAP"),
        firewall(p, "prod", "allow-ssh-any", allowed=[("tcp", ["22"])],
                 source_ranges=["0.0.0.0/0"]),
        firewall(p, "prod", "allow-web", allowed=[("tcp", ["80", "443"]), ("6", ["8443"])],
                 source_ranges=["0.0.0.0/0", "::/0"], target_tags=["web"]),
        firewall(p, "prod", "allow-app-from-web", allowed=[("tcp", ["8080-8090"])],
                 source_tags=["web"], target_service_accounts=[SA_APP]),
        firewall(p, "prod", "allow-db-from-app", allowed=[("tcp", ["5432"])],
                 source_service_accounts=[SA_APP], target_tags=["db"]),
        firewall(p, "prod", "allow-partner-udp", allowed=[("17", ["5000-5010"]), ("132",)],
                 source_ranges=["198.51.100.0/24"]),
        firewall(p, "prod", "deny-telnet-tie", denied=[("tcp", ["23"])],
                 source_ranges=["0.0.0.0/0"], description="same priority as allow-ssh-any"),
        firewall(p, "prod", "old-allow-all", allowed=[("all",)], source_ranges=["0.0.0.0/0"],
                 disabled=True),
        firewall(p, "prod", "allow-mysql-vendor", allowed=[("tcp", ["3306"])],
                 source_ranges=["0.0.0.0/0"], description="overridden by prod-policy while "
                 "the network evaluates policies first"),
        firewall(p, "prod", "deny-egress-smtp", direction="EGRESS", priority=500,
                 denied=[("tcp", ["25"])], destination_ranges=["0.0.0.0/0", "::/0"]),
    ]
    policies = [
        network_policy(p, "prod-policy", [
            policy_rule(1000, "deny", layer4=[("tcp", ["3306"])], src_ranges=["0.0.0.0/0"]),
            policy_rule(1100, "goto_next", layer4=[("tcp", ["443"]), ("udp", ["443"])],
                        src_ranges=["0.0.0.0/0"], srcFqdns=["partner.example.com"],
                        srcRegionCodes=["DE"]),
            policy_rule(1200, "allow", layer4=[("tcp", ["9000"])],
                        srcAddressGroups=["projects/alpha/locations/global/addressGroups/ops"],
                        target_service_accounts=[SA_BATCH]),
        ], networks=["prod"]),
        network_policy(p, "prod-central", [
            policy_rule(10, "deny", "EGRESS", dest_ranges=["0.0.0.0/0"],
                        destThreatIntelligences=["iplist-known-malicious-ips"]),
        ], networks=["prod"], region="us-central1"),
    ]
    instances = {
        "us-central1-a": [
            instance(p, "us-central1-a", "web-1", net="prod", ip="10.0.0.2",
                     nat_ip="34.1.0.2", external_ipv6="2600:1900:4000:1::", tags=["web"]),
            instance(p, "us-central1-a", "web-2", net="prod", ip="10.0.0.3",
                     nat_ip="34.1.0.3", tags=["web"]),
            instance(p, "us-central1-a", "app-1", net="prod", ip="10.0.0.4",
                     service_accounts=[SA_APP]),
        ],
        "us-central1-b": [
            instance(p, "us-central1-b", "db-1", net="prod", ip="10.0.1.2", tags=["db"],
                     status="TERMINATED"),
        ],
        "europe-west1-b": [
            instance(p, "europe-west1-b", "legacy-1", net="default", ip="10.132.0.2",
                     nat_ip="35.2.0.2"),
        ],
    }
    return Project(
        project_id=p, parent=FOLDER_PROD, display_name="Alpha production", number="1001",
        networks=[network(p, "default", auto=True, order=None),
                  network(p, "prod", order="BEFORE_CLASSIC_FIREWALL"),
                  network(p, "lab")],
        firewalls=firewalls,
        network_policies=policies,
        instances=instances,
        zones=["us-east1-b", "asia-east1-a", "us-central1-c"],
        regions=["us-central1", "europe-west1", "us-east1"],
    )


def beta() -> Project:
    p = "beta"
    return Project(
        project_id=p, parent=ORG, display_name="Beta", number="1002",
        networks=[network(p, "shared")],
        firewalls=[firewall(p, "shared", "allow-internal", allowed=[("all",)],
                            source_ranges=["10.0.0.0/8"])],
        zones=["us-central1-a"],
        regions=["us-central1"],
    )


def sample_estate() -> Estate:
    org_policy = hierarchical_policy("org-baseline", ORG, [
        policy_rule(100, "deny", layer4=[("tcp", ["23"])], src_ranges=["0.0.0.0/0"]),
        policy_rule(300, "goto_next", layer4=[("tcp", ["22"])], src_ranges=["0.0.0.0/0"]),
    ], attached_to=[ORG])
    prod_policy = hierarchical_policy("prod-folder", FOLDER_TEAM, [
        policy_rule(500, "deny", layer4=[("tcp", ["5432"])], src_ranges=["0.0.0.0/0"]),
        policy_rule(600, "allow", layer4=[("tcp", ["22"])], src_ranges=["35.235.240.0/20"],
                    target_service_accounts=[SA_APP]),
    ], attached_to=[FOLDER_PROD])
    # Under the organization but attached elsewhere: applies to neither project.
    other = hierarchical_policy("other-team", ORG, [
        policy_rule(100, "allow", layer4=[("all",)], src_ranges=["0.0.0.0/0"]),
    ], attached_to=["folders/999"])
    return Estate(
        projects={p.project_id: p for p in (
            alpha(), beta(),
            Project("gamma", parent=ORG, number="1003", networks=[network("gamma", "n")]),
            Project("delta", parent=ORG, number="1004"),
        )},
        folders={
            FOLDER_TEAM: {"name": FOLDER_TEAM, "parent": ORG, "displayName": "team",
                          "state": "ACTIVE"},
            FOLDER_PROD: {"name": FOLDER_PROD, "parent": FOLDER_TEAM, "displayName": "prod",
                          "state": "ACTIVE"},
        },
        hierarchical_policies=[org_policy, prod_policy, other],
        forbidden={"gamma"},
        service_disabled={"delta"},
    )
