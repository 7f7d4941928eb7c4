"""Attribution from Admin Activity audit logs: the pure mapping, and lookups over real HTTP
through the Logging API's entries:list, page by page under the shared page guard."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from providers.base import ProviderSettings
from providers.demo import gcp as demo
from providers.demo.gcp import audit_entry
from providers.gcp import GcpProvider, normalize_scope
from providers.gcp.audit import attribute, attribution_from_entry, policy_parents
from providers.gcp.fetch import GcpApi
from scanner.collect import collect_snapshot
from scanner.drift.comparison import compare
from scanner.model import ChangeKind, Effect, Snapshot
from tests.providers.gcp.test_gcp_drift import impair

MALLORY = "mallory@evil.example"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}123Z"


def test_log_entry_to_attribution():
    entry = demo.audit_events("changed")[0]
    found = attribution_from_entry(entry)
    assert found.actor == "ci-deployer@shop-gcp-prod.iam.gserviceaccount.com"
    assert found.source_address == "198.51.100.77"
    assert found.operation == "v1.compute.firewalls.patch"
    assert found.event_id == entry["insertId"]
    assert found.time == datetime(2026, 11, 30, 22, 41, 7, 118000, tzinfo=timezone.utc)
    assert found.unavailable_reason is None
    # Nanosecond timestamps and a missing principal (e.g. a system change) are handled.
    entry = {**entry, "timestamp": "2026-11-30T22:41:07.118945123Z",
             "protoPayload": {**entry["protoPayload"], "authenticationInfo": {}}}
    found = attribution_from_entry(entry)
    assert found.actor is None and found.time.microsecond == 118945


def drift_on_alpha(gcp, settings_for):
    provider = GcpProvider(settings_for("alpha"))
    baseline = collect_snapshot([GcpProvider(settings_for("alpha"))])
    impair(gcp.estate)
    current = collect_snapshot([provider])
    return provider, baseline, compare(baseline, current)


def test_attribution_over_http(gcp, settings_for):
    provider, baseline, items = drift_on_alpha(gcp, settings_for)
    now = datetime.now(timezone.utc)
    folder = next(p for p in gcp.estate.hierarchical_policies if p["shortName"] == "prod-folder")
    fw = "projects/alpha/global/firewalls"
    gcp.estate.log_entries = [
        audit_entry("v1.compute.firewalls.patch", f"{fw}/deny-ssh-internet", stamp(now),
                    MALLORY, "203.0.113.9", log_parent="projects/alpha"),
        # Same method, another firewall; and the right firewall but before the baseline.
        audit_entry("v1.compute.firewalls.patch", f"{fw}/allow-web", stamp(now), "ops@x.example",
                    "10.0.0.1", log_parent="projects/alpha"),
        audit_entry("v1.compute.firewalls.patch", f"{fw}/deny-ssh-internet",
                    stamp(now - timedelta(days=30)), "old@x.example", "10.0.0.2",
                    log_parent="projects/alpha"),
        audit_entry("compute.firewallPolicies.patchRule",
                    f"locations/global/firewallPolicies/{folder['name']}", stamp(now), MALLORY,
                    "203.0.113.9", log_parent="folders/200"),
        audit_entry("v1.compute.networks.patch", "projects/alpha/global/networks/prod",
                    stamp(now), MALLORY, "203.0.113.9", log_parent="projects/alpha"),
    ]
    found = provider.attribute(items, baseline.taken_at - timedelta(minutes=1))
    assert set(found) == {i.drift_id for i in items}
    by_change = {(i.change, i.rule_key): found[i.drift_id] for i in items}
    (disabled,) = by_change[(ChangeKind.RULE_DISABLED, "deny-ssh-internet/tcp")]
    assert (disabled.actor, disabled.source_address, disabled.operation) == (
        MALLORY, "203.0.113.9", "v1.compute.firewalls.patch")
    assert disabled.event_id and disabled.time is not None
    (goto,) = by_change[(ChangeKind.RULE_MODIFIED, "500/tcp")]
    assert goto.actor == MALLORY and goto.operation == "compute.firewallPolicies.patchRule"
    (order,) = by_change[(ChangeKind.ENFORCEMENT_ORDER_CHANGED, None)]
    assert order.operation == "v1.compute.networks.patch"
    (missing,) = by_change[(ChangeKind.RULE_ADDED, "allow-ssh-everywhere/tcp")]
    assert missing.actor is None and "no Admin Activity audit log entry" in (
        missing.unavailable_reason)
    listed = [p for m, p in gcp.requests if p == "/v2/entries:list" and m == "POST"]
    assert len(listed) == len(items)


def demo_snapshot(stage):
    scope, raw = demo.estate(stage)[0]
    return Snapshot.from_items(stage, datetime.now(timezone.utc), [scope],
                               normalize_scope(scope, raw))


def test_forbidden_log_and_expired_baseline_give_reasons(gcp, settings_for):
    items = compare(demo_snapshot("baseline"), demo_snapshot("changed"))
    provider = GcpProvider(settings_for())
    gcp.estate.forbid_logging = True
    found = provider.attribute(items, datetime.now(timezone.utc) - timedelta(days=2))
    assert set(found) == {i.drift_id for i in items}
    reasons = {i.details["rule_set_kind"]: found[i.drift_id][0].unavailable_reason
               for i in items}
    assert "logging.logEntries.list" in reasons["gcp_vpc_firewall"]
    assert "logging.logEntries.list" in reasons["gcp_network_policy"]
    # This provider read no organization, so it cannot know whose log a folder policy is in.
    assert "organization" in reasons["gcp_hierarchical_policy"]
    old = provider.attribute(items, datetime.now(timezone.utc) - timedelta(days=401))
    assert all("400 days" in v[0].unavailable_reason for v in old.values())


def test_demo_changes_are_attributed_from_the_demo_audit_events(gcp):
    baseline, changed = demo_snapshot("baseline"), demo_snapshot("changed")
    items = [i for i in compare(baseline, changed) if i.effect is Effect.WIDENED]
    gcp.estate.log_entries = demo.audit_events("changed")
    api = GcpApi(ProviderSettings(gcp_endpoint=gcp.url, max_retries=0))
    since = datetime(2026, 11, 30, tzinfo=timezone.utc)
    found = attribute(api, items, since, policy_parents(changed.rule_sets))
    actors = {i.change: {a.actor for a in found[i.drift_id]} for i in items}
    deployer = "ci-deployer@shop-gcp-prod.iam.gserviceaccount.com"
    assert actors[ChangeKind.RULE_DISABLED] == {deployer}
    assert actors[ChangeKind.RULE_ADDED] == {deployer}
    assert actors[ChangeKind.ATTACHMENT_REMOVED] == {deployer}
    assert {a.operation for i in items for a in found[i.drift_id]} >= {
        "compute.firewallPolicies.patchRule", "v1.compute.firewalls.insert"}


def test_an_audit_log_that_never_ends_is_a_reason_not_a_hang(gcp, settings_for):
    """Empty pages with fresh tokens forever, or one token repeated: each lookup stops at the
    page guard and says why in its reason; nothing hangs and no item is left out."""
    provider, baseline, items = drift_on_alpha(gcp, settings_for)
    bounded = GcpProvider(settings_for("alpha", max_pages=5))
    since = baseline.taken_at - timedelta(minutes=1)
    for fault, expected, pages in (("endless", "--max-pages", 5),
                                   ("repeat", "repeats an earlier one", 2)):
        gcp.estate.faults["/v2/entries:list"] = fault
        gcp.requests.clear()
        found = bounded.attribute(items, since)
        assert set(found) == {i.drift_id for i in items}
        looked_up = [i for i in items
                     if "audit log lookup failed" in (found[i.drift_id][0].unavailable_reason
                                                      or "")]
        assert looked_up, found
        for item in looked_up:
            assert expected in found[item.drift_id][0].unavailable_reason
        listed = [p for m, p in gcp.requests if p == "/v2/entries:list" and m == "POST"]
        assert len(listed) == pages * len(looked_up)
