"""What the terminal gets: table layout and colour, and how chatty stderr is.

The global options ``--quiet`` (errors only), ``--verbose`` (also what was read and written,
and timings), ``--no-color`` and ``--wide`` apply to every command. Tables are fitted to the
terminal's width and coloured only when stdout is a terminal and no ``--output`` was given:
a report written to a file or a pipe is never wrapped, cut or coloured. ``NO_COLOR`` (any
non-empty value, https://no-color.org) and ``TERM=dumb`` turn colour off too.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass

import click

from reports.grid import PLAIN, Style
from reports.text import printable


@dataclass(frozen=True, slots=True)
class Terminal:
    quiet: bool = False
    verbose: bool = False
    no_color: bool = False
    wide: bool = False


def terminal(ctx: click.Context | None = None) -> Terminal:
    ctx = ctx or click.get_current_context(silent=True)
    obj = (ctx.find_root().obj if ctx else None) or {}
    return obj.get("terminal") or Terminal()


def color_allowed(settings: Terminal) -> bool:
    if settings.no_color or os.environ.get("NO_COLOR"):
        return False
    return os.environ.get("TERM", "") != "dumb"


def table_style(output: str | None, ctx: click.Context | None = None) -> Style:
    """Fitted and coloured for a terminal on stdout; plain (never wrapped) anywhere else."""
    if output or not sys.stdout.isatty():
        return PLAIN
    settings = terminal(ctx)
    width = None if settings.wide else shutil.get_terminal_size((100, 24)).columns
    return Style(width=width, color=color_allowed(settings))


def stdout_is_terminal(output: str | None) -> bool:
    return not output and sys.stdout.isatty()


def say(text: str, ctx: click.Context | None = None) -> None:
    """A status line on stderr (the summary, what was saved); silent with --quiet."""
    if not terminal(ctx).quiet:
        click.echo(printable(text), err=True)


def warn(text: str, ctx: click.Context | None = None) -> None:
    """A warning on stderr; --quiet keeps only errors."""
    if not terminal(ctx).quiet:
        click.echo(printable(text), err=True)


def detail(text: str, ctx: click.Context | None = None) -> None:
    """Shown only with --verbose."""
    if terminal(ctx).verbose:
        click.echo(printable(text), err=True)
