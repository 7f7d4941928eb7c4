"""Who made a GCP drift item, from the Admin Activity audit log (Cloud Logging).

``attribution_from_entry`` is pure (raw LogEntry JSON -> Attribution); ``attribute`` looks the
entries up with the Logging API's ``entries:list`` over HTTP/JSON, at the same endpoint as
Compute. The call is made page by page through an authorized google-auth session rather than
google-cloud-logging's iterator, which hides its pages: a log that answers empty pages with fresh
tokens forever must stop at the shared page guard, not run on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from providers.base import page_limits, parse_timestamp
from providers.paging import PageGuard
from scanner.model import Attribution, DriftItem, RuleSet, RuleSetKind

PROVIDER = "gcp"
RETENTION = timedelta(days=400)  # Admin Activity audit logs are kept 400 days
MAX_ENTRIES = 20  # the most recent matching changes per drift item
PAGE_SIZE = 1000  # the most entries:list hands out per page
LOG_NAME = "cloudaudit.googleapis.com%2Factivity"
LOGGING_ENDPOINT = "https://logging.googleapis.com"

Json = Mapping[str, Any]


def attribution_from_entry(entry: Json) -> Attribution:
    """One Admin Activity LogEntry (JSON as the Logging API returns it) -> Attribution."""
    payload = entry.get("protoPayload") or {}
    auth = payload.get("authenticationInfo") or {}
    request = payload.get("requestMetadata") or {}
    actor = auth.get("principalEmail") or auth.get("principalSubject")
    return Attribution(
        actor=actor or None,
        time=parse_timestamp(entry.get("timestamp")),
        source_address=request.get("callerIp") or None,
        operation=payload.get("methodName") or None,
        event_id=entry.get("insertId") or None,
    )


def policy_parents(rule_sets: Iterable[RuleSet]) -> dict[str, str]:
    """Hierarchical policy id -> the organization or folder whose audit log records it."""
    return {rs.resource_id: rs.extra["parent"] for rs in rule_sets
            if rs.kind is RuleSetKind.GCP_HIERARCHICAL_POLICY and rs.extra.get("parent")}


def resource_names(item: DriftItem, parents: Mapping[str, str]) -> tuple[str, str | None]:
    """(log parent to search, the audit log's ``resourceName`` of what changed, if known)."""
    project = f"projects/{item.account}"
    kind = (item.details or {}).get("rule_set_kind")
    rule = item.after or item.before
    if kind == RuleSetKind.GCP_VPC_FIREWALL.value:
        if rule is not None and not rule.is_default:
            name = rule.name or (rule.native_id or "").split("/")[0]
            return project, f"projects/{item.account}/global/firewalls/{name}"
        return project, None  # attachment and network changes: instances, networks
    if kind == RuleSetKind.GCP_HIERARCHICAL_POLICY.value:
        # Organization and folder policies are logged in the organization's (folder's) log.
        return parents.get(item.resource_id, ""), item.resource_id
    if kind == RuleSetKind.GCP_NETWORK_POLICY.value:
        return project, item.resource_id
    return project, item.resource_id  # networks (enforcement order)


def quote_filter(text: str) -> str:
    """A string as a Cloud Logging filter literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def log_filter(item: DriftItem, since: datetime, parent: str, resource: str | None) -> str:
    methods = " OR ".join(quote_filter(m) for m in item.operations)
    parts = [f'logName="{parent}/logs/{LOG_NAME}"', f"protoPayload.methodName=({methods})"]
    if resource:
        # Project resources are named exactly; organization policies may be logged with or
        # without a leading parent, so for them a substring ("has") match is used.
        op = ":" if resource.startswith("locations/") else "="
        parts.append(f"protoPayload.resourceName{op}{quote_filter(resource)}")
    stamp = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    parts.append(f'timestamp>="{stamp}"')
    return " AND ".join(parts)


def _unavailable(reason: str) -> tuple[Attribution, ...]:
    return (Attribution(unavailable_reason=reason),)


def attribute(api: Any, items: Sequence[DriftItem], since: datetime,
              parents: Mapping[str, str] | None = None) -> dict[str, tuple[Attribution, ...]]:
    """``drift_id -> attributions`` for the GCP items; failures are reasons, never gaps."""
    parents = parents or {}
    out: dict[str, tuple[Attribution, ...]] = {}
    gcp_items = [i for i in items if i.provider == PROVIDER]
    if not gcp_items:
        return out
    now = datetime.now(timezone.utc)
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    too_old = now - since > RETENTION
    session = None
    for item in gcp_items:
        if not item.operations:
            out[item.drift_id] = _unavailable("no control-plane operation makes this change")
            continue
        if too_old:
            out[item.drift_id] = _unavailable(
                "the baseline is older than the 400 days Admin Activity audit logs are kept")
            continue
        parent, resource = resource_names(item, parents)
        if not parent:
            out[item.drift_id] = _unavailable(
                "organization or folder firewall policy: its changes are in the organization's "
                "audit log, and which organization was not read in this scan")
            continue
        try:
            if session is None:
                session = logging_session(api)
            entries = list_entries(api, session, parent, log_filter(item, since, parent, resource))
        except Exception as exc:  # one failed lookup is a reason on that item, not a crash
            out[item.drift_id] = _unavailable(_failure_reason(exc))
            continue
        found = tuple(attribution_from_entry(e) for e in entries)
        out[item.drift_id] = found or _unavailable(
            f"no Admin Activity audit log entry for {resource or parent} since "
            f"{since.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    return out


def logging_session(api: Any):
    from google.auth.transport.requests import AuthorizedSession

    return AuthorizedSession(api.creds())


def list_entries(api: Any, session: Any, parent: str | Sequence[str], filter_: str,
             order_by: str = "timestamp desc", limit: int | None = MAX_ENTRIES,
             ) -> list[dict[str, Any]]:
    """The matching entries in ``order_by`` order, read page by page: the first ``limit``, or
    every one when ``limit`` is None (still bounded by the page guard)."""
    from google.api_core import exceptions

    parents = [parent] if isinstance(parent, str) else list(parent)
    url = f"{api.endpoint or LOGGING_ENDPOINT}/v2/entries:list"
    body: dict[str, Any] = {"resourceNames": parents, "filter": filter_, "orderBy": order_by,
                            "pageSize": limit or PAGE_SIZE}
    guard = PageGuard(f"audit log entries of {', '.join(parents)}", page_limits(api.settings))
    found: list[dict[str, Any]] = []
    while True:
        response = session.post(url, json=body, timeout=api.settings.request_timeout)
        if response.status_code != 200:
            raise exceptions.from_http_response(response)
        page = response.json()
        entries = page.get("entries") or []
        if not isinstance(entries, list):
            raise ValueError("entries:list answered without a list of entries")
        token = page.get("nextPageToken")
        guard.page(len(entries), token)
        found.extend(e for e in entries if isinstance(e, dict))
        if not token or (limit is not None and len(found) >= limit):
            return found if limit is None else found[:limit]
        body["pageToken"] = token


def _failure_reason(exc: BaseException) -> str:
    from google.api_core import exceptions

    if isinstance(exc, exceptions.Forbidden | exceptions.PermissionDenied):
        return ("cannot read the Admin Activity audit log: needs logging.logEntries.list "
                "(roles/logging.viewer)")
    return f"audit log lookup failed: {type(exc).__name__}: {exc}"
