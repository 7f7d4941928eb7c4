"""The Azure adapter end to end: the real azure-mgmt SDK clients over HTTPS to a local server."""

from __future__ import annotations

import pytest

from providers.azure.auth import StaticTokenCredential, resolve_endpoint
from scanner.collect import collect_snapshot
from scanner.errors import ConfigError, ProviderError
from scanner.model import Asset, CollectionError, Network, RuleSet, Scope, Subnet
from tests.providers.azure.azure_estate import (
    LB_WEB,
    NIC_API,
    NIC_APP,
    NIC_DB,
    NIC_WEB,
    NSG_SHARED,
    NSG_WEB,
    SUB,
    SUB_DEV,
    SUB_LOCKED,
    SUBNET_APP,
    SUBNET_DB,
    SUBNET_WEB,
    make_provider,
)


def _by_type(items):
    out: dict[type, dict[str, object]] = {}
    for item in items:
        key = {RuleSet: "resource_id", Asset: "asset_id", Subnet: "subnet_id",
               Network: "network_id"}.get(type(item))
        out.setdefault(type(item), {})[getattr(item, key) if key else len(out)] = item
    return out


def test_discovers_every_visible_subscription_with_its_name(arm):
    scopes = list(make_provider(arm).discover_scopes())
    assert {s.account: s.name for s in scopes} == {
        SUB: "cloudwall-prod", SUB_LOCKED: "cloudwall-locked", SUB_DEV: "cloudwall-dev"}
    assert all(s.provider == "azure" and s.region == "" for s in scopes)


def test_subscription_flag_skips_discovery(arm):
    provider = make_provider(arm, subscriptions=(SUB.upper(), SUB))
    assert list(provider.discover_scopes()) == [Scope("azure", SUB, "")]
    assert not arm.estate.requests_for("/subscriptions?")
    assert all(path != "/subscriptions" for path, _ in arm.estate.requests)


def test_collects_a_whole_subscription_across_pages(arm):
    items = list(make_provider(arm).collect(Scope("azure", SUB, "")))
    found = _by_type(items)
    assert CollectionError not in found
    assert set(found[RuleSet]) == {NSG_WEB.lower(), NSG_SHARED.lower(),
                                   NSG_WEB.lower().replace("nsg-web", "nsg-empty")}
    web = found[RuleSet][NSG_WEB.lower()]
    assert [r.name for r in web.rules if not r.is_default] == [
        "deny-rdp-internet", "allow-https", "allow-rdp-any", "allow-asg-api"]
    assert sum(r.is_default for r in web.rules) == 6
    shared = found[RuleSet][NSG_SHARED.lower()]
    assert {(a.target_kind, a.target_id) for a in shared.attachments} == {
        ("subnet", SUBNET_APP.lower()), ("network_interface", NIC_APP.lower())}
    assert set(found[Asset]) == {NIC_WEB.lower(), NIC_APP.lower(), NIC_DB.lower(),
                                 NIC_API.lower()}
    api = found[Asset][NIC_API.lower()]
    assert api.public_addresses == ()
    assert api.extra["load_balancer_public_addresses"] == ["20.61.0.20"]
    assert api.extra["load_balancers"] == [LB_WEB.lower()]
    assert api.extra["public_ip_sku"] == "Standard"  # the front end's public IP
    # Behind an internal load balancer only: nothing public.
    assert "load_balancer_public_addresses" not in found[Asset][NIC_DB.lower()].extra
    app = found[Asset][NIC_APP.lower()]
    assert app.public_addresses == ("20.61.0.11",)
    assert app.extra["public_ip_sku"] == "Basic"
    assert app.extra["ip_forwarding"] is True
    assert app.ipv6_addresses == ("fd00:10:10:2::4",)
    web_nic = found[Asset][NIC_WEB.lower()]
    assert web_nic.public_addresses == ("20.61.0.10",)
    assert web_nic.application_security_groups[0].endswith("/applicationsecuritygroups/asg-web")
    db = found[Asset][NIC_DB.lower()]
    assert db.rule_set_ids == () and db.public_addresses == ()
    assert found[Subnet][SUBNET_DB.lower()].rule_set_ids == ()
    assert found[Subnet][SUBNET_WEB.lower()].rule_set_ids == (NSG_WEB.lower(),)
    # Every list was followed to its last page, and every page carried the api-version.
    nsg_calls = arm.estate.requests_for(f"/subscriptions/{SUB}/providers/Microsoft.Network/"
                                        "networkSecurityGroups")
    assert [q.get("$skiptoken", ["0"])[0] for _, q in nsg_calls] == ["0", "2"]
    assert all("api-version" in q for _, q in arm.estate.requests)


def test_forbidden_subscription_is_one_collection_error_naming_the_role(arm):
    items = list(make_provider(arm).collect(Scope("azure", SUB_LOCKED, "")))
    assert len(items) == 1
    error = items[0]
    assert isinstance(error, CollectionError)
    assert error.resource_type is None and error.account == SUB_LOCKED
    assert error.code == "AuthorizationFailed"
    assert "403" in error.reason
    assert "Reader" in error.hint and "Microsoft.Network/*/read" in error.hint


def test_forbidden_resource_type_is_partial_not_clean(arm):
    items = list(make_provider(arm).collect(Scope("azure", SUB_DEV, "")))
    errors = [i for i in items if isinstance(i, CollectionError)]
    assert [(e.resource_type, e.code) for e in errors] == [
        ("publicIPAddresses", "AuthorizationFailed")]
    assert "Microsoft.Network/publicIPAddresses/read" in errors[0].hint
    assert any(isinstance(i, RuleSet) for i in items)


def test_snapshot_marks_failed_and_partial_scopes(arm):
    snapshot = collect_snapshot([make_provider(arm)], max_workers=3)
    status = {s.account: snapshot.scope_status(s) for s in snapshot.scopes}
    assert status == {SUB: "ok", SUB_DEV: "partial", SUB_LOCKED: "failed"}
    assert not [rs for rs in snapshot.rule_sets if rs.account == SUB_LOCKED]


def test_throttling_is_retried_after_retry_after(arm):
    arm.estate.throttled[(SUB, "networkSecurityGroups")] = 1
    items = list(make_provider(arm, max_retries=2).collect(Scope("azure", SUB, "")))
    assert not [i for i in items if isinstance(i, CollectionError)]
    assert len([i for i in items if isinstance(i, RuleSet)]) == 3
    assert arm.estate.throttled[(SUB, "networkSecurityGroups")] == 0


def test_throttling_that_outlasts_the_retries_is_recorded(arm):
    arm.estate.throttled[(SUB, "networkInterfaces")] = 5
    items = list(make_provider(arm, max_retries=0).collect(Scope("azure", SUB, "")))
    errors = [i for i in items if isinstance(i, CollectionError)]
    assert [(e.resource_type, e.code) for e in errors] == [("networkInterfaces", "TooManyRequests")]
    assert "--max-retries" in errors[0].hint


def test_timeout_is_recorded(arm):
    arm.estate.slow[(SUB, "virtualNetworks")] = 1.5
    items = list(make_provider(arm, request_timeout=0.3).collect(Scope("azure", SUB, "")))
    errors = [i for i in items if isinstance(i, CollectionError)]
    assert [(e.resource_type, e.code) for e in errors] == [("virtualNetworks", "Timeout")]
    assert "--timeout" in errors[0].hint


def test_unknown_subscription_is_not_found(arm):
    unknown = "99999999-0000-4000-8000-000000000000"
    items = list(make_provider(arm).collect(Scope("azure", unknown, "")))
    assert [(type(i), i.code, i.resource_type) for i in items] == [
        (CollectionError, "SubscriptionNotFound", None)]


def test_rejected_token_fails_every_type_once(arm):
    items = list(make_provider(arm, token="expired").collect(Scope("azure", SUB, "")))
    assert len(items) == 1 and items[0].resource_type is None
    assert items[0].reason.startswith("HTTP 401")
    # A 401 means the token is bad everywhere: one request, not five.
    assert len(arm.estate.requests) == 1
    assert "expired" not in items[0].reason + items[0].hint


def test_subscription_listing_denied_is_a_collection_error(arm):
    arm.estate.listing_forbidden = True
    entries = list(make_provider(arm).discover_scopes())
    assert len(entries) == 1 and isinstance(entries[0], CollectionError)
    assert entries[0].resource_type == "subscriptions"
    assert entries[0].code == "AuthorizationFailed"
    assert "Microsoft.Resources/subscriptions/read" in entries[0].hint
    assert "--subscription" in entries[0].hint


def test_token_never_reaches_the_snapshot(arm):
    snapshot = collect_snapshot([make_provider(arm)], max_workers=2)
    assert arm.token not in snapshot.to_json()
    assert arm.token not in repr(StaticTokenCredential(arm.token))


def test_clouds_and_endpoint_override():
    assert resolve_endpoint("public", None).base_url == "https://management.azure.com"
    gov = resolve_endpoint("usgov", None)
    assert gov.base_url == "https://management.usgovcloudapi.net"
    assert gov.credential_scopes == ("https://management.usgovcloudapi.net/.default",)
    assert gov.authority == "login.microsoftonline.us"
    china = resolve_endpoint("china", "https://arm.local:8443/")
    assert china.base_url == "https://arm.local:8443"
    assert china.authority == "login.chinacloudapi.cn"
    with pytest.raises(ConfigError, match="https"):
        resolve_endpoint("public", "http://127.0.0.1:8080")
    with pytest.raises(ConfigError):
        resolve_endpoint("mooncake", None)


class _NoCredential:
    """A TokenCredential that has nothing to give, as when no sign-in method is available."""

    def get_token(self, *scopes, **kwargs):
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")


def test_no_credential_at_all_is_one_provider_error(arm):
    from providers.azure import AzureProvider
    from providers.base import ProviderSettings

    provider = AzureProvider(ProviderSettings(subscriptions=(SUB,), azure_endpoint=arm.url),
                             credential=_NoCredential())
    with pytest.raises(ProviderError, match="no usable Azure credential") as raised:
        list(provider.discover_scopes())
    assert "az login" in raised.value.hint and "CLOUDWALL_AZURE_TOKEN" in raised.value.hint
    assert not arm.estate.requests


def test_token_from_the_environment_is_used_as_is(arm, monkeypatch):
    from providers.azure import AzureProvider
    from providers.base import ProviderSettings

    monkeypatch.setenv("CLOUDWALL_AZURE_TOKEN", f"Bearer {arm.token}")
    provider = AzureProvider(ProviderSettings(subscriptions=(SUB,), azure_endpoint=arm.url,
                                              max_retries=0))
    assert list(provider.discover_scopes()) == [Scope("azure", SUB, "")]
    assert not [i for i in provider.collect(Scope("azure", SUB, ""))
                if isinstance(i, CollectionError)]


def test_tls_verification_stays_on(arm, monkeypatch):
    # Without the test CA in REQUESTS_CA_BUNDLE the server's certificate is not trusted.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    items = list(make_provider(arm).collect(Scope("azure", SUB, "")))
    assert [(type(i), i.code, i.resource_type) for i in items] == [
        (CollectionError, "ConnectionError", None)]
    assert "certificate" in items[0].reason.lower()
    assert not arm.estate.requests


def test_disabled_subscription_is_listed_as_failed(arm):
    arm.estate.add_subscription("44444444-4444-4444-8444-444444444444", "old", state="Disabled")
    entries = list(make_provider(arm).discover_scopes())
    (disabled,) = [e for e in entries if isinstance(e, CollectionError)]
    assert disabled.account == "44444444-4444-4444-8444-444444444444"
    assert disabled.code == "SubscriptionDisabled" and disabled.resource_type is None


def test_next_link_to_another_host_is_not_followed(arm):
    arm.estate.next_link_base = "https://collector.attacker.example"
    items = list(make_provider(arm).collect(Scope("azure", SUB, "")))
    errors = {i.resource_type: i for i in items if isinstance(i, CollectionError)}
    assert "networkSecurityGroups" in errors
    assert "collector.attacker.example" in errors["networkSecurityGroups"].reason
    # Types that fit on one page are read; none is claimed complete that was not.
    assert "virtualNetworks" not in errors
