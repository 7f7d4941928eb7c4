"""The condition vocabulary of policy packs: a registry of small functions with argument schemas.

Each condition compiles its YAML argument once into a function. Conditions work at one of four
stages, applied in this order to every rule:

- ``rule_set``: the rule set (kind, default, attached, rule count, name);
- ``rule``: the rule itself (direction, action, logging, default rule, peer kinds);
- ``source``: which admitted traffic to judge (internet, broad, specific, public, any) and
  which address family;
- ``traffic``: what that traffic reaches (ports, protocols, services). Narrowing conditions
  return the part that matched, which becomes the finding's evidence; all must match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from policies.admitted import PORT_PROTOCOL_SET, PORT_PROTOCOLS, Flows
from policies.schema import (
    Boolean,
    Bounds,
    Choice,
    PortItem,
    PortList,
    ProtocolPorts,
    Schema,
    Text,
)
from scanner.catalogue import SERVICES, SERVICES_BY_KEY
from scanner.model import Action, Direction, PeerKind, RuleSet, RuleSetKind
from scanner.netmath import PortSet, canonical_protocol
from scanner.traffic import ALL_PROTOCOL_SET, ProtocolSet

STAGES = ("rule_set", "rule", "source", "traffic")


@dataclass(frozen=True, slots=True)
class Condition:
    name: str
    stage: str
    schema: Schema
    compile: Callable[[Any], Any]
    help: str
    narrows: bool = False  # traffic stage: returns the matching part as evidence


CONDITIONS: dict[str, Condition] = {}


# Traffic conditions that judge the traffic as a whole (every port, all of these ports, how
# many ports): their verdict on several rules' traffic together is more than the union of
# their verdicts on each rule. The others decide port by port.
AGGREGATE_CONDITIONS = frozenset({"ports_all", "port_count", "all_ports", "all_protocols"})


def condition(name: str, stage: str, schema: Schema, help: str, narrows: bool = False):
    """Register ``compile(argument) -> function`` as the condition ``name``."""
    assert stage in STAGES

    def register(compile_fn):
        if name in CONDITIONS:
            raise ValueError(f"condition {name!r} is registered twice")
        CONDITIONS[name] = Condition(name, stage, schema, compile_fn, help, narrows)
        return compile_fn

    return register


# --- rule set ---------------------------------------------------------------------------------

KIND_ALIASES = {
    "security_group": RuleSetKind.AWS_SECURITY_GROUP.value,
    "network_acl": RuleSetKind.AWS_NETWORK_ACL.value,
    "nsg": RuleSetKind.AZURE_NSG.value,
    "vpc_firewall": RuleSetKind.GCP_VPC_FIREWALL.value,
    "hierarchical_policy": RuleSetKind.GCP_HIERARCHICAL_POLICY.value,
    "network_policy": RuleSetKind.GCP_NETWORK_POLICY.value,
}
KIND_CHOICES = tuple(k.value for k in RuleSetKind) + tuple(KIND_ALIASES)


def resolve_kinds(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(KIND_ALIASES.get(n, n) for n in names)


@condition("rule_set_kind", "rule_set", Choice(KIND_CHOICES),
           "the rule set is one of these kinds (aws_security_group or security_group, ...)")
def _rule_set_kind(kinds: tuple[str, ...]):
    wanted = resolve_kinds(kinds)
    return lambda rs: rs.kind.value in wanted


@condition("default_rule_set", "rule_set", Boolean(),
           "the rule set is (true) or is not (false) the default one (VPC default security "
           "group, default network ACL, the default network's firewall rules)")
def _default_rule_set(flag: bool):
    return lambda rs: rs.is_default is flag


@condition("attached", "rule_set", Boolean(),
           "the rule set is attached to something (interface, subnet, network, folder)")
def _attached(flag: bool):
    return lambda rs: bool(rs.attachments) is flag


@condition("rule_count", "rule_set", Bounds(),
           "number of rules the rule set has, default and implied rules excluded")
def _rule_count(bounds):
    within = _within(bounds)
    return lambda rs: within(sum(1 for r in rs.rules if not r.is_default))


def _within(bounds) -> Callable[[int], bool]:
    """``Bounds`` (low, high; None for open) as a test on a count."""
    low, high = bounds
    return lambda count: (low is None or count >= low) and (high is None or count <= high)


@condition("rule_set_name", "rule_set", Text(), "the rule set's name matches this glob pattern")
def _rule_set_name(pattern: str):
    return lambda rs: fnmatchcase(rs.name, pattern)


class _Nested(Schema):
    """Stands for a mapping of rule set conditions: the pack loader (``policies.packs``)
    checks and compiles each inner condition where it can point at its line, and hands the
    compiled checks to ``unless``."""

    description = "{rule set conditions}"

    def check(self, value: Any) -> Any:
        return value


@condition("unless", "rule_set", _Nested(),
           "leave out rule sets for which all these rule set conditions hold (e.g. the default "
           "network ACL: {rule_set_kind: network_acl, default_rule_set: true})")
def _unless(checks: tuple[Callable[[RuleSet], bool], ...]):
    return lambda rs: not all(check(rs) for check in checks)


# --- rule -------------------------------------------------------------------------------------


@condition("direction", "rule", Choice(tuple(d.value for d in Direction), many=False),
           "ingress or egress")
def _direction(value: tuple[str, ...]):
    direction = Direction(value[0])
    return lambda rule: rule.direction is direction


@condition("action", "rule", Choice(tuple(a.value for a in Action)),
           "allow, deny or goto_next (GCP firewall policies)")
def _action(values: tuple[str, ...]):
    actions = frozenset(Action(v) for v in values)
    return lambda rule: rule.action in actions


@condition("enabled", "rule", Boolean(), "the rule is enabled (GCP rules can be disabled)")
def _enabled(flag: bool):
    return lambda rule: rule.enabled is flag


@condition("default_rule", "rule", Boolean(),
           "the rule is one the cloud adds itself (Azure default rules, GCP implied rules, the "
           "network ACL `*` entry)")
def _default_rule(flag: bool):
    return lambda rule: rule.is_default is flag


@condition("logging_disabled", "rule", Boolean(),
           "the rule has a logging flag and it is off (GCP firewall rules and policy rules)")
def _logging_disabled(flag: bool):
    if flag:
        return lambda rule: rule.logging is False
    return lambda rule: rule.logging is not False


@condition("peer_kind", "rule", Choice(tuple(k.value for k in PeerKind)),
           "the rule names a remote peer of one of these kinds (cidr, service_tag, ...)")
def _peer_kind(kinds: tuple[str, ...]):
    wanted = frozenset(PeerKind(k) for k in kinds)
    return lambda rule: any(p.kind in wanted for p in rule.peers)


@condition("description_matches", "rule", Text(),
           "the rule's description matches this glob pattern (never evaluated, only matched)")
def _description_matches(pattern: str):
    return lambda rule: fnmatchcase(rule.description, pattern)


# --- source -----------------------------------------------------------------------------------

SOURCE_LEVELS = ("internet", "broad", "specific", "public", "any")


@condition("source", "source", Choice(SOURCE_LEVELS),
           "whose traffic to judge: internet (the whole public space of a family), broad (a "
           "wide public range below that, see --broad-prefix), specific (narrower public "
           "ranges), public (any untrusted public address) or any (every address); for egress "
           "rules this is the destination")
def _source(levels: tuple[str, ...]):
    return levels


@condition("family", "source", Choice(("ipv4", "ipv6")), "judge only these address families")
def _family(families: tuple[str, ...]):
    return families


# --- traffic ----------------------------------------------------------------------------------

PROTOCOL_CHOICES = ("tcp", "udp", "sctp", "icmp", "icmpv6", "esp", "ah", "gre", "all", "other")


@condition("protocol", "traffic", Choice(PROTOCOL_CHOICES),
           "judge only traffic of these protocols; `all` means the rule admits every protocol, "
           "`other` any protocol without ports", narrows=True)
def _protocol(names: tuple[str, ...]):
    wanted = ProtocolSet()
    for name in names:
        if name == "other":
            wanted = ProtocolSet(wanted.intervals
                                 + ALL_PROTOCOL_SET.difference(PORT_PROTOCOL_SET).intervals)
        elif name != "all":
            wanted = ProtocolSet(wanted.intervals
                                 + ProtocolSet.of(canonical_protocol(name)).intervals)
    need_all = "all" in names

    def narrow(flows: Flows) -> Flows | None:
        if need_all and flows.all_protocols():
            return flows
        hit = flows.only(wanted)
        return hit or None

    return narrow


@condition("ports_any", "traffic", PortList(),
           "the traffic reaches at least one of these ports or services (a range, `*` or "
           "protocol all that contains the port counts)", narrows=True)
def _ports_any(items: tuple[PortItem, ...]):
    # Merged once: per port protocol, every port any item names.
    wanted: dict[str, PortSet] = {}
    for item in items:
        for protocol, ports in item.pairs:
            for name in (protocol,) if protocol else tuple(PORT_PROTOCOLS):
                wanted[name] = wanted.get(name, PortSet()).union(ports)

    def narrow(flows: Flows) -> Flows | None:
        hits = {}
        for name, admitted in flows.ports.items():
            want = wanted.get(name)
            if want is not None and admitted:
                hit = admitted.intersection(want)
                if hit:
                    hits[name] = hit
        return Flows(hits) if hits else None

    return narrow


@condition("ports_all", "traffic", PortList(),
           "the traffic reaches every one of these ports or services", narrows=True)
def _ports_all(items: tuple[PortItem, ...]):
    # Every item must be reached: one `ports_any` per item, their evidence together.
    each = tuple(_ports_any((item,)) for item in items)

    def narrow(flows: Flows) -> Flows | None:
        hit = Flows({})
        for item_hits in each:
            part = item_hits(flows)
            if part is None:
                return None
            hit = hit.union(part)
        return hit

    return narrow


@condition("ports_outside", "traffic", ProtocolPorts(),
           "the traffic reaches a port of the listed protocols outside the allowed ones "
           "({tcp: [80, 443], udp: []} fails on any other TCP port and any UDP port)",
           narrows=True)
def _ports_outside(allowed: dict[str, PortSet]):
    def narrow(flows: Flows) -> Flows | None:
        ports = {}
        for protocol, permitted in allowed.items():
            extra = flows.ports.get(protocol, PortSet()).difference(permitted)
            if extra:
                ports[protocol] = extra
        return Flows(ports) if ports else None

    return narrow


@condition("port_count", "traffic", Bounds(),
           "how many ports of one protocol the traffic reaches (the largest over tcp, udp, "
           "sctp)")
def _port_count(bounds):
    within = _within(bounds)

    def check(flows: Flows) -> Flows | None:
        return flows if within(max((s.count() for s in flows.ports.values()), default=0)) \
            else None

    return check


@condition("all_ports", "traffic", Boolean(),
           "true: some port-bearing protocol is open on every port (0-65535, `*`, protocol "
           "all); false: none is", narrows=True)
def _all_ports(flag: bool):
    def narrow(flows: Flows) -> Flows | None:
        whole = {p: s for p, s in flows.ports.items() if s.is_all()}
        if flag:
            return Flows(whole) if whole else None
        return None if whole else flows

    return narrow


@condition("all_protocols", "traffic", Boolean(),
           "true: every protocol on every port is admitted (protocol all / -1 / *)")
def _all_protocols(flag: bool):
    return lambda flows: flows if flows.all_protocols() is flag else None


SERVICE_CHOICES = tuple(SERVICES_BY_KEY) + ("any",)


def _services_flows(keys) -> list[PortItem]:
    return [PortItem(s.key, s.ports) for s in SERVICES if s.key in keys]


@condition("services", "traffic", Choice(SERVICE_CHOICES),
           "the traffic reaches one of these services of the port catalogue (`any`: any "
           "catalogued service)", narrows=True)
def _services(keys: tuple[str, ...]):
    items = _services_flows(SERVICES_BY_KEY if "any" in keys else keys)
    return _ports_any(tuple(items))


@condition("services_except", "traffic", Choice(tuple(SERVICES_BY_KEY)),
           "the traffic reaches a catalogued service other than these", narrows=True)
def _services_except(keys: tuple[str, ...]):
    items = _services_flows([k for k in SERVICES_BY_KEY if k not in keys])
    return _ports_any(tuple(items))


@condition("remote_admin", "traffic", Boolean(),
           "the traffic reaches a remote administration service (SSH, RDP, WinRM, VNC, "
           "Telnet)", narrows=True)
def _remote_admin(flag: bool):
    items = tuple(PortItem(s.key, s.ports) for s in SERVICES if s.remote_admin)
    any_admin = _ports_any(items)
    if flag:
        return any_admin
    return lambda flows: None if any_admin(flows) else flows
