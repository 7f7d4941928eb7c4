"""Every condition of the vocabulary, through a pack and its cases (the user's path)."""

from __future__ import annotations

from policies.cases import run_cases
from policies.conditions import CONDITIONS
from policies.packs import load_pack_text

PACK = """
defaults: {severity: low}
policies:
  - {id: C-ANY, title: any source, match: {direction: ingress, source: any, ports_any: [5432]}}
  - {id: C-ALL, title: ports all, match: {source: public, ports_all: [80, 443]}}
  - {id: C-COUNT, title: many ports, match: {source: public, port_count: {min: 1000}}}
  - {id: C-OUTSIDE, title: outside, match: {source: internet, ports_outside: {tcp: [443]}}}
  - {id: C-PROTO, title: all protocols, match: {source: internet, all_protocols: true}}
  - {id: C-ADMIN, title: admin, match: {source: internet, remote_admin: true}}
  - {id: C-SPEC, title: narrow public, match: {source: specific, services: any}}
  - {id: C-NOTALL, title: not all ports, match: {source: internet, all_ports: false, protocol: tcp}}
  - {id: C-RCOUNT, title: big rule set, subject: rule_set, match: {rule_count: {min: 3}}}
  - {id: C-NAME, title: named, subject: rule_set, match: {rule_set_name: "legacy-*"}}
  - {id: C-PEER, title: peer kind, match: {peer_kind: security_group}}
  - {id: C-DESC, title: description, match: {description_matches: "*TEMP*"}}
  - {id: C-OFF, title: disabled, match: {enabled: false}}
  - {id: C-GOTO, title: goto, match: {action: goto_next, default_rule: false}}
  - {id: C-V6, title: ipv6 only, match: {source: internet, family: ipv6}}
cases:
  - {policy: C-ANY, expect: fail, kinds: [security_group, nsg],
     rules: [{ports: "5432", peers: [10.0.0.0/8]}]}
  - {policy: C-ANY, expect: pass, kinds: [security_group, nsg],
     rules: [{ports: "5433", peers: [10.0.0.0/8]}]}
  - {policy: C-ALL, expect: fail, kind: nsg, rules: [{ports: ["80", "443"], peers: [8.8.8.8]}]}
  - {policy: C-ALL, expect: pass, kind: nsg, rules: [{ports: "80", peers: [8.8.8.8]}]}
  - {policy: C-COUNT, expect: fail, kind: vpc_firewall,
     rules: [{ports: "1000-2999", peers: [8.8.8.0/24]}]}
  - {policy: C-COUNT, expect: pass, kind: vpc_firewall,
     rules: [{ports: "1000-1998", peers: [8.8.8.0/24]}]}
  - {policy: C-OUTSIDE, expect: fail, kind: security_group,
     rules: [{ports: "443-444", peers: [0.0.0.0/0]}]}
  - {policy: C-OUTSIDE, expect: pass, kind: security_group,
     rules: [{protocol: udp, ports: "53", peers: [0.0.0.0/0]}]}
  - {policy: C-PROTO, expect: fail, kind: network_acl, rules: [{protocol: all, peers: ["::/0"]}]}
  - {policy: C-PROTO, expect: pass, kind: network_acl, rules: [{ports: "*", peers: ["::/0"]}]}
  - {policy: C-ADMIN, expect: fail, kind: security_group,
     rules: [{ports: "5900", peers: [0.0.0.0/0]}]}
  - {policy: C-ADMIN, expect: pass, kind: security_group,
     rules: [{ports: "5432", peers: [0.0.0.0/0]}]}
  - {policy: C-SPEC, expect: fail, kind: security_group,
     rules: [{ports: "6379", peers: [8.8.8.8/32]}]}
  - {policy: C-SPEC, expect: pass, kind: security_group,
     rules: [{ports: "6379", peers: [0.0.0.0/0]}]}
  - {policy: C-NOTALL, expect: fail, kind: vpc_firewall, rules: [{ports: "22", peers: [0.0.0.0/0]}]}
  - {policy: C-NOTALL, expect: pass, kind: vpc_firewall, rules: [{ports: "*", peers: [0.0.0.0/0]}]}
  - {policy: C-RCOUNT, expect: fail, kind: nsg, rules: [{ports: "1"}, {ports: "2"}, {ports: "3"}]}
  - {policy: C-RCOUNT, expect: pass, kind: nsg,
     rules: [{ports: "1"}, {ports: "2"}, {ports: "3", is_default: true}]}
  - {policy: C-NAME, expect: fail, kind: security_group, rule_set: {name: legacy-web}}
  - {policy: C-NAME, expect: pass, kind: security_group, rule_set: {name: web}}
  - {policy: C-PEER, expect: fail, kind: security_group, rules: [{peers: ["sg:sg-1"]}]}
  - {policy: C-PEER, expect: pass, kind: security_group, rules: [{peers: [10.0.0.0/8]}]}
  - {policy: C-DESC, expect: fail, kind: nsg, rules: [{description: "TEMP for vendor"}]}
  - {policy: C-DESC, expect: pass, kind: nsg, rules: [{description: "app tier"}]}
  - {policy: C-OFF, expect: fail, kind: vpc_firewall, rules: [{enabled: false}]}
  - {policy: C-OFF, expect: pass, kind: vpc_firewall, rules: [{enabled: true}]}
  - {policy: C-GOTO, expect: fail, kind: hierarchical_policy, rules: [{action: goto_next}]}
  - {policy: C-GOTO, expect: pass, kind: hierarchical_policy, rules: [{action: allow}]}
  - {policy: C-V6, expect: fail, kind: security_group, rules: [{peers: ["::/0"]}]}
  - {policy: C-V6, expect: pass, kind: security_group, rules: [{peers: [0.0.0.0/0]}]}
"""


def test_every_condition_passes_and_fails_where_it_should():
    pack = load_pack_text(PACK, "conditions.yaml")
    results = run_cases(pack.cases, pack.policies)
    failures = [(r.case.location, r.case.policy_id, r.label, r.message)
                for r in results if not r.passed]
    assert not failures
    used = set()
    for policy in pack.policies:
        used |= set(policy.definition["match"])
    # Together with the built-in packs, every registered condition is exercised somewhere.
    from policies.engine import all_packs

    for builtin in all_packs():
        for policy in builtin.policies:
            used |= set(policy.definition["match"])
    assert set(CONDITIONS) <= used, set(CONDITIONS) - used
