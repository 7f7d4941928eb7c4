"""Policies judge what a rule set's allows admit together, not only each rule.

The evidence of a rule set finding names every contributing rule and what each brings; its
controls follow from the pooled traffic; its id is stable; each family stands alone."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from policies.engine import evaluate, select_policies
from policies.policy import PolicySettings
from providers.aws import normalize as aws
from scanner.model import RuleRef, Scope, Snapshot
from scanner.netmath import IPV4, PUBLIC_SPACE, AddressSet

SCOPE = Scope("aws", "123456789012", "us-east-1")


def _group(permissions):
    return {"GroupId": "sg-0split", "GroupName": "split", "VpcId": "vpc-1",
            "IpPermissions": permissions, "IpPermissionsEgress": []}


def _rows(*ranges):
    """SecurityGroupRule rows of one permission with several ranges: one row per range."""
    out = []
    for i, cidr in enumerate(ranges):
        row = {"SecurityGroupRuleId": f"sgr-0{i}", "GroupId": "sg-0split", "IsEgress": False,
               "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}
        row["CidrIpv6" if ":" in cidr else "CidrIpv4"] = cidr
        out.append(row)
    return out


def _snapshot(rule_sets):
    return Snapshot.from_items("s", datetime(2026, 1, 1, tzinfo=timezone.utc), [SCOPE],
                               list(rule_sets), ["aws"])


def _findings(snapshot, policy="CW-NET-001"):
    settings = PolicySettings(only=(policy,))
    return evaluate(snapshot, select_policies(settings), settings)


def test_one_permission_with_two_halves_is_remote_admin_open_to_the_internet():
    permission = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                  "IpRanges": [{"CidrIp": "0.0.0.0/1"}, {"CidrIp": "128.0.0.0/1"}]}
    for rows in (None, _rows("0.0.0.0/1", "128.0.0.0/1")):
        group = aws.security_group(SCOPE, _group([permission]), rows, ["eni-1"], {})
        assert len(group.rules) == 2  # one model rule per range
        (finding,) = _findings(_snapshot([group]))
        assert finding.severity.value == "high" and finding.rule is None
        evidence = finding.evidence
        assert evidence["scope"] == "rule_set" and evidence["direction"] == "ingress"
        assert evidence["ports"] == {"ipv4": {"tcp": "22"}}
        refs = [RuleRef.from_dict(r) for r in evidence["contributing_rules"]]
        assert sorted(r.peers[0] for r in refs) == ["0.0.0.0/1", "128.0.0.0/1"]
        assert all(r.contributes == {"ipv4": {"tcp": "22"}} for r in refs)
        assert {r.rule_id for r in refs} == {r.identity() for r in group.rules}
        fsbp = next(v for k, v in finding.compliance.items() if k.startswith("aws-fsbp"))
        cis = next(v for k, v in finding.compliance.items() if k.startswith("cis-aws"))
        assert set(fsbp) == {"EC2.13", "EC2.53"} and set(cis) == {"5.2"}
        # Same problem, same id, scan after scan.
        assert _findings(_snapshot([group]))[0].finding_id == finding.finding_id


def test_ipv6_halves_map_to_the_ipv6_controls_and_families_never_mix():
    rows = _rows("::/1", "8000::/1")
    group = aws.security_group(SCOPE, _group([]), rows, [], {})
    (finding,) = _findings(_snapshot([group]))
    assert finding.evidence["families"] == ["ipv6"]
    fsbp = next(v for k, v in finding.compliance.items() if k.startswith("aws-fsbp"))
    assert set(fsbp) == {"EC2.13", "EC2.54"}
    # Half of each family is the whole of neither: IPv4 is judged on the IPv4 public space,
    # IPv6 on the IPv6 public space (2000::/3 and the rest that is routable).
    mixed = aws.security_group(SCOPE, _group([]), _rows("0.0.0.0/1", "8000::/1"), [], {})
    assert _findings(_snapshot([mixed])) == []


def test_a_rule_set_finding_covers_only_what_no_single_rule_reports():
    rows = _rows("0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1")
    group = aws.security_group(SCOPE, _group([]), rows, [], {})
    (finding,) = _findings(_snapshot([group]))
    assert finding.rule is not None and finding.rule.identity() == "sgr-00"


def test_a_port_range_split_across_rules_is_every_port():
    rows = [{"SecurityGroupRuleId": f"sgr-0{i}", "GroupId": "sg-0split", "IsEgress": False,
             "IpProtocol": "tcp", "FromPort": lo, "ToPort": hi, "CidrIpv4": "0.0.0.0/0"}
            for i, (lo, hi) in enumerate(((0, 1023), (1024, 65535)))]
    group = aws.security_group(SCOPE, _group([]), rows, [], {})
    (finding,) = _findings(_snapshot([group]), "CW-NET-003")
    assert finding.severity.value == "critical"
    refs = [RuleRef.from_dict(r) for r in finding.evidence["contributing_rules"]]
    assert [r.contributes["ipv4"]["tcp"] for r in refs] == ["0-1023", "1024-65535"]


_PIECES = ["0.0.0.0/1", "128.0.0.0/1", "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2",
           "192.0.0.0/2", "0.0.0.0/3", "32.0.0.0/3", "8.8.8.0/24", "10.0.0.0/8", "0.0.0.0/0"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(["22", "20-25", "443"])),
                min_size=1, max_size=5))
# Telnet (23) pooled from two halves while one rule opens SSH (22) alone: two findings.
@example([("0.0.0.0/1", "20-25"), ("128.0.0.0/1", "20-25"), ("0.0.0.0/0", "22")])
def test_pooled_and_single_findings_agree_with_the_union_of_sources(pieces):
    """A remote administration port (SSH 22, Telnet 23: the ones these ranges reach) is open
    to the internet exactly when the sources of the rules reaching it cover the IPv4 public
    space; a port one rule opens alone is that rule's finding, never also the set's."""
    rows = [{"SecurityGroupRuleId": f"sgr-{i:02d}", "GroupId": "sg-0split", "IsEgress": False,
             "IpProtocol": "tcp", "FromPort": int(ports.split("-")[0]),
             "ToPort": int(ports.split("-")[-1]), "CidrIpv4": cidr}
            for i, (cidr, ports) in enumerate(pieces)]
    group = aws.security_group(SCOPE, _group([]), rows, [], {})
    findings = _findings(_snapshot([group]))
    covered, pooled_only = False, False
    for port in (22, 23):
        sources = [cidr for cidr, ports in pieces
                   if int(ports.split("-")[0]) <= port <= int(ports.split("-")[-1])]
        open_ = AddressSet.from_cidrs(IPV4, sources).covers(PUBLIC_SPACE[IPV4])
        covered |= open_
        pooled_only |= open_ and "0.0.0.0/0" not in sources
    pooled = [f for f in findings if f.rule is None]
    assert bool(findings) == covered
    assert bool(pooled) == pooled_only
    assert len(pooled) <= 1
    for finding in pooled:
        refs = [RuleRef.from_dict(r) for r in finding.evidence["contributing_rules"]]
        named = AddressSet.from_cidrs(IPV4, [p for r in refs for p in r.peers])
        assert named.covers(PUBLIC_SPACE[IPV4])
        assert all(r.peers[0] != "10.0.0.0/8" for r in refs)  # private sources add nothing
