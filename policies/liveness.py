"""Live or latent: does a finding's own traffic reach an asset through the rule it is about?

A finding is ``live`` when some of its own traffic (its protocols x ports, from its sources, in
its family) reaches at least one asset through its rule: the rule decided that traffic at its
layer and every other layer let it through (``ExposureAnalysis.rule_reach``). Reaching the
asset on other ports, or through other rules, does not make it live. Otherwise it is
``latent`` with the reason (``scanner.model.ExposureVerdict``), or ``unknown`` when an asset
it guards could not be decided. Only ingress findings are judged: the exposure analysis is
about what the internet reaches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scanner.model import (
    Asset,
    Direction,
    ExposureVerdict,
    Finding,
    Rule,
    RuleRef,
    RuleSet,
    RuleSetKind,
)
from scanner.netmath import IPV4, IPV6, PUBLIC_SPACE, PortSet
from scanner.traffic import (
    Box,
    ProtocolSet,
    TrafficSpace,
    evaluate_first_match,
    evaluate_union,
    evaluation_order,
)

if TYPE_CHECKING:
    from policies.context import EvaluationContext

FAMILY_NUMBERS = {"ipv4": IPV4, "ipv6": IPV6}
MAX_ASSETS = 32  # public assets examined for the reason a finding is latent
# (protocols, ports or None for protocols admitted whole) per family name
Traffic = Mapping[str, Sequence[tuple[ProtocolSet, PortSet | None]]]


@dataclasses.dataclass(frozen=True, slots=True)
class Judgement:
    """A finding as judged from a rule set's content, with what it takes to bind it to the
    assets: ``subject`` (what its id is made of, besides policy and rule set) and the rules
    whose reach decides whether it is live (None: it gets no exposure verdict)."""

    finding: Finding
    subject: str
    exposure_rules: tuple[Rule, ...] | None = None


def with_exposure(ctx: EvaluationContext, rule_set: RuleSet, judged: Judgement) -> Finding:
    """The finding with its exposure verdict in the evidence, when there is one."""
    finding = judged.finding
    if judged.exposure_rules is None:
        return finding
    found = verdict(ctx, rule_set, judged.exposure_rules, finding.evidence)
    if found is None:
        return finding
    evidence = dict(finding.evidence)
    add_exposure(evidence, found)
    return dataclasses.replace(finding, evidence=evidence)


def add_exposure(evidence: dict[str, Any], found: ExposureVerdict | None) -> None:
    """Record a verdict in a finding's evidence: ``exposure`` (live, latent, unknown),
    ``exposed_assets`` (the assets reached) and, when not live, ``exposure_detail`` (the
    structured verdict: why it is latent, or which assets are unknown)."""
    if found is None:
        return
    evidence["exposure"] = found.status
    evidence["exposed_assets"] = list(found.assets) if found.status == "live" else []
    if found.status != "live":  # live: the assets say it all
        evidence["exposure_detail"] = found.to_dict()


def finding_traffic(evidence: Mapping[str, Any]) -> dict[str, list[tuple[ProtocolSet,
                                                                         PortSet | None]]]:
    """The traffic a finding is about, from its ``ports`` evidence."""
    from scanner.exposure import parse_protocol_label

    out: dict[str, list[tuple[ProtocolSet, PortSet | None]]] = {}
    for family, by_protocol in (evidence.get("ports") or {}).items():
        items = out.setdefault(family, [])
        for name, text in by_protocol.items():
            if name == "other":
                items.append((parse_protocol_label(text), None))
            else:
                items.append((ProtocolSet.of(name), PortSet.parse(text)))
    return out


def _overlaps(reach: Any, traffic: Traffic) -> bool:
    return any(reach.overlaps(family, protocols, ports)
               for family, items in traffic.items() for protocols, ports in items)


def _exposure_overlaps(exposure: Any, traffic: Traffic) -> bool:
    from scanner.exposure import protocols_of

    protocols = protocols_of(exposure)
    for protocols_wanted, ports in traffic.get(exposure.family, ()):
        if protocols.intersection(protocols_wanted) and (
                ports is None or exposure.ports.overlaps(ports)):
            return True
    return False


def verdict(ctx: EvaluationContext, rule_set: RuleSet, rules: Iterable[Rule],
            evidence: Mapping[str, Any]) -> ExposureVerdict | None:
    """Live, latent (and why) or unknown, for a finding about ``rules`` of ``rule_set``; None
    without an exposure analysis or for egress."""
    analysis = ctx.exposure
    reach = getattr(analysis, "rule_reach", None)
    if reach is None:
        return None
    if evidence.get("direction", Direction.INGRESS.value) != Direction.INGRESS.value:
        return None
    traffic = finding_traffic(evidence)
    live: set[str] = set()
    for rule in rules:
        if rule.direction is not Direction.INGRESS:
            return None
        for found in reach.get((rule_set.resource_id, rule.identity()), ()):
            if _overlaps(found, traffic):
                live |= found.assets
    if live:
        return ExposureVerdict("live", tuple(sorted(live)))
    return _not_live(ctx, analysis, rule_set, traffic)


def _not_live(ctx: EvaluationContext, analysis: Any, rule_set: RuleSet,
              traffic: Traffic) -> ExposureVerdict:
    guarded = ctx.guarded_assets(rule_set.resource_id)
    if not guarded:
        return ExposureVerdict("latent", reason="unattached")
    ids = tuple(sorted(a.asset_id for a in guarded))
    unknown = tuple(a for a in ids if analysis.is_unknown(a))
    if unknown:
        return ExposureVerdict("unknown", unknown, reason="unknown")
    public = [a for a in guarded if _public_in(a, traffic)]
    if not public:
        return ExposureVerdict("latent", ids, reason="not_public")
    public = sorted(public, key=lambda a: a.asset_id)[:MAX_ASSETS]
    names = tuple(a.asset_id for a in public)
    admitters: dict[tuple[str, str], RuleRef] = {}
    for asset in public:
        for exposure in analysis.for_asset(asset.asset_id):
            if _exposure_overlaps(exposure, traffic):
                for ref in exposure.admitted_by:
                    admitters.setdefault((ref.rule_set_id, ref.rule_id), ref)
    if admitters:
        return ExposureVerdict("latent", names, reason="other_rules",
                               admitted_by=tuple(admitters.values()))
    blocked: dict[str, str] = {}
    for asset in public:
        for blocker, layer in _blocking_layers(ctx, asset, rule_set, traffic):
            blocked.setdefault(blocker, layer)
    if blocked:
        return ExposureVerdict("latent", names, reason="blocked",
                               blocked_by=tuple(sorted(blocked)),
                               layers=tuple(sorted(set(blocked.values()))))
    return ExposureVerdict("latent", names, reason="not_reachable")


def _public_in(asset: Asset, traffic: Traffic) -> bool:
    return any((family == "ipv4" and asset.public_addresses)
               or (family == "ipv6" and asset.ipv6_addresses) for family in traffic)


def _offered(traffic: Traffic, family: str) -> TrafficSpace:
    number = FAMILY_NUMBERS[family]
    boxes = [Box(protocols, ports if ports is not None else PortSet.all(),
                 PUBLIC_SPACE[number]) for protocols, ports in traffic[family]]
    space = TrafficSpace(number)
    for box in boxes:
        space = space.union(TrafficSpace(number, (box,)))
    return space


def _blocking_layers(ctx: EvaluationContext, asset: Asset, own: RuleSet,
                     traffic: Traffic) -> list[tuple[str, str]]:
    """The asset's other rule sets that let none of the traffic through (security groups
    together, as the union they are)."""
    others = [rs for rs in ctx.layers_of(asset) if rs.resource_id != own.resource_id]
    groups = [rs for rs in others if rs.kind is RuleSetKind.AWS_SECURITY_GROUP]
    out: list[tuple[str, str]] = []
    for family in traffic:
        offered = _offered(traffic, family)
        if offered.is_empty():
            continue
        if groups and own.kind is not RuleSetKind.AWS_SECURITY_GROUP:
            rules = [r for g in groups for r in g.rules if r.direction is Direction.INGRESS]
            if evaluate_union(rules, offered).admitted().is_empty():
                out += [(g.resource_id, g.kind.value) for g in groups]
        for rule_set in others:
            if rule_set.kind is RuleSetKind.AWS_SECURITY_GROUP:
                continue
            rules = [r for r in evaluation_order(rule_set) if r.direction is Direction.INGRESS]
            evaluation = evaluate_first_match(rules, offered)
            if evaluation.admitted().is_empty() and evaluation.handed_on().is_empty():
                out.append((rule_set.resource_id, rule_set.kind.value))
    return out


def exposure_inputs(ctx: EvaluationContext, rule_set: RuleSet,
                    digest_of: Mapping[str, Any], reached: frozenset[str]) -> tuple | None:
    """Everything ``verdict`` reads to judge a finding on ``rule_set`` besides the finding and
    the rule set's own content: what reaches the assets through its rules, and for each asset
    it guards the asset, whether it is unknown, its exposures and the content digests of its
    other layers (``digest_of``: rule set id -> digest). Two evaluations with equal inputs give
    a finding on equal content the same verdict, so a memo keeps the verdicts of a rule set
    whose inputs did not change (``policies.reuse``). ``reached``: the rule set ids that
    ``rule_reach`` names. None without an exposure analysis (no verdicts) or when a layer has
    no digest. Keep it in step with ``verdict`` and what it calls."""
    analysis = ctx.exposure
    reach = getattr(analysis, "rule_reach", None)
    if reach is None:
        return None
    resource_id = rule_set.resource_id
    through = (tuple(reach.get((resource_id, rule.identity()), ()) for rule in rule_set.rules)
               if resource_id in reached else ())
    assets = []
    for asset in ctx.guarded_assets(resource_id):
        layers = []
        for layer in ctx.layers_of(asset):
            found = digest_of.get(layer.resource_id)
            if found is None:
                return None
            layers.append(found)
        assets.append((asset, analysis.is_unknown(asset.asset_id),
                       analysis.for_asset(asset.asset_id), tuple(layers)))
    return through, tuple(assets)
