"""A malformed pack is rejected with file:line and a suggestion, and the CLI exits 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from policies.packs import load_pack, load_pack_text
from policies.suppressions import load_suppressions
from scanner.cli import main
from scanner.errors import PolicyError

GOOD = """\
policies:
  - id: TEAM-001
    title: Database from anywhere
    severity: high
    match:
      direction: ingress
      source: internet
      services: [mysql]
"""


def _error(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_pack_text(text, "packs/ours.yaml")
    return info.value


@pytest.mark.parametrize("bad, good, where, message, hint", [
    ("      services: [mysql]", "      port_any: [22]", "packs/ours.yaml:8",
     "unknown condition 'port_any'", "did you mean 'ports_any'?"),
    ("      services: [mysql]", "      services: [mysq]", "packs/ours.yaml:8",
     "services: unknown value 'mysq'", "did you mean 'mysql'?"),
    ("    severity: high", "    severity: hihg", "packs/ours.yaml:4",
     "unknown severity 'hihg'", "did you mean 'high'?"),
    ("      direction: ingress", "      direction: ingres", "packs/ours.yaml:6",
     "direction: unknown value 'ingres'", "did you mean 'ingress'?"),
    ("    title: Database from anywhere", "    titel: Database from anywhere",
     "packs/ours.yaml:3", "unknown policy field 'titel'", ""),
    ("      services: [mysql]", "      ports_any: [\"tcp:70000\"]", "packs/ours.yaml:8",
     "ports_any: not a port range: '70000'", ""),
    ("      services: [mysql]", "      ports_any: [\"tpc:22\"]", "packs/ours.yaml:8",
     "unknown port protocol 'tpc'", "did you mean 'tcp'?"),
    ("      source: internet", "      source: internt", "packs/ours.yaml:7",
     "source: unknown value 'internt'", "did you mean 'internet'?"),
])
def test_bad_pack_says_where_and_what(bad, good, where, message, hint):
    error = _error(GOOD.replace(bad, good))
    assert error.location == where
    assert message in error.message
    assert hint in (error.hint or "") + error.message


def test_suggestion_for_a_typo_in_a_condition_name():
    error = _error(GOOD.replace("services: [mysql]", "port_any: [22]"))
    assert str(error) == "packs/ours.yaml:8: unknown condition 'port_any' (did you mean " \
                         "'ports_any'?)"


def test_compliance_controls_and_frameworks_are_checked():
    text = GOOD + "    compliance: {aws-fsbp: [EC2.99]}\n"
    error = _error(text)
    assert error.location == "packs/ours.yaml:9"
    assert "unknown control 'EC2.99' in aws-fsbp" in error.message
    error = _error(GOOD + "    compliance: {cis-aw: ['5.2']}\n")
    assert "unknown framework 'cis-aw'" in error.message and "cis-aws" in error.hint
    # Your own frameworks are fine with an x- prefix.
    pack = load_pack_text(GOOD + "    compliance: {x-internal: [NET-7]}\n", "p.yaml")
    assert pack.policies[0].meta.compliance[0].control == "NET-7"


def test_traffic_conditions_need_a_source():
    error = _error(GOOD.replace("      source: internet\n", ""))
    assert error.location == "packs/ours.yaml:5"
    assert "need a `source`" in error.message


def test_rule_set_subject_takes_rule_set_conditions_only():
    error = _error("- {id: X-1, title: t, severity: low, subject: rule_set,\n"
                   "   match: {attached: false, direction: ingress}}\n")
    assert error.location == "packs/ours.yaml:2"
    assert "subject is rule_set" in error.message


def test_yaml_syntax_error_has_a_line():
    error = _error("policies:\n  - id: X\n    title: [unclosed\n")
    assert error.location.startswith("packs/ours.yaml:")
    assert "YAML syntax error" in error.message


def test_duplicate_ids_and_keys():
    error = _error(GOOD + GOOD.replace("policies:\n", ""))
    assert "used twice" in error.message and error.location == "packs/ours.yaml:9"
    error = _error(GOOD.replace("    severity: high\n", "    severity: high\n    severity: low\n"))
    assert "duplicate key 'severity'" in error.message and error.location == "packs/ours.yaml:5"


def test_a_yaml_pack_is_never_evaluated(tmp_path):
    error = _error("!!python/object/apply:os.system ['echo hacked']\n")
    assert "YAML" in error.message and error.location == "packs/ours.yaml:1"
    error = _error("x: !!python/name:os.system\n")
    assert "YAML" in error.message


def test_missing_pack_file(tmp_path):
    with pytest.raises(PolicyError, match="no such file"):
        load_pack(tmp_path / "nope.yaml")


def test_cli_rejects_a_malformed_pack_before_scanning(tmp_path):
    bad = tmp_path / "ours.yaml"
    bad.write_text(GOOD.replace("services: [mysql]", "port_any: [22]"))
    runner = CliRunner()
    result = runner.invoke(main, ["scan", "--provider", "demo", "--policies", str(bad)])
    assert result.exit_code == 2
    assert f"error: {bad}:8: unknown condition 'port_any' (did you mean 'ports_any'?)" \
        in result.output
    result = runner.invoke(main, ["policies", "test", str(bad)])
    assert result.exit_code == 2


def test_unknown_only_or_skip_id_is_a_usage_error():
    result = CliRunner().invoke(main, ["policies", "list"])
    assert result.exit_code == 0
    result = CliRunner().invoke(main, ["scan", "--provider", "demo", "--only", "CW-NET-01"])
    assert result.exit_code == 2
    assert "no policy matches 'CW-NET-01'" in result.output


def test_suppressions_file_errors(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("suppressions:\n  - id: CWF-1\n    reason: ok\n    owner: me\n")
    with pytest.raises(PolicyError) as info:
        load_suppressions(path)
    assert info.value.location == f"{path}:2" and "missing `expires`" in info.value.message
    path.write_text("- {policy: CW-NET-001, reason: r, owner: o, expires: 2026-13-01}\n")
    with pytest.raises(PolicyError) as info:
        load_suppressions(path)
    assert "not a valid value" in info.value.message and info.value.location == f"{path}:1"
    path.write_text("- {polcy: CW-NET-001, reason: r, owner: o, expires: 2026-01-01}\n")
    with pytest.raises(PolicyError, match="did you mean 'policy'"):
        load_suppressions(path)


def test_unless_takes_rule_set_conditions():
    error = _error(GOOD.replace("      direction: ingress\n",
                                "      direction: ingress\n      unless: {direction: egress}\n"))
    assert error.location == "packs/ours.yaml:7"
    assert "'direction' is not a rule set condition" in error.message
