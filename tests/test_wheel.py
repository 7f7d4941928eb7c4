"""The built wheel ships exactly the source tree's modules and data files.

A package listed by hand and forgotten (or a data folder no pattern matches) is caught here, not
by the first user whose scan dies with ModuleNotFoundError. The wheel is built from a copy of the
source tree, so the checkout is left untouched, and without build isolation, so no download.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("scanner", "providers", "policies", "reports")
IGNORED = ("__pycache__", ".pyc", ".pyo")


def _ignored(relative: str) -> bool:
    return any(part in relative for part in IGNORED)


def source_files() -> set[str]:
    """Every file under the shipped packages, as paths relative to the repository root."""
    files = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            relative = path.relative_to(ROOT).as_posix()
            if path.is_file() and not _ignored(relative):
                files.add(relative)
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    tree = work / "src"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = work / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out),
         str(tree)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (built,) = out.glob("cloudwall-*.whl")
    return built


def test_wheel_ships_every_module_and_data_file_of_the_source_tree(wheel):
    with zipfile.ZipFile(wheel) as archive:
        shipped = {
            name for name in archive.namelist()
            if name.split("/", 1)[0] in PACKAGES and not name.endswith("/")
        }
    source = source_files()
    missing = sorted(source - shipped)
    extra = sorted(shipped - source)
    assert not missing, f"in the source tree but not in the wheel: {missing}"
    assert not extra, f"in the wheel but not in the source tree: {extra}"
    # The check is only as good as its inputs: the subpackage once left out, and data files.
    assert "scanner/reach/__init__.py" in shipped
    assert any(name.startswith("policies/packs/") and name.endswith(".yaml") for name in shipped)


def test_wheel_ships_no_tests_and_declares_the_console_script(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode()
    assert not [n for n in names if n.startswith("tests/")]
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert f"cloudwall = {declared['cloudwall']}" in scripts
