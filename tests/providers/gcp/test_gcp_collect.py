"""End to end: the real google-cloud-compute and resource-manager clients over real HTTP."""

from __future__ import annotations

import pytest

from providers.gcp import GcpProvider
from scanner.collect import collect_snapshot
from scanner.errors import ProviderError
from scanner.model import Action, Direction, RuleSetKind
from tests.servers.gcp_estate import ALPHA_FIREWALLS, FOLDER_PROD, ORG


def scan(settings):
    return collect_snapshot([GcpProvider(settings)], max_workers=4)


def rule_sets(snapshot, kind):
    return {rs.resource_id: rs for rs in snapshot.rule_sets if rs.kind is kind}


def test_every_page_of_every_resource_type_is_read(gcp, settings_for):
    snapshot = scan(settings_for("alpha", "beta"))
    assert snapshot.errors == ()
    vpc = rule_sets(snapshot, RuleSetKind.GCP_VPC_FIREWALL)
    assert set(vpc) == {"projects/alpha/global/networks/default/firewalls",
                        "projects/alpha/global/networks/prod/firewalls",
                        "projects/alpha/global/networks/lab/firewalls",
                        "projects/beta/global/networks/shared/firewalls"}
    names = {r.name for rs in vpc.values() for r in rs.rules if not r.is_default}
    served = {f["name"] for p in gcp.estate.projects.values() for f in p.firewalls}
    assert len([n for n in served if n in names]) == ALPHA_FIREWALLS + 1 == len(served)
    # 13 firewalls at 3 a page is five pages, each asked for with the previous nextPageToken.
    pages = [p for m, p in gcp.requests if p == "/compute/v1/projects/alpha/global/firewalls"]
    assert len(pages) == 5
    assets = {a.asset_id: a for a in snapshot.assets}
    assert len(assets) == 5  # aggregated list over empty zones and several pages
    web = assets["projects/alpha/zones/us-central1-a/instances/web-1/nic0"]
    assert web.public_addresses == ("34.1.0.2",) and web.network_tags == ("web",)
    assert web.ipv6_addresses == ("2600:1900:4000:1::",)
    assert web.network == "projects/alpha/global/networks/prod"
    db = assets["projects/alpha/zones/us-central1-b/instances/db-1/nic0"]
    assert db.state == "TERMINATED" and db.public_addresses == ()
    assert {n.network_id for n in snapshot.networks} == {
        "projects/alpha/global/networks/default", "projects/alpha/global/networks/prod",
        "projects/alpha/global/networks/lab", "projects/beta/global/networks/shared"}
    assert {s.account: s.name for s in snapshot.scopes} == {"alpha": "Alpha production",
                                                            "beta": "Beta"}


def test_rules_keep_their_semantics_through_the_wire(gcp, settings_for):
    snapshot = scan(settings_for("alpha"))
    prod = rule_sets(snapshot, RuleSetKind.GCP_VPC_FIREWALL)[
        "projects/alpha/global/networks/prod/firewalls"]
    rules = {r.native_id: r for r in prod.rules}
    assert rules["deny-ssh-internet/tcp"].action is Action.DENY
    assert rules["deny-ssh-internet/tcp"].logging is True
    assert rules["old-allow-all/all"].enabled is False
    assert str(rules["allow-web/tcp"].ports) == "80,443,8443"  # "6" merged into tcp
    assert {p.value for p in rules["allow-web/tcp"].peers} == {"0.0.0.0/0", "::/0"}
    assert set(rules) >= {"allow-partner-udp/udp", "allow-partner-udp/sctp",
                          "implied-deny-ingress/all", "implied-allow-egress/all"}
    policies = rule_sets(snapshot, RuleSetKind.GCP_NETWORK_POLICY)
    regional = policies["projects/alpha/regions/us-central1/firewallPolicies/prod-central"]
    assert regional.region == "us-central1"
    prod_policy = policies["projects/alpha/global/firewallPolicies/prod-policy"]
    ingress = [r for r in prod_policy.rules if r.direction is Direction.INGRESS]
    assert [r.native_id for r in ingress][:4] == ["1000/tcp", "1100/tcp", "1100/udp", "1200/tcp"]
    assert ingress[-1].is_default and ingress[-1].priority == 2147483647
    assert {r.native_id for r in prod_policy.rules if r.action is Action.GOTO_NEXT} >= {
        "1100/tcp", "1100/udp"}


def test_hierarchical_policies_from_the_ancestry_once_per_scan(gcp, settings_for):
    snapshot = scan(settings_for("alpha", "beta"))
    hierarchical = rule_sets(snapshot, RuleSetKind.GCP_HIERARCHICAL_POLICY)
    assert sorted(rs.name for rs in hierarchical.values()) == ["org-baseline", "prod-folder"]
    attached = {rs.name: [(a.target_kind, a.target_id) for a in rs.attachments]
                for rs in hierarchical.values()}
    assert attached == {"org-baseline": [("organization", ORG)],
                        "prod-folder": [("folder", FOLDER_PROD)]}
    networks = {n.network_id: n for n in snapshot.networks}
    prod = networks["projects/alpha/global/networks/prod"]
    by_id = {rs.resource_id: rs for rs in snapshot.rule_sets}
    assert [by_id[i].name for i in prod.rule_set_ids] == [
        "org-baseline", "prod-folder", "prod-policy", "prod-central", "prod"]
    beta = networks["projects/beta/global/networks/shared"]
    assert [by_id[i].name for i in beta.rule_set_ids] == ["org-baseline", "shared"]
    # Organization and folders were each read once, whatever the number of projects.
    listed = [p for m, p in gcp.requests if p.endswith("/v3/folders/200")]
    assert len(listed) == 1


def test_a_provider_kept_for_another_scan_reports_the_hierarchical_policies_again(
        gcp, settings_for):
    provider = GcpProvider(settings_for("alpha", "beta"))
    first, second = (collect_snapshot([provider], max_workers=4) for _ in range(2))
    for snapshot in (first, second):
        hierarchical = rule_sets(snapshot, RuleSetKind.GCP_HIERARCHICAL_POLICY)
        assert sorted(rs.name for rs in hierarchical.values()) == ["org-baseline", "prod-folder"]
    assert first.rule_sets == second.rule_sets


@pytest.mark.parametrize("slow", ["alpha", "beta"])
def test_a_shared_policy_is_kept_by_the_first_project_discovered_whichever_finishes_first(
        gcp, settings_for, slow):
    """alpha and beta both inherit org-baseline: the snapshot files it under alpha, the first
    project discovered, even when alpha is the project that finishes last."""
    gcp.estate.delay[f"/projects/{slow}/global/firewalls"] = 1.0
    snapshot = scan(settings_for("alpha", "beta"))
    hierarchical = rule_sets(snapshot, RuleSetKind.GCP_HIERARCHICAL_POLICY)
    owners = {rs.name: rs.account for rs in hierarchical.values()}
    assert owners == {"org-baseline": "alpha", "prod-folder": "alpha"}


def test_forbidden_and_disabled_projects_are_errors_and_the_rest_goes_on(gcp, settings_for):
    snapshot = scan(settings_for("alpha", "gamma", "delta"))
    errors = {e.account: e for e in snapshot.errors}
    assert set(errors) == {"gamma", "delta"}
    gamma, delta = errors["gamma"], errors["delta"]
    assert gamma.resource_type is None and gamma.code == "403"
    assert "compute.networks.list" in gamma.reason
    assert "roles/compute.networkViewer" in gamma.hint
    assert delta.code == "SERVICE_DISABLED"
    assert "gcloud services enable compute.googleapis.com --project delta" in delta.hint
    assert snapshot.scope_status(gamma.scope) == "failed"
    assert not [rs for rs in snapshot.rule_sets if rs.account in ("gamma", "delta")]
    assert any(rs.account == "alpha" for rs in snapshot.rule_sets)


def test_throttled_resource_type_is_an_error_without_retries(gcp, settings_for):
    gcp.estate.throttle["/alpha/global/firewalls"] = 1
    snapshot = scan(settings_for("alpha"))
    (error,) = snapshot.errors
    assert (error.resource_type, error.code) == ("firewalls", "Throttling")
    assert "retry" in error.hint
    assert snapshot.scope_status(error.scope) == "partial"
    assert not rule_sets(snapshot, RuleSetKind.GCP_VPC_FIREWALL)  # never an empty "clean" set
    assert len(snapshot.assets) == 5


def test_throttling_is_retried_with_backoff(gcp, settings_for):
    gcp.estate.throttle["/alpha/global/firewalls"] = 2
    snapshot = scan(settings_for("alpha", max_retries=3))
    assert snapshot.errors == ()
    prod = rule_sets(snapshot, RuleSetKind.GCP_VPC_FIREWALL)[
        "projects/alpha/global/networks/prod/firewalls"]
    assert "deny-ssh-internet/tcp" in {r.native_id for r in prod.rules}


def test_retries_are_bounded(gcp, settings_for):
    gcp.estate.throttle["/alpha/aggregated/instances"] = 10
    snapshot = scan(settings_for("alpha", max_retries=1))
    (error,) = snapshot.errors
    assert error.resource_type == "instances" and error.code == "Throttling"


def test_timeout_is_recorded(gcp, settings_for):
    gcp.estate.delay["/alpha/aggregated/firewallPolicies"] = 1.0
    snapshot = scan(settings_for("alpha", request_timeout=0.2))
    (error,) = snapshot.errors
    assert (error.resource_type, error.code) == ("networkFirewallPolicies", "Timeout")


def test_unreadable_hierarchy_falls_back_to_effective_firewalls(gcp, settings_for):
    gcp.estate.forbid_hierarchy = True
    snapshot = scan(settings_for("alpha"))
    (error,) = snapshot.errors
    assert error.resource_type == "hierarchicalFirewallPolicies" and error.code == "403"
    assert "effective firewalls" in error.reason and "associations are not" in error.reason
    hierarchical = rule_sets(snapshot, RuleSetKind.GCP_HIERARCHICAL_POLICY)
    assert sorted(rs.name for rs in hierarchical.values()) == ["org-baseline", "prod-folder"]
    org = next(rs for rs in hierarchical.values() if rs.name == "org-baseline")
    assert {a.target_id for a in org.attachments} == {
        "projects/alpha/global/networks/default", "projects/alpha/global/networks/prod",
        "projects/alpha/global/networks/lab"}
    effective = [p for m, p in gcp.requests if p.endswith("/getEffectiveFirewalls")]
    assert len(effective) == 3


def test_projects_are_discovered_by_search_across_pages(gcp, settings_for):
    provider = GcpProvider(settings_for())
    scopes = list(provider.discover_scopes())
    assert [(s.account, s.name) for s in scopes] == [
        ("alpha", "Alpha production"), ("beta", "Beta"), ("delta", "delta"),
        ("gamma", "gamma")]
    searches = [p for m, p in gcp.requests if p == "/v3/projects:search"]
    assert len(searches) == 2  # four projects at three a page


def test_search_not_allowed_falls_back_to_the_credential_project(gcp, settings_for,
                                                                 monkeypatch):
    gcp.estate.forbid_search = True
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "beta")
    assert [s.account for s in GcpProvider(settings_for()).discover_scopes()] == ["beta"]
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT")
    with pytest.raises(ProviderError, match="no Google Cloud project"):
        list(GcpProvider(settings_for()).discover_scopes())


def test_rejected_token_is_an_error_per_project(gcp, settings_for, monkeypatch):
    monkeypatch.setenv("CLOUDWALL_GCP_TOKEN", "wrong")
    snapshot = scan(settings_for("alpha"))
    (error,) = snapshot.errors
    assert error.code == "Unauthenticated" and error.resource_type is None
    assert "CLOUDWALL_GCP_TOKEN" in error.hint


def test_without_any_credential_the_scan_stops_with_a_hint(monkeypatch, settings_for):
    monkeypatch.delenv("CLOUDWALL_GCP_TOKEN")
    with pytest.raises(ProviderError) as caught:
        list(GcpProvider(settings_for("alpha")).discover_scopes())
    assert "CLOUDWALL_GCP_TOKEN" in caught.value.hint


def test_endpoint_is_a_base_url(gcp, settings_for):
    from providers.gcp.fetch import endpoint_url
    from scanner.errors import ConfigError

    assert endpoint_url("private.googleapis.com/") == "https://private.googleapis.com"
    assert endpoint_url(gcp.url + "/") == gcp.url
    for bad in ("ftp://host", "http://host/compute/v1", "http://"):
        with pytest.raises(ConfigError):
            GcpProvider(settings_for("alpha", gcp_endpoint=bad))
    snapshot = scan(settings_for("beta", gcp_endpoint=gcp.url + "/"))
    assert snapshot.errors == () and len(snapshot.rule_sets) == 2


def test_unreachable_zone_or_region_is_an_error_and_the_rest_is_kept(gcp, settings_for):
    gcp.estate.unreachable = {"zones/us-central1-b", "regions/us-central1"}
    snapshot = scan(settings_for("alpha"))
    errors = {e.resource_type: e for e in snapshot.errors}
    assert set(errors) == {"instances", "networkFirewallPolicies"}
    assert "zones/us-central1-b" in errors["instances"].reason
    assert errors["instances"].code == "UNREACHABLE"
    assert "regions/us-central1" in errors["networkFirewallPolicies"].reason
    # What the other zones returned is kept; db-1 (the unreachable zone) is not invented.
    assert {a.name for a in snapshot.assets} == {"web-1", "web-2", "app-1", "legacy-1"}
    assert snapshot.scope_status(snapshot.errors[0].scope) == "partial"
