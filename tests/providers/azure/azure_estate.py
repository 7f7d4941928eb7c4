"""The Azure test estate: three subscriptions as the Resource Manager server serves them."""

from __future__ import annotations

from providers.azure import AzureProvider
from providers.azure.auth import StaticTokenCredential
from providers.base import ProviderSettings
from tests.servers import azure_arm as arm_api
from tests.servers.azure_arm import ArmEstate, network_id

SUB = "11111111-1111-4111-8111-111111111111"  # readable, everything in it
SUB_DEV = "33333333-3333-4333-8333-333333333333"  # readable except public IP addresses
SUB_LOCKED = "22222222-2222-4222-8222-222222222222"  # every call answers 403
RG = "rg-web"


def rid(kind: str, name: str, sub: str = SUB) -> str:
    return network_id(sub, RG, kind, name)


NSG_WEB = rid("networkSecurityGroups", "nsg-web")
NSG_SHARED = rid("networkSecurityGroups", "nsg-shared")
NSG_EMPTY = rid("networkSecurityGroups", "nsg-empty")
VNET = rid("virtualNetworks", "vnet-main")
SUBNET_WEB = f"{VNET}/subnets/web"
SUBNET_APP = f"{VNET}/subnets/app"
SUBNET_DB = f"{VNET}/subnets/db"
ASG_WEB = rid("applicationSecurityGroups", "asg-web")
NIC_WEB = rid("networkInterfaces", "nic-web")
NIC_APP = rid("networkInterfaces", "nic-app")
NIC_DB = rid("networkInterfaces", "nic-db")
NIC_API = rid("networkInterfaces", "nic-api")  # no public IP: reached through lb-web
LB_WEB = rid("loadBalancers", "lb-web")


def web_rules() -> list[dict]:
    r = arm_api.security_rule
    return [
        r(NSG_WEB, "deny-rdp-internet", 100, "Deny", "Inbound", "*", "3389", "Internet",
          description="RDP only through the bastion"),
        r(NSG_WEB, "allow-https", 200, "Allow", "Inbound", "Tcp", ["80", "443"], "Internet"),
        r(NSG_WEB, "allow-rdp-any", 300, "Allow", "Inbound", "Tcp", "3389", "*"),
        r(NSG_WEB, "allow-asg-api", 400, "Allow", "Inbound", "Tcp", "8443",
          source_asgs=[ASG_WEB], destination_asgs=[ASG_WEB]),
    ]


def shared_rules() -> list[dict]:
    r = arm_api.security_rule
    return [
        r(NSG_SHARED, "allow-ssh-bastion", 100, "Allow", "Inbound", "Tcp", "22", "10.10.0.0/24"),
        r(NSG_SHARED, "allow-mgmt", 110, "Allow", "Inbound", "Tcp", "1000-2000",
          ["10.10.5.0/24", "203.0.113.7"]),
        r(NSG_SHARED, "allow-dns-vnet", 120, "Allow", "Inbound", "Udp", "53", "VirtualNetwork"),
        r(NSG_SHARED, "allow-icmp-lb", 130, "Allow", "Inbound", "Icmp", "*", "AzureLoadBalancer"),
        r(NSG_SHARED, "allow-esp-storage", 140, "Allow", "Inbound", "Esp", "*",
          "Storage.WestEurope"),
        r(NSG_SHARED, "allow-ah-any", 150, "Allow", "Inbound", "Ah", "*", "Any"),
        r(NSG_SHARED, "deny-out-internet", 200, "Deny", "Outbound", "*", "*", "*", "Internet"),
    ]


def build_estate() -> ArmEstate:
    estate = ArmEstate()
    estate.add_subscription(SUB, "cloudwall-prod")
    estate.add_subscription(SUB_LOCKED, "cloudwall-locked")
    estate.add_subscription(SUB_DEV, "cloudwall-dev")
    estate.forbidden.add(SUB_LOCKED)
    estate.forbidden_types.add((SUB_DEV, "publicIPAddresses"))
    estate.add(SUB, "applicationSecurityGroups", arm_api.asg(SUB, RG, "asg-web"))
    estate.add(SUB, "networkSecurityGroups",
               arm_api.nsg(SUB, RG, "nsg-web", web_rules(), subnets=[SUBNET_WEB],
                           tags={"owner": "web-team"}),
               arm_api.nsg(SUB, RG, "nsg-shared", shared_rules(), subnets=[SUBNET_APP],
                           nics=[NIC_APP]),
               arm_api.nsg(SUB, RG, "nsg-empty"))
    estate.add(SUB, "virtualNetworks",
               arm_api.vnet(SUB, RG, "vnet-main", ["10.10.0.0/16"],
                            [("web", "10.10.1.0/24", NSG_WEB),
                             ("app", "10.10.2.0/24", NSG_SHARED),
                             ("db", "10.10.3.0/24", None)]))
    estate.add(SUB, "networkInterfaces",
               arm_api.nic(SUB, RG, "nic-web", SUBNET_WEB, "10.10.1.4",
                           rid("publicIPAddresses", "pip-web"), vm="vm-web", asgs=[ASG_WEB]),
               arm_api.nic(SUB, RG, "nic-app", SUBNET_APP, "10.10.2.4",
                           rid("publicIPAddresses", "pip-app"), nsg_id=NSG_SHARED, vm="vm-app",
                           ip_forwarding=True, ipv6="fd00:10:10:2::4"),
               arm_api.nic(SUB, RG, "nic-db", SUBNET_DB, "10.10.3.4", vm="vm-db"),
               arm_api.nic(SUB, RG, "nic-api", SUBNET_WEB, "10.10.1.5", vm="vm-api",
                           pools=[f"{LB_WEB}/backendAddressPools/pool"]))
    estate.add(SUB, "loadBalancers",
               arm_api.load_balancer(SUB, RG, "lb-web", rid("publicIPAddresses", "pip-lb"),
                                     [f"{NIC_API}/ipConfigurations/ipconfig1"], [443]),
               arm_api.load_balancer(SUB, RG, "lb-internal", None,
                                     [f"{NIC_DB}/ipConfigurations/ipconfig1"], [1433]))
    estate.add(SUB, "publicIPAddresses",
               arm_api.public_ip(SUB, RG, "pip-web", "20.61.0.10",
                                 ip_config_id=f"{NIC_WEB}/ipConfigurations/ipconfig1"),
               arm_api.public_ip(SUB, RG, "pip-app", "20.61.0.11", sku="Basic",
                                 ip_config_id=f"{NIC_APP}/ipConfigurations/ipconfig1"),
               arm_api.public_ip(SUB, RG, "pip-spare", None),
               arm_api.public_ip(SUB, RG, "pip-lb", "20.61.0.20",
                                 ip_config_id=f"{LB_WEB}/frontendIPConfigurations/fe"))
    dev_nsg = network_id(SUB_DEV, RG, "networkSecurityGroups", "nsg-dev")
    estate.add(SUB_DEV, "networkSecurityGroups", arm_api.nsg(SUB_DEV, RG, "nsg-dev", [
        arm_api.security_rule(dev_nsg, "allow-ssh-any", 100, "Allow", "Inbound", "Tcp", "22",
                              "*")]))
    return estate


def make_provider(arm, token: str | None = None, **overrides) -> AzureProvider:
    """The adapter pointed at the local server with a static token credential, retries off
    unless a test turns them on."""
    options = {"azure_endpoint": arm.url, "max_retries": 0, "request_timeout": 10.0}
    options.update(overrides)
    return AzureProvider(ProviderSettings(**options),
                         credential=StaticTokenCredential(token or arm.token))
