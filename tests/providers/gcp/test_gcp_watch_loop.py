"""``cloudwall watch`` on GCP, end to end: the watch loop over the GCP adapter against the local
Compute and Logging server (real Compute client over HTTP). A firewall created with the SDK is
logged in the Admin Activity log; the next interval rebuilds its network's rule set and alerts
on the widening once, with its caller; a narrowing patch is not alerted as widening."""

from __future__ import annotations

import io
import json

from test_gcp_watch import PROD_RULES, _insert

from providers.gcp import GcpProvider
from scanner.collect import collect_snapshot
from scanner.gates import DriftGate
from scanner.store import Store
from scanner.watch.alerts import Alerts
from scanner.watch.loop import Watcher, WatchSettings


def test_an_sdk_firewall_insert_is_alerted_once_by_the_watch_loop(gcp, settings_for, tmp_path):
    provider = GcpProvider(settings_for("alpha"))
    store = Store(tmp_path / "store.db")
    full = collect_snapshot([GcpProvider(settings_for("alpha"))])
    store.save(full)
    store.set_baseline("prod", full.snapshot_id)
    out = io.StringIO()
    # A full scan gets an adapter of its own: one adapter reports a hierarchical policy once.
    watcher = Watcher(WatchSettings("prod"), store, full, {"gcp": provider},
                      lambda: collect_snapshot([GcpProvider(settings_for("alpha"))]),
                      Alerts(DriftGate.parse("widened"), "prod", full.snapshot_id, out=out),
                      lambda _line: None)
    watcher.start()
    # Port 22 is already open to the internet on this network; 6379 is not.
    _insert(provider, "allow-redis-anywhere", ["0.0.0.0/0"], ports=("6379",))
    # Narrowing an existing rule (the web rule loses ::/0) is no widening.
    provider.api.compute("FirewallsClient").patch(
        project="alpha", firewall="allow-web",
        firewall_resource={"source_ranges": ["0.0.0.0/0"]}).result()
    status = watcher.interval()
    watcher.interval()  # the overlapping window returns the entries again
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    drift = [line for line in lines if line["type"] == "drift"]
    assert [(d["item"]["resource_id"], d["item"]["after"]["name"]) for d in drift] == [
        (PROD_RULES, "allow-redis-anywhere")]
    item = drift[0]["item"]
    assert item["effect"] == "widened" and item["attack"] == ["T1562.007"]
    (who,) = item["attribution"]
    assert who["actor"] == "ops@alpha.iam.gserviceaccount.com"
    assert who["operation"] == "v1.compute.firewalls.insert"
    assert status.reread >= 1 and status.new == 2
    assert store.load("latest").partial_of == full.snapshot_id
