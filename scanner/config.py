"""The configuration file: finding it, reading it safely, and saying where each key is.

Which file (the first that applies):

1. ``--config FILE``;
2. ``cloudwall.toml`` in the working directory;
3. the file named by ``$CLOUDWALL_CONFIG``;
4. ``cloudwall.toml`` in the per-user configuration directory (platformdirs).

A file named explicitly (1, 3) must exist; the implicit ones (2, 4) are used when present. The
file is TOML, at most ``MAX_CONFIG_BYTES``. What its keys mean is decided by the commands that
read it (scanner.cli.configuration); this module only reads it and remembers the line of every
key so an error can say ``file:line``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_NAME = "cloudwall.toml"
CONFIG_ENV = "CLOUDWALL_CONFIG"
MAX_CONFIG_BYTES = 1024 * 1024  # a configuration, not a data file


@dataclass(frozen=True)
class ConfigFile:
    """A parsed configuration file and the line each key (dotted path) was written on."""

    path: Path
    data: Mapping[str, Any]
    lines: Mapping[tuple[str, ...], int] = field(default_factory=dict)

    def line(self, key_path: tuple[str, ...]) -> int:
        """The line of ``key_path``, else of its closest enclosing table, else 1."""
        for end in range(len(key_path), 0, -1):
            if key_path[:end] in self.lines:
                return self.lines[key_path[:end]]
        return 1

    def where(self, key_path: tuple[str, ...]) -> str:
        return f"{self.path}:{self.line(key_path)}"


def user_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("cloudwall", appauthor=False)) / CONFIG_NAME


def find_config(explicit: str | os.PathLike[str] | None, cwd: Path | None = None,
                environ: Mapping[str, str] | None = None) -> Path | None:
    """The configuration file to use, or None; an explicitly named file that is missing is an
    error (a typo must not silently drop every setting)."""
    environ = os.environ if environ is None else environ
    if explicit:
        return _must_exist(Path(explicit), "--config")
    local = (cwd or Path.cwd()) / CONFIG_NAME
    if local.is_file():
        return local
    if environ.get(CONFIG_ENV):
        return _must_exist(Path(environ[CONFIG_ENV]), f"${CONFIG_ENV}")
    user = user_config_path()
    return user if user.is_file() else None


def _must_exist(path: Path, named_by: str) -> Path:
    # Anything readable that is not a directory: `--config /dev/null` means "no settings".
    if not path.exists() or path.is_dir():
        raise ConfigError(f"{named_by}: there is no configuration file at {path}",
                          "check the path, or leave it out to use the defaults")
    return path


def read_config(path: Path) -> ConfigFile:
    """Parse ``path``; unreadable, oversized or malformed files are a ConfigError with
    ``file:line``."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror or exc}",
                          "check the path and its permissions") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: the configuration file is larger than "
                          f"{MAX_CONFIG_BYTES // 1024} KiB",
                          "a configuration holds options; keep data (packs, suppressions) in "
                          "their own files")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: the configuration file is not UTF-8",
                          "save it as UTF-8") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)", message)
        line = match.group(1) if match else "1"
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise ConfigError(f"{path}:{line}: {message}",
                          "the file is TOML: see the configuration example in the README"
                          ) from exc
    return ConfigFile(path, data, key_lines(text))


# A table header ([a.b], [[a]]) or the start of a key/value line (a.b = ...).
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_ASSIGNMENT = re.compile(r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"
                         r"(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=")


def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(r"\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_-]+)", text)
    return tuple(next(p for p in part if p) if any(part) else "" for part in parts)


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """``key path -> line`` for every table header and key, first occurrence wins.

    A line scan rather than a second parser: TOML keeps no positions. Lines inside multi-line
    strings and arrays are skipped, so their contents are never mistaken for keys.
    """
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    open_string: str | None = None
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if open_string:
            if open_string in line:
                open_string = None
            continue
        if depth == 0:
            header = _HEADER.match(line)
            if header:
                table = _split_key(header.group(1))
                for end in range(1, len(table) + 1):  # [a.b] also locates table a
                    lines.setdefault(table[:end], number)
                continue
            assignment = _ASSIGNMENT.match(line)
            if assignment:
                lines.setdefault(table + _split_key(assignment.group(1)), number)
        value = line.split("=", 1)[1] if depth == 0 and "=" in line else line
        for quote in ('"""', "'''"):
            if value.count(quote) % 2 == 1:
                open_string = quote
        stripped = re.sub(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'", "", value).split("#", 1)[0]
        depth = max(0, depth + stripped.count("[") - stripped.count("]")
                    + stripped.count("{") - stripped.count("}"))
    return lines
