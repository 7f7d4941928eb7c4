"""The watch loop's parts that need no cloud: what survives a restart, the read window and
deduplication, and the alert lines and webhook posts."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from providers.watching import AuditEvent
from scanner.gates import DriftGate
from scanner.model import (
    Attribution,
    ChangeKind,
    CollectionError,
    DriftItem,
    Effect,
    Severity,
    Snapshot,
)
from scanner.notify import Webhooks
from scanner.watch.alerts import Alerts
from scanner.watch.events import fresh, window
from scanner.watch.state import WatchState

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def _event(event_id: str, minutes: float) -> AuditEvent:
    return AuditEvent("aws", "1", "us-east-1", event_id, "AuthorizeSecurityGroupIngress",
                      T0 + timedelta(minutes=minutes), ("sg-1",), Attribution(actor="a"))


def test_the_state_round_trips_and_forgets_only_what_no_window_can_return():
    state = WatchState("full-1", T0, {"aws/1/us-east-1": T0 + timedelta(minutes=30)},
                       {"old": ("aws/1/us-east-1", T0),
                        "edge": ("aws/1/us-east-1", T0 + timedelta(minutes=14)),
                        "other-scope": ("gcp/p/", T0)})
    again = WatchState.from_json(state.to_json())
    assert again == state
    kept = again.pruned(timedelta(minutes=15), T0 + timedelta(minutes=31))
    # 30 - 15 - 1 = 14: "edge" can still come back; "old" cannot. A scope with no checkpoint
    # (fed by a queue) keeps ids for the overlap before now.
    assert set(kept.seen) == {"edge"}
    fed = WatchState(seen={"recent": ("aws/1/us-east-1", T0 + timedelta(minutes=20))})
    assert set(fed.pruned(timedelta(minutes=15), T0 + timedelta(minutes=30)).seen) == {"recent"}
    assert fed.pruned(timedelta(minutes=15), T0 + timedelta(minutes=40)).seen == {}
    assert WatchState.from_json('{"version": 99}') == WatchState()
    assert WatchState.from_json("not json") == WatchState()


def test_the_window_overlaps_and_each_event_is_handled_once_oldest_first():
    span = window(T0 + timedelta(minutes=30), T0, timedelta(minutes=15), T0 + timedelta(hours=1))
    assert (span.start, span.end) == (T0 + timedelta(minutes=15), T0 + timedelta(hours=1))
    assert window(None, T0, timedelta(minutes=15), T0).start == T0 - timedelta(minutes=15)
    late, dup, early = _event("b", 5), _event("b", 5), _event("a", 1)
    assert [e.event_id for e in fresh([late, dup, early, _event("c", 0)], {"c": 1})] == [
        "a", "b"]


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass


def test_alerts_are_json_lines_and_one_webhook_post_per_batch():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        out = io.StringIO()
        alerts = Alerts(DriftGate.parse("widened"), "prod", "base-1",
                        Webhooks((url,), retries=0), out=out)
        item = DriftItem("CWD-1", ChangeKind.RULE_ADDED, Effect.WIDENED, Severity.CRITICAL,
                         "aws", "1", "us-east-1", "sg-1", "web", summary="ssh <open>",
                         attribution=(Attribution(actor="arn:aws:iam::1:user/eve"),))
        narrowed = DriftItem("CWD-2", ChangeKind.RULE_REMOVED, Effect.NARROWED, Severity.INFO,
                             "aws", "1", "us-east-1", "sg-1", "web")
        assert alerts.alerted([item, narrowed]) == [item]
        error = CollectionError("aws", "1", "us-east-1", "sg-2 not re-read: denied",
                                resource_type="SecurityGroups", code="AccessDenied")
        alerts.emit([item], [error], Snapshot("snap-1", T0, partial_of="full-1"), ["ev-1"])
        drift, unread = (json.loads(line) for line in out.getvalue().splitlines())
        assert (drift["type"], drift["item"]["id"], drift["events"]) == (
            "drift", "CWD-1", ["ev-1"])
        assert drift["item"]["attribution"][0]["actor"] == "arn:aws:iam::1:user/eve"
        assert (unread["type"], unread["code"], unread["reason"]) == (
            "unread", "AccessDenied", "sg-2 not re-read: denied")
        (posted,) = _Hook.received
        assert posted["kind"] == "notification"
        assert [d["id"] for d in posted["top_drift"]] == ["CWD-1"]
        assert posted["baseline"] == {"name": "prod", "snapshot_id": "base-1"}
        assert posted["counts"]["errors"] == 1
    finally:
        server.shutdown()
        server.server_close()


def test_a_provider_without_an_audit_log_reader_is_refused_before_watching(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    store = str(tmp_path / "store.db")

    def cloudwall(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "scanner.cli", "--store", store, *args],
                              capture_output=True, text=True, env=env, timeout=300)

    assert cloudwall("scan", "--provider", "demo", "--save").returncode in (0, 1)
    assert cloudwall("baseline", "set", "prod", "--from-snapshot", "latest").returncode == 0
    refused = cloudwall("watch", "--baseline", "prod", "--provider", "demo")
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[0] == (
        "error: cannot watch demo: its adapter reads no audit log")
