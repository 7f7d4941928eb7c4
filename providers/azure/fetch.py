"""SDK calls only: one bulk, paged list call per resource type per subscription.

Network resources are listed with the subscription-wide ``list all`` operation of each type
(``GET /subscriptions/{id}/providers/Microsoft.Network/{type}``) sent through the
``NetworkManagementClient`` pipeline (its bearer-token, retry with ``Retry-After``, redirect,
logging and user-agent policies) with ``send_request``, and ``nextLink`` followed to the last
page. The pages' JSON is kept as the REST API sent it, which is what the normalizer reads:
turning it into the SDK's model objects and back (``list_all()`` and ``as_dict()``) costs about
17 ms per NSG and would dominate a large scan. The API version is pinned so the shapes read are
the ones tested. Clients are built by :class:`ClientFactory` from the endpoint, credential,
retry and timeout settings, so tests point them at a local server with nothing patched. SDKs are
imported inside functions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from providers.azure.auth import Endpoint
from providers.paging import PageGuard, PageLimits, PagingError

Json = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ResourceType:
    key: str  # the raw key the normalizer reads, and the ARM resource type name
    permission: str  # the Azure RBAC action that reads it


RESOURCE_TYPES = (
    ResourceType("networkSecurityGroups", "Microsoft.Network/networkSecurityGroups/read"),
    ResourceType("networkInterfaces", "Microsoft.Network/networkInterfaces/read"),
    ResourceType("virtualNetworks", "Microsoft.Network/virtualNetworks/read"),
    ResourceType("publicIPAddresses", "Microsoft.Network/publicIPAddresses/read"),
    ResourceType("applicationSecurityGroups", "Microsoft.Network/applicationSecurityGroups/read"),
    # Public front ends of load balancers reach NICs that have no public IP of their own.
    ResourceType("loadBalancers", "Microsoft.Network/loadBalancers/read"),
)
# The Network API version read: pinned, so the JSON shapes normalized are the tested ones.
NETWORK_API_VERSION = "2024-05-01"
SUBSCRIPTIONS_PERMISSION = "Microsoft.Resources/subscriptions/read"
ACTIVITY_LOG_PERMISSION = "Microsoft.Insights/eventtypes/values/read"


@dataclass(frozen=True, slots=True)
class ClientFactory:
    """Builds SDK clients that share one endpoint, credential, retry and timeout policy."""

    endpoint: Endpoint
    credential: Any  # azure.core.credentials.TokenCredential
    max_retries: int | None = None  # None: the SDK's own default
    timeout: float = 60.0

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "base_url": self.endpoint.base_url,
            "credential_scopes": list(self.endpoint.credential_scopes),
            "connection_timeout": self.timeout,
            "read_timeout": self.timeout,
        }
        if self.max_retries is not None:
            options["retry_total"] = self.max_retries
        return options

    def network(self, subscription_id: str):
        from azure.mgmt.network import NetworkManagementClient

        return NetworkManagementClient(self.credential, subscription_id, **self._options())

    def subscriptions(self):
        from azure.mgmt.resource.subscriptions import SubscriptionClient

        return SubscriptionClient(self.credential, **self._options())

    def monitor(self, subscription_id: str):
        from azure.mgmt.monitor import MonitorManagementClient

        return MonitorManagementClient(self.credential, subscription_id, **self._options())


def list_resources(client: Any, subscription_id: str, resource_type: ResourceType,
                   base_url: str, api_version: str = NETWORK_API_VERSION,
                   limits: PageLimits | None = None) -> list[dict[str, Any]]:
    """Every object of one type in a subscription, all pages, as ARM JSON.

    ``client`` is a ``NetworkManagementClient`` for ``subscription_id`` at ``base_url``. The
    ``nextLink`` chain is followed under the shared page guard (a link seen before, too many
    pages or items: :class:`PagingError`); a page that is not a JSON object with a ``value``
    list is an error, never an empty list.
    """
    subscription = quote(subscription_id, safe="")
    return list_pages(
        client, f"/subscriptions/{subscription}/providers/Microsoft.Network/{resource_type.key}",
        api_version, resource_type.key, base_url, limits)


def list_pages(client: Any, path: str, api_version: str, what: str, base_url: str,
               limits: PageLimits | None = None) -> list[dict[str, Any]]:
    """Every item of one ARM list at ``path``, all pages, as the REST API sent them.

    ``client`` is any ARM management client at ``base_url`` (its pipeline sends the request).
    The ``nextLink`` chain is followed under the shared page guard (a link seen before, too
    many pages or items: :class:`PagingError`), never to another host; a page that is not a
    JSON object with a ``value`` list is an error, never an empty list.
    """
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.exceptions import ARMErrorFormat

    request: Any = HttpRequest("GET", path, params={"api-version": api_version},
                               headers={"Accept": "application/json"})
    home = urlsplit(base_url).netloc.lower()
    items: list[dict[str, Any]] = []
    guard = PageGuard(what, limits)
    while request is not None:
        # Streamed, so the pipeline does not decode the JSON once more for nobody.
        response = client.send_request(request, stream=True)
        response.read()
        if response.status_code != 200:
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        page = _page_json(response.content, what)
        values = page.get("value")
        if values is None:
            values = []
        if not isinstance(values, list):
            raise MalformedPage(f"{what}: 'value' is not a list")
        link = page.get("nextLink")
        if link is not None and not isinstance(link, str):
            raise MalformedPage(f"{what}: 'nextLink' is not a string")
        guard.page(len(values), link)
        items.extend(values)
        if link and urlsplit(link).netloc.lower() != home:
            # The bearer token goes with every request: never to another host.
            raise HttpResponseError(message=f"nextLink points away from {home}: {link}")
        request = HttpRequest("GET", link, headers={"Accept": "application/json"}) if link \
            else None
    return items


def get_resource(client: Any, resource_id: str,
                 api_version: str = NETWORK_API_VERSION) -> dict[str, Any] | None:
    """One Microsoft.Network resource by ARM id, as ARM JSON; None when it does not exist (404).

    Sent through the same pipeline as the lists (``client`` is a ``NetworkManagementClient``
    at the base URL); any other error is raised as the SDK's ``HttpResponseError``.
    """
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.exceptions import ARMErrorFormat

    request = HttpRequest("GET", quote(resource_id, safe="/"), params={"api-version": api_version},
                          headers={"Accept": "application/json"})
    response = client.send_request(request, stream=True)
    response.read()
    if response.status_code == 404 and _error_code(response.content) != "SubscriptionNotFound":
        # ResourceNotFound, or ResourceGroupNotFound: deleted with its resource group.
        return None
    if response.status_code != 200:
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)
    return _page_json(response.content, resource_id)


class MalformedPage(Exception):
    """A list page that is not the JSON the API documents (cut short, not an object...)."""


def _error_code(content: bytes) -> str:
    try:
        return str(json.loads(content)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


def _page_json(content: bytes, what: str) -> dict[str, Any]:
    try:
        page = json.loads(content)
    except ValueError as exc:  # a truncated or garbled body
        raise MalformedPage(f"{what}: the answer is not complete JSON ({exc.msg} at byte "
                            f"{exc.pos})") from None
    if not isinstance(page, dict):
        raise MalformedPage(f"{what}: the answer is not a JSON object")
    return page


def list_subscriptions(client: Any) -> list[dict[str, Any]]:
    return [item.as_dict() for item in client.subscriptions.list()]


def list_activity_events(client: Any, odata_filter: str,
                         limits: PageLimits | None = None) -> list[dict[str, Any]]:
    """Activity Log events as the REST API names them (camelCase, nested values), page by page
    under the shared page guard."""
    pages = client.activity_logs.list(filter=odata_filter).by_page()
    guard = PageGuard("activity log", limits)
    events: list[dict[str, Any]] = []
    for page in pages:
        found = [event.serialize(keep_readonly=True) for event in page]
        guard.page(len(found), pages.continuation_token)
        events.extend(found)
    return events


@dataclass(frozen=True, slots=True)
class CallFailure:
    """What an SDK exception means for the report: a short code, a reason, an HTTP status."""

    code: str
    reason: str
    status: int | None = None
    # Nothing else in the subscription can be read either (bad token, unknown subscription,
    # endpoint unreachable): stop asking.
    fatal: bool = False


def describe_failure(exc: BaseException) -> CallFailure | None:
    """Translate an Azure SDK exception; None for anything that is not one (a bug)."""
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, PagingError):
        return CallFailure(exc.code, _one_line(str(exc)))
    if isinstance(exc, MalformedPage):
        return CallFailure("MalformedResponse", _one_line(str(exc)))
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        status = exc.status_code
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) or str(status)
        message = getattr(error, "message", None) or exc.reason or ""
        fatal = status == 401 or (status == 404 and code == "SubscriptionNotFound")
        return CallFailure(code, _one_line(f"HTTP {status} {code}: {message}"), status, fatal)
    if isinstance(exc, ClientAuthenticationError):
        return CallFailure("CredentialUnavailable", _one_line(str(exc)), None, True)
    if isinstance(exc, ServiceResponseError):
        return CallFailure("Timeout", _one_line(f"no complete answer: {exc.message}"))
    if isinstance(exc, ServiceRequestError):
        return CallFailure("ConnectionError", _one_line(f"cannot connect: {exc.message}"),
                           None, True)
    if isinstance(exc, AzureError):
        return CallFailure(type(exc).__name__, _one_line(str(exc)))
    return None


def _one_line(text: str, limit: int = 400) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
