"""``--export security-hub`` on ``scan`` and ``snapshots show``: deliver the report's findings
after it is written (see ``providers.aws.securityhub``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from reports.text import printable
from scanner.errors import EXIT_INCOMPLETE, ConfigError
from scanner.model import ScanReport

EXPORT_TARGETS = ("security-hub",)
EXPORT_FLAGS = ("exports", "security_hub_region")
# Per-item failures printed one by one; the rest are counted.
MAX_LISTED_FAILURES = 20


def export_options(command: Callable) -> Callable:
    options = [
        click.option("--export", "exports", multiple=True, type=click.Choice(EXPORT_TARGETS),
                     help="Also send the findings, drift and unread scopes to AWS Security Hub "
                     "(BatchImportFindings; findings gone since the last export are archived)."),
        click.option("--security-hub-region", metavar="REGION",
                     help="With --export security-hub: the one region to import into (needed "
                     "for Azure and GCP findings); default each AWS finding's own region."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def take_export_flags(flags: dict[str, Any]) -> dict[str, Any]:
    """Remove the export flags from a command's keyword arguments and check them (before any
    cloud call, so a mistake costs nothing)."""
    taken = {key: flags.pop(key, None) for key in EXPORT_FLAGS}
    if taken["security_hub_region"] and "security-hub" not in (taken["exports"] or ()):
        raise ConfigError("--security-hub-region needs --export security-hub",
                          "add --export security-hub")
    return taken


def _error(line: str) -> None:
    click.echo(line, err=True)  # errors are shown even with --quiet


def run_exports(report: ScanReport, flags: Mapping[str, Any], echo: Callable[[str], None],
                max_retries: int | None = None, timeout: float = 60.0,
                error: Callable[[str], None] = _error) -> bool:
    """Run the exports asked for (``echo`` for the summary, ``error`` for what failed); True
    when every finding was delivered."""
    exports = tuple(flags.get("exports") or ())
    region = flags.get("security_hub_region")
    if "security-hub" not in exports:
        return True
    from providers.aws.securityhub import default_client_maker, export

    result = export(report, region, default_client_maker(max_retries, timeout))
    for outcome in result.regions:
        new = len(outcome.imported) - len(outcome.updated)
        echo(f"security hub {outcome.region} (account {result.account}): "
             f"{len(outcome.imported)} sent ({new} new, {len(outcome.updated)} updated), "
             f"{len(outcome.archived)} archived, {len(outcome.failed)} failed"
             + (f", {outcome.retries} retried" if outcome.retries else ""))
    failed = result.failed
    for finding_id, code, message in failed[:MAX_LISTED_FAILURES]:
        error(f"error: security hub rejected {printable(finding_id)}: {printable(code)} "
              f"{printable(message, 300)}")
    if len(failed) > MAX_LISTED_FAILURES:
        error(f"error: ... and {len(failed) - MAX_LISTED_FAILURES} more rejected findings")
    return result.complete


def exit_with_exports(code: int, delivered: bool) -> int:
    """An export that did not deliver everything makes a clean run exit 3 (incomplete)."""
    return EXIT_INCOMPLETE if code == 0 and not delivered else code
