"""Policy packs: YAML files of policies (and their pass/fail cases), checked and compiled once.

A pack is either a list of policies or a mapping::

    pack: my-team
    defaults:                 # merged into every policy (match is merged key by key)
      providers: [aws]
      match: {direction: ingress, action: allow}
    policies:
      - id: TEAM-001
        title: Database port open to a broad range
        severity: high        # info | low | medium | high | critical | catalogue
        match: {source: [internet, broad], services: [mysql, postgresql]}
        compliance: {pci-dss-4.0: ["1.3.1"]}
        attack: [T1562.007]
        remediation: {summary: ..., console: ..., cli: ...}
    cases:                    # run by `cloudwall policies test FILE`
      - {policy: TEAM-001, expect: fail, kinds: [security_group], rules: [...]}

Every mistake is reported as ``file:line: what is wrong`` with a suggestion (exit code 2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from policies.conditions import AGGREGATE_CONDITIONS, CONDITIONS, resolve_kinds
from policies.frameworks import FRAMEWORKS
from policies.matching import FAMILY_BY_NAME, Match, evaluate_pack_policy
from policies.policy import (
    CONTROL_PROTOCOLS,
    PROVIDERS,
    ControlRef,
    Policy,
    PolicyMeta,
    Remediation,
    When,
)
from policies.schema import ArgError, did_you_mean, suggestion_suffix
from policies.yamlsource import PathKey, Source, parse, read
from scanner.catalogue import SERVICES_BY_KEY
from scanner.errors import PolicyError
from scanner.model import Action, Direction, Severity

POLICY_KEYS = ("id", "title", "severity", "rationale", "remediation", "providers",
               "compliance", "attack", "match", "subject", "cases")
PACK_KEYS = ("pack", "description", "defaults", "policies", "cases")
SUBJECTS = ("rule", "rule_set")
_ATTACK = re.compile(r"^T\d{4}(\.\d{3})?$")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{1,63}$")
WHEN_KEYS = ("kind", "provider", "family", "services", "ports", "protocols", "default_rule_set")


@dataclass(frozen=True, slots=True)
class Case:
    """One pass/fail case: a small model-level snapshot and the expected result."""

    policy_id: str
    name: str
    expect: str  # pass | fail
    data: Mapping[str, Any]
    location: str
    findings: int | None = None  # exact number of findings expected, when given


@dataclass(frozen=True, slots=True)
class Pack:
    name: str
    source: str
    policies: tuple[Policy, ...]
    cases: tuple[Case, ...]


# --- metadata -------------------------------------------------------------------------------


def _text(src: Source, path: PathKey, value: Any, what: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise src.error(path, f"{what} must be non-empty text, got {value!r}")
    return value.strip()


def _list_of_text(src: Source, path: PathKey, value: Any, what: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise src.error((*path, i), f"{what}: expected text, got {item!r}")
        out.append(str(item))
    return out


def _severity(src: Source, path: PathKey, value: Any) -> tuple[Severity, bool]:
    if value == "catalogue":
        return Severity.HIGH, True
    try:
        return Severity.parse(str(value)), False
    except ValueError:
        names = [s.value for s in Severity] + ["catalogue"]
        raise src.error(path, f"unknown severity {value!r}",
                        did_you_mean(str(value), names) or f"choose from {', '.join(names)}"
                        ) from None


def _remediation(src: Source, path: PathKey, value: Any) -> Remediation:
    if value is None:
        return Remediation()
    if isinstance(value, str):
        return Remediation(value.strip())
    if not isinstance(value, dict):
        raise src.error(path, "remediation must be text or {summary, console, cli}")
    for key in value:
        if key not in ("summary", "console", "cli"):
            raise src.error((*path, key), f"unknown remediation field {key!r}"
                            + suggestion_suffix(key, ("summary", "console", "cli")))
    return Remediation(*(_text(src, (*path, k), value.get(k), f"remediation.{k}",
                               required=False) for k in ("summary", "console", "cli")))


def _when(src: Source, path: PathKey, value: Any) -> When:
    if not isinstance(value, dict):
        raise src.error(path, "`when` must be a mapping", f"keys: {', '.join(WHEN_KEYS)}")
    fields: dict[str, Any] = {}
    for key, item in value.items():
        where = (*path, key)
        if key not in WHEN_KEYS:
            raise src.error(where, f"unknown `when` key {key!r}"
                            + suggestion_suffix(key, WHEN_KEYS))
        if key == "default_rule_set":
            if not isinstance(item, bool):
                raise src.error(where, "default_rule_set must be true or false")
            fields["default_rule_set"] = item
            continue
        if key == "ports":
            ports = item if isinstance(item, list) else [item]
            if not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 65535
                       for p in ports):
                raise src.error(where, "`when.ports` must be port numbers")
            fields["ports"] = tuple(ports)
            continue
        names = _list_of_text(src, where, item, key)
        choices = {"kind": None, "provider": PROVIDERS, "family": ("ipv4", "ipv6"),
                   "services": tuple(SERVICES_BY_KEY), "protocols": CONTROL_PROTOCOLS}[key]
        if key == "kind":
            from policies.conditions import KIND_CHOICES

            choices = KIND_CHOICES
        for name in names:
            if name not in choices:
                raise src.error(where, f"unknown {key} {name!r}",
                                did_you_mean(name, choices) or f"choose from {', '.join(choices)}")
        target = {"kind": "kinds", "provider": "providers", "family": "families",
                  "services": "services", "protocols": "protocols"}[key]
        fields[target] = resolve_kinds(tuple(names)) if key == "kind" else frozenset(names)
    return When(**fields)


def _compliance(src: Source, path: PathKey, value: Any) -> tuple[ControlRef, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise src.error(path, "compliance must map frameworks to control ids",
                        "e.g. compliance: {aws-fsbp: [EC2.13]}")
    refs = []
    for key, controls in value.items():
        where = (*path, key)
        framework_id, _, version = str(key).partition("@")
        known = FRAMEWORKS.get(framework_id)
        if known is None and not framework_id.startswith("x-"):
            raise src.error(where, f"unknown framework {framework_id!r}",
                            did_you_mean(framework_id, FRAMEWORKS)
                            or "use a built-in framework or an x- prefix for your own")
        version = version or (known.version if known else "")
        items = controls if isinstance(controls, list) else [controls]
        for i, item in enumerate(items):
            when = When()
            if isinstance(item, dict):
                extra = set(item) - {"control", "when"}
                if extra or "control" not in item:
                    raise src.error((*where, i), "a conditional control is "
                                    "{control: ID, when: {...}}")
                when = _when(src, (*where, i, "when"), item.get("when", {}))
                item = item["control"]
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise src.error((*where, i), f"control id must be text, got {item!r}")
            control = str(item)
            if known is not None and version == known.version and known.control(control) is None:
                ids = [c.control_id for c in known.controls]
                raise src.error((*where, i), f"unknown control {control!r} in {framework_id} "
                                f"{version}", did_you_mean(control, ids)
                                or f"controls: {', '.join(ids)}")
            refs.append(ControlRef(framework_id, version, control, when))
    return tuple(refs)


def _meta(src: Source, path: PathKey, data: Mapping[str, Any], source: str
          ) -> tuple[PolicyMeta, bool]:
    for key in data:
        if key not in POLICY_KEYS:
            raise src.error((*path, key), f"unknown policy field {key!r}"
                            + suggestion_suffix(str(key), POLICY_KEYS))
    for key in ("id", "title", "severity"):
        if key not in data:
            raise src.error(path, f"policy is missing `{key}`",
                            "every policy needs id, title and severity")
    policy_id = _text(src, (*path, "id"), data["id"], "id")
    if not _ID.match(policy_id):
        raise src.error((*path, "id"), f"policy id {policy_id!r} is not a plain identifier",
                        "use letters, digits, '-', '_' or '.' (e.g. TEAM-001)")
    severity, from_services = _severity(src, (*path, "severity"), data["severity"])
    providers = tuple(_list_of_text(src, (*path, "providers"), data.get("providers",
                                                                       list(PROVIDERS)),
                                    "providers"))
    for i, provider in enumerate(providers):
        if provider not in PROVIDERS:
            raise src.error((*path, "providers", i), f"unknown provider {provider!r}",
                            did_you_mean(provider, PROVIDERS) or "use aws, azure or gcp")
    attack = tuple(_list_of_text(src, (*path, "attack"), data.get("attack", []), "attack"))
    for i, technique in enumerate(attack):
        if not _ATTACK.match(technique):
            raise src.error((*path, "attack", i), f"{technique!r} is not an ATT&CK technique id",
                            "write it as T1562 or T1562.007")
    subject = data.get("subject", "rule")
    if subject not in SUBJECTS:
        raise src.error((*path, "subject"), f"unknown subject {subject!r}",
                        did_you_mean(str(subject), SUBJECTS) or "use rule or rule_set")
    meta = PolicyMeta(
        policy_id=policy_id,
        title=_text(src, (*path, "title"), data["title"], "title"),
        severity=severity,
        rationale=_text(src, (*path, "rationale"), data.get("rationale"), "rationale",
                        required=False),
        remediation=_remediation(src, (*path, "remediation"), data.get("remediation")),
        providers=providers,
        compliance=_compliance(src, (*path, "compliance"), data.get("compliance")),
        attack=attack,
        source=source,
        subject=subject,
    )
    return meta, from_services


def meta_from_mapping(data: Mapping[str, Any], source: str) -> PolicyMeta:
    """Metadata of a Python check, checked exactly like a pack policy's."""
    fields = {("id" if k == "id" else k): v for k, v in data.items()}
    src = Source(source, fields)
    meta, _ = _meta(src, (), fields, source)
    return meta


# --- match ----------------------------------------------------------------------------------


def compile_match(src: Source, path: PathKey, value: Any, subject: str,
                  severity_from_services: bool) -> Match:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise src.error(path, "match must be a mapping of conditions",
                        "e.g. match: {direction: ingress, source: internet, ports_any: [22]}")
    stages: dict[str, list[Any]] = {"rule_set": [], "rule": [], "scoping": [], "traffic": []}
    other_rule_checks = False  # rule conditions beyond direction and action
    levels: tuple[str, ...] = ()
    families = (4, 6)
    for name, argument in value.items():
        where = (*path, name)
        if name == "unless":
            stages["rule_set"].append(_unless(src, where, argument))
            continue
        cond = CONDITIONS.get(name)
        if cond is None:
            raise src.error(where, f"unknown condition {name!r}"
                            + suggestion_suffix(str(name), CONDITIONS),
                            "see `cloudwall policies conditions` for the vocabulary")
        if subject == "rule_set" and cond.stage != "rule_set":
            raise src.error(where, f"condition {name!r} judges rules, but this policy's subject "
                            "is rule_set", "use subject: rule, or rule set conditions only")
        try:
            compiled = cond.compile(cond.schema.check(argument))
        except ArgError as exc:
            raise src.error(where, f"{name}: {exc}", exc.hint) from None
        if cond.stage == "source":
            if name == "source":
                levels = compiled
            else:
                families = tuple(FAMILY_BY_NAME[f] for f in compiled)
        elif cond.stage == "traffic":
            if name == "protocol":
                stages["scoping"].append(compiled)
            else:
                stages["traffic"].append((compiled, cond.narrows))
        else:
            stages[cond.stage].append(compiled)
            if cond.stage == "rule" and name not in ("direction", "action"):
                other_rule_checks = True
    if (stages["traffic"] or stages["scoping"] or "family" in value) and not levels:
        raise src.error(path, "port, protocol, service and family conditions need a `source`",
                        "add source: internet (or broad, specific, public, any)")
    if "protocol" in value and not stages["traffic"]:
        # protocol alone is a condition, not only a scope: keep it as one.
        stages["traffic"].append((lambda flows: flows, False))
    directions = actions = None
    if "direction" in value:
        directions = frozenset({Direction(str(value["direction"]).lower())})
    if "action" in value:
        wanted = value["action"] if isinstance(value["action"], list) else [value["action"]]
        actions = frozenset(Action(str(a).lower()) for a in wanted)
    return Match(subject, tuple(stages["rule_set"]), tuple(stages["rule"]), levels, families,
                 tuple(stages["scoping"]), tuple(stages["traffic"]), severity_from_services,
                 directions, actions, aggregate=bool(AGGREGATE_CONDITIONS & set(value)),
                 only_direction_action=not other_rule_checks,
                 reads_rule_set_name=_names_rule_set(value))


def _names_rule_set(value: Mapping[str, Any]) -> bool:
    """Whether the match looks at the rule set's name (itself or inside ``unless``)."""
    unless = value.get("unless")
    return "rule_set_name" in value or (isinstance(unless, dict) and "rule_set_name" in unless)


def _unless(src: Source, path: PathKey, value: Any):
    """``unless: {rule_set_kind: network_acl, default_rule_set: true}``: rule sets for which
    all the inner conditions hold are left out."""
    if not isinstance(value, dict) or not value:
        raise src.error(path, "unless takes a mapping of rule set conditions",
                        "e.g. unless: {rule_set_kind: network_acl, default_rule_set: true}")
    checks = []
    for name, argument in value.items():
        cond = CONDITIONS.get(name) if name != "unless" else None
        if cond is None or cond.stage != "rule_set":
            known = [n for n, c in CONDITIONS.items() if c.stage == "rule_set" and n != "unless"]
            raise src.error((*path, name), f"unless: {name!r} is not a rule set condition"
                            + suggestion_suffix(str(name), known),
                            f"rule set conditions: {', '.join(known)}")
        try:
            checks.append(cond.compile(cond.schema.check(argument)))
        except ArgError as exc:
            raise src.error((*path, name), f"{name}: {exc}", exc.hint) from None
    return CONDITIONS["unless"].compile(tuple(checks))


def _merge_defaults(defaults: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**defaults, **data}
    if isinstance(defaults.get("match"), dict) and isinstance(data.get("match"), dict):
        merged["match"] = {**defaults["match"], **data["match"]}
    return merged


def _policy(src: Source, path: PathKey, data: Any, defaults: Mapping[str, Any],
            defaults_src: dict[str, PathKey]) -> Policy:
    if not isinstance(data, dict):
        raise src.error(path, "a policy must be a mapping", "see the pack format in the README")
    merged = _merge_defaults(defaults, data)
    meta, from_services = _meta(src, path, merged, src.name)
    match_path = (*path, "match") if "match" in data else defaults_src.get("match", path)
    match = compile_match(src, match_path, merged.get("match"), meta.subject, from_services)
    return Policy(meta, lambda ctx, meta, m=match: evaluate_pack_policy(ctx, meta, m),
                  kind="pack", definition={"match": merged.get("match") or {}}, match=match)


CASE_KEYS = ("policy", "name", "expect", "findings", "kinds", "kind", "rules", "rule_set",
             "rule_sets", "snapshot", "settings", "rule")


def _case(src: Source, path: PathKey, data: Any, policy_id: str | None) -> Case:
    if not isinstance(data, dict):
        raise src.error(path, "a case must be a mapping")
    for key in data:
        if key not in CASE_KEYS:
            raise src.error((*path, key), f"unknown case field {key!r}"
                            + suggestion_suffix(str(key), CASE_KEYS))
    pid = data.get("policy", policy_id)
    if not pid:
        raise src.error(path, "case does not say which policy it tests", "add policy: ID")
    expect = data.get("expect")
    if expect not in ("pass", "fail"):
        raise src.error((*path, "expect"), f"expect must be pass or fail, got {expect!r}")
    findings = data.get("findings")
    if findings is not None and (not isinstance(findings, int) or isinstance(findings, bool)):
        raise src.error((*path, "findings"), "findings must be a number")
    name = str(data.get("name") or f"{pid} {expect}")
    return Case(str(pid), name, expect, data, src.where(path), findings)


def load_source(src: Source) -> Pack:
    data = src.data
    if isinstance(data, list):
        data = {"policies": data}
        lines = {("policies", *k): v for k, v in src.lines.items()}
        src = Source(src.name, data, {**lines, (): src.lines.get((), 1)})
    if not isinstance(data, dict):
        raise src.error((), "a pack is a list of policies or a mapping with `policies`",
                        "see the pack format in the README")
    for key in data:
        if key not in PACK_KEYS:
            raise src.error((key,), f"unknown pack field {key!r}"
                            + suggestion_suffix(str(key), PACK_KEYS))
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise src.error(("defaults",), "defaults must be a mapping of policy fields")
    defaults_src = {k: ("defaults", k) for k in defaults}
    policies_data = data.get("policies") or []
    if not isinstance(policies_data, list):
        raise src.error(("policies",), "policies must be a list")
    policies, cases, seen = [], [], {}
    for i, item in enumerate(policies_data):
        policy = _policy(src, ("policies", i), item, defaults, defaults_src)
        if policy.policy_id in seen:
            raise src.error(("policies", i, "id"), f"policy id {policy.policy_id} is used twice "
                            f"(first at line {seen[policy.policy_id]})", "ids must be unique")
        seen[policy.policy_id] = src.line(("policies", i))
        policies.append(policy)
        for j, case in enumerate(item.get("cases") or []):
            cases.append(_case(src, ("policies", i, "cases", j), case, policy.policy_id))
    case_items = data.get("cases") or []
    if not isinstance(case_items, list):
        raise src.error(("cases",), "cases must be a list")
    for j, case in enumerate(case_items):
        cases.append(_case(src, ("cases", j), case, None))
    return Pack(str(data.get("pack") or Path(src.name).stem), src.name, tuple(policies),
                tuple(cases))


def load_pack(path: str | Path) -> Pack:
    return load_source(read(path))


def load_pack_text(text: str, name: str = "<pack>") -> Pack:
    return load_source(parse(text, name))


def builtin_packs() -> list[Pack]:
    """The packs shipped in ``policies/packs/``, in name order (read once per process)."""
    return list(_builtin_packs())


@lru_cache(maxsize=1)
def _builtin_packs() -> tuple[Pack, ...]:
    folder = resources.files("policies").joinpath("packs")
    packs = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            packs.append(load_source(parse(entry.read_text(encoding="utf-8"),
                                           f"policies/packs/{entry.name}")))
    return tuple(packs)


def check_unique(policies: Iterable[Policy]) -> None:
    seen: dict[str, str] = {}
    for policy in policies:
        if policy.policy_id in seen:
            raise PolicyError(f"policy id {policy.policy_id} is defined twice "
                              f"({seen[policy.policy_id]} and {policy.meta.source})",
                              "give your policy another id, or --skip the built-in one")
        seen[policy.policy_id] = policy.meta.source
