"""Helpers the commands share: the store handle, output writing, exit codes."""

from __future__ import annotations

import sys

import click

from reports import render
from scanner.errors import ConfigError
from scanner.model import ScanReport
from scanner.netmath import is_network
from scanner.outputs import STDOUT, Data, is_stdout, write_output
from scanner.store import Store, default_store


def split_values(values: tuple[str, ...]) -> tuple[str, ...]:
    """Accept both ``--flag a,b`` and repeated flags."""
    return tuple(v.strip() for item in values for v in item.split(",") if v.strip())


def trusted_cidrs(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--trusted-cidr`` values, split and checked."""
    cidrs = split_values(values)
    for cidr in cidrs:
        if not is_network(cidr):
            raise ConfigError(f"--trusted-cidr {cidr!r} is not a CIDR",
                              "write it as 203.0.113.0/24 or 2001:db8::/32")
    return cidrs


def store_target(ctx: click.Context) -> str:
    """--store (or $CLOUDWALL_STORE, or the configuration file) as given: a path or a URL."""
    return ctx.obj.get("store_path") or default_store()


def store_key(store: Store) -> str:
    """The store, named without secrets, as caches key it: a file by its real path, a
    database by its location (no password)."""
    return str(store.path.resolve()) if store.path is not None else store.location


def open_store(ctx: click.Context, create: bool = False, write: bool = False) -> Store:
    """The store. Only commands that save something create it, so a mistyped --store path is
    an error rather than a new empty store; commands that write check it first, so a damaged
    store is refused before anything (a scan included) is done."""
    store = Store(store_target(ctx), create=create)
    ctx.call_on_close(store.close)
    if write or create:
        store.check_writable()
    return store


def emit(text: Data, output: str | None) -> None:
    """Machine output to --output or stdout; never mixed with progress.

    ``--output`` follows scanner.outputs: files are replaced atomically, devices, FIFOs and
    symlink targets are written through, ``-`` is stdout.
    """
    if output and not is_stdout(output):
        try:
            write_output(output, text)
        except OSError as exc:
            raise ConfigError(f"cannot write {output}: {exc.strerror or exc}",
                              "check the --output path") from exc
        return
    if not isinstance(text, str):  # bytes, or a document written as it is encoded
        write_output(STDOUT, text, sys.stdout.buffer)
    else:
        # color=True: click would otherwise rewrite the text when stdout is not a terminal;
        # stdout must carry exactly what --output would (reporters already neutralise escapes).
        click.echo(text, nl=False, color=True)


def write_report(report: ScanReport, fmt: str, output: str | None) -> None:
    from scanner.cli.terminal import detail, table_style

    emit(render(fmt, report, table_style(output), streamed=True), output)
    if output:
        detail(f"wrote the {fmt} report to {output}")


def report_summary(report: ScanReport, fmt: str, output: str | None) -> None:
    """The summary line, once: a table on the terminal already ends with it. With --verbose,
    first what was read: each scope with its status and why it was not read completely."""
    from reports.summary import scope_rows, summary_line
    from scanner.cli.terminal import detail, say, stdout_is_terminal

    for row in scope_rows(report):
        where = "/".join(x for x in (row["provider"], row["account"], row["region"]) if x)
        detail(f"scope {where}: {row['status']}" + (f" ({row['error']})" if row["error"] else ""))
    if not (fmt == "table" and stdout_is_terminal(output)):
        say(summary_line(report))
