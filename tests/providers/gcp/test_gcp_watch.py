"""Watching GCP: Admin Activity entries as AuditEvents (pure), read over HTTP for a window, and
re-reads of firewall rules, policies and instances equal to what a full collection reports."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from providers.demo.gcp import audit_entry, hierarchical_policy
from providers.gcp import GcpProvider
from providers.gcp.watch import audit_event, audit_events, log_filter, target_of
from providers.watching import WatchSource
from scanner.model import Asset, CollectionError, RuleSet, RuleSetKind, Scope
from tests.servers.gcp_estate import FOLDER_TEAM

SCOPE = Scope("gcp", "alpha", "")
T0 = datetime(2026, 12, 6, 18, 0, tzinfo=timezone.utc)
FW = "projects/alpha/global/firewalls"
PROD_RULES = "projects/alpha/global/networks/prod/firewalls"


def _entry(method="v1.compute.firewalls.patch", resource=f"{FW}/allow-web", when=T0,
           parent="projects/alpha", **kw):
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
    return audit_entry(method, resource, stamp, "mallory@evil.example", "198.51.100.9",
                       log_parent=parent, **kw)


# --- pure: entries ---------------------------------------------------------------------------


def test_a_firewall_patch_is_an_event_on_the_rule():
    entry = _entry()
    found = audit_event(SCOPE, entry)
    assert found is not None and not found.failed
    assert found.targets == (f"{FW}/allow-web",)
    assert found.event_id == entry["insertId"]
    assert found.operation == "v1.compute.firewalls.patch"
    assert found.time == T0
    assert (found.attribution.actor, found.attribution.source_address) == \
        ("mallory@evil.example", "198.51.100.9")


def test_an_insert_also_targets_the_rule_set_of_the_network_it_names():
    entry = _entry("v1.compute.firewalls.insert", f"{FW}/new", request={
        "name": "new", "network": "https://www.googleapis.com/compute/v1/projects/alpha/global/"
                                  "networks/prod"})
    assert audit_event(SCOPE, entry).targets == (f"{FW}/new", PROD_RULES)


def test_every_api_version_of_a_method_is_watched_and_others_are_not():
    assert audit_event(SCOPE, _entry("beta.compute.firewalls.insert")) is not None
    assert audit_event(SCOPE, _entry("alpha.compute.firewalls.delete")) is not None
    tags = audit_event(SCOPE, _entry("v1.compute.instances.setTags",
                                     "projects/alpha/zones/us-central1-a/instances/web-1"))
    assert tags.targets == ("projects/alpha/zones/us-central1-a/instances/web-1",)
    assert audit_event(SCOPE, _entry("v1.compute.instances.start")) is None
    assert audit_event(SCOPE, _entry("v1.compute.firewalls.get")) is None


def test_only_the_last_entry_of_a_long_running_call_is_an_event():
    first, last = _entry(), _entry()
    first["operation"] = {"id": "operation-1", "producer": "compute.googleapis.com",
                          "first": True}
    last["operation"] = {"id": "operation-1", "producer": "compute.googleapis.com",
                         "last": True}
    last["insertId"] = "-other"
    assert audit_event(SCOPE, first) is None
    assert audit_event(SCOPE, last).event_id == "-other"
    refused = _entry()
    del refused["operation"]
    refused["protoPayload"]["status"] = {"code": 7, "message": "Required 'compute.firewalls."
                                         "update' permission"}
    assert audit_event(SCOPE, refused).failed


def test_organization_policy_names_are_read_with_or_without_their_location():
    assert target_of("firewallPolicies/123") == "locations/global/firewallPolicies/123"
    assert target_of("locations/global/firewallPolicies/123") == \
        "locations/global/firewallPolicies/123"
    assert target_of("https://www.googleapis.com/compute/v1/projects/alpha/global/"
                     "firewallPolicies/p") == "projects/alpha/global/firewallPolicies/p"


def test_window_is_start_inclusive_end_exclusive_oldest_first_each_entry_once():
    at_start = _entry(when=T0)
    later = _entry("v1.compute.firewalls.delete", f"{FW}/old", when=T0 + timedelta(seconds=5))
    at_end = _entry(resource=f"{FW}/x", when=T0 + timedelta(minutes=1))
    found = audit_events(SCOPE, [later, at_end, at_start, later], T0, T0 + timedelta(minutes=1))
    assert [e.event_id for e in found] == [at_start["insertId"], later["insertId"]]


def test_an_entry_without_a_time_is_an_error_not_dropped():
    broken = _entry()
    del broken["timestamp"]
    (error,) = audit_events(SCOPE, [broken], T0, T0 + timedelta(minutes=1))
    assert isinstance(error, CollectionError) and broken["insertId"] in error.reason


def test_filter_names_the_log_every_version_and_the_window():
    text = log_filter(["projects/alpha"], ["compute.firewalls.insert"], T0,
                      T0 + timedelta(minutes=1))
    assert text == (
        'logName=("projects/alpha/logs/cloudaudit.googleapis.com%2Factivity") AND '
        'protoPayload.methodName=("compute.firewalls.insert" OR "v1.compute.firewalls.insert"'
        ' OR "beta.compute.firewalls.insert" OR "alpha.compute.firewalls.insert") AND '
        'timestamp>="2026-12-06T18:00:00.000000Z" AND timestamp<"2026-12-06T18:01:00.000000Z"')


# --- over HTTP -------------------------------------------------------------------------------


def test_the_provider_is_a_watch_source(settings_for):
    assert isinstance(GcpProvider(settings_for("alpha")), WatchSource)


def _insert(provider, name, ranges, ports=("22",)):
    """A firewall created with the real Compute client; the server logs the call."""
    from google.cloud import compute_v1

    rule = compute_v1.Firewall(
        name=name, network="https://www.googleapis.com/compute/v1/projects/alpha/global/"
                           "networks/prod",
        source_ranges=list(ranges),
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=list(ports))])
    provider.api.compute("FirewallsClient").insert(project="alpha",
                                                   firewall_resource=rule).result()


def test_sdk_writes_are_read_back_once_each_across_pages(gcp, settings_for):
    gcp.estate.log_page_size = 2
    provider = GcpProvider(settings_for("alpha"))
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    for n in range(3):
        _insert(provider, f"allow-ssh-{n}", ["0.0.0.0/0"])
    end = datetime.now(timezone.utc) + timedelta(seconds=1)
    found = list(provider.audit_events(SCOPE, start, end))
    assert [(e.operation, e.targets) for e in found] == [
        ("v1.compute.firewalls.insert", (f"{FW}/allow-ssh-{n}", PROD_RULES)) for n in range(3)]
    assert len({e.event_id for e in found}) == 3 and not any(e.failed for e in found)
    assert found[0].attribution.actor == "ops@alpha.iam.gserviceaccount.com"
    pages = [p for m, p in gcp.requests if p == "/v2/entries:list"]
    # The project log: six entries (accepted and done per call) two a page; then one read of
    # the organization's and folders' logs for their policies.
    assert len(pages) == 4


def test_folder_policy_calls_come_from_the_folder_log(gcp, settings_for):
    policy = hierarchical_policy("prod-folder", FOLDER_TEAM, [])["name"]
    gcp.estate.log_entries = [
        _entry("v1.compute.firewallPolicies.patchRule", f"firewallPolicies/{policy}",
               parent=FOLDER_TEAM),
        # In the folder log, but not a policy call: not asked for there.
        _entry("v1.compute.firewalls.patch", f"{FW}/allow-web", parent=FOLDER_TEAM),
        _entry("v1.compute.firewalls.patch", f"{FW}/allow-web", when=T0 + timedelta(seconds=1)),
    ]
    found = list(GcpProvider(settings_for("alpha")).audit_events(
        SCOPE, T0, T0 + timedelta(minutes=1)))
    assert [e.targets for e in found] == [(f"locations/global/firewallPolicies/{policy}",),
                                          (f"{FW}/allow-web",)]


def test_an_unreadable_log_is_an_error_for_the_scope(gcp, settings_for):
    gcp.estate.forbid_logging = True
    (error,) = GcpProvider(settings_for("alpha")).audit_events(
        SCOPE, T0, T0 + timedelta(minutes=1))
    assert isinstance(error, CollectionError) and error.resource_type == "auditLog"
    assert "logging.logEntries.list" in error.hint


def test_unreadable_ancestry_still_reports_the_project_events(gcp, settings_for):
    gcp.estate.forbid_hierarchy = True
    gcp.estate.log_entries = [_entry()]
    found = list(GcpProvider(settings_for("alpha")).audit_events(
        SCOPE, T0, T0 + timedelta(minutes=1)))
    assert [type(i).__name__ for i in found] == ["CollectionError", "AuditEvent"]
    assert "not watched" in found[0].reason


# --- re-reads -------------------------------------------------------------------------------------


def _full(settings):
    return {getattr(i, "resource_id", None) or i.asset_id: i
            for i in GcpProvider(settings).collect(SCOPE) if isinstance(i, (RuleSet, Asset))}


def test_reread_of_a_new_rule_rebuilds_its_networks_rule_set_in_two_calls(gcp, settings_for):
    provider = GcpProvider(settings_for("alpha"))
    _insert(provider, "allow-ssh-anywhere", ["0.0.0.0/0"])
    full = _full(settings_for("alpha"))
    before = len(gcp.requests)
    got = provider.reread(SCOPE, [f"{FW}/allow-ssh-anywhere"])
    calls = gcp.requests[before:]
    assert got.gone == ()
    (rule_set,) = got.items
    assert rule_set == full[PROD_RULES]
    assert "allow-ssh-anywhere" in {r.name for r in rule_set.rules}
    # firewalls.get, then the network's firewalls (11 at three a page: four pages).
    assert calls[0] == ("GET", f"/compute/v1/{FW}/allow-ssh-anywhere")
    assert {p for _, p in calls[1:]} == {f"/compute/v1/{FW}"} and len(calls) == 5


def test_a_deleted_rule_is_gone_and_every_network_is_rebuilt(gcp, settings_for):
    provider = GcpProvider(settings_for("alpha"))
    provider.api.compute("FirewallsClient").delete(project="alpha",
                                                   firewall="allow-ssh-any").result()
    full = _full(settings_for("alpha"))
    got = provider.reread(SCOPE, [f"{FW}/allow-ssh-any"])
    assert got.gone == (f"{FW}/allow-ssh-any",)
    rebuilt = {i.resource_id: i for i in got.items}
    assert set(rebuilt) == {k for k, v in full.items() if isinstance(v, RuleSet)
                            and v.kind is RuleSetKind.GCP_VPC_FIREWALL}
    assert all(item == full[key] for key, item in rebuilt.items())


def test_reread_of_an_instance_after_set_tags(gcp, settings_for):
    provider = GcpProvider(settings_for("alpha"))
    instance = "projects/alpha/zones/us-central1-a/instances/app-1"
    client = provider.api.compute("InstancesClient")
    from google.cloud import compute_v1

    client.set_tags(project="alpha", zone="us-central1-a", instance="app-1",
                    tags_resource=compute_v1.Tags(items=["web"], fingerprint="x")).result()
    full = _full(settings_for("alpha"))
    (asset,) = provider.reread(SCOPE, [instance]).items
    assert asset == full[f"{instance}/nic0"] and asset.network_tags == ("web",)
    (event,) = provider.audit_events(SCOPE, datetime.now(timezone.utc) - timedelta(minutes=1),
                                     datetime.now(timezone.utc) + timedelta(seconds=1))
    assert event.targets == (instance,)


def test_reread_of_policies_equals_the_full_collection(gcp, settings_for):
    full = _full(settings_for("alpha"))
    folder = hierarchical_policy("prod-folder", FOLDER_TEAM, [])["name"]
    targets = ["projects/alpha/global/firewallPolicies/prod-policy",
               "projects/alpha/regions/us-central1/firewallPolicies/prod-central",
               f"locations/global/firewallPolicies/{folder}", PROD_RULES]
    got = GcpProvider(settings_for("alpha")).reread(SCOPE, targets)
    assert {i.resource_id for i in got.items} == set(targets)
    assert all(item == full[item.resource_id] for item in got.items)


def test_deleted_and_denied_rereads(gcp, settings_for):
    provider = GcpProvider(settings_for("alpha"))
    got = provider.reread(SCOPE, ["projects/alpha/zones/us-central1-a/instances/nope",
                                  "projects/alpha/global/firewallPolicies/nope"])
    assert set(got.gone) == {"projects/alpha/zones/us-central1-a/instances/nope",
                             "projects/alpha/global/firewallPolicies/nope"}
    assert got.items == ()
    gcp.estate.forbidden.add("alpha")
    got = provider.reread(SCOPE, [f"{FW}/allow-web"])
    (error,) = got.items
    assert isinstance(error, CollectionError) and error.code == "403"
    assert f"{FW}/allow-web" in error.reason and error.resource_type == "firewalls"
    assert got.gone == ()


def test_the_ancestors_log_is_read_once_per_window_for_the_projects_below_them(gcp, settings_for):
    """beta and gamma sit directly under the organization: one read of its log serves both,
    and the next window reads it again."""
    provider = GcpProvider(settings_for("beta", "gamma"))

    def reads() -> list[str]:
        return [p for m, p in gcp.requests if p == "/v2/entries:list"]

    for project in ("beta", "gamma"):
        found = list(provider.audit_events(Scope("gcp", project, ""), T0,
                                           T0 + timedelta(minutes=1)))
        assert not [e for e in found if isinstance(e, CollectionError)]
    assert len(reads()) == 3  # each project's own log, and the organization's once
    list(provider.audit_events(Scope("gcp", "beta", ""), T0 + timedelta(minutes=1),
                               T0 + timedelta(minutes=2)))
    assert len(reads()) == 5
