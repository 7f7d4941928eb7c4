"""One bad cloud object spoils only itself, on every cloud, for every item type; a shape the
normalizer does not understand is an error for that item, never an empty clean resource."""

from __future__ import annotations

import copy

import pytest
from test_normalizer_fuzz import (
    AWS_BASE,
    AWS_SCOPE,
    AZURE_BASE,
    AZURE_SCOPE,
    GCP_BASE,
    GCP_SCOPE,
)

from providers.aws import normalize_scope as aws_normalize
from providers.azure.normalize import normalize_scope as azure_normalize
from providers.gcp.normalize import normalize_scope as gcp_normalize
from scanner.model import Asset, CollectionError, Network, RuleSet, Subnet


def _split(items):
    items = list(items)
    return ([i for i in items if isinstance(i, CollectionError)],
            [i for i in items if not isinstance(i, CollectionError)])


@pytest.mark.parametrize(("key", "breaks", "named"), [
    ("NetworkInterfaces", lambda r: r["NetworkInterfaces"].append({"Groups": "sg-1"}),
     "network interface item 1"),
    ("NetworkInterfaces", lambda r: r["NetworkInterfaces"][0].__setitem__(
        "PrivateIpAddresses", {"PrivateIpAddress": "10.0.0.1"}), "eni-1"),
    ("Subnets", lambda r: r["Subnets"].append({"SubnetId": ["subnet-2"]}), "subnet item 1"),
    ("Vpcs", lambda r: r["Vpcs"].append({"CidrBlock": "10.1.0.0/16"}), "VPC item 1"),
    ("NetworkAcls", lambda r: r["NetworkAcls"][0]["Entries"][0].pop("CidrBlock"), "acl-1"),
    ("SecurityGroupRules", lambda r: r["SecurityGroupRules"][0].pop("CidrIpv4"), "sg-1"),
    ("RouteTables", lambda r: r["RouteTables"].append("rtb-2"), "route tables"),
    ("GuardDutyIPSets", lambda r: r["GuardDutyIPSets"]["d1"]["ip1"].__setitem__(
        "Status", ["ACTIVE"]), "IP set ip1"),
])
def test_aws_a_bad_item_is_an_error_naming_it(key, breaks, named):
    raw = copy.deepcopy(AWS_BASE)
    breaks(raw)
    errors, items = _split(aws_normalize(AWS_SCOPE, raw))
    assert len(errors) == 1 and named in errors[0].reason, [e.reason for e in errors]
    assert errors[0].code == "UnreadablePayload"
    assert (errors[0].account, errors[0].region) == (AWS_SCOPE.account, AWS_SCOPE.region)
    # The rest of the region is still there.
    assert any(isinstance(i, Network) for i in items) or key == "Vpcs"
    assert sum(isinstance(i, (RuleSet, Asset, Subnet)) for i in items) >= 2


def test_azure_an_nsg_with_its_rules_outside_properties_is_an_error_not_clean():
    raw = copy.deepcopy(AZURE_BASE)
    nsg = raw["networkSecurityGroups"][0]
    props = nsg.pop("properties")
    nsg["securityRules"] = props["securityRules"]
    nsg["properties"] = {"provisioningState": "Succeeded"}
    errors, items = _split(azure_normalize(AZURE_SCOPE, raw))
    assert [e.resource_type for e in errors] == ["networkSecurityGroups"]
    assert "outside 'properties'" in errors[0].reason and nsg["name"] in errors[0].reason
    assert nsg["id"].lower() not in {i.resource_id for i in items if isinstance(i, RuleSet)}
    assert sum(isinstance(i, RuleSet) for i in items) == len(raw["networkSecurityGroups"]) - 1


@pytest.mark.parametrize(("key", "breaks"), [
    ("networkInterfaces", lambda r: r["networkInterfaces"][0].pop("properties")),
    ("virtualNetworks", lambda r: r["virtualNetworks"][0]["properties"].__setitem__(
        "subnets", {"id": "x"})),
    ("networkSecurityGroups", lambda r: r["networkSecurityGroups"][0]["properties"][
        "securityRules"][0]["properties"].__setitem__("direction", "Sideways")),
    ("publicIPAddresses", lambda r: r["publicIPAddresses"].append({"name": "no-id"})),
    ("loadBalancers", lambda r: r["loadBalancers"][0]["properties"].__setitem__(
        "frontendIPConfigurations", {"fe": 1})),
])
def test_azure_a_bad_item_is_an_error_naming_it(key, breaks):
    raw = copy.deepcopy(AZURE_BASE)
    breaks(raw)
    errors, items = _split(azure_normalize(AZURE_SCOPE, raw))
    assert [e.resource_type for e in errors] == [key], [e.reason for e in errors]
    assert any(isinstance(i, RuleSet) for i in items)
    if key == "loadBalancers":  # which NICs it fronts is unknown now, never "none"
        assert any(i.extra.get("unresolved_public_ips") for i in items if isinstance(i, Asset))


@pytest.mark.parametrize(("key", "breaks"), [
    ("firewalls", lambda r: r["firewalls"][0].pop("allowed", None) or
     r["firewalls"][0].pop("denied", None)),
    ("firewalls", lambda r: r["firewalls"].append({"name": "orphan", "allowed": []})),
    ("instances", lambda r: next(iter(r["instances"].values()))["instances"].append(
        {"name": "vm-x", "networkInterfaces": {"network": "n"}})),
    ("networks", lambda r: r["networks"].append({"selfLink": 5})),
    ("networkFirewallPolicies", lambda r: (r["networkFirewallPolicies"] or
                                           r["regionNetworkFirewallPolicies"])[0]["rules"][0]
     .__setitem__("action", "allow_maybe")),
])
def test_gcp_a_bad_item_is_an_error_naming_it(key, breaks):
    raw = copy.deepcopy(GCP_BASE)
    breaks(raw)
    errors, items = _split(gcp_normalize(GCP_SCOPE, raw))
    assert [e.resource_type for e in errors] == [key], [e.reason for e in errors]
    assert errors[0].code == "UnreadablePayload"
    assert any(isinstance(i, RuleSet) for i in items)
    assert any(isinstance(i, Network) for i in items)
