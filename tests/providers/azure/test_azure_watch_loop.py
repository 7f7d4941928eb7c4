"""``cloudwall watch`` on Azure, end to end: the watch loop over the Azure adapter against the
local ARM server (real SDK over HTTPS). A rule written with the SDK is logged in the Activity
Log; the next interval re-reads its NSG and alerts on the widening once, with its caller."""

from __future__ import annotations

import io
import json

from test_azure_watch import _write_rule

from scanner.collect import collect_snapshot
from scanner.gates import DriftGate
from scanner.store import Store
from scanner.watch.alerts import Alerts
from scanner.watch.loop import Watcher, WatchSettings
from tests.providers.azure.azure_estate import NSG_WEB, SUB_LOCKED, make_provider


def test_an_sdk_rule_write_is_alerted_once_by_the_watch_loop(arm, tmp_path):
    provider = make_provider(arm)
    store = Store(tmp_path / "store.db")
    full = collect_snapshot([provider])
    store.save(full)
    store.set_baseline("prod", full.snapshot_id)
    out = io.StringIO()
    watcher = Watcher(WatchSettings("prod"), store, full, {"azure": provider},
                      lambda: collect_snapshot([provider]),
                      Alerts(DriftGate.parse("widened"), "prod", full.snapshot_id, out=out),
                      lambda _line: None)
    watcher.start()
    _write_rule(arm, "nsg-web", "allow-ssh-anywhere", "*")
    status = watcher.interval()
    watcher.interval()  # the overlapping window returns the event again
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    drift = [line for line in lines if line["type"] == "drift"]
    assert [line["item"]["resource_id"].lower() for line in drift] == [NSG_WEB.lower()]
    item = drift[0]["item"]
    assert item["effect"] == "widened" and item["attack"] == ["T1562.007"]
    assert item["after"]["name"] == "allow-ssh-anywhere"
    (who,) = item["attribution"]
    assert who["actor"] == "ops@contoso.com"
    assert who["operation"] == "Microsoft.Network/networkSecurityGroups/securityRules/write"
    assert status.reread >= 1
    # The estate's subscription without Reader: its Activity Log is reported every interval.
    unread = [line for line in lines if line["type"] == "unread"]
    assert unread and {(u["account"], u["code"]) for u in unread} == {
        (SUB_LOCKED, "AuthorizationFailed")}
    assert store.load("latest").partial_of == full.snapshot_id
    # Every line names a snapshot that is in the store (an interval that re-read nothing
    # names the last one stored).
    assert all(store.load(line["snapshot_id"]) for line in lines)
