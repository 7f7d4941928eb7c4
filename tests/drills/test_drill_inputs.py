"""User-supplied files and environment values that used to end in exit 70 (internal error):
each is now one ``error:`` line naming the file (and line), a hint, and exit 2."""

from __future__ import annotations

import pytest

from tests.drills.drill_support import run_cli

PACK_HEAD = """pack: t
policies:
  - {id: T-1, title: x, severity: high,
     match: {direction: ingress, action: allow, source: internet, ports_any: [22]}}
cases:
"""
BAD_CASES = {
    "port out of range": '  - {policy: T-1, expect: fail, rules: [{ports: "70000"}]}\n',
    "reversed range": '  - {policy: T-1, expect: fail, rules: [{ports: "30-20"}]}\n',
    "rules not a list": "  - {policy: T-1, expect: fail, kinds: [security_group], "
                        "rule_sets: [{rules: 3}]}\n",
    "rule not a mapping": "  - {policy: T-1, expect: fail, rules: [22]}\n",
    "bad protocol": "  - {policy: T-1, expect: fail, rules: [{protocol: [1]}]}\n",
    "bad broad prefix": "  - {policy: T-1, expect: fail, rules: [{ports: 22}], "
                        "settings: {broad_prefix: wide}}\n",
}


def _one_line_error(outcome, fragment: str) -> str:
    assert outcome.exit_code == 2, (outcome.exit_code, outcome.stderr)
    lines = outcome.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and fragment in lines[0], outcome.stderr
    assert lines[1].startswith("hint: ")
    for name in ("Traceback", "internal error", "KeyError", "TypeError", "AttributeError",
                 "ValueError"):
        assert name not in outcome.stderr
    return lines[0]


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_a_malformed_pack_case_is_exit_2_with_its_line(tmp_path, name):
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK_HEAD + BAD_CASES[name])
    _one_line_error(run_cli("policies", "test", str(pack)), f"{pack}:6:")


@pytest.mark.parametrize("text", ["[default\nregion = us-east-1\n", "region = x\n[",
                                  "\x00\x01binary"])
@pytest.mark.parametrize("variable", ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"])
def test_a_malformed_aws_config_file_is_exit_2(tmp_path, monkeypatch, variable, text):
    config = tmp_path / "aws-file"
    config.write_text(text)
    monkeypatch.setenv(variable, str(config))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    outcome = run_cli("scan", "--provider", "aws", "--regions", "us-east-1", "--timeout", "1")
    _one_line_error(outcome, "AWS")


@pytest.mark.parametrize(("entry", "fragment"), [
    ("{id: CWF-1, reason: r, owner: [a, b], expires: 2027-01-01}", "`owner` must be text"),
    ("{policy: {a: 1}, reason: r, owner: o, expires: 2027-01-01}", "`policy` must be text"),
    ("{id: CWF-1, reason: r, owner: o, expires: soon}", "expires must be a date"),
    ("{id: CWF-1, reason: r, owner: o, expires: 2027-02-30}", "not a valid value"),
])
def test_a_malformed_suppression_is_exit_2_with_its_line(tmp_path, entry, fragment):
    path = tmp_path / "suppressions.yaml"
    path.write_text(f"suppressions:\n  - {entry}\n")
    outcome = run_cli("scan", "--provider", "demo", "--format", "json", "--suppressions",
                      str(path))
    line = _one_line_error(outcome, fragment)
    assert f"{path}:2" in line


@pytest.mark.parametrize(("variable", "args"), [
    ("CLOUDWALL_AZURE_TOKEN", ["--provider", "azure", "--subscription",
                               "11111111-1111-4111-8111-111111111111", "--azure-endpoint",
                               "https://127.0.0.1:9"]),
    ("CLOUDWALL_GCP_TOKEN", ["--provider", "gcp", "--project", "p", "--gcp-endpoint",
                             "http://127.0.0.1:9"]),
])
@pytest.mark.parametrize("token", ["abc\ndef", "two words", "tok\x1b[2Jen", "   "])
def test_a_token_that_is_not_one_is_exit_2_and_never_quoted(monkeypatch, variable, args, token):
    monkeypatch.setenv(variable, token)
    outcome = run_cli("scan", *args, "--timeout", "1", "--format", "json")
    line = _one_line_error(outcome, variable)
    if token.strip():
        assert token not in outcome.stderr and "\x1b" not in outcome.stderr
    assert line


@pytest.mark.parametrize(("flag", "value", "env"), [
    ("--azure-endpoint", "https://[::1", {"CLOUDWALL_AZURE_TOKEN": "x"}),
    ("--azure-endpoint", "https://", {"CLOUDWALL_AZURE_TOKEN": "x"}),
    ("--gcp-endpoint", "http://[::1", {"CLOUDWALL_GCP_TOKEN": "x"}),
    ("--gcp-endpoint", "http://host:port", {"CLOUDWALL_GCP_TOKEN": "x"}),
])
def test_a_malformed_endpoint_is_exit_2(monkeypatch, flag, value, env):
    for key, setting in env.items():
        monkeypatch.setenv(key, setting)
    provider = "azure" if "azure" in flag else "gcp"
    scope = ["--subscription", "11111111-1111-4111-8111-111111111111"] if provider == "azure" \
        else ["--project", "p"]
    outcome = run_cli("scan", "--provider", provider, *scope, flag, value, "--timeout", "1")
    _one_line_error(outcome, "endpoint")
