"""What a bug report needs: cloudwall's version, Python, the platform, and the versions of the
cloud SDKs and libraries installed alongside.

Versions are read from the installed distributions' metadata, never by importing the SDKs
(importing boto3 and the Azure and Google clients costs seconds and may fail on a broken
install, which is exactly when this is asked for).
"""

from __future__ import annotations

import platform
import re
import sys
from importlib import metadata

from scanner import TOOL_NAME, __version__

# Libraries the SDKs are built on: their versions explain most wire-level differences.
UNDERLYING = ("botocore", "azure-core", "google-api-core", "google-auth", "urllib3", "requests")

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def runtime_requirements(distribution: str = TOOL_NAME) -> list[str]:
    """The names of the distribution's runtime dependencies (no extras), as declared."""
    try:
        requires = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return []
    names = []
    for requirement in requires:
        head, _, marker = requirement.partition(";")
        if "extra ==" in marker.replace("extra==", "extra =="):
            continue
        if marker.strip() and installed_version(_NAME.match(head).group(1)) == "not installed":
            continue  # a dependency for other Pythons or platforms (tomli before 3.11)
        match = _NAME.match(head)
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


def installed_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def version_report() -> list[tuple[str, str]]:
    """``(name, version)`` pairs: cloudwall, Python, platform, then every dependency."""
    rows = [
        (TOOL_NAME, __version__),
        ("python", f"{platform.python_version()} ({platform.python_implementation()}, "
                   f"{sys.executable})"),
        ("platform", platform.platform()),
    ]
    seen = set()
    for name in [*runtime_requirements(), *UNDERLYING]:
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        rows.append((name, installed_version(name)))
    return rows


def version_text() -> str:
    rows = version_report()
    width = max(len(name) for name, _ in rows)
    return "".join(f"{name:<{width}}  {value}\n" for name, value in rows)
