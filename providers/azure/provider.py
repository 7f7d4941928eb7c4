"""The Azure adapter: subscriptions as scopes, NSGs and what they guard, attribution."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from providers.azure import audit, fetch, management_groups, watch
from providers.azure.auth import resolve_endpoint
from providers.azure.fetch import CallFailure, ClientFactory
from providers.azure.normalize import normalize_scope
from providers.base import ProviderSettings, page_limits
from providers.paging import LOOP_HINT, PAGING_HINT
from providers.watching import AuditEvent, Reread
from scanner.errors import ProviderError
from scanner.model import Attribution, CollectedItem, CollectionError, DriftItem, Scope

PROVIDER = "azure"
# Subscriptions in these states cannot be read at all; they are listed as failed, not skipped.
_UNREADABLE_STATES = {"disabled", "deleted"}
_SIGN_IN = ("sign in with `az login`, set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, "
            "use a managed identity, or set CLOUDWALL_AZURE_TOKEN")


def _hint(failure: CallFailure, permission: str, base_url: str) -> str:
    if failure.code == "CredentialUnavailable":
        return _SIGN_IN
    if failure.code == "PaginationLoop":
        return LOOP_HINT
    if failure.code in ("PageLimit", "ItemLimit"):
        return PAGING_HINT
    if failure.code == "MalformedResponse":
        return f"{base_url} sent a page that is not valid ARM JSON: scan again later"

    if failure.status == 401:
        return "the token was rejected: sign in again or refresh CLOUDWALL_AZURE_TOKEN"
    if failure.status == 403:
        return f"needs Reader on the subscription, or {permission}"
    if failure.status == 404 and failure.code == "SubscriptionNotFound":
        return "check the subscription id and that the credential's tenant owns it"
    if failure.status == 429:
        return "throttled by Resource Manager: retry later or raise --max-retries"
    if failure.code in ("Timeout", "ConnectionError"):
        return f"no answer from {base_url}: check connectivity or raise --timeout"
    return "rerun later; if it persists, rerun with --debug"


def _group_hint(failure: CallFailure, group: str, base_url: str) -> str:
    if failure.status == 403:
        return (f"needs Management Group Reader on {group} "
                f"({management_groups.PERMISSION})")
    if failure.status == 404:
        return ("check the management group id (its name, not its display name) with "
                "`az account management-group list`")
    return _hint(failure, management_groups.PERMISSION, base_url)


class AzureProvider:
    name: ClassVar[str] = PROVIDER

    def __init__(self, settings: ProviderSettings, credential: Any = None) -> None:
        """``credential``: any ``azure.core.credentials.TokenCredential``; by default the token
        of ``CLOUDWALL_AZURE_TOKEN``, else ``DefaultAzureCredential``, made on first use."""
        self.settings = self._settings = settings
        self._endpoint = resolve_endpoint(settings.azure_cloud, settings.azure_endpoint)
        self._credential = credential
        self._factory: ClientFactory | None = None
        self._lock = threading.Lock()

    def _clients(self) -> ClientFactory:
        """Credentials are resolved on first use, once, whichever thread gets there first."""
        with self._lock:
            if self._factory is None:
                from providers.azure.auth import make_credential

                self._factory = ClientFactory(
                    self._endpoint,
                    self._credential or make_credential(self._endpoint),
                    self._settings.max_retries,
                    self._settings.request_timeout,
                )
            return self._factory

    def _check_credential(self) -> None:
        """Fail the whole run early, as one line, when there is no credential at all."""
        from azure.core.exceptions import ClientAuthenticationError

        try:
            self._clients().credential.get_token(*self._endpoint.credential_scopes)
        except ClientAuthenticationError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ProviderError(f"no usable Azure credential: {first}", _SIGN_IN,
                                provider=PROVIDER) from None

    def _error(self, account: str, failure: CallFailure, permission: str,
               resource_type: str | None = None) -> CollectionError:
        return CollectionError(
            provider=PROVIDER,
            account=account,
            region="",
            reason=failure.reason,
            hint=_hint(failure, permission, self._endpoint.base_url),
            resource_type=resource_type,
            code=failure.code,
        )

    def discover_scopes(self) -> Iterator[Scope | CollectionError]:
        self._check_credential()
        named = dict.fromkeys(s.strip().lower() for s in self._settings.subscriptions)
        for sub in named:
            yield Scope(PROVIDER, sub, "")
        if self._settings.management_groups:
            yield from self._below_groups(set(named))
            return
        if named:
            return
        try:
            with self._clients().subscriptions() as client:
                subscriptions = fetch.list_subscriptions(client)
        except Exception as exc:
            failure = fetch.describe_failure(exc)
            if failure is None:
                raise
            yield self._error("", failure, fetch.SUBSCRIPTIONS_PERMISSION + " (or --subscription)",
                              "subscriptions")
            return
        for sub in subscriptions:
            sub_id = str(sub.get("subscriptionId") or "").lower()
            scope = Scope(PROVIDER, sub_id, "", name=str(sub.get("displayName") or ""))
            state = str(sub.get("state") or "")
            if state.lower() in _UNREADABLE_STATES:
                yield CollectionError(PROVIDER, sub_id, "", f"subscription is {state}",
                                      "re-enable the subscription or leave it out with "
                                      "--subscription", code=f"Subscription{state}")
            else:
                yield scope

    def _below_groups(self, seen: set[str]) -> Iterator[Scope | CollectionError]:
        """The subscriptions below each ``--management-group``, each once; a group that cannot
        be listed is an error naming it (what is below it is unknown, not empty)."""
        factory = self._clients()
        with factory.subscriptions() as client:
            for group in dict.fromkeys(self._settings.management_groups):
                try:
                    descendants = management_groups.list_descendants(
                        client, group, factory.endpoint.base_url, page_limits(self._settings))
                except Exception as exc:
                    failure = fetch.describe_failure(exc)
                    if failure is None:
                        raise
                    yield CollectionError(
                        PROVIDER, group, "",
                        f"cannot list the subscriptions below management group {group}: "
                        f"{failure.reason}", _group_hint(failure, group, factory.endpoint.base_url),
                        code=failure.code)
                    continue
                for sub, name in management_groups.subscriptions_in(descendants):
                    if sub not in seen:
                        seen.add(sub)
                        yield Scope(PROVIDER, sub, "", name=name)

    def collect(self, scope: Scope) -> Iterator[CollectedItem]:
        raw: dict[str, Any] = {}
        failures: list[tuple[fetch.ResourceType, CallFailure]] = []
        fatal: CallFailure | None = None
        factory = self._clients()
        with factory.network(scope.account) as client:
            for resource_type in fetch.RESOURCE_TYPES:
                if fatal is not None:
                    # Asking again would fail the same way; the type is still recorded.
                    failures.append((resource_type, fatal))
                    continue
                try:
                    raw[resource_type.key] = fetch.list_resources(
                        client, scope.account, resource_type, factory.endpoint.base_url,
                        limits=page_limits(self._settings))
                except Exception as exc:
                    failure = fetch.describe_failure(exc)
                    if failure is None:
                        raise
                    failures.append((resource_type, failure))
                    fatal = failure if failure.fatal else None
        if not raw:
            # Nothing at all could be read: the whole subscription is unknown.
            _, failure = failures[0]
            yield self._error(scope.account, failure, "a custom role with Microsoft.Network/*/read")
            return
        yield from normalize_scope(scope, raw)
        for resource_type, failure in failures:
            yield self._error(scope.account, failure, resource_type.permission, resource_type.key)

    def attribute(
        self, items: Sequence[DriftItem], since: datetime
    ) -> Mapping[str, tuple[Attribution, ...]]:
        ours = [i for i in items if i.provider == PROVIDER]
        if not ours:
            return {}
        factory = self._clients()
        clients: dict[str, Any] = {}

        def list_events(subscription_id: str, odata_filter: str) -> list[dict[str, Any]]:
            if subscription_id not in clients:
                clients[subscription_id] = factory.monitor(subscription_id)
            try:
                return fetch.list_activity_events(clients[subscription_id], odata_filter,
                                                  page_limits(self._settings))
            except Exception as exc:
                failure = fetch.describe_failure(exc)
                if failure is None:
                    raise
                hint = _hint(failure, fetch.ACTIVITY_LOG_PERMISSION, factory.endpoint.base_url)
                raise audit.LookupFailed(f"{failure.reason} ({hint})") from None

        try:
            return audit.attribute(list_events, ours, since)
        finally:
            for client in clients.values():
                client.close()

    # -- watching (providers.watching.WatchSource) ---------------------------------------------

    def audit_events(self, scope: Scope, start: datetime,
                     end: datetime) -> Iterator[AuditEvent | CollectionError]:
        """The subscription's finished NSG, rule and attachment writes made in [start, end)."""
        factory = self._clients()
        try:
            with factory.monitor(scope.account) as client:
                events = fetch.list_activity_events(client, watch.activity_filter(start, end),
                                                    page_limits(self._settings))
        except Exception as exc:
            failure = fetch.describe_failure(exc)
            if failure is None:
                raise
            yield self._error(scope.account, failure, fetch.ACTIVITY_LOG_PERMISSION,
                              "activityLog")
            return
        yield from watch.audit_events(scope, events, start, end)

    def reread(self, scope: Scope, targets: Sequence[str]) -> Reread:
        """NSGs (or rules), NICs, subnets or virtual networks by ARM id, with what they are
        attached to, normalised as a full collection would."""
        factory = self._clients()
        base_url = factory.endpoint.base_url
        with factory.network(scope.account) as client:
            items, gone = watch.reread(
                scope, targets, lambda resource_id: fetch.get_resource(client, resource_id),
                watch.resource_errors(scope, fetch.describe_failure,
                                      lambda failure, permission: _hint(failure, permission,
                                                                        base_url)))
        return Reread(scope, tuple(items), tuple(gone))
