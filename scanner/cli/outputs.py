"""Several outputs from one run: ``--format F --output FILE`` plus any number of
``--output-format FORMAT=PATH``, all rendered from the same report.

Each format is rendered once however many paths ask for it; each file is written atomically by
the shared writer (scanner.outputs: atomic replacement, devices and FIFOs written in place,
symlinks followed). ``PATH`` ``-`` is standard output, allowed when ``--output`` sends the
primary report to a file (standard output carries one document, never two).
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from scanner.cli.common import emit
from scanner.errors import ConfigError
from scanner.outputs import Data, is_stdout


@dataclass(frozen=True, slots=True)
class OutputTarget:
    fmt: str
    path: str | None  # None: standard output


def output_options(formats: Sequence[str], default: str, format_help: str = ""
                   ) -> Callable[[Callable], Callable]:
    """``--format``, ``--output`` and the repeatable ``--output-format FORMAT=PATH``."""
    choices = list(formats)

    def parse(_ctx, _param, values: tuple[str, ...]) -> tuple[OutputTarget, ...]:
        targets = []
        for value in values:
            fmt, sep, path = value.partition("=")
            if not sep or not fmt or not path:
                raise click.BadParameter(f"{value!r} is not FORMAT=PATH (e.g. json=report.json)")
            if fmt not in choices:
                raise click.BadParameter(f"unknown format {fmt!r} (choose from "
                                         f"{', '.join(choices)})")
            targets.append(OutputTarget(fmt, None if is_stdout(path) else path))
        return tuple(targets)

    options = [
        click.option("--format", "fmt", type=click.Choice(choices), default=default,
                     show_default=True, help=format_help or None),
        click.option("--output", type=click.Path(dir_okay=False),
                     help="Write the report here (atomically) instead of standard output."),
        click.option("--output-format", "extra_outputs", multiple=True, callback=parse,
                     metavar="FORMAT=PATH",
                     help="Also write FORMAT to PATH (repeatable; `-` is standard output when "
                     "--output is a file). Every output comes from the same report."),
    ]

    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def output_targets(fmt: str, output: str | None, extra: Sequence[OutputTarget] = ()
                   ) -> tuple[OutputTarget, ...]:
    """The primary output then the extra ones; two outputs to one place are a usage error."""
    targets = (OutputTarget(fmt, None if not output or is_stdout(output) else output), *extra)
    seen: dict[str, str] = {}
    for target in targets:
        key = "standard output" if target.path is None else str(Path(target.path).resolve())
        if target.path is not None and _is_device(Path(key)):
            continue  # /dev/null and the like take any number of writes
        if key in seen:
            where = "standard output" if target.path is None else target.path
            raise ConfigError(f"two outputs ({seen[key]} and {target.fmt}) go to {where}",
                              "give each --output-format its own PATH (`-` only once, with "
                              "--output FILE)")
        seen[key] = target.fmt
    return targets


def _is_device(path: Path) -> bool:
    try:
        return not stat.S_ISREG(path.stat().st_mode) and not stat.S_ISDIR(path.stat().st_mode)
    except OSError:
        return False


def write_outputs(targets: Sequence[OutputTarget],
                  render: Callable[[str, str | None], Data]) -> None:
    """Render each format once per kind of place (a table is laid out for a terminal on
    stdout, plain in a file: ``render(fmt, path)``) and write every target: files first,
    standard output last, so a file that cannot be written fails before anything is printed."""
    from scanner.cli.terminal import detail

    rendered: dict[tuple[str, bool], Data] = {}
    for target in sorted(targets, key=lambda t: t.path is None):
        key = (target.fmt, target.path is None)
        if key not in rendered:
            rendered[key] = render(target.fmt, target.path)
        emit(rendered[key], target.path)
        if target.path is not None:
            detail(f"wrote {target.path}")
