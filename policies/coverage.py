"""What each policy that ran looked at, for reports that list passes as well as failures.

A JUnit test case per policy and resource, or a SARIF rule per policy, needs to know which
policies ran and on what: a pack policy about rules judges every rule set of its clouds that its
rule set conditions accept (the same test the engine makes), a pack policy about rule sets every
rule set of its clouds, and a Python check every item of its ``subject`` on its clouds (a subnet
check every subnet, an asset check every asset).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from policies.policy import Policy
from scanner.model import PolicyInfo, Snapshot

Judged = tuple[str, str, str, str, str]


def _items(snapshot: Snapshot, subject: str) -> Iterator[tuple[Any, str, str]]:
    """(item, id, name) of every item a policy of ``subject`` judges."""
    if subject in ("rule", "rule_set"):
        yield from ((rs, rs.resource_id, rs.name) for rs in snapshot.rule_sets)
    elif subject == "asset":
        yield from ((a, a.asset_id, a.name) for a in snapshot.assets)
    elif subject == "subnet":
        yield from ((s, s.subnet_id, s.name) for s in snapshot.subnets)
    elif subject == "network":
        yield from ((n, n.network_id, n.name) for n in snapshot.networks)
    elif subject == "ip_list":
        yield from ((i, i.list_id, i.name) for i in snapshot.ip_lists)


def judged_by(snapshot: Snapshot, policy: Policy) -> tuple[Judged, ...]:
    meta = policy.meta
    out = []
    for item, item_id, name in _items(snapshot, meta.subject):
        if not meta.applies_to(item.provider):
            continue
        # A rule policy's rule set conditions say where it applies; a rule set policy's are its
        # verdict (an unused rule set fails "attached: false"), so it judges them all.
        if policy.match is not None and meta.subject == "rule" \
                and not policy.match.accepts_rule_set(item):
            continue
        out.append((item.provider, item.account, item.region, item_id, name or ""))
    return tuple(out)


def policy_info(policy: Policy, snapshot: Snapshot | None = None) -> PolicyInfo:
    meta = policy.meta
    compliance: dict[str, list[str]] = {}
    for ref in meta.compliance:
        controls = compliance.setdefault(ref.key, [])
        if ref.control not in controls:
            controls.append(ref.control)
    remediation = meta.remediation
    return PolicyInfo(
        policy_id=meta.policy_id,
        title=meta.title,
        severity=meta.severity,
        rationale=meta.rationale,
        remediation={"summary": remediation.summary, "console": remediation.console,
                     "cli": remediation.cli},
        attack=meta.attack,
        compliance={k: tuple(v) for k, v in sorted(compliance.items())},
        providers=meta.providers,
        source=meta.source,
        judged=judged_by(snapshot, policy) if snapshot is not None else (),
    )


def policy_infos(snapshot: Snapshot, policies: Iterable[Policy]) -> tuple[PolicyInfo, ...]:
    """One entry per policy that ran, sorted by id, with what it judged in ``snapshot``."""
    return tuple(policy_info(p, snapshot)
                 for p in sorted(policies, key=lambda p: p.policy_id))
