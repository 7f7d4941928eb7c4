"""``cloudwall version`` / ``--version``: what a bug report needs, without importing an SDK."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata

from click.testing import CliRunner

from scanner import __version__
from scanner.about import runtime_requirements, version_report
from scanner.cli import main


def _rows(text: str) -> dict[str, str]:
    return {line.split(None, 1)[0]: line.split(None, 1)[1] for line in text.splitlines()}


def test_version_names_cloudwall_python_platform_and_every_sdk():
    result = CliRunner().invoke(main, ["version"], catch_exceptions=False)
    assert result.exit_code == 0
    rows = _rows(result.output)
    assert rows["cloudwall"] == __version__
    assert rows["python"].startswith(platform.python_version())
    assert rows["platform"] == platform.platform()
    for sdk in ("boto3", "botocore", "azure-mgmt-network", "azure-core", "google-cloud-compute",
                "google-api-core", "networkx", "click"):
        assert rows[sdk] == metadata.version(sdk), sdk


def test_version_flag_prints_the_same_report():
    runner = CliRunner()
    flag = runner.invoke(main, ["--version"], catch_exceptions=False)
    command = runner.invoke(main, ["version"], catch_exceptions=False)
    assert flag.exit_code == 0
    assert flag.output == command.output


def test_dependencies_come_from_the_package_metadata_not_a_hand_list():
    declared = runtime_requirements()
    assert "boto3" in declared and "google-cloud-compute" in declared
    assert "pytest" not in declared  # the test extra is not a runtime dependency
    names = [name for name, _ in version_report()]
    assert set(declared) <= set(names)


def test_version_imports_no_cloud_sdk():
    code = (
        "import sys\n"
        "from scanner.cli import main\n"
        "try:\n"
        "    main(['version'], prog_name='cloudwall')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('boto3', 'botocore', 'azure', 'google.cloud') if m in sys.modules]\n"
        "print('IMPORTED', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert "IMPORTED []" in result.stdout, result.stdout + result.stderr
