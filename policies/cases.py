"""The pass/fail case harness: the one `cloudwall policies test` and our own tests use.

A case is a small model-level snapshot, provider-agnostic. The compact forms:

    - policy: CW-NET-001
      name: SSH inside a wider range, on every cloud
      expect: fail
      kinds: [security_group, network_acl, nsg, vpc_firewall]   # one run per kind
      rules:
        - {protocol: tcp, ports: "20-25", peers: ["0.0.0.0/0"]}

Rules take the fields of ``Rule.to_dict`` with defaults (ingress, allow, tcp, all ports;
priorities 100, 110, ... in the order written for first-match kinds). Peers are CIDRs, ``*``
(every address), ``Internet`` (the Azure service tag), ``sg:ID``, ``tag:NAME``, ``sa:EMAIL``, a
service tag name, or full peer mappings. ``rule_set``/``rule_sets`` give whole rule sets
(``attachments: []`` for an unused one), and ``snapshot`` adds assets, subnets, networks, IP
lists and collection errors as in the snapshot JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from policies.conditions import KIND_ALIASES
from policies.packs import Case
from policies.policy import Policy, PolicySettings
from scanner.errors import PolicyError, describe_bad_value
from scanner.model import (
    Asset,
    Attachment,
    CollectionError,
    IpList,
    Network,
    Peer,
    PeerKind,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
    Snapshot,
    Subnet,
)
from scanner.netmath import is_network

ACCOUNTS = {"aws": "111122223333", "azure": "00000000-0000-4000-8000-000000000001",
            "gcp": "case-project"}
REGIONS = {"aws": "us-east-1", "azure": "westeurope", "gcp": "global"}
_ATTACH = {
    RuleSetKind.AWS_SECURITY_GROUP: ("network_interface", "eni-case"),
    RuleSetKind.AWS_NETWORK_ACL: ("subnet", "subnet-case"),
    RuleSetKind.AZURE_NSG: ("subnet", "subnet-case"),
    RuleSetKind.GCP_VPC_FIREWALL: ("network", "projects/case-project/global/networks/case"),
    RuleSetKind.GCP_HIERARCHICAL_POLICY: ("organization", "organizations/1"),
    RuleSetKind.GCP_NETWORK_POLICY: ("network", "projects/case-project/global/networks/case"),
}
_EVERYWHERE = ("0.0.0.0/0", "::/0")


def provider_of(kind: RuleSetKind) -> str:
    return kind.value.split("_", 1)[0]


def _kind(name: Any, where: str) -> RuleSetKind:
    text = KIND_ALIASES.get(str(name), str(name))
    try:
        return RuleSetKind(text)
    except ValueError:
        from policies.schema import did_you_mean

        choices = [k.value for k in RuleSetKind] + list(KIND_ALIASES)
        raise PolicyError(f"unknown rule set kind {name!r}", did_you_mean(str(name), choices)
                          or f"choose from {', '.join(choices)}", location=where) from None


def peer(value: Any) -> Peer:
    if isinstance(value, Mapping):
        return Peer.from_dict({"kind": "cidr", **value})
    text = str(value)
    lowered = text.lower()
    if lowered in ("*", "any"):
        return Peer(PeerKind.ANY, "*", _EVERYWHERE)
    if lowered == "internet":
        return Peer(PeerKind.SERVICE_TAG, "Internet", _EVERYWHERE)
    prefix, colon, rest = text.partition(":")
    symbolic = {"sg": PeerKind.SECURITY_GROUP, "tag": PeerKind.NETWORK_TAG,
                "sa": PeerKind.SERVICE_ACCOUNT, "asg": PeerKind.APPLICATION_SECURITY_GROUP,
                "pl": PeerKind.PREFIX_LIST}
    if colon and prefix in symbolic:
        return Peer(symbolic[prefix], rest)
    if is_network(text):
        return Peer.cidr(text)
    return Peer(PeerKind.SERVICE_TAG, text)


def rule(data: Mapping[str, Any], index: int, first_match: bool) -> Rule:
    ports = data.get("ports", ["0-65535"])
    if isinstance(ports, (int, str)):
        ports = [str(p) for p in str(ports).split(",")]
    ports = ["0-65535" if str(p) in ("*", "all") else str(p) for p in ports]
    priority = data.get("priority", 100 + 10 * index if first_match else None)
    full = {
        "direction": "ingress", "action": "allow", "protocol": "tcp",
        **{k: v for k, v in data.items() if k not in ("peers", "targets", "ports")},
        "ports": ports, "priority": priority,
        "native_id": data.get("native_id", f"rule-{index}"),
    }
    built = Rule.from_dict(full)
    from dataclasses import replace

    return replace(built, peers=tuple(peer(p) for p in data.get("peers", ["10.0.0.0/8"])),
                   targets=tuple(peer(t) for t in data.get("targets", ())))


def rule_set(data: Mapping[str, Any], where: str, default_kind: Any = None,
             index: int = 0) -> RuleSet:
    kind = _kind(data.get("kind", default_kind), where)
    provider = provider_of(kind)
    first_match = kind is not RuleSetKind.AWS_SECURITY_GROUP
    rules = tuple(rule(r, i, first_match) for i, r in enumerate(data.get("rules") or ()))
    if "attachments" in data:
        attachments = tuple(Attachment.from_dict(a) for a in data["attachments"])
    else:
        attachments = (Attachment(*_ATTACH[kind]),)
    return RuleSet(
        provider=provider,
        account=str(data.get("account", ACCOUNTS[provider])),
        region=str(data.get("region", REGIONS[provider])),
        kind=kind,
        resource_id=str(data.get("resource_id", f"{kind.value}-{index}")),
        name=str(data.get("name", f"case-{index}")),
        rules=rules,
        attachments=attachments,
        network=data.get("network"),
        is_default=bool(data.get("is_default", False)),
        extra=dict(data.get("extra", {})),
    )


def _with_defaults(item: Mapping[str, Any], provider_default: str | None) -> dict[str, Any]:
    provider = str(item.get("provider", provider_default or "aws"))
    return {"provider": provider, "account": ACCOUNTS.get(provider, "case"),
            "region": REGIONS.get(provider, ""), **item}


def build_snapshots(case: Case) -> list[tuple[str, Snapshot, PolicySettings]]:
    """One (label, snapshot, settings) per kind the case runs on."""
    data = case.data
    kinds: Sequence[Any] = data.get("kinds") or ([data["kind"]] if "kind" in data else [None])
    settings_data = dict(data.get("settings") or {})
    unknown = set(settings_data) - {"trusted_cidrs", "broad_prefix", "broad_prefix_v6"}
    if unknown:
        raise PolicyError(f"unknown case setting {sorted(unknown)[0]!r}",
                          "settings: trusted_cidrs, broad_prefix, broad_prefix_v6",
                          location=case.location)
    try:
        settings = PolicySettings(
            trusted_cidrs=tuple(settings_data.get("trusted_cidrs", ())),
            broad_prefix=int(settings_data.get("broad_prefix", 8)),
            broad_prefix_v6=int(settings_data.get("broad_prefix_v6", 32)),
        )
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"case {case.name!r} settings are not valid: "
                          f"{describe_bad_value(exc)}",
                          "broad_prefix and broad_prefix_v6 are prefix lengths (numbers)",
                          location=case.location) from None
    out = []
    for kind in kinds:
        try:
            snapshot = _case_snapshot(case, data, kind)
        except PolicyError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            # Whatever the case says (a port out of range, a peer that is not an address, a
            # list where a mapping belongs) is the pack's error, with its location.
            raise PolicyError(f"case {case.name!r} is not valid: {describe_bad_value(exc)}",
                              "see the case format in the README",
                              location=case.location) from None
        label = KIND_ALIASES.get(str(kind), str(kind)) if kind else "snapshot"
        out.append((label, snapshot, settings))
    return out


def _case_snapshot(case: Case, data: Mapping[str, Any], kind: Any) -> Snapshot:
    sets: list[RuleSet] = []
    if "rules" in data or "rule" in data:
        rules = data.get("rules") or [data["rule"]]
        sets.append(rule_set({"rules": rules, **(data.get("rule_set") or {})},
                             case.location, kind))
    elif "rule_set" in data:
        sets.append(rule_set(data["rule_set"], case.location, kind))
    for i, item in enumerate(data.get("rule_sets") or ()):
        sets.append(rule_set(item, case.location, kind, index=i + 1))
    extra = data.get("snapshot") or {}
    provider = provider_of(_kind(kind, case.location)) if kind else None
    return _snapshot(case, sets, extra, provider)


def _snapshot(case: Case, sets: list[RuleSet], extra: Mapping[str, Any],
              provider: str | None) -> Snapshot:
    sets += [rule_set(r, case.location, index=10 + i)
             for i, r in enumerate(extra.get("rule_sets") or ())]
    items: list[Any] = list(sets)
    items += [Asset.from_dict(_with_defaults(a, provider)) for a in extra.get("assets") or ()]
    items += [Subnet.from_dict(_with_defaults(s, provider)) for s in extra.get("subnets") or ()]
    items += [Network.from_dict(_with_defaults(n, provider))
              for n in extra.get("networks") or ()]
    items += [IpList.from_dict(_with_defaults(i, provider)) for i in extra.get("ip_lists") or ()]
    items += [CollectionError.from_dict(_with_defaults(e, provider))
              for e in extra.get("errors") or ()]
    scopes = {Scope(i.provider, i.account, i.region if i.provider == "aws" else "")
              for i in items}
    return Snapshot.from_items("case", datetime(2026, 1, 1, tzinfo=timezone.utc), scopes, items,
                               {s.provider for s in scopes})


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    label: str
    passed: bool
    findings: int
    message: str = ""


def run_cases(cases: Iterable[Case], policies: Iterable[Policy]) -> list[CaseResult]:
    from policies.engine import evaluate
    from policies.integration import exposure_for

    by_id = {p.policy_id: p for p in policies}
    results = []
    for case in cases:
        policy = by_id.get(case.policy_id)
        if policy is None:
            from policies.schema import did_you_mean

            raise PolicyError(f"case {case.name!r} tests unknown policy {case.policy_id!r}",
                              did_you_mean(case.policy_id, by_id) or "check the policy id",
                              location=case.location)
        for label, snapshot, settings in build_snapshots(case):
            exposure = exposure_for(snapshot, settings) if policy.needs_exposure else None
            found = [f for f in evaluate(snapshot, [policy], settings, exposure)
                     if f.policy_id == policy.policy_id]
            if case.findings is not None:
                ok = len(found) == case.findings
                want = f"{case.findings} finding(s)"
            else:
                ok = bool(found) if case.expect == "fail" else not found
                want = "a finding" if case.expect == "fail" else "no finding"
            message = "" if ok else f"expected {want}, got {len(found)}" + (
                f": {found[0].evidence}" if found and case.expect == "pass" else "")
            results.append(CaseResult(case, label, ok, len(found), message))
    return results
