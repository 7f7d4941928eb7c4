"""The end of every command that reports on a ``ScanReport`` (``scan``, ``snapshots show``,
``diff``): filter, write every output, say what happened, notify, exit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from reports import render
from reports.text import printable
from scanner.cli.common import report_summary
from scanner.cli.export import exit_with_exports
from scanner.cli.outputs import OutputTarget, output_targets, write_outputs
from scanner.cli.policy_options import warn_expired
from scanner.cli.report_options import check_notify, gates, report_filter
from scanner.cli.terminal import say, table_style, warn
from scanner.filters import ReportFilter, apply_filter
from scanner.gates import Gates, exit_code, gate_reasons
from scanner.model import ScanReport


def prepare(flags: Mapping[str, Any], known_policies=None
            ) -> tuple[ReportFilter, tuple[OutputTarget, ...]]:
    """Check every reporting flag before any work (a typo costs no cloud call)."""
    flt = report_filter(flags, known_policies)
    targets = output_targets(flags["fmt"], flags.get("output"), flags.get("extra_outputs", ()))
    check_notify(flags)
    return flt, targets


def finish(ctx: click.Context, report: ScanReport, flags: Mapping[str, Any],
           flt: ReportFilter, targets: tuple[OutputTarget, ...],
           export: Callable[[ScanReport], bool] | None = None) -> None:
    """Filter the report, write it in every format asked, print the summary (once: a table on
    the terminal ends with it) and the gates that tripped, run the exports on the same view
    (``export(view)``: True when everything was delivered; the view's ``filters`` keep the
    export from archiving what they hide), post the notifications, and exit with the
    documented code."""
    view = apply_filter(report, flt)
    write_outputs(targets, lambda fmt, path: render(fmt, view, table_style(path), streamed=True))
    warn_expired(view, warn)
    report_summary(view, flags["fmt"], flags.get("output"))
    chosen = gates(flags)
    reasons = gate_reasons(view, chosen)
    for reason in reasons:
        say(f"gate: {reason}")
    code = exit_code(view, chosen)
    if export is not None:
        code = exit_with_exports(code, export(view))
    notify(view, flags, code, chosen, reasons)
    ctx.exit(code)


def notify(report: ScanReport, flags: Mapping[str, Any], code: int, chosen: Gates,
           reasons: list[str]) -> None:
    """Post the summary to every --notify URL; a failure is one line on stderr, nothing more."""
    from scanner.notify import Webhooks

    webhooks = Webhooks.from_flags(flags)
    if not webhooks.urls:
        return
    from reports.notification import payload

    document = payload(webhooks.fmt, report, code, chosen.to_dict(), reasons)
    # Shown even with --quiet: a scheduled run must not lose its alarm silently.
    webhooks.send(document, lambda line: click.echo(
        printable(f"{line}; the result is unchanged"), err=True))
