"""A local HTTP server speaking the Google APIs cloudwall calls, over a mutable estate.

Compute Engine (``/compute/v1``): networks, firewalls, networks.getEffectiveFirewalls, the
aggregated lists of network firewall policies and instances, and organization/folder firewall
policies (``locations/global/firewallPolicies?parentId=``). Resource Manager v3: projects:search,
projects.get, folders.get, and projects.list / folders.list by parent. Cloud Logging v2:
entries:list with the filter subset cloudwall sends. Single objects by name (firewalls,
instances, network and hierarchical firewall policies), and the writes a watch test makes
(firewalls insert/patch/delete, instances.setTags), each answered with a DONE operation and
logged in the project's Admin Activity log as Compute logs it.

Behaviour copied from the real APIs: ``pageToken``/``nextPageToken`` paging with a small page
size, aggregated lists that name every scope and carry a ``NO_RESULTS_ON_PAGE`` warning where a
page has nothing for it, 403 bodies in the APIs' own error format (permission denied and
SERVICE_DISABLED), 429 RESOURCE_EXHAUSTED on demand, 401 without a bearer token.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from providers.demo import gcp as payloads
from tests.servers.quiet import QuietHTTPServer

COMPUTE = payloads.COMPUTE
Json = dict[str, Any]


@dataclass
class Project:
    project_id: str
    parent: str = ""
    display_name: str = ""
    number: str = "123456789012"
    networks: list[Json] = field(default_factory=list)
    firewalls: list[Json] = field(default_factory=list)
    network_policies: list[Json] = field(default_factory=list)  # global and regional
    instances: dict[str, list[Json]] = field(default_factory=dict)  # zone -> instances
    zones: list[str] = field(default_factory=list)  # every zone, with or without instances
    regions: list[str] = field(default_factory=list)
    state: str = "ACTIVE"  # or DELETE_REQUESTED

    def resource(self) -> Json:
        return {"name": f"projects/{self.number}", "parent": self.parent,
                "projectId": self.project_id, "state": self.state,
                "displayName": self.display_name or self.project_id,
                "createTime": "2026-01-12T10:00:00.000Z", "updateTime":
                "2026-01-12T10:00:00.000Z", "etag": "W/\"1a2b3c\"", "labels": {}}

    def firewall(self, name: str) -> Json:
        return next(f for f in self.firewalls if f["name"] == name)

    def network(self, name: str) -> Json:
        return next(n for n in self.networks if n["name"] == name)


@dataclass
class Estate:
    """What the server serves; tests change it between scans."""

    projects: dict[str, Project] = field(default_factory=dict)
    folders: dict[str, Json] = field(default_factory=dict)  # "folders/1" -> Folder
    hierarchical_policies: list[Json] = field(default_factory=list)
    log_entries: list[Json] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)  # projects answering 403 to Compute
    service_disabled: set[str] = field(default_factory=set)  # Compute API not enabled
    forbid_hierarchy: bool = False  # organization policies and folders unreadable
    forbid_search: bool = False
    forbid_listing: set[str] = field(default_factory=set)  # parents whose lists answer 403
    forbid_logging: bool = False
    throttle: dict[str, int] = field(default_factory=dict)  # path substring -> 429s to send
    delay: dict[str, float] = field(default_factory=dict)  # path substring -> seconds to stall
    unreachable: set[str] = field(default_factory=set)  # aggregated-list scopes not answering
    # Wire faults by path substring: "repeat" (the same nextPageToken forever), "endless" (empty
    # pages, each with a new token), "truncate" (the JSON cut half-way), "error" (500s).
    faults: dict[str, str] = field(default_factory=dict)
    page_size: int = 3
    log_page_size: int = 1000  # entries:list hands out at most this many a page
    token: str = "test-token"
    # Who the audit log says made the writes the server accepts.
    caller: str = "ops@alpha.iam.gserviceaccount.com"
    caller_ip: str = "203.0.113.30"

    def log_call(self, project: str, method: str, resource: str, request: Json | None = None,
                 error: Json | None = None, when: datetime | None = None) -> list[Json]:
        """Append the Admin Activity entries of one call as Compute logs a long-running one:
        an entry when it is accepted (``operation.first``) and one when it is done
        (``operation.last``), one operation id, each entry its own insertId. A call refused
        at once (``error``: a google.rpc.Status) is one entry without an operation."""
        moment = when or datetime.now(timezone.utc)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        entries = []
        phases = [None] if error else ["first", "last"]
        operation = f"operation-{payloads.numeric_id(method, resource, stamp)}"
        for n, phase in enumerate(phases):
            entry = payloads.audit_entry(method, resource, stamp, self.caller, self.caller_ip,
                                         log_parent=f"projects/{project}", request=request)
            entry["insertId"] = f"-{payloads.numeric_id(operation, str(n))[-12:]}"
            entry["resource"]["labels"]["project_id"] = project
            if error:
                entry["protoPayload"]["status"] = error
                entry["severity"] = "ERROR"
                del entry["operation"]
            else:
                entry["operation"] = {"id": operation, "producer": "compute.googleapis.com",
                                      phase: True}
            entries.append(entry)
        self.log_entries.extend(entries)
        return entries

    def policy(self, short_name: str) -> Json:
        return next(p for p in self.hierarchical_policies + [
            p for pr in self.projects.values() for p in pr.network_policies]
            if p.get("shortName", p["name"]) == short_name or p["name"] == short_name)


def _error(code: int, message: str, status: str, reason: str, domain: str = "global",
           details: list[Json] | None = None) -> Json:
    body: Json = {"code": code, "message": message,
                  "errors": [{"message": message, "domain": domain, "reason": reason}],
                  "status": status}
    if details:
        body["details"] = details
    return {"error": body}


def forbidden_body(permission: str, resource: str) -> Json:
    return _error(403, f"Required '{permission}' permission for '{resource}'",
                  "PERMISSION_DENIED", "forbidden")


def service_disabled_body(number: str) -> Json:
    message = (f"Compute Engine API has not been used in project {number} before or it is "
               "disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
               f"compute.googleapis.com/overview?project={number} then retry. If you enabled "
               "this API recently, wait a few minutes for the action to propagate to our "
               "systems and retry.")
    return _error(403, message, "PERMISSION_DENIED", "accessNotConfigured", "usageLimits", [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
         "domain": "googleapis.com", "metadata": {"service": "compute.googleapis.com",
                                                  "consumer": f"projects/{number}"}}])


THROTTLED = _error(429, "Quota exceeded for quota metric 'Read requests' and limit 'Read "
                   "requests per minute' of service 'compute.googleapis.com' for consumer "
                   "'project_number:123456789012'.", "RESOURCE_EXHAUSTED",
                   "rateLimitExceeded", "usageLimits")


class ApiError(Exception):
    def __init__(self, status: int, body: Json) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def _page(items: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
    start = int(token) if token else 0
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def _list(kind: str, self_link: str, items: list[Json], query: dict, size: int) -> Json:
    page, next_token = _page(items, query.get("pageToken"), size)
    out: Json = {"kind": kind, "id": self_link.split("/v1/", 1)[-1], "items": page,
                 "selfLink": self_link}
    if next_token:
        out["nextPageToken"] = next_token
    return out


def _aggregated(kind: str, self_link: str, scoped: list[tuple[str, Json]], scopes: list[str],
                key: str, query: dict, size: int, unreachable: set[str] = frozenset()) -> Json:
    """Pages over (scope, resource) pairs; every page names every scope, and a scope that is
    unreachable carries the API's UNREACHABLE warning instead of its resources."""
    scoped = [(scope, resource) for scope, resource in scoped if scope not in unreachable]
    page, next_token = _page(scoped, query.get("pageToken"), size)
    by_scope: dict[str, list[Json]] = {}
    for scope, resource in page:
        by_scope.setdefault(scope, []).append(resource)
    items = payloads.aggregated(by_scope, key, scopes)
    for scope in unreachable & set(scopes):
        items[scope] = {"warning": {"code": "UNREACHABLE",
                                    "message": f"Scope '{scope}' is unreachable.",
                                    "data": [{"key": "scope", "value": scope}]}}
    out: Json = {"kind": kind, "id": self_link.split("/v1/", 1)[-1],
                 "items": items, "selfLink": self_link}
    if next_token:
        out["nextPageToken"] = next_token
    return out


# Logging filter: the subset cloudwall writes (AND of field comparisons).
_CLAUSE = re.compile(r'([\w.]+)\s*(>=|<|=|:)\s*'
                     r'(\((?:[^()"]|"(?:[^"\\]|\\.)*")*\)|"(?:[^"\\]|\\.)*")')


def _field(entry: Json, path: str) -> str:
    value: Any = entry
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def _instant(text: str) -> datetime:
    """RFC 3339 as Logging compares it: as a point in time, not as a string."""
    head, _, fraction = text.rstrip("Z").partition(".")
    moment = datetime.fromisoformat(head).replace(tzinfo=timezone.utc)
    return moment.replace(microsecond=int((fraction + "000000")[:6]) if fraction else 0)


def matches(entry: Json, filter_text: str) -> bool:
    for name, op, operand in _CLAUSE.findall(filter_text):
        options = [json.loads(o) for o in re.findall(r'"(?:[^"\\]|\\.)*"', operand)]
        value = _field(entry, name)
        if op == "=" and value not in options:
            return False
        if op == ":" and not any(o in value for o in options):
            return False
        if op == ">=" and not _instant(value) >= _instant(options[0]):
            return False
        if op == "<" and not _instant(value) < _instant(options[0]):
            return False
    return True


class Handler(BaseHTTPRequestHandler):
    server: GcpServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK stall every response by tens of milliseconds.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        self.server.record(method, url.path)
        try:
            if self.headers.get("Authorization") != f"Bearer {self.server.estate.token}":
                raise ApiError(401, _error(401, "Request is missing required authentication "
                                           "credential.", "UNAUTHENTICATED", "required"))
            self.server.maybe_throttle(url.path)
            fault = self.server.fault_for(url.path)
            if fault in ("repeat", "endless"):
                query.pop("pageToken", None)
                body.pop("pageToken", None)  # entries:list pages through its POST body
            if fault == "error":
                raise ApiError(500, _error(500, "Internal error. Please try again.",
                                           "INTERNAL", "backendError"))
            status, payload = 200, self.server.route(method, unquote(url.path), query, body)
            if fault == "repeat":
                payload["nextPageToken"] = "same-token"
            elif fault == "endless":
                payload["items"] = {} if isinstance(payload.get("items"), dict) else []
                payload.pop("entries", None)
                payload["nextPageToken"] = f"fresh-{time.monotonic_ns()}"
        except ApiError as exc:
            status, payload, fault = exc.status, exc.body, None
        data = json.dumps(payload).encode()
        if fault == "truncate":
            data = data[: max(1, len(data) // 2)]
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (timeout tests): nothing left to tell it


class GcpServer(QuietHTTPServer):

    def __init__(self, estate: Estate) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.estate = estate
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))

    def fault_for(self, path: str) -> str | None:
        return next((mode for fragment, mode in self.estate.faults.items() if fragment in path),
                    None)

    def maybe_throttle(self, path: str) -> None:
        stall = max((s for f, s in self.estate.delay.items() if f in path), default=0.0)
        if stall:
            time.sleep(stall)
        with self._lock:
            for fragment, remaining in self.estate.throttle.items():
                if fragment in path and remaining > 0:
                    self.estate.throttle[fragment] = remaining - 1
                    raise ApiError(429, THROTTLED)

    # -- routing -------------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict, body: Json) -> Json:
        e = self.estate
        if path == "/v3/projects:search":
            if e.forbid_search:
                raise ApiError(403, forbidden_body("resourcemanager.projects.list", "*"))
            return self._search(query)
        if m := re.fullmatch(r"/v3/projects/([^/]+)", path):
            project = self._project_by_id_or_number(m[1])
            if e.forbid_hierarchy:
                raise ApiError(403, forbidden_body("resourcemanager.projects.get", path[4:]))
            return project.resource()
        if path in ("/v3/projects", "/v3/folders"):
            return self._children(path.rsplit("/", 1)[1], query)
        if m := re.fullmatch(r"/v3/(folders/[^/]+)", path):
            if e.forbid_hierarchy or m[1] not in e.folders:
                raise ApiError(403, forbidden_body("resourcemanager.folders.get", m[1]))
            return e.folders[m[1]]
        if path == "/v2/entries:list" and method == "POST":
            return self._entries(body)
        if m := re.fullmatch(r"/compute/v1/locations/global/firewallPolicies/([^/]+)", path):
            if e.forbid_hierarchy:
                raise ApiError(403, forbidden_body("compute.firewallPolicies.get", m[1]))
            return _one(f"locations/global/firewallPolicies/{m[1]}",
                        [p for p in e.hierarchical_policies if p["name"] == m[1]])
        if path == "/compute/v1/locations/global/firewallPolicies":
            parent = query.get("parentId", "")
            if e.forbid_hierarchy:
                raise ApiError(403, forbidden_body("compute.firewallPolicies.list", parent))
            items = [p for p in e.hierarchical_policies if p.get("parent") == parent]
            return _list("compute#firewallPolicyList", f"{COMPUTE}/locations/global/"
                         "firewallPolicies", items, query, e.page_size)
        if m := re.fullmatch(r"/compute/v1/projects/([^/]+)/(.+)", path):
            if method != "GET":
                return self._write(m[1], method, m[2], body)
            return self._compute(m[1], m[2], query)
        raise ApiError(404, _error(404, f"The requested URL {path} was not found.",
                                   "NOT_FOUND", "notFound"))

    def _project_by_id_or_number(self, key: str) -> Project:
        for project in self.estate.projects.values():
            if key in (project.project_id, project.number):
                return project
        raise ApiError(403, forbidden_body("resourcemanager.projects.get", f"projects/{key}"))

    def _search(self, query: dict) -> Json:
        projects = [p.resource() for p in sorted(self.estate.projects.values(),
                                                 key=lambda p: p.project_id)]
        page, token = _page(projects, query.get("pageToken"), self.estate.page_size)
        out: Json = {"projects": page}
        if token:
            out["nextPageToken"] = token
        return out

    def _children(self, kind: str, query: dict) -> Json:
        """projects.list / folders.list: the direct children of one organization or folder,
        without those pending deletion unless ``showDeleted``; a parent the caller cannot see,
        or that does not exist, answers 403 as Resource Manager does."""
        e = self.estate
        parent = query.get("parent", "")
        known = set(e.folders) | {f["parent"] for f in e.folders.values()} | {
            p.parent for p in e.projects.values()}
        if not parent:
            raise ApiError(400, _error(400, "Request contains an invalid argument.",
                                       "INVALID_ARGUMENT", "badRequest"))
        if e.forbid_hierarchy or parent in e.forbid_listing or parent not in known:
            raise ApiError(403, forbidden_body(f"resourcemanager.{kind}.list", parent))
        deleted = query.get("showDeleted", "false").lower() == "true"
        if kind == "projects":
            items = [p.resource() for p in sorted(e.projects.values(), key=lambda p: p.number)
                     if p.parent == parent and (deleted or p.state == "ACTIVE")]
        else:
            items = [f for name, f in sorted(e.folders.items()) if f["parent"] == parent
                     and (deleted or f.get("state", "ACTIVE") == "ACTIVE")]
        page, token = _page(items, query.get("pageToken"), e.page_size)
        out: Json = {kind: page}
        if token:
            out["nextPageToken"] = token
        return out

    def _compute(self, project_id: str, rest: str, query: dict) -> Json:
        e = self.estate
        project = e.projects.get(project_id)
        base = f"{COMPUTE}/projects/{project_id}"
        if project is None:
            raise ApiError(404, _error(404, f"The resource 'projects/{project_id}' was not "
                                       "found", "NOT_FOUND", "notFound"))
        if project_id in e.service_disabled:
            raise ApiError(403, service_disabled_body(project.number))
        if project_id in e.forbidden:
            kind = rest.split("/")[-1]
            raise ApiError(403, forbidden_body(f"compute.{kind}.list", f"projects/{project_id}"))
        size = e.page_size
        if rest == "global/networks":
            return _list("compute#networkList", f"{base}/global/networks", project.networks,
                         query, size)
        if rest == "global/firewalls":
            return _list("compute#firewallList", f"{base}/global/firewalls",
                         [f for f in project.firewalls if _selected(f, query.get("filter"))],
                         query, size)
        if m := re.fullmatch(r"global/firewalls/([^/]+)", rest):
            return _one(f"projects/{project_id}/{rest}",
                        [f for f in project.firewalls if f["name"] == m[1]])
        if m := re.fullmatch(r"zones/([^/]+)/instances/([^/]+)", rest):
            return _one(f"projects/{project_id}/{rest}",
                        [i for i in project.instances.get(m[1], []) if i["name"] == m[2]])
        if re.fullmatch(r"(global|regions/[^/]+)/firewallPolicies/[^/]+", rest):
            return _one(f"projects/{project_id}/{rest}",
                        [p for p in project.network_policies
                         if p["selfLink"].endswith(f"/projects/{project_id}/{rest}")])
        if m := re.fullmatch(r"global/networks/([^/]+)/getEffectiveFirewalls", rest):
            return self._effective(project, m[1])
        if rest == "aggregated/firewallPolicies":
            scoped = [(_policy_scope(p), p) for p in project.network_policies]
            scopes = ["global"] + [f"regions/{r}" for r in project.regions]
            return _aggregated("compute#networkFirewallPolicyAggregatedList",
                               f"{base}/aggregated/firewallPolicies", scoped, scopes,
                               "firewallPolicies", query, size, e.unreachable)
        if rest == "aggregated/instances":
            scoped = [(f"zones/{z}", i) for z in sorted(project.instances)
                      for i in project.instances[z]]
            scopes = [f"zones/{z}" for z in sorted(set(project.zones) | set(project.instances))]
            return _aggregated("compute#instanceAggregatedList", f"{base}/aggregated/instances",
                               scoped, scopes, "instances", query, size, e.unreachable)
        raise ApiError(404, _error(404, f"The requested URL was not found: {rest}", "NOT_FOUND",
                                   "notFound"))

    def _write(self, project_id: str, method: str, rest: str, body: Json) -> Json:
        """Firewall insert, patch and delete, and instances.setTags: the estate changes and
        the call is logged in the project's Admin Activity log, as Compute does."""
        e = self.estate
        project = e.projects.get(project_id)
        if project is None or project_id in e.forbidden:
            raise ApiError(403, forbidden_body("compute.firewalls.create",
                                               f"projects/{project_id}"))
        base = f"{COMPUTE}/projects/{project_id}"
        name = rest.rsplit("/", 1)[-1]
        if method == "POST" and rest == "global/firewalls":
            rule = {"kind": "compute#firewall",
                    "id": payloads.numeric_id(project_id, "firewall", body["name"]),
                    "creationTimestamp": payloads.CREATED, "priority": 1000,
                    "direction": "INGRESS", "logConfig": {"enable": False}, "disabled": False,
                    **body, "selfLink": f"{base}/global/firewalls/{body['name']}"}
            project.firewalls.append(rule)
            return self._done(project_id, "v1.compute.firewalls.insert",
                              f"projects/{project_id}/global/firewalls/{body['name']}", body)
        if m := re.fullmatch(r"global/firewalls/([^/]+)", rest):
            if not any(f["name"] == m[1] for f in project.firewalls):
                raise ApiError(404, _not_found(f"projects/{project_id}/{rest}"))
            if method == "PATCH":
                project.firewall(m[1]).update(body)
            elif method == "DELETE":
                project.firewalls = [f for f in project.firewalls if f["name"] != m[1]]
            else:
                raise ApiError(405, _error(405, "Method not allowed", "INVALID_ARGUMENT",
                                           "badRequest"))
            verb = {"PATCH": "patch", "DELETE": "delete"}[method]
            return self._done(project_id, f"v1.compute.firewalls.{verb}",
                              f"projects/{project_id}/{rest}", body)
        if m := re.fullmatch(r"zones/([^/]+)/instances/([^/]+)/setTags", rest):
            found = [i for i in project.instances.get(m[1], []) if i["name"] == m[2]]
            if not found:
                raise ApiError(404, _not_found(f"projects/{project_id}/zones/{m[1]}/"
                                               f"instances/{m[2]}"))
            found[0]["tags"] = {"items": list(body.get("items") or []),
                                "fingerprint": "newTagsFp0="}
            return self._done(project_id, "v1.compute.instances.setTags",
                              f"projects/{project_id}/zones/{m[1]}/instances/{m[2]}", body)
        raise ApiError(404, _error(404, f"The requested URL was not found: {rest} ({name})",
                                   "NOT_FOUND", "notFound"))

    def _done(self, project_id: str, method: str, resource: str, request: Json) -> Json:
        """The call's Operation, already DONE (so the client does not poll), logged."""
        (first, _last) = self.estate.log_call(project_id, method, resource, request)
        operation = first["operation"]["id"]
        return {"kind": "compute#operation", "id": payloads.numeric_id(operation),
                "name": operation, "operationType": method.rsplit(".", 1)[-1],
                "targetLink": f"{COMPUTE}/{resource}", "status": "DONE", "progress": 100,
                "insertTime": first["timestamp"], "startTime": first["timestamp"],
                "endTime": first["timestamp"], "user": self.estate.caller,
                "selfLink": f"{COMPUTE}/projects/{project_id}/global/operations/{operation}"}

    def _effective(self, project: Project, network_name: str) -> Json:
        """Firewalls of the network, then the hierarchical policies of the project's ancestry
        (organization first) and the global network policies associated with the network."""
        link = f"{COMPUTE}/projects/{project.project_id}/global/networks/{network_name}"
        ancestry, node = [], project.parent
        while node:
            ancestry.append(node)
            node = self.estate.folders.get(node, {}).get("parent", "")
        ancestry.reverse()
        policies = []
        for node in ancestry:
            for policy in self.estate.hierarchical_policies:
                if any(a["attachmentTarget"] == node for a in policy.get("associations", [])):
                    policies.append({"name": policy["name"], "type": "HIERARCHY",
                                     "shortName": policy["shortName"],
                                     "displayName": policy["displayName"],
                                     "rules": policy["rules"]})
        for policy in project.network_policies:
            if "region" not in policy and any(a["attachmentTarget"] == link
                                              for a in policy.get("associations", [])):
                policies.append({"name": policy["name"], "type": "NETWORK",
                                 "rules": policy["rules"], "priority": 1000})
        firewalls = [f for f in project.firewalls if f["network"] == link]
        return {"firewalls": firewalls, "firewallPolicys": policies}

    def _entries(self, body: Json) -> Json:
        e = self.estate
        if e.forbid_logging:
            raise ApiError(403, _error(403, "The caller does not have permission",
                                       "PERMISSION_DENIED", "forbidden"))
        parents = body.get("resourceNames") or []
        found = [entry for entry in e.log_entries
                 if any(entry["logName"].startswith(p + "/") for p in parents)
                 and matches(entry, body.get("filter", ""))]
        found.sort(key=lambda x: x["timestamp"], reverse=body.get("orderBy", "").endswith(
            "desc"))
        size = min(int(body.get("pageSize") or 50), e.log_page_size)
        page, token = _page(found, body.get("pageToken"), size)
        out: Json = {"entries": page}
        if token:
            out["nextPageToken"] = token
        return out


def _not_found(resource: str) -> Json:
    return _error(404, f"The resource '{resource}' was not found", "NOT_FOUND", "notFound")


def _one(resource: str, found: list[Json]) -> Json:
    """``get`` of one resource: it, or the API's 404."""
    if not found:
        raise ApiError(404, _not_found(resource))
    return found[0]


# Compute list filters: the ``field = "literal"`` comparisons cloudwall sends, ANDed.
_LIST_CLAUSE = re.compile(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"')


def _selected(resource: Json, filter_text: str | None) -> bool:
    return all(str(resource.get(name, "")) == json.loads(f'"{value}"')
               for name, value in _LIST_CLAUSE.findall(filter_text or ""))


def _policy_scope(policy: Json) -> str:
    region = policy.get("region")
    return f"regions/{region.rsplit('/', 1)[-1]}" if region else "global"


@contextmanager
def serve(estate: Estate) -> Iterator[GcpServer]:
    server = GcpServer(estate)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
