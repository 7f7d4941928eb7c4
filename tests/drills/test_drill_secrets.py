"""Passwords and tokens in endpoint URLs never show: not in error lines or hints, not in
``--debug`` tracebacks, not in the JSON report, not in the stored snapshot."""

from __future__ import annotations

import pytest

from scanner.redact import redact
from tests.drills.drill_support import run_cli

SECRET = "s3cretPassw0rd"


@pytest.mark.parametrize(("text", "expected"), [
    (f"https://user:{SECRET}@host:8443/x", "https://***@host:8443/x"),
    (f'endpoint URL: "http://AKIA:{SECRET}@127.0.0.1:1/"',
     'endpoint URL: "http://***@127.0.0.1:1/"'),
    (f"https://h/p?api-version=1&sig={SECRET}&token={SECRET}",
     "https://h/p?api-version=1&sig=***&token=***"),
    (f"https://h/?X-Amz-Signature={SECRET}&X-Amz-Credential={SECRET}",
     "https://h/?X-Amz-Signature=***&X-Amz-Credential=***"),
    (f"https://{SECRET}@host", "https://***@host"),
    ("https://host/path?q=1", "https://host/path?q=1"),
    ("no url at all", "no url at all"),
])
def test_redact(text, expected):
    assert redact(text) == expected


def _no_secret(*texts: str, masked: bool = True) -> None:
    for text in texts:
        assert SECRET not in text
    if masked:  # the endpoint was quoted, masked
        assert "***" in "".join(texts)


def test_azure_endpoint_password_is_masked_everywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOUDWALL_AZURE_TOKEN", "not-a-real-token")
    store = tmp_path / "store.db"
    outcome = run_cli("--store", str(store), "--debug", "scan", "--provider", "azure",
                      "--subscription", "11111111-1111-4111-8111-111111111111",
                      "--azure-endpoint", f"https://scanner:{SECRET}@127.0.0.1:9",
                      "--timeout", "2", "--format", "json", "--save")
    assert outcome.exit_code == 3, outcome.stderr
    assert outcome.report["errors"], outcome.stdout
    exported = tmp_path / "snapshot.json"
    done = run_cli("--store", str(store), "snapshots", "export", "latest", "-o", str(exported))
    assert done.exit_code == 0
    _no_secret(outcome.stdout, outcome.stderr, exported.read_text())
    with store.open("rb") as handle:
        assert SECRET.encode() not in handle.read()


def test_gcp_endpoint_password_is_masked_in_errors_and_debug(monkeypatch):
    monkeypatch.setenv("CLOUDWALL_GCP_TOKEN", "not-a-real-token")
    bad = run_cli("--debug", "scan", "--provider", "gcp", "--project", "p",
                  "--gcp-endpoint", f"https://user:{SECRET}@host/not/a/base")
    assert bad.exit_code == 2
    _no_secret(bad.stdout, bad.stderr)
    unreachable = run_cli("--debug", "scan", "--provider", "gcp", "--project", "p",
                          "--gcp-endpoint", f"http://user:{SECRET}@127.0.0.1:9",
                          "--timeout", "2", "--format", "json")
    assert unreachable.exit_code == 3, unreachable.stderr
    _no_secret(unreachable.stdout, unreachable.stderr, masked=False)


def test_aws_endpoint_url_password_is_masked_in_errors_and_debug(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://AKIAEXAMPLE:{SECRET}@127.0.0.1:9")
    outcome = run_cli("--debug", "scan", "--provider", "aws", "--regions", "us-east-1",
                      "--timeout", "2", "--format", "json")
    assert outcome.exit_code == 2, outcome.stderr
    assert "Traceback" in outcome.stderr  # --debug shows it, masked
    _no_secret(outcome.stdout, outcome.stderr)


def test_a_collection_error_never_keeps_a_password():
    from scanner.model import Attribution, CollectionError

    error = CollectionError("aws", "1", "r", f"cannot reach http://u:{SECRET}@h/",
                            f"check https://h/?token={SECRET}")
    assert SECRET not in error.reason + error.hint
    assert SECRET not in (Attribution(unavailable_reason=f"http://u:{SECRET}@h").
                          unavailable_reason or "")
