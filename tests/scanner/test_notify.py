"""--notify over real HTTP on loopback: a server that records, one that fails (500), one that
hangs, one that redirects; payload shapes for each format; secrets never printed; the result
and exit code never changed by a notification."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from reports.notification import payload, slack_escape, teams_escape, to_summary
from scanner.cli import main
from scanner.filters import ReportFilter, apply_filter
from scanner.model import Attribution
from scanner.notify import check_url, post, redact
from tests.scanner.pipeline_builders import report

SECRET_PATH = "/services/T0SECRET/B0SECRET/XyZsEcReTtOkEn"


class Webhooks:
    """One loopback server; the path says how it behaves."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.release = threading.Event()  # ends every hanging request at teardown
        self.failures_left: dict[str, int] = {}
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                path = self.path.split("?", 1)[0]
                hooks.received.append({"path": self.path, "headers": dict(self.headers),
                                       "body": json.loads(body)})
                if path.startswith("/hang"):
                    hooks.release.wait(10)  # bounded: a hung server, not a stuck suite
                    return
                if path.startswith("/fail"):
                    return self._answer(500)
                if path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", "/ok/elsewhere")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if path.startswith("/flaky"):
                    left = hooks.failures_left.get(path, 0)
                    if left:
                        hooks.failures_left[path] = left - 1
                        return self._answer(503, retry_after="0")
                if path.startswith("/gone"):
                    return self._answer(404)
                return self._answer(200)

            def _answer(self, status: int, retry_after: str | None = None) -> None:
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def hooks():
    server = Webhooks()
    yield server
    server.close()


@pytest.fixture
def received(hooks):
    hooks.received.clear()
    return hooks.received


def attributed():
    base = report()
    widened = base.drift[0]
    who = Attribution(actor="arn:aws:sts::111122223333:assumed-role/ci/eve",
                      source_address="198.51.100.7", operation="AuthorizeSecurityGroupIngress")
    from dataclasses import replace

    items = (replace(widened, attribution=(who,),
                     summary="opened tcp 22 <!channel> see https://evil.example/x *now*"),
             *base.drift[1:])
    return apply_filter(replace(base, drift=items), ReportFilter())


# --- payloads ---------------------------------------------------------------------------------


def test_generic_payload_has_counts_top_drift_with_actor_and_no_links():
    document = to_summary(attributed(), 1, {"fail_on_drift": "widened"},
                          ["2 drift item(s) widening or undecided (--fail-on-drift widened)"])
    assert document["kind"] == "notification" and document["schema_version"] == 2
    assert document["result"] == {
        "exit_code": 1, "gates": {"fail_on_drift": "widened"}, "complete": True,
        "tripped": ["2 drift item(s) widening or undecided (--fail-on-drift widened)"]}
    counts = document["counts"]
    assert counts["findings"] == {"critical": 1, "high": 1, "medium": 1, "low": 1, "info": 0}
    assert counts["suppressed"] == 1
    assert counts["drift"] == {"narrowed": 1, "neutral": 1, "unknown": 1, "widened": 2}
    assert counts["drift_by_severity"]["critical"] == 1
    top = document["top_drift"]
    assert [d["id"] for d in top] == ["CWD-1", "CWD-5", "CWD-3", "CWD-4", "CWD-2"]
    assert top[0]["actor"] == "arn:aws:sts::111122223333:assumed-role/ci/eve"
    assert top[0]["attack"] == ["T1562.007"]
    assert top[1]["actor"] is None
    assert document["text"].startswith("cloudwall FAILED: 2 drift item(s)")
    assert "by arn:aws:sts::111122223333:assumed-role/ci/eve" in document["text"]
    # Not a single link is made by cloudwall; the one in the cloud's text is only data here.
    assert "https://" not in document["text"].replace("https://evil.example/x", "")


def test_slack_payload_is_plain_text_escaped_and_defanged():
    document = payload("slack", attributed(), 0, {"fail_on": "critical"}, [])
    assert document["unfurl_links"] is False and document["unfurl_media"] is False
    assert document["blocks"][0] == {"type": "header", "text": {
        "type": "plain_text", "text": "cloudwall passed its gates (--fail-on critical)"}}
    assert all(b["text"]["type"] == "plain_text" for b in document["blocks"])
    text = json.dumps(document)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in document["text"]
    assert "https://evil" not in text and "hxxps[:]//evil.example/x" in document["text"]
    assert slack_escape("a & <b>") == "a &amp; &lt;b&gt;"


def test_teams_payload_is_one_adaptive_card_with_markup_escaped():
    document = payload("teams", attributed(), 1, {"fail_on": "high"}, ["1 finding(s)"])
    assert document["type"] == "message"
    [attachment] = document["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert all(block["type"] == "TextBlock" and block["wrap"] for block in card["body"])
    assert card["body"][0]["color"] == "Attention"
    lines = [b["text"] for b in card["body"]]
    assert any("\\*now\\*" in line and "hxxps\\[:\\]//evil.example/x" in line for line in lines)
    assert teams_escape("[x](y) _z_") == "\\[x\\](y) \\_z\\_"


# --- delivery ---------------------------------------------------------------------------------


def test_redact_never_keeps_userinfo_path_or_query():
    url = f"https://user:pa55@hooks.example.com:8443{SECRET_PATH}?sig=s3cr3t#frag"
    assert redact(url) == "https://hooks.example.com:8443"
    assert redact("http://[::1]:9/x?token=t") == "http://[::1]:9"
    for bad in ("file:///etc/passwd", "ftp://host/x", "hooks.slack.com/services/x",
                "https://host:99999/x"):
        with pytest.raises(Exception) as caught:
            check_url(bad)
        assert "passwd" not in str(caught.value) and "/x" not in str(caught.value)


def test_post_records_json_and_basic_auth_from_userinfo(hooks, received):
    url = hooks.url(SECRET_PATH).replace("http://", "http://bot:pa55@") + "?token=t0k"
    result = post(url, {"hello": "wörld"}, timeout=5, retries=0)
    assert result.ok and result.attempts == 1 and result.status == 200
    assert result.target == f"http://127.0.0.1:{hooks.port}"
    [request] = received
    assert request["path"] == SECRET_PATH + "?token=t0k"
    assert request["body"] == {"hello": "wörld"}
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(
        b"bot:pa55").decode()


def test_post_retries_5xx_with_backoff_then_gives_up(hooks, received):
    waits: list[float] = []
    result = post(hooks.url("/fail"), {}, timeout=5, retries=2, backoff=0.25,
                  sleep=waits.append)
    assert not result.ok and result.attempts == 3 and result.status == 500
    assert result.error == "HTTP 500" and waits == [0.25, 0.5]
    assert len(received) == 3


def test_post_honours_retry_after_and_succeeds(hooks, received):
    hooks.failures_left["/flaky/1"] = 1
    waits: list[float] = []
    result = post(hooks.url("/flaky/1"), {}, timeout=5, retries=2, sleep=waits.append)
    assert result.ok and result.attempts == 2 and waits == [0.0]


def test_post_does_not_retry_a_client_error_or_follow_a_redirect(hooks, received):
    gone = post(hooks.url("/gone"), {}, timeout=5, retries=3, sleep=lambda s: None)
    assert not gone.ok and gone.attempts == 1 and gone.status == 404
    moved = post(hooks.url("/redirect"), {}, timeout=5, retries=0)
    assert not moved.ok and moved.status == 302
    assert [r["path"] for r in received] == ["/gone", "/redirect"]  # /ok/elsewhere never hit


def test_post_to_a_hanging_server_is_bounded(hooks, received):
    started = time.monotonic()
    result = post(hooks.url("/hang"), {}, timeout=0.3, retries=1, backoff=0.05)
    elapsed = time.monotonic() - started
    assert not result.ok and result.attempts == 2
    assert result.error == "no answer within 0.3 s"
    assert elapsed < 5  # two 0.3 s timeouts and a short backoff, not the server's 10 s


def test_post_to_nothing_listening(hooks):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = post(f"http://127.0.0.1:{port}/x", {}, timeout=1, retries=0)
    assert not result.ok and result.error.startswith("cannot connect")


# --- end to end -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("notify") / "store.db"
    runner = CliRunner()
    for args in (["scan", "--provider", "demo", "--save", "--format", "json"],
                 ["baseline", "set", "prod"],
                 ["scan", "--provider", "demo", "--demo-stage", "changed", "--save",
                  "--format", "json"]):
        result = runner.invoke(main, ["--store", str(store), *args])
        assert result.exit_code in (0, 3), result.output
    return store


def run(store: Path, *args: str):
    return CliRunner().invoke(main, ["--store", str(store), "diff", "--baseline", "prod",
                                     "--format", "json", *args], catch_exceptions=False)


@pytest.mark.parametrize("fmt", ["generic", "slack", "teams"])
def test_diff_notifies_in_each_format(hooks, received, demo_store, fmt):
    result = run(demo_store, "--notify", hooks.url(f"{SECRET_PATH}/{fmt}"), "--notify-format",
                 fmt, "--fail-on-drift", "widened")
    assert result.exit_code == 1, result.output
    [request] = received
    body = request["body"]
    if fmt == "generic":
        assert body["kind"] == "notification" and body["result"]["exit_code"] == 1
        assert body["counts"]["drift"]["widened"] == len(json.loads(result.stdout)["drift"])
        assert body["top_drift"] and all(d["effect"] == "widened" for d in body["top_drift"])
    elif fmt == "slack":
        assert body["blocks"][0]["text"]["text"].startswith("cloudwall FAILED")
    else:
        assert body["attachments"][0]["content"]["body"][0]["text"].startswith(
            "cloudwall FAILED")
    assert "notification" not in result.stderr  # a success says nothing


def test_failed_and_hanging_notifications_never_change_the_result(hooks, received, demo_store):
    plain = run(demo_store, "--fail-on-drift", "widened")
    secret = hooks.url("/fail" + SECRET_PATH).replace("http://", "http://bot:pa55@")
    result = run(demo_store, "--fail-on-drift", "widened",
                 "--notify", secret + "?token=t0k3n",
                 "--notify", hooks.url("/hang" + SECRET_PATH),
                 "--notify", hooks.url("/ok"),
                 "--notify-timeout", "0.3", "--notify-retries", "1")
    assert result.exit_code == plain.exit_code == 1
    assert json.loads(result.stdout)["drift"] == json.loads(plain.stdout)["drift"]
    warnings = [line for line in result.stderr.splitlines() if "notification" in line]
    assert warnings == [
        f"warning: notification to http://127.0.0.1:{hooks.port} failed after 2 attempt(s): "
        "HTTP 500; the result is unchanged",
        f"warning: notification to http://127.0.0.1:{hooks.port} failed after 2 attempt(s): "
        "no answer within 0.3 s; the result is unchanged",
    ]
    for secret_part in ("pa55", "T0SECRET", "XyZsEcReTtOkEn", "t0k3n", "bot:"):
        assert secret_part not in result.stderr and secret_part not in result.stdout
    assert [r["path"] for r in received].count("/ok") == 1  # the others did not stop it


def test_a_clean_run_still_exits_0_when_its_notification_fails(hooks, received, demo_store):
    result = CliRunner().invoke(main, [
        "--store", str(demo_store), "snapshots", "show", "latest", "--format", "json",
        "--resource", "nothing-is-called-this", "--fail-on", "info",
        "--notify", hooks.url("/fail"), "--notify-retries", "0"])
    assert result.exit_code == 0, result.output
    assert "failed after 1 attempt(s): HTTP 500" in result.stderr


def test_a_failed_notification_is_reported_even_with_quiet(hooks, received, demo_store):
    result = CliRunner().invoke(main, [
        "--quiet", "--store", str(demo_store), "diff", "--baseline", "prod", "--format", "json",
        "--fail-on-drift", "widened", "--notify", hooks.url("/fail"), "--notify-retries", "0"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"warning: notification to http://127.0.0.1:{hooks.port} failed after 1 attempt(s): "
        "HTTP 500; the result is unchanged"]


def test_a_bad_notify_url_is_a_usage_error_before_any_work(demo_store, tmp_path):
    result = CliRunner().invoke(main, [
        "scan", "--provider", "demo", "--save", "--notify",
        "file:///etc/shadow?token=abc"], env={"CLOUDWALL_STORE": str(tmp_path / "s.db")})
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --notify file://? is not an http(s) URL")
    assert "abc" not in result.stderr and "shadow" not in result.stderr
    assert not (tmp_path / "s.db").exists()  # nothing was scanned or saved


def test_notify_url_from_the_environment(hooks, received, demo_store):
    result = CliRunner().invoke(main, ["--store", str(demo_store), "diff", "--baseline", "prod",
                                       "--format", "json"],
                                env={"CLOUDWALL_NOTIFY": hooks.url("/ok/env")})
    assert result.exit_code in (0, 3)
    assert [r["path"] for r in received] == ["/ok/env"]
