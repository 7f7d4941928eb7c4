"""Every built-in policy's pass/fail cases, run by the harness `cloudwall policies test` uses."""

from __future__ import annotations

from collections import defaultdict

import pytest

from policies.cases import build_snapshots, run_cases
from policies.engine import all_packs, available_policies
from policies.packs import Case, load_pack_text

PACKS = all_packs()
POLICIES = available_policies(packs=PACKS)
CASES = [case for pack in PACKS for case in pack.cases]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.policy_id}:{c.name}")
def test_builtin_case(case):
    results = run_cases([case], POLICIES)
    assert results, "a case runs at least once"
    failures = [f"[{r.label}] {r.message}" for r in results if not r.passed]
    assert not failures, f"{case.location}: {failures}"


def test_every_policy_has_pass_and_fail_cases_on_each_of_its_clouds():
    seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for case in CASES:
        for _label, snapshot, _settings in build_snapshots(case):
            for provider in snapshot.providers:
                seen[case.policy_id][provider].add(case.expect)
    missing = []
    for policy in POLICIES:
        for provider in policy.meta.providers:
            have = seen[policy.policy_id][provider]
            for expect in ("pass", "fail"):
                if expect not in have:
                    missing.append(f"{policy.policy_id} has no {expect} case on {provider}")
    assert not missing, missing


def test_a_wrong_expectation_is_reported_as_a_failure():
    pack = load_pack_text("""
policies:
  - id: T-1
    title: ssh from anywhere
    severity: high
    match: {direction: ingress, action: allow, source: internet, ports_any: [ssh]}
cases:
  - {policy: T-1, name: wrong on purpose, expect: pass, kinds: [security_group, nsg],
     rules: [{ports: "22", peers: [0.0.0.0/0]}]}
  - {policy: T-1, name: wrong count, expect: fail, findings: 2, kind: vpc_firewall,
     rules: [{ports: "22", peers: [0.0.0.0/0]}]}
""", "t.yaml")
    results = run_cases(pack.cases, pack.policies)
    assert [(r.label, r.passed, r.findings) for r in results] == [
        ("aws_security_group", False, 1), ("azure_nsg", False, 1), ("gcp_vpc_firewall", False, 1)]
    assert "expected no finding, got 1" in results[0].message
    assert results[0].case.location == "t.yaml:8"


def test_case_for_an_unknown_policy_is_an_error():
    from scanner.errors import PolicyError

    with pytest.raises(PolicyError, match=r"t.yaml:2: .*unknown policy 'CW-NET-01'.*"):
        run_cases([Case("CW-NET-01", "x", "fail", {"rules": []}, "t.yaml:2")], POLICIES)
