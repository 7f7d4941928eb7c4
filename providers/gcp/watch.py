"""Watching GCP: Admin Activity audit log entries of the calls that change firewall rules,
firewall policies and which rules apply to an instance, and re-reads of just what they touched.

Entries are read with attribution's ``entries:list`` plumbing (an authorized session, page by
page under the page guard), oldest first, for the project's log and, for organization and
folder firewall policies, the logs of the project's ancestors. ``audit_event`` is a pure
function of one LogEntry's JSON. A re-read fetches single objects (``firewalls.get``,
``instances.get``, the policies' ``get``) and normalises them with the functions a full
collection uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from providers.gcp.audit import LOG_NAME, attribution_from_entry, quote_filter
from providers.gcp.common import PROVIDER, canonical, last_segment
from providers.gcp.normalize import (
    normalize_instance,
    normalize_policy,
    normalize_vpc_rules,
    vpc_rule_set_id,
)
from providers.guard import guarded
from providers.watching import AuditEvent, log_time, window_events
from scanner.attack import change_operations
from scanner.model import CollectedItem, CollectionError, RuleSetKind, Scope

# A method is logged as ``v1.`` + its name, or ``beta.``/``alpha.`` when the call went to those
# API versions; the catalogue names some with ``v1.`` and some without. Matched without it, so a
# firewall opened through the beta API is seen as well.
_VERSIONS = ("v1.", "beta.", "alpha.")


def bare(method: str) -> str:
    for prefix in _VERSIONS:
        if method.startswith(prefix):
            return method[len(prefix):]
    return method


_PROJECT_METHODS = tuple(dict.fromkeys(bare(m) for kind in (
    RuleSetKind.GCP_VPC_FIREWALL, RuleSetKind.GCP_NETWORK_POLICY)
    for m in change_operations(kind)))
# Organization and folder policies are logged in the organization's or folder's own log.
_NODE_METHODS = tuple(dict.fromkeys(
    bare(m) for m in change_operations(RuleSetKind.GCP_HIERARCHICAL_POLICY)))
WATCHED = frozenset(_PROJECT_METHODS + _NODE_METHODS)
# A firewall's ``network`` field is the network's self link, whichever endpoint is called; the
# filtered list compares it exactly.
SELF_LINK_BASE = "https://www.googleapis.com/compute/v1"


def log_filter(parents: Sequence[str], methods: Iterable[str], start: datetime,
               end: datetime) -> str:
    """The Admin Activity entries of ``methods`` (every API version) in [start, end)."""
    logs = " OR ".join(quote_filter(f"{p}/logs/{LOG_NAME}") for p in parents)
    names = " OR ".join(quote_filter(v + m) for m in methods for v in ("", *_VERSIONS))
    return (f"logName=({logs}) AND protoPayload.methodName=({names}) AND "
            f'timestamp>="{log_time(start)}" AND timestamp<"{log_time(end)}"')


def target_of(resource_name: str) -> str:
    """The audit log's ``resourceName`` in the form ``reread`` takes: ``projects/...`` for
    project resources, ``locations/global/firewallPolicies/ID`` for organization and folder
    policies (logged with or without ``locations/global``)."""
    name = canonical(resource_name)
    if not name.startswith("projects/") and "firewallPolicies/" in name:
        return f"locations/global/firewallPolicies/{name.rsplit('firewallPolicies/', 1)[1]}"
    return name


def _finished(entry: Mapping[str, Any]) -> bool:
    """A long-running call is logged twice under one ``operation.id``: when it is accepted
    (``first``) and when it is done (``last``). Only the last one follows the change (and says
    whether it failed), so a first entry alone is left for the read that sees its last; a
    call rejected at once is logged once, without ``operation`` or with both flags."""
    operation = entry.get("operation")
    if not isinstance(operation, Mapping):
        return True
    return bool(operation.get("last")) or not operation.get("first")


def _targets(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The object the call names, and for a VPC firewall rule whose request names its network
    (an insert always does) also that network's rule set: the object drift reports it under."""
    target = target_of(str(payload.get("resourceName") or ""))
    request = payload.get("request")
    network = request.get("network") if isinstance(request, Mapping) else None
    if _kind(target) == "firewalls" and isinstance(network, str) and canonical(network):
        return (target, vpc_rule_set_id(canonical(network)))
    return (target,)


def audit_event(scope: Scope, entry: Mapping[str, Any]) -> AuditEvent | None:
    """One Admin Activity LogEntry (Logging API JSON) as an AuditEvent; None when it is not a
    finished firewall-changing call."""
    payload = entry.get("protoPayload") or {}
    method = str(payload.get("methodName") or "")
    if bare(method) not in WATCHED or not _finished(entry):
        return None
    attribution = attribution_from_entry(entry)
    if attribution.time is None or not attribution.event_id:
        raise ValueError(f"{method} entry {attribution.event_id or '(no insertId)'} has no "
                         "timestamp or no insertId")
    status = payload.get("status") or {}
    return AuditEvent(
        provider=PROVIDER,
        account=scope.account,
        region=scope.region,
        # insertId is unique per entry of a log and the same every time the entry is read.
        event_id=attribution.event_id,
        operation=method,
        time=attribution.time,
        targets=_targets(payload),
        attribution=attribution,
        failed=bool(isinstance(status, Mapping) and status.get("code")),
    )


def audit_events(scope: Scope, entries: Iterable[Mapping[str, Any]], start: datetime,
                 end: datetime) -> list[AuditEvent | CollectionError]:
    """The finished calls among ``entries`` made in [start, end), oldest first, each once; an
    entry that cannot be read is a CollectionError naming it."""
    return window_events(scope, entries, start, end, audit_event, "auditLog", "an audit log entry")


def project_filter(project: str, start: datetime, end: datetime) -> str:
    return log_filter([f"projects/{project}"], _PROJECT_METHODS, start, end)


def nodes_filter(nodes: Sequence[str], start: datetime, end: datetime) -> str:
    return log_filter(nodes, _NODE_METHODS, start, end)


# --- re-reading -------------------------------------------------------------------------------

# (target, exception, resource type) -> the error naming the target; raises what is not an
# API failure.
ErrorFor = Callable[[str, BaseException, str], CollectionError]


def _parts(target: str) -> list[str]:
    return target.split("/")


def _kind(target: str) -> str:
    p = _parts(target)
    if target.startswith("locations/global/firewallPolicies/") and len(p) == 4:
        return "hierarchicalFirewallPolicies"
    if len(p) < 5 or p[0] != "projects":
        return ""
    if p[2] == "global" and p[3] == "firewalls" and len(p) == 5:
        return "firewalls"
    if p[2] == "global" and p[3] == "networks" and len(p) == 6 and p[5] == "firewalls":
        return "networkFirewalls"  # a VPC rule set id: the rules of one network
    if p[2] == "zones" and len(p) == 6 and p[4] == "instances":
        return "instances"
    if (p[2] == "global" and p[3] == "firewallPolicies" and len(p) == 5) or (
            p[2] == "regions" and len(p) == 6 and p[4] == "firewallPolicies"):
        return "networkFirewallPolicies"
    return ""


def _not_found(exc: BaseException) -> bool:
    from google.api_core import exceptions

    return isinstance(exc, exceptions.NotFound)


def reread(api: Any, scope: Scope, targets: Sequence[str],
           error_for: ErrorFor) -> tuple[list[CollectedItem], list[str]]:
    """(items, gone) for ``targets`` of one project.

    A VPC firewall rule is one rule of its network's rule set, so the whole set is rebuilt
    from one filtered list of that network's firewalls; a rule that is gone no longer names
    its network, so then every network's set is rebuilt from one list of the project's
    firewalls. Policies and instances are read by name.
    """
    project = scope.account
    items: list[CollectedItem] = []
    gone: list[str] = []
    networks: dict[str, None] = {}  # network links whose VPC rule set is rebuilt
    every_network = False

    def attempt(target: str, resource_type: str, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except Exception as exc:
            if _not_found(exc):
                gone.append(target)
            else:
                items.append(error_for(target, exc, resource_type))
            return None

    for target in dict.fromkeys(target_of(t) for t in targets):
        kind = _kind(target)
        name = last_segment(target)
        if kind == "firewalls":
            found = attempt(target, kind, lambda n=name: api.firewall(project, n))
            if found is not None:
                networks[str(found.get("network") or "")] = None
            elif target in gone:
                every_network = True
        elif kind == "networkFirewalls":
            networks[f"{SELF_LINK_BASE}/{target.rsplit('/firewalls', 1)[0]}"] = None
        elif kind == "instances":
            zone = _parts(target)[3]
            found = attempt(target, kind, lambda z=zone, n=name: api.instance(project, z, n))
            if found is not None:
                assets = guarded(scope, kind, f"instance {target}",
                                 lambda f=found: normalize_instance(scope, f))
                items += [assets] if isinstance(assets, CollectionError) else assets
        elif kind == "networkFirewallPolicies":
            parts = _parts(target)
            region = parts[3] if parts[2] == "regions" else None
            found = attempt(target, kind, lambda r=region, n=name:
                            api.network_firewall_policy(project, r, n))
            if found is not None:
                items.append(guarded(scope, kind, f"firewall policy {target}",
                                     lambda f=found: normalize_policy(
                                         scope, f, RuleSetKind.GCP_NETWORK_POLICY)))
        elif kind == "hierarchicalFirewallPolicies":
            found = attempt(target, kind, lambda n=name: api.hierarchical_policy(n))
            if found is not None:
                items.append(guarded(scope, kind, f"firewall policy {target}",
                                     lambda f=found: normalize_policy(
                                         scope, f, RuleSetKind.GCP_HIERARCHICAL_POLICY)))
        else:
            items.append(CollectionError(
                PROVIDER, project, scope.region,
                f"{target}: not a firewall rule, firewall policy, instance or VPC rule set",
                "report this as a cloudwall bug (rerun with --debug)", code="UnknownTarget"))
    items += _vpc_rule_sets(api, scope, [n for n in networks if n], every_network, error_for)
    return items, list(dict.fromkeys(gone))


def _vpc_rule_sets(api: Any, scope: Scope, links: list[str], every_network: bool,
                   error_for: ErrorFor) -> list[CollectedItem]:
    project = scope.account
    by_network: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    try:
        if every_network:
            firewalls = api.firewalls(project)
            for network in api.networks(project):
                link = str(network.get("selfLink") or "")
                by_network[canonical(link)] = (network, [
                    f for f in firewalls if canonical(f.get("network")) == canonical(link)])
        else:
            for link in dict.fromkeys(links):
                # The rule set needs only the network's name and link (for its id and whether
                # it is the default network): no networks.get.
                stub = {"name": last_segment(link), "selfLink": link}
                by_network[canonical(link)] = (stub, api.network_firewalls(project, link))
    except Exception as exc:
        what = f"projects/{project}/global/firewalls" if every_network else ", ".join(links)
        return [error_for(what, exc, "firewalls")]
    return [guarded(scope, "firewalls", f"the firewall rules of network {network_id}",
                    lambda n=network, f=fws: normalize_vpc_rules(scope, n, f))
            for network_id, (network, fws) in by_network.items()]


def errors_for(scope: Scope, describe: Callable[..., dict[str, Any]]) -> ErrorFor:
    """A failed read as a CollectionError naming the target."""

    def error_for(target: str, exc: BaseException, resource_type: str) -> CollectionError:
        found = describe(exc, scope.account, resource_type)
        return CollectionError(
            provider=PROVIDER, account=scope.account, region=scope.region,
            reason=f"{target} could not be re-read: {found['reason']}",
            hint=found["hint"], resource_type=resource_type, code=str(found["code"]))

    return error_for


def log_errors(scope: Scope) -> Callable[[str, BaseException], CollectionError]:
    """An audit log that could not be read, as a CollectionError for the scope."""
    from providers.gcp.fetch import describe_failure

    def error(where: str, exc: BaseException) -> CollectionError:
        found = describe_failure(exc, scope.account, "auditLog")
        return CollectionError(
            provider=PROVIDER, account=scope.account, region=scope.region,
            reason=f"the Admin Activity audit log of {where} could not be read: "
                   f"{found['reason']}",
            hint="needs logging.logEntries.list (roles/logging.viewer) on the project, and on "
                 "the organization and folders for their firewall policies; "
                 f"otherwise: {found['hint']}",
            resource_type="auditLog", code=str(found["code"]))

    return error


__all__ = ["WATCHED", "audit_event", "audit_events", "bare", "errors_for", "log_errors",
           "log_filter", "nodes_filter", "project_filter", "reread", "target_of"]
