"""The configuration file: where it is found, what it may say, and precedence
(command line > environment > file > defaults)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.config import MAX_CONFIG_BYTES, key_lines

ROOT = Path(__file__).resolve().parent.parent


def invoke(*args: str, cwd: Path, env: dict[str, str | None] | None = None):
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    finally:
        os.chdir(old)


def cloudwall(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scanner.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def assert_config_error(stderr: str, location: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("hint: "), stderr
    assert lines[0].startswith(f"error: {location}: "), stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, stderr)


DEMO = """\
store = "state/store.db"

[scan]
format = "json"
save = true
trusted-cidr = ["203.0.113.0/24"]

[providers.demo]
stage = "changed"
"""


def test_the_working_directory_file_configures_a_scan(tmp_path):
    write(tmp_path / "cloudwall.toml", DEMO)
    result = invoke("scan", cwd=tmp_path, env={"CLOUDWALL_STORE": None})
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    explicit = invoke("scan", "--provider", "demo", "--demo-stage", "changed", "--format",
                      "json", "--trusted-cidr", "203.0.113.0/24", "--config", os.devnull,
                      cwd=tmp_path.parent)
    assert [f["id"] for f in document["findings"]] == [
        f["id"] for f in json.loads(explicit.stdout)["findings"]]
    assert (tmp_path / "state" / "store.db").is_file()  # relative to the file, --save applied


def test_command_line_beats_environment_beats_file_beats_default(tmp_path):
    write(tmp_path / "cloudwall.toml", '[scan]\ntimeout = 11\nconcurrency = 3\n')
    shown = invoke("config", "show", "scan", cwd=tmp_path,
                   env={"CLOUDWALL_TIMEOUT": "22"}).output
    assert "timeout = 22" in shown and "# env CLOUDWALL_TIMEOUT" in shown
    assert "concurrency = 3" in shown and f"# config {tmp_path / 'cloudwall.toml'}:3" in shown
    assert "broad-prefix = 8" in shown and "# default" in shown
    result = invoke("--store", "cli.db", "config", "show", cwd=tmp_path,
                    env={"CLOUDWALL_STORE": "env.db"})
    assert 'store = "cli.db"' in result.output and "# cli" in result.output


def test_environment_store_beats_the_file_and_the_file_beats_the_default(tmp_path):
    write(tmp_path / "cloudwall.toml", 'store = "from-file.db"\n')
    shown = invoke("config", "show", cwd=tmp_path, env={"CLOUDWALL_STORE": "env.db"}).output
    assert 'store = "env.db"' in shown and "# env CLOUDWALL_STORE" in shown
    shown = invoke("config", "show", cwd=tmp_path, env={"CLOUDWALL_STORE": ""}).output
    assert f'store = "{tmp_path / "from-file.db"}"' in shown


def test_explicit_config_then_env_variable_then_user_directory(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    named = write(tmp_path / "named.toml", "[scan]\nconcurrency = 5\n")
    from_env = write(tmp_path / "env.toml", "[scan]\nconcurrency = 6\n")
    user_dir = tmp_path / "xdg" / "cloudwall"
    user_dir.mkdir(parents=True)
    write(user_dir / "cloudwall.toml", "[scan]\nconcurrency = 7\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))

    def concurrency(*args: str, **env: str) -> str:
        shown = invoke(*args, "config", "show", "scan", cwd=elsewhere, env=env).output
        return next(line for line in shown.splitlines() if line.startswith("concurrency"))

    assert "= 7" in concurrency()
    assert "= 6" in concurrency(CLOUDWALL_CONFIG=str(from_env))
    assert "= 5" in concurrency("--config", str(named), CLOUDWALL_CONFIG=str(from_env))
    write(elsewhere / "cloudwall.toml", "[scan]\nconcurrency = 4\n")
    assert "= 4" in concurrency(CLOUDWALL_CONFIG=str(from_env))


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path):
    result = cloudwall("--config", "nope.toml", "scan", "--provider", "demo", cwd=tmp_path)
    assert result.returncode == 2
    assert "no configuration file at nope.toml" in result.stderr
    result = cloudwall("scan", "--provider", "demo", cwd=tmp_path,
                       CLOUDWALL_CONFIG=str(tmp_path / "gone.toml"))
    assert result.returncode == 2 and "$CLOUDWALL_CONFIG" in result.stderr


@pytest.mark.parametrize(("text", "line", "fragments"), [
    ('[scan]\nformat = "json"\nregoins = ["us-east-1"]\n', 3,
     ("unknown key 'regoins' in [scan]", "did you mean 'regions'?")),
    ('[scna]\nsave = true\n', 1, ("unknown key 'scna'", "did you mean 'scan'?")),
    ('[providers.aws]\nregion = "x"\n', 2, ("unknown key 'region' in [providers.aws]",
                                            "did you mean 'regions'?")),
    ('[providers.awz]\n', 1, ("unknown key 'awz'", "did you mean 'aws'?")),
    ('[report.complience]\n', 1, ("unknown key 'complience'", "did you mean 'compliance'?")),
    ('[scan]\nconcurrency = "lots"\n', 2, ("scan.concurrency", "'lots'")),
    ('[scan]\nconcurrency = 500\n', 2, ("scan.concurrency", "500")),
    ('[scan]\nsave = "yes"\n', 2, ("scan.save must be true or false, not a string",)),
    ('[scan]\nfail-on = "hgh"\n', 2, ("scan.fail-on", "unknown severity 'hgh'")),
    ('[scan]\ndeadline = "30"\n', 2, ("scan.deadline", "not a duration")),
    ('[scan]\nformat = ["json"]\n', 2, ("scan.format takes one value, not a list",)),
    ('[scan]\nregions = [["a"]]\n', 2, ("scan.regions must be a list of values",)),
    ('scan = 3\n', 1, ("'scan' is a command",)),
    ('[providers.aws]\nregions = ["a"]\n[scan]\nregions = ["b"]\n', 2,
     ("providers.aws.regions is also set in [scan]",)),
    ('[scan\n', 1, ("Expected ']'",)),
    ('\n\n[scan]\nformat = "json"\nformat = "csv"\n', 5, ("overwrite",)),
])
def test_every_mistake_is_one_line_with_file_and_line_and_exit_2(tmp_path, text, line,
                                                                 fragments):
    path = write(tmp_path / "cloudwall.toml", text)
    result = invoke("scan", "--provider", "demo", cwd=tmp_path)
    assert result.exit_code == 2, result.output
    assert_config_error(result.stderr, f"{path}:{line}", *fragments)
    assert not result.stdout


def test_an_oversized_file_is_refused(tmp_path):
    path = write(tmp_path / "cloudwall.toml", "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1))
    result = cloudwall("config", "show", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {path}: the configuration file is larger than")


def test_options_added_to_any_command_work_in_the_file_without_code(tmp_path):
    """The file is generic: a new option is configurable the moment it exists."""
    @click.command("probe")
    @click.option("--max-pages", type=int, default=10)
    @click.option("--wide", is_flag=True)
    @click.pass_context
    def probe(ctx, max_pages, wide):
        click.echo(f"{max_pages} {wide}")

    main.add_command(probe)
    try:
        write(tmp_path / "cloudwall.toml", "[probe]\nmax-pages = 3\nwide = true\n")
        assert invoke("probe", cwd=tmp_path).output.strip() == "3 True"
        assert invoke("probe", "--max-pages", "4", cwd=tmp_path).output.strip() == "4 True"
        write(tmp_path / "cloudwall.toml", "[probe]\nmax-page = 3\n")
        result = invoke("probe", cwd=tmp_path)
        assert result.exit_code == 2 and "did you mean 'max-pages'?" in result.output
    finally:
        main.commands.pop("probe")


def test_providers_sections_choose_the_clouds_and_their_scopes(tmp_path):
    write(tmp_path / "cloudwall.toml", '[providers.aws]\nregions = ["eu-west-1"]\n'
          'profile = "audit"\nendpoint = "http://127.0.0.1:9"\n'
          '[providers.gcp]\nprojects = ["alpha", "beta"]\n')
    # (CliRunner restores the variable afterwards.)
    shown = invoke("config", "show", "scan", cwd=tmp_path, env={"AWS_ENDPOINT_URL": None}).output
    assert 'provider = ["aws", "gcp"]' in shown
    assert 'regions = ["eu-west-1"]' in shown and 'project = ["alpha", "beta"]' in shown
    assert 'profile = "audit"' in shown
    assert '# AWS_ENDPOINT_URL = "http://127.0.0.1:9"' in shown


def test_global_options_after_the_command_are_accepted(tmp_path):
    store = tmp_path / "late.db"
    result = cloudwall("scan", "--provider", "demo", "--store", str(store), "--save",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert store.is_file()
    listed = cloudwall("snapshots", "list", "--store", str(store), cwd=tmp_path)
    assert listed.returncode == 0 and "demo" in listed.stdout
    config = write(tmp_path / "late.toml", '[scan]\nformat = "json"\n')
    result = cloudwall("scan", "--provider", "demo", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0 and json.loads(result.stdout)["snapshot"]
    result = cloudwall("scan", "--provider", "demo", "--stor", "x.db", cwd=tmp_path)
    assert result.returncode == 2 and "--save" not in result.stderr.splitlines()[0]


def test_key_lines_skip_multiline_values():
    text = ('a = """\nfake = 1\n"""\nb = [\n  "x = 1",\n]\n[t]\n"q.k" = 2\nc.d = 3\n')
    lines = key_lines(text)
    assert lines[("a",)] == 1 and ("fake",) not in lines
    assert lines[("b",)] == 4 and lines[("t",)] == 7
    assert lines[("t", "q.k")] == 8 and lines[("t", "c", "d")] == 9


def test_the_readme_example_is_a_valid_configuration(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Configuration file", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    path = write(tmp_path / "example.toml", example)
    result = invoke("--config", str(path), "config", "show", cwd=tmp_path,
                    env={"AWS_ENDPOINT_URL": None, "CLOUDWALL_STORE": None})
    assert result.exit_code == 0, result.output
    assert 'org-role = "CloudwallAudit"' in result.stdout
    assert 'provider = ["aws", "azure", "gcp"]' in result.stdout
    assert 'store = "/var/lib/cloudwall/store.db"' in result.stdout


def test_config_show_masks_credentials_in_urls(tmp_path):
    write(tmp_path / "cloudwall.toml",
          '[providers.azure]\nendpoint = "https://svc:hunter2@arm.example.net/"\n')
    result = invoke("config", "show", "scan", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "azure-endpoint" in result.output and "arm.example.net" in result.output


def test_late_global_options_behave_as_if_given_first(tmp_path):
    early = invoke("--quiet", "scan", "--provider", "demo", "--format", "json", cwd=tmp_path)
    late = invoke("scan", "--provider", "demo", "--format", "json", "--quiet", cwd=tmp_path)
    assert early.exit_code == late.exit_code == 0
    assert early.stderr == late.stderr == ""
    shown = invoke("config", "show", "--store", "late.db", cwd=tmp_path).output
    assert 'store = "late.db"' in shown and "# cli" in shown
    assert "--store" not in invoke("scan", "--help", cwd=tmp_path).output  # hidden there
