"""Compute Engine and Resource Manager calls: one bulk, paged call per resource type per project.

SDKs are imported inside functions so nothing Google is loaded until a GCP scan starts. Every
response is turned back into the REST API's own JSON shape (camelCase) before it leaves this
module, so the normalizer sees exactly what the API sent.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from providers.base import ProviderSettings, bearer_token, page_limits
from providers.gcp.common import canonical
from providers.paging import PagingError, guarded_pages
from scanner.errors import ConfigError, ProviderError
from scanner.redact import redact

TOKEN_ENV = "CLOUDWALL_GCP_TOKEN"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
# Retrying never runs past this many seconds per call, whatever --max-retries says.
RETRY_BUDGET = 120.0
DEFAULT_RETRIES = 5
COMPUTE_TYPES = ("networks", "firewalls", "networkFirewallPolicies", "instances")
ROLE_HINT = ("grant roles/compute.networkViewer (or roles/compute.viewer) on the project")
HINTS = {
    "networks": f"needs compute.networks.list: {ROLE_HINT}",
    "firewalls": f"needs compute.firewalls.list: {ROLE_HINT}",
    "networkFirewallPolicies": f"needs compute.networkFirewallPolicies.list: {ROLE_HINT}",
    "instances": f"needs compute.instances.list: {ROLE_HINT}",
    "hierarchicalFirewallPolicies": (
        "needs resourcemanager.projects.get, resourcemanager.folders.get and "
        "compute.firewallPolicies.list on the organization (roles/browser and "
        "roles/compute.orgFirewallPolicyUser)"),
    "effectiveFirewalls": f"needs compute.networks.getEffectiveFirewalls: {ROLE_HINT}",
    "hierarchy": ("needs resourcemanager.projects.list and resourcemanager.folders.list on the "
                  "organization or folder (roles/browser); check the id with "
                  "`gcloud resource-manager folders list`"),
}


def to_json(message: Any, enum_names: bool = False) -> dict[str, Any]:
    """A proto-plus message as the REST API's JSON object (camelCase keys; with
    ``enum_names``, enums by name as the REST API spells them, such as ``"state": "ACTIVE"``)."""
    return type(message).to_dict(message, preserving_proto_field_name=False,
                                 use_integers_for_enums=not enum_names)


def credentials(settings: ProviderSettings):
    """``CLOUDWALL_GCP_TOKEN`` as-is when set, else Application Default Credentials."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        from google.oauth2.credentials import Credentials

        return Credentials(bearer_token(token, TOKEN_ENV)), None
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        creds, project = google.auth.default(scopes=list(SCOPES))
    except DefaultCredentialsError as exc:
        raise ProviderError(
            "no Google Cloud credentials found",
            "run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, "
            f"or set {TOKEN_ENV} to an access token",
            provider="gcp",
        ) from exc
    return creds, project


def make_retry(max_retries: int | None):
    """429 and 5xx retried with exponential backoff, at most ``max_retries`` times and never
    longer than ``RETRY_BUDGET`` seconds; 0 turns retrying off (``None`` for the clients)."""
    if max_retries == 0:
        return None
    from google.api_core import exceptions, retry

    limit = DEFAULT_RETRIES if max_retries is None else max_retries
    transient = (exceptions.TooManyRequests, exceptions.InternalServerError,
                 exceptions.BadGateway, exceptions.ServiceUnavailable, exceptions.GatewayTimeout)
    attempts = [0]
    lock = threading.Lock()

    def predicate(exc: BaseException) -> bool:
        if not isinstance(exc, transient):
            return False
        with lock:
            attempts[0] += 1
            return attempts[0] <= limit

    return retry.Retry(predicate=predicate, initial=0.2, maximum=10.0, multiplier=2.0,
                       timeout=RETRY_BUDGET)


class UnreachableScopes(Exception):
    """An aggregated list answered, but some zones or regions did not (warning UNREACHABLE):
    what they hold is unknown. ``partial`` is what the others returned."""

    def __init__(self, resource_type: str, scopes: dict[str, str], partial: Any) -> None:
        super().__init__(", ".join(sorted(scopes)))
        self.resource_type, self.scopes, self.partial = resource_type, scopes, partial


def endpoint_url(value: str | None) -> str | None:
    """``--gcp-endpoint`` as a base URL: https unless said otherwise, no trailing slash."""
    if not value:
        return None
    from urllib.parse import urlsplit

    text = value.strip()
    if "://" not in text:
        text = f"https://{text}"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - parses the port: "host:x" or "[::1" raise ValueError here
    except ValueError:
        raise ConfigError(f"--gcp-endpoint {redact(value)!r} is not a URL",
                          "give scheme and host only, e.g. https://private.googleapis.com") \
            from None
    text = f"{parts.scheme}://{parts.netloc}"
    if (parts.scheme.lower() not in ("http", "https") or not parts.netloc
            or parts.path.strip("/") or parts.query or parts.fragment):
        raise ConfigError(f"--gcp-endpoint {redact(value)!r} is not a base URL",
                          "give scheme and host only, e.g. https://private.googleapis.com or "
                          "http://127.0.0.1:8080")
    return text


class GcpApi:
    """The Google API clients for one scan, created on first use and shared by all projects."""

    def __init__(self, settings: ProviderSettings, creds: Any = None) -> None:
        self.settings = settings
        self.endpoint = endpoint_url(settings.gcp_endpoint)
        self._creds = creds
        self._adc_project: str | None = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- plumbing ----------------------------------------------------------------------------

    def creds(self):
        with self._lock:
            if self._creds is None:
                self._creds, self._adc_project = credentials(self.settings)
            return self._creds

    def adc_project(self) -> str | None:
        self.creds()
        return (self._adc_project or os.environ.get("GOOGLE_CLOUD_PROJECT")
                or os.environ.get("CLOUDSDK_CORE_PROJECT"))

    def client_options(self) -> dict[str, str]:
        return {"api_endpoint": self.endpoint} if self.endpoint else {}

    def _client(self, name: str, factory: Callable[..., Any]):
        creds = self.creds()
        with self._lock:
            if name not in self._clients:
                self._clients[name] = factory(credentials=creds, transport="rest",
                                              client_options=self.client_options())
            return self._clients[name]

    def compute(self, name: str):
        from google.cloud import compute_v1

        return self._client(name, getattr(compute_v1, name))

    def resource_manager(self, name: str):
        from google.cloud import resourcemanager_v3

        return self._client(name, getattr(resourcemanager_v3, name))

    def call_options(self) -> dict[str, Any]:
        return {"retry": make_retry(self.settings.max_retries),
                "timeout": self.settings.request_timeout}

    def pages(self, pager: Any, what: str, count=lambda page: len(page.items)):
        """The pages of a google-api-core pager under the shared page guard (a repeated
        ``pageToken``, too many pages or items stop it with a PagingError)."""
        return guarded_pages(pager.pages, what, page_limits(self.settings), count=count,
                             next_token=lambda page: page.next_page_token)

    def items(self, pager: Any, what: str) -> list[dict[str, Any]]:
        return [to_json(item) for page in self.pages(pager, what) for item in page.items]

    def scoped_pages(self, pager: Any, what: str, field: str):
        """(scope name, scoped list) of every page of an aggregated list, guarded."""
        def count(page: Any) -> int:
            return sum(len(getattr(scoped, field)) for scoped in page.items.values())

        for page in self.pages(pager, what, count):
            yield from page.items.items()

    # -- Resource Manager --------------------------------------------------------------------

    def search_projects(self) -> list[dict[str, Any]]:
        client = self.resource_manager("ProjectsClient")
        pager = client.search_projects(request={"query": "state:ACTIVE"}, **self.call_options())
        return [to_json(p) for page in self.pages(pager, "projects", lambda pg: len(pg.projects))
                for p in page.projects]

    def get_project(self, project_id: str) -> dict[str, Any]:
        client = self.resource_manager("ProjectsClient")
        return to_json(client.get_project(name=f"projects/{project_id}", **self.call_options()))

    def list_projects(self, parent: str) -> list[dict[str, Any]]:
        """The projects directly below an organization or folder (projects.list)."""
        client = self.resource_manager("ProjectsClient")
        pager = client.list_projects(request={"parent": parent}, **self.call_options())
        return [to_json(p, enum_names=True) for page in self.pages(pager, f"projects of {parent}",
                                                  lambda pg: len(pg.projects))
                for p in page.projects]

    def list_folders(self, parent: str) -> list[dict[str, Any]]:
        """The folders directly below an organization or folder (folders.list)."""
        client = self.resource_manager("FoldersClient")
        pager = client.list_folders(request={"parent": parent}, **self.call_options())
        return [to_json(f, enum_names=True) for page in self.pages(pager, f"folders of {parent}",
                                                  lambda pg: len(pg.folders))
                for f in page.folders]

    def get_folder(self, name: str) -> dict[str, Any]:
        client = self.resource_manager("FoldersClient")
        return to_json(client.get_folder(name=name, **self.call_options()))

    # -- Compute -----------------------------------------------------------------------------

    def networks(self, project: str) -> list[dict[str, Any]]:
        pager = self.compute("NetworksClient").list(project=project, **self.call_options())
        return self.items(pager, "networks")

    def firewalls(self, project: str) -> list[dict[str, Any]]:
        pager = self.compute("FirewallsClient").list(project=project, **self.call_options())
        return self.items(pager, "firewalls")

    def network_firewall_policies(self, project: str) -> tuple[list[dict], list[dict]]:
        """Global and regional network firewall policies in one aggregated list."""
        client = self.compute("NetworkFirewallPoliciesClient")
        pager = client.aggregated_list(project=project, **self.call_options())
        global_, regional, unreachable = [], [], {}
        for scope_name, scoped in self.scoped_pages(pager, "networkFirewallPolicies",
                                                    "firewall_policies"):
            policies = [to_json(p) for p in scoped.firewall_policies]
            (global_ if scope_name == "global" else regional).extend(policies)
            if scoped.warning.code == "UNREACHABLE":
                unreachable[scope_name] = scoped.warning.message
        if unreachable:
            raise UnreachableScopes("networkFirewallPolicies", unreachable,
                                    (global_, regional))
        return global_, regional

    def instances(self, project: str) -> dict[str, dict[str, Any]]:
        """The ``items`` map of instances.aggregatedList, merged over every page."""
        client = self.compute("InstancesClient")
        pager = client.aggregated_list(project=project, **self.call_options())
        items: dict[str, dict[str, Any]] = {}
        unreachable = {}
        for zone, scoped in self.scoped_pages(pager, "instances", "instances"):
            entry = items.setdefault(zone, {"instances": []})
            entry["instances"].extend(to_json(i) for i in scoped.instances)
            if scoped.warning.code == "UNREACHABLE":
                unreachable[zone] = scoped.warning.message
        if unreachable:
            raise UnreachableScopes("instances", unreachable, items)
        return items

    # -- single objects, for re-reads (google.api_core.exceptions.NotFound when deleted) --------

    def firewall(self, project: str, name: str) -> dict[str, Any]:
        client = self.compute("FirewallsClient")
        return to_json(client.get(project=project, firewall=name, **self.call_options()))

    def network_firewalls(self, project: str, network_link: str) -> list[dict[str, Any]]:
        """The VPC firewall rules of one network: one filtered list (the ``network`` field holds
        the network's full URL, compared exactly)."""
        quoted = network_link.replace("\\", "\\\\").replace('"', '\\"')
        pager = self.compute("FirewallsClient").list(
            request={"project": project, "filter": f'network = "{quoted}"'},
            **self.call_options())
        return self.items(pager, "firewalls")

    def instance(self, project: str, zone: str, name: str) -> dict[str, Any]:
        client = self.compute("InstancesClient")
        return to_json(client.get(project=project, zone=zone, instance=name,
                                  **self.call_options()))

    def network_firewall_policy(self, project: str, region: str | None,
                                name: str) -> dict[str, Any]:
        if region:
            client = self.compute("RegionNetworkFirewallPoliciesClient")
            found = client.get(project=project, region=region, firewall_policy=name,
                               **self.call_options())
        else:
            client = self.compute("NetworkFirewallPoliciesClient")
            found = client.get(project=project, firewall_policy=name, **self.call_options())
        return to_json(found)

    def hierarchical_policy(self, name: str) -> dict[str, Any]:
        client = self.compute("FirewallPoliciesClient")
        return to_json(client.get(firewall_policy=name, **self.call_options()))

    def hierarchical_policies(self, node: str) -> list[dict[str, Any]]:
        client = self.compute("FirewallPoliciesClient")
        pager = client.list(request={"parent_id": node}, **self.call_options())
        return self.items(pager, "hierarchicalFirewallPolicies")

    def effective_firewalls(self, project: str, network: str) -> dict[str, Any]:
        client = self.compute("NetworksClient")
        response = client.get_effective_firewalls(project=project, network=network,
                                                  **self.call_options())
        return to_json(response)


def describe_failure(exc: BaseException, project: str, resource_type: str | None,
                     what: str | None = None) -> dict:
    """An exception as a ``{resourceType, code, reason, hint}`` record for the normalizer;
    ``what`` names what could not be read when it is not (a resource type of) a project."""
    import requests
    from google.api_core import exceptions
    from google.auth.exceptions import RefreshError

    hint = HINTS.get(resource_type or "", ROLE_HINT)
    code, reason = "Error", f"{type(exc).__name__}: {exc}"
    if isinstance(exc, PagingError):
        code, reason, hint = exc.code, exc.reason, exc.hint
    elif isinstance(exc, exceptions.GoogleAPICallError):
        code = str(exc.code or type(exc).__name__)
        reason = _api_message(exc)
        text = str(exc).lower()
        if "service_disabled" in text or "has not been used" in text or "is disabled" in text:
            code, hint = "SERVICE_DISABLED", (
                f"enable the API: gcloud services enable compute.googleapis.com "
                f"--project {project}")
        elif isinstance(exc, exceptions.TooManyRequests):
            code, hint = "Throttling", "throttled: retry later or raise --max-retries"
        elif isinstance(exc, exceptions.Unauthorized):
            hint = "the credential was rejected: refresh it or set a valid token"
    elif isinstance(exc, RefreshError):
        # A 401 makes the session refresh the credential; a bare token cannot be refreshed.
        code = "Unauthenticated"
        reason = f"the credential was rejected and cannot be refreshed: {exc}"
        hint = f"refresh the credential (gcloud auth application-default login) or {TOKEN_ENV}"
    elif isinstance(exc, exceptions.RetryError):
        code, reason = "Throttling", f"still failing after retries: {exc.cause or exc}"
        hint = "throttled or unavailable: retry later or raise --max-retries"
    elif isinstance(exc, requests.exceptions.Timeout | TimeoutError):
        code, hint = "Timeout", "no answer in time: raise --timeout or retry later"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        code, hint = "ConnectionError", "cannot reach the API endpoint: check --gcp-endpoint"
    if what is None:
        what = f"{resource_type} of project {project}" if resource_type else f"project {project}"
    return {"resourceType": resource_type, "code": code,
            "reason": f"could not read {what}: {reason}", "hint": hint}


def _api_message(exc: Any) -> str:
    """The API's own error message, without the method and URL the client puts in front."""
    try:
        return str(exc.response.json()["error"]["message"])
    except Exception:  # not a JSON error body: the client's text is all there is
        return exc.message or str(exc)


class Ancestry:
    """Project -> ancestor nodes (organization first) and node -> its hierarchical policies,
    cached across the projects of one scan (they share their organization and folders)."""

    def __init__(self, api: GcpApi) -> None:
        self.api = api
        self._parents: dict[str, str] = {}
        self._policies: dict[str, Future[list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def remember_parent(self, name: str, parent: str) -> None:
        with self._lock:
            self._parents[name] = parent

    def _parent(self, name: str) -> str:
        with self._lock:
            if name in self._parents:
                return self._parents[name]
        if name.startswith("projects/"):
            parent = self.api.get_project(name.split("/", 1)[1]).get("parent", "")
        else:
            parent = self.api.get_folder(name).get("parent", "")
        self.remember_parent(name, parent)
        return parent

    def of(self, project: str) -> list[str]:
        nodes, node = [], self._parent(f"projects/{project}")
        while node and len(nodes) < 12:  # folders nest at most 10 deep under the organization
            nodes.append(node)
            if node.startswith("organizations/"):
                break
            node = self._parent(node)
        return list(reversed(nodes))

    def policies(self, node: str) -> list[dict[str, Any]]:
        """One read per node even when several projects ask at once; a failed read is not
        kept, so a later project asks again."""
        with self._lock:
            pending = self._policies.get(node)
            owner = pending is None
            if owner:
                pending = self._policies[node] = Future()
        if owner:
            try:
                pending.set_result(self.api.hierarchical_policies(node))
            except BaseException as exc:  # handed to every project waiting on this node
                with self._lock:
                    del self._policies[node]
                pending.set_exception(exc)
        return pending.result()


def fetch_project(api: GcpApi, ancestry: Ancestry, project: str,
                  workers: int = 4) -> dict[str, Any]:
    """Everything cloudwall reads for one project, resource types fetched concurrently.

    Failures are recorded in ``errors`` and the rest goes on; when every Compute resource type
    failed the project is recorded once as unreadable.
    """
    raw: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []

    def networks():
        raw["networks"] = api.networks(project)

    def firewalls():
        raw["firewalls"] = api.firewalls(project)

    def network_policies():
        try:
            found = api.network_firewall_policies(project)
        except UnreachableScopes as exc:
            found = exc.partial
            errors.append(_unreachable(exc, project))
        raw["networkFirewallPolicies"], raw["regionNetworkFirewallPolicies"] = found

    def instances():
        try:
            raw["instances"] = api.instances(project)
        except UnreachableScopes as exc:
            raw["instances"] = exc.partial
            errors.append(_unreachable(exc, project))

    jobs = dict(zip(COMPUTE_TYPES, (networks, firewalls, network_policies, instances),
                    strict=True))
    failures: dict[str, BaseException] = {}

    def run(name: str) -> None:
        try:
            jobs[name]()
        except Exception as exc:  # recorded as data; the other resource types go on
            failures[name] = exc

    def hierarchy() -> BaseException | None:
        try:
            raw["ancestry"] = nodes = ancestry.of(project)
            raw["hierarchicalFirewallPolicies"] = [
                p for node in nodes for p in ancestry.policies(node)]
        except Exception as exc:
            raw.pop("ancestry", None)
            raw.pop("hierarchicalFirewallPolicies", None)
            return exc
        return None

    with ThreadPoolExecutor(max_workers=workers + 1) as pool:
        hierarchy_read = pool.submit(hierarchy)
        list(pool.map(run, COMPUTE_TYPES))
        hierarchy_failure = hierarchy_read.result()
    if len(failures) == len(COMPUTE_TYPES):
        first = failures["networks"]
        return {"errors": [describe_failure(first, project, None)]}
    errors.extend(describe_failure(exc, project, name) for name, exc in sorted(failures.items()))
    if hierarchy_failure is not None:
        _fall_back_to_effective(api, project, raw, errors, hierarchy_failure)
    raw["errors"] = errors
    return raw


def _unreachable(exc: UnreachableScopes, project: str) -> dict[str, Any]:
    where = "; ".join(f"{scope}: {message}" for scope, message in sorted(exc.scopes.items()))
    return {"resourceType": exc.resource_type, "code": "UNREACHABLE",
            "reason": f"could not read {exc.resource_type} of project {project} in {where}",
            "hint": "the zone or region did not answer; scan again later"}


def _fall_back_to_effective(api: GcpApi, project: str, raw: dict[str, Any],
                            errors: list[dict[str, Any]], exc: BaseException) -> None:
    """Organization and folder policies could not be read: each network's effective firewalls
    say which of their rules are in force, and what could not be read is recorded."""
    failure = describe_failure(exc, project, "hierarchicalFirewallPolicies")
    failure["reason"] += (
        "; the organization and folder firewall policies in force were taken from each "
        "network's effective firewalls: their rules are known, their associations are not")
    errors.append(failure)
    _effective(api, project, raw, errors)


def _effective(api: GcpApi, project: str, raw: dict[str, Any],
               errors: list[dict[str, Any]], workers: int = 4) -> None:
    """One networks.getEffectiveFirewalls per network, a few at a time."""
    networks = {canonical(n.get("selfLink")) or f"projects/{project}/global/networks/{n['name']}":
                n["name"] for n in raw.get("networks") or ()}

    def read(item: tuple[str, str]) -> tuple[str, Any]:
        try:
            return item[0], api.effective_firewalls(project, item[1])
        except Exception as exc:  # recorded once below; the other networks are still read
            return item[0], exc

    effective: dict[str, Any] = {}
    failed: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for network_id, found in pool.map(read, sorted(networks.items())):
            if isinstance(found, BaseException):
                failed.append(found)
            else:
                effective[network_id] = found
    if failed:
        errors.append(describe_failure(failed[0], project, "effectiveFirewalls"))
    raw["effectiveFirewalls"] = effective


def discover_projects(api: GcpApi, ancestry: Ancestry,
                      explicit: Iterable[str]) -> list[tuple[str, str]]:
    """(project id, display name): the ones asked for, else every project the credential can
    see, else the Application Default Credentials' project."""
    explicit = list(dict.fromkeys(explicit))
    if explicit:
        return _named(api, ancestry, explicit)
    try:
        found = api.search_projects()
    except Exception:
        found = []  # search not allowed: fall back to the credential's own project
    projects = []
    for project in found:
        if project.get("projectId"):
            if project.get("parent"):
                ancestry.remember_parent(f"projects/{project['projectId']}", project["parent"])
            projects.append((project["projectId"], project.get("displayName", "")))
    if projects:
        return sorted(projects)
    adc = api.adc_project()
    if not adc:
        raise ProviderError(
            "no Google Cloud project to scan: project search returned none and the credential "
            "names no project",
            "pass --project ID, or grant resourcemanager.projects.list",
            provider="gcp",
        )
    return [(adc, "")]


def _named(api: GcpApi, ancestry: Ancestry, projects: list[str]) -> list[tuple[str, str]]:
    """Display names of the projects asked for; their parents are kept for the ancestry. A
    project that cannot be read here is still scanned (and fails there, with its reason)."""

    def lookup(project: str) -> tuple[str, str]:
        try:
            found = api.get_project(project)
        except Exception:
            return project, ""
        if found.get("parent"):
            ancestry.remember_parent(f"projects/{project}", found["parent"])
        return project, found.get("displayName", "")

    with ThreadPoolExecutor(max_workers=max(1, min(api.settings.max_workers,
                                                   len(projects)))) as pool:
        return list(pool.map(lookup, projects))
