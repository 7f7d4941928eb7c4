"""A finding is live only when its own traffic reaches an asset through its rule; otherwise
latent, with the reason."""

from __future__ import annotations

from policies.engine import evaluate, select_policies
from policies.policy import PolicySettings
from scanner.exposure import analyze_exposure
from scanner.model import ExposureVerdict
from tests.scanner.exposure_builders import (
    ALLOW,
    DENY,
    NEXT,
    OPEN_ACL,
    acl,
    aws_subnet,
    eni,
    gcp_network,
    instance,
    policy,
    rule,
    sg,
    snapshot,
    vpc_rules,
)

ANY4 = ("0.0.0.0/0",)


def _findings(estate, policy_id="CW-NET-001"):
    settings = PolicySettings(only=(policy_id,))
    return evaluate(estate, select_policies(settings), settings, analyze_exposure(estate))


def _detail(finding) -> ExposureVerdict:
    live = {"status": "live", "assets": finding.evidence["exposed_assets"]}
    return ExposureVerdict.from_dict(finding.evidence.get("exposure_detail") or live)


def test_nacl_admin_port_finding_is_latent_when_machines_are_reachable_only_on_web_ports():
    web = sg("sg-web", ("tcp", "80", ANY4), ("tcp", "443", ANY4))
    estate = snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(), web, eni(groups=("sg-web",)))
    by_rule = {f.rule.identity(): f for f in _findings(estate) if f.resource_id == "acl-1"}
    # The NACL's allow-all admits SSH and RDP from the internet, on a path that is live for
    # the web ports only: the finding is about SSH and RDP, so it is latent.
    assert analyze_exposure(estate).is_live("acl-1", "ingress:100")
    finding = by_rule["ingress:100"]
    assert finding.evidence["exposure"] == "latent"
    detail = _detail(finding)
    assert detail.reason == "blocked" and detail.blocked_by == ("sg-web",)
    assert detail.layers == ("aws_security_group",)
    # Its IPv6 twin: the machine has no IPv6 address.
    assert _detail(by_rule["ingress:101"]).reason == "not_public"


def test_security_group_finding_blocked_by_the_nacl_names_it():
    ingress = ((90, DENY, "tcp", "22", "0.0.0.0/0"),) + OPEN_ACL[0]
    group = sg("sg-1", ("tcp", "22", ANY4), ("tcp", "80", ANY4))
    estate = snapshot(acl("acl-1", ingress, OPEN_ACL[1]), aws_subnet(), group, eni())
    (finding,) = [f for f in _findings(estate) if f.resource_id == "sg-1"]
    assert finding.evidence["exposure"] == "latent"
    assert _detail(finding).blocked_by == ("acl-1",)
    assert _detail(finding).layers == ("aws_network_acl",)


def test_live_names_the_assets_and_other_rules_explain_a_latent_duplicate():
    ingress = ((100, ALLOW, "tcp", "*", "0.0.0.0/0"), (110, ALLOW, "tcp", "22", "0.0.0.0/0"),
               (120, ALLOW, "all", "*", "::/0"))
    group = sg("sg-1", ("tcp", "22", ANY4))
    estate = snapshot(acl("acl-1", ingress, OPEN_ACL[1]), aws_subnet(), group, eni())
    by_rule = {(f.resource_id, f.rule.identity()): f for f in _findings(estate)}
    assert by_rule[("sg-1", "sg-1-r0")].evidence["exposure"] == "live"
    assert by_rule[("sg-1", "sg-1-r0")].evidence["exposed_assets"] == ["eni-1"]
    assert by_rule[("acl-1", "ingress:100")].evidence["exposure"] == "live"
    shadowed = _detail(by_rule[("acl-1", "ingress:110")])
    assert (shadowed.status, shadowed.reason) == ("latent", "other_rules")
    assert ("acl-1", "ingress:100") in {(r.rule_set_id, r.rule_id) for r in shadowed.admitted_by}


def test_unattached_and_private_are_latent_for_their_own_reasons():
    spare = sg("sg-spare", ("tcp", "22", ANY4))
    private = sg("sg-private", ("tcp", "22", ANY4))
    estate = snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(), spare, private,
                      eni(groups=("sg-private",), public=()))
    reasons = {f.resource_id: _detail(f).reason for f in _findings(estate)
               if f.resource_id.startswith("sg-")}
    assert reasons == {"sg-spare": "unattached", "sg-private": "not_public"}


def test_gcp_org_deny_blocks_a_vpc_allow_and_a_goto_next_lets_it_live():
    def fw(action, ports, priority, name, protocol="tcp", sources=ANY4):
        return rule(action, protocol, ports, sources, priority, native_id=f"{name}/{protocol}",
                    name=name)

    vpc = vpc_rules(fw(ALLOW, "22", 1000, "allow-ssh"))
    for org_action, expected in ((DENY, "latent"), (NEXT, "live")):
        org = policy("org", fw(org_action, "22", 100, "org-ssh"), hierarchical=True)
        estate = snapshot(org, vpc, gcp_network(org, vpc), instance())
        (finding,) = [f for f in _findings(estate) if f.resource_id == vpc.resource_id]
        assert finding.evidence["exposure"] == expected
        if expected == "latent":
            assert _detail(finding).blocked_by == (org.resource_id,)


def test_a_rule_set_finding_is_live_through_its_contributing_rules():
    group = sg("sg-1", ("tcp", "22", ("0.0.0.0/1",)), ("tcp", "22", ("128.0.0.0/1",)))
    estate = snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(), group, eni())
    (finding,) = [f for f in _findings(estate) if f.resource_id == "sg-1"]
    assert finding.evidence["scope"] == "rule_set"
    assert finding.evidence["exposure"] == "live"
    assert finding.evidence["exposed_assets"] == ["eni-1"]
