"""The fetch half: boto3 calls only, one bulk paginated read per resource type per scope.

Clients come from a factory built on a boto3 Session. Endpoints are never set here, so boto3's
own ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` resolution applies (private endpoints,
local test servers). A read that fails becomes a CollectionError naming the IAM action it needs;
the other reads of the scope go on.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from providers.aws.resources import (
    DETAIL_ACTIONS,
    EC2_RESOURCES,
    GUARDDUTY_DETECTORS,
    GUARDDUTY_IP_SETS,
    GUARDDUTY_THREAT_SETS,
    PREFIX_LIST_ENTRIES,
    Resource,
)
from providers.base import ProviderSettings, page_limits
from providers.paging import PageLimits, PagingError, guarded_pages
from scanner.model import CollectionError, Scope

PROVIDER = "aws"
ClientMaker = Callable[[str, str], Any]  # (service, region) -> boto3 client

_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
           "UnauthorizedAccess", "Forbidden", "403"}
_THROTTLED = {"Throttling", "ThrottlingException", "RequestLimitExceeded",
              "TooManyRequestsException", "RequestThrottled", "SlowDown",
              "RequestThrottledException", "ProvisionedThroughputExceededException"}
_PAGING = {"PaginationLoop", "PageLimit", "ItemLimit"}
# The region itself refuses these credentials: nothing else in it can be read either.
_REGION_REFUSED = {"AuthFailure", "OptInRequired", "InvalidClientTokenId",
                   "UnrecognizedClientException", "SignatureDoesNotMatch"}


def client_config(settings: ProviderSettings):
    """Adaptive retries (client-side rate limiting on throttling), bounded timeouts."""
    from botocore.config import Config

    retries: dict[str, Any] = {"mode": "adaptive"}
    if settings.max_retries is not None:
        retries["max_attempts"] = settings.max_retries  # retries after the first attempt
    return Config(
        retries=retries,
        connect_timeout=settings.request_timeout,
        read_timeout=settings.request_timeout,
        user_agent_extra="cloudwall",
        max_pool_connections=4,
    )


class ClientFactory:
    """Makes and caches clients for one account's session.

    boto3 sessions are not safe to make clients from concurrently, so creation is serialised;
    the clients themselves are thread-safe and shared.
    """

    def __init__(self, session: Any, settings: ProviderSettings) -> None:
        self.session = session
        self._config = client_config(settings)
        self.limits = page_limits(settings)
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.session.client(
                    service, region_name=region, config=self._config)
            return self._clients[key]


def classify(exc: BaseException) -> tuple[str, str]:
    """(code, one-line reason) for anything a boto3 call raises."""
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    if isinstance(exc, PagingError):
        return exc.code, exc.reason
    if isinstance(exc, ResponseParserError):  # a body cut short or garbled on the way
        return "MalformedResponse", _first_line(f"the answer could not be parsed: {exc}")
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or exc.response.get("ResponseMetadata", {})
                   .get("HTTPStatusCode", "ClientError"))
        message = error.get("Message") or str(exc)
        if code in _DENIED:
            return "AccessDenied", f"{code}: {message}"
        if code in _THROTTLED:
            return "Throttling", f"throttled beyond retries ({code}): {message}"
        return code, message
    if isinstance(exc, (bx.ReadTimeoutError, bx.ConnectTimeoutError)):
        return "Timeout", f"no answer in time: {exc}"
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectionClosedError)):
        return "ConnectionError", str(exc)
    if isinstance(exc, bx.NoCredentialsError):
        return "NoCredentials", str(exc)
    if isinstance(exc, bx.BotoCoreError):
        return type(exc).__name__, str(exc)
    raise exc  # not an SDK failure: a bug, which collect reports as such


def _first_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def hint_for(code: str, action: str) -> str:
    if code in _PAGING:
        return PagingError(code, action, "").hint
    if code == "AccessDenied":
        return f"allow {action} for the scanning identity (see the read-only IAM policy)"
    if code == "Throttling":
        return "lower --concurrency or raise --max-retries, then rerun"
    if code == "MalformedResponse":
        return f"{action} answered with a body that is not complete: scan again later"
    if code in ("Timeout", "ConnectionError"):
        return "check network access to the endpoint, or raise --timeout"
    if code in _REGION_REFUSED:
        return "the region may not be enabled for the account: enable it or leave it out " \
               "with --regions"
    return f"{action} failed; rerun with --debug if it persists"


def collection_error(scope: Scope, resource: str | None, action: str,
                     exc: BaseException) -> CollectionError:
    code, reason = classify(exc)
    return CollectionError(provider=PROVIDER, account=scope.account, region=scope.region,
                           reason=reason, hint=hint_for(code, action), resource_type=resource,
                           code=code)


def aws_pages(client: Any, operation: str, result_key: str, page_size: int,
              limits: PageLimits | None = None, **params) -> Iterable[dict]:
    """The pages of one boto3 paginator, under the shared page guard.

    botocore stops a token that repeats on the very next page, but not a longer loop, nor new
    tokens forever; the guard stops both, and caps pages and items.
    """
    paginator = client.get_paginator(operation)
    pages = paginator.paginate(PaginationConfig={"PageSize": page_size}, **params)
    return guarded_pages(pages, operation, limits,
                         count=lambda page: len(page.get(result_key) or ()),
                         next_token=lambda page: page.get("NextToken"))


def _pages(client: Any, operation: str, result_key: str, page_size: int,
           limits: PageLimits | None = None, **params) -> list:
    items: list = []
    for page in aws_pages(client, operation, result_key, page_size, limits, **params):
        items.extend(page.get(result_key) or ())
    return items


def _strip(response: dict) -> dict:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


class ScopeReader:
    """Reads one (account, region): ``raw`` for the normalizer, ``errors`` for the snapshot."""

    def __init__(self, make_client: ClientMaker, scope: Scope) -> None:
        self.make_client = make_client
        self.scope = scope
        # The ClientFactory carries the scan's page limits; a bare client maker gets defaults.
        self.limits: PageLimits | None = getattr(make_client, "limits", None)
        self.raw: dict[str, Any] = {}
        self.errors: list[CollectionError] = []
        self._dead_services: dict[str, CollectionError] = {}

    def _fail(self, name: str, action: str, exc: BaseException) -> None:
        error = collection_error(self.scope, name, action, exc)
        if error.code in _REGION_REFUSED:
            error = collection_error(self.scope, None, action, exc)
        self.errors.append(error)

    def _read(self, resource: Resource, reader: Callable[[], Any]) -> bool:
        """Run one read; after a region-level refusal or a timeout, skip the service's rest."""
        dead = self._dead_services.get(resource.service)
        if dead is not None:
            self.errors.append(CollectionError(
                provider=PROVIDER, account=self.scope.account, region=self.scope.region,
                reason=f"not read: {resource.service} already failed here ({dead.code})",
                hint=dead.hint, resource_type=resource.name, code=dead.code))
            return False
        try:
            self.raw[resource.name] = reader()
            return True
        except Exception as exc:  # noqa: BLE001 - classify() re-raises non-SDK errors
            action = resource.action
            if resource.name in DETAIL_ACTIONS:
                action += f" and {DETAIL_ACTIONS[resource.name]}"
            self._fail(resource.name, action, exc)
            last = self.errors[-1]
            if last.code in _REGION_REFUSED | {"Timeout", "ConnectionError"}:
                self._dead_services[resource.service] = last
            return False

    def read_all(self) -> tuple[dict[str, Any], list[CollectionError]]:
        self.read_ec2()
        self.read_guardduty()
        if any(e.resource_type is None for e in self.errors):
            # The whole scope was refused; per-type errors would only repeat it.
            self.errors = [e for e in self.errors if e.resource_type is None][:1]
        return self.raw, self.errors

    def read_ec2(self) -> None:
        ec2 = self.make_client("ec2", self.scope.region)
        for resource in _read_order(EC2_RESOURCES):
            if resource.name == "SecurityGroups" and "SecurityGroupRules" in self.raw:
                self._read(resource, lambda r=resource: self._groups_without_permissions(ec2, r))
            elif resource.name == "Instances":
                self._read(resource, lambda r=resource: [
                    instance
                    for reservation in _pages(ec2, r.operation, r.result_key, r.page_size,
                                             self.limits)
                    for instance in reservation.get("Instances") or ()])
            else:
                self._read(resource, lambda r=resource: _pages(
                    ec2, r.operation, r.result_key, r.page_size, self.limits))
        self.read_prefix_list_entries(ec2, referenced_prefix_lists(self.raw))

    def _groups_without_permissions(self, ec2: Any, resource: Resource) -> list:
        """The security groups, their rules already read as rule rows.

        DescribeSecurityGroups sends every rule again (IpPermissions, without the rule ids that
        drift keys rules by; only DescribeSecurityGroupRules has those, and only
        DescribeSecurityGroups has the groups' names, VPCs, descriptions and tags, and the groups
        without rules). Parsing those rules a second time cost as much CPU as the rule rows
        themselves (bench/README.md), so they are cut from the answers before boto3 parses
        them. A group with no rule row (created after the rows were read, or with no rules at
        all) is read again whole, so its rules are never lost.
        """
        with _permissions_trimmed(ec2):
            groups = _pages(ec2, resource.operation, resource.result_key, resource.page_size,
                            self.limits)
        with_rows = {row.get("GroupId") for row in self.raw["SecurityGroupRules"]
                     if isinstance(row, Mapping)}
        bare = [g["GroupId"] for g in groups if isinstance(g, Mapping)
                and isinstance(g.get("GroupId"), str) and g["GroupId"] not in with_rows]
        whole: dict[str, Any] = {}
        for start in range(0, len(bare), FILTER_VALUES):
            chunk = bare[start:start + FILTER_VALUES]
            for group in _pages(ec2, resource.operation, resource.result_key,
                                resource.page_size, self.limits,
                                Filters=[{"Name": "group-id", "Values": chunk}]):
                whole[group.get("GroupId")] = group
        if not whole:
            return groups
        return [whole.get(g.get("GroupId"), g) if isinstance(g, Mapping) else g
                for g in groups]

    def read_prefix_list_entries(self, ec2: Any, list_ids: Iterable[str]) -> None:
        entries: dict[str, list] = {}
        resource = PREFIX_LIST_ENTRIES
        for list_id in sorted(set(list_ids)):
            self._read(resource, lambda i=list_id: entries.__setitem__(i, _pages(
                ec2, resource.operation, resource.result_key, resource.page_size,
                self.limits, PrefixListId=i)))
        self.raw[resource.name] = entries

    def read_guardduty(self) -> None:
        guardduty = self.make_client("guardduty", self.scope.region)
        detectors: dict[str, dict] = {}

        def read_detectors() -> dict[str, dict]:
            for detector_id in _pages(guardduty, GUARDDUTY_DETECTORS.operation,
                                      GUARDDUTY_DETECTORS.result_key,
                                      GUARDDUTY_DETECTORS.page_size, self.limits):
                detectors[detector_id] = _strip(guardduty.get_detector(DetectorId=detector_id))
            return detectors

        if not self._read(GUARDDUTY_DETECTORS, read_detectors):
            for resource in (GUARDDUTY_IP_SETS, GUARDDUTY_THREAT_SETS):
                self.errors.append(CollectionError(
                    provider=PROVIDER, account=self.scope.account, region=self.scope.region,
                    reason="not read: the GuardDuty detectors could not be listed",
                    hint=self.errors[-1].hint, resource_type=resource.name,
                    code=self.errors[-1].code))
            return
        getters = {GUARDDUTY_IP_SETS.name: ("get_ip_set", "IpSetId"),
                   GUARDDUTY_THREAT_SETS.name: ("get_threat_intel_set", "ThreatIntelSetId")}
        for resource in (GUARDDUTY_IP_SETS, GUARDDUTY_THREAT_SETS):
            getter, id_param = getters[resource.name]

            def read_sets(r: Resource = resource, get: str = getter, param: str = id_param):
                out: dict[str, dict] = {}
                for detector_id in detectors:
                    ids = _pages(guardduty, r.operation, r.result_key, r.page_size,
                                 self.limits, DetectorId=detector_id)
                    out[detector_id] = {
                        set_id: _strip(getattr(guardduty, get)(DetectorId=detector_id,
                                                               **{param: set_id}))
                        for set_id in ids}
                return out

            self._read(resource, read_sets)


def _read_order(resources: Iterable[Resource]) -> list[Resource]:
    """The table's order, but the rule rows before the groups: whether the rows could be read
    decides how the groups are read (``_groups_without_permissions``)."""
    return sorted(resources, key=lambda r: r.name == "SecurityGroups")


# Values one EC2 filter takes in a request.
FILTER_VALUES = 200
# The two rule lists of a DescribeSecurityGroups item. EC2 answers are XML without namespace
# prefixes, and text inside them is escaped (``&lt;``), so these tags only ever match elements;
# neither list nests inside the other.
_PERMISSIONS = re.compile(
    rb"<(ipPermissions|ipPermissionsEgress)>.*?</\1>|<ipPermissions(?:Egress)?\s*/>", re.S)


@contextmanager
def _permissions_trimmed(ec2: Any) -> Iterator[None]:
    """DescribeSecurityGroups answers without their IpPermissions(Egress), for this thread's
    calls on ``ec2`` while the block runs."""
    thread = threading.get_ident()

    def trim(response_dict: dict, **_: Any) -> None:
        body = response_dict.get("body")
        if threading.get_ident() == thread and isinstance(body, bytes):
            response_dict["body"] = _PERMISSIONS.sub(b"", body)

    event = "before-parse.ec2.DescribeSecurityGroups"
    ec2.meta.events.register(event, trim)
    try:
        yield
    finally:
        ec2.meta.events.unregister(event, trim)


def referenced_prefix_lists(raw: dict[str, Any]) -> set[str]:
    """Prefix lists the security group rules use: only those are resolved to entries."""
    ids = {row["PrefixListId"] for row in raw.get("SecurityGroupRules") or ()
           if row.get("PrefixListId")}
    for group in raw.get("SecurityGroups") or ():
        for key in ("IpPermissions", "IpPermissionsEgress"):
            for permission in group.get(key) or ():
                ids |= {p["PrefixListId"] for p in permission.get("PrefixListIds") or ()
                        if p.get("PrefixListId")}
    return ids


def fetch_scope(make_client: ClientMaker, scope: Scope):
    """Everything cloudwall reads in one (account, region): (raw, collection errors)."""
    return ScopeReader(make_client, scope).read_all()


__all__ = ["ClientFactory", "aws_pages", "classify", "client_config", "collection_error",
           "fetch_scope", "hint_for"]
